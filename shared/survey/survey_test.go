package survey

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// goodDaily is a daily survey body that breaks no rule.
func goodDaily() map[string]any {
	return map[string]any{
		"services": map[string]any{"outpatient": "normal", "inpatient": "limited", "emergency": "stopped", "surgery": "normal"},
		"staffing": "short",
		"beds":     map[string]any{"permitted": 200, "covidSecured": 20, "covidOccupied": 12, "covidAvailable": 8, "icu": 10, "icuOccupied": 4},
		"patients": map[string]any{"confirmed": 10, "suspected": 2, "severe": 3, "ventilator": 2, "ecmo": 1, "newAdmissions": 1},
		"tests":    map[string]any{"tested": 40, "pcr": 30, "antigenQuantitative": 5, "antigenQualitative": 5, "feverOutpatients": 25},
		"flags":    map[string]any{"designatedClinic": true, "pcrAvailable": true},
	}
}

// with returns a copy of body with path set to v (nil v deletes it).
func with(body map[string]any, path string, v any) map[string]any {
	out := maps.Clone(body)
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		if v == nil {
			delete(out, head)
		} else {
			out[head] = v
		}
		return out
	}
	sub, _ := out[head].(map[string]any)
	out[head] = with(sub, rest, v)
	return out
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fieldsOf(err error) []string {
	e := apperr.As(err)
	if e == nil {
		return nil
	}
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.Field+"/"+p.Rule)
	}
	return out
}

// internalKey is a JSON member or path in a message: ASCII words such as
// beds.covidOccupied, version or staffing.
var internalKey = regexp.MustCompile(`[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)+|\b(version|staffing|beds|week|day|from|to|month)\b`)

func TestParseDaily(t *testing.T) {
	five := goodDaily()
	for path, v := range map[string]any{"beds.covidOccupied": 21, "patients.ecmo": 4, "tests.pcr": 41, "staffing": "tired", "beds.icu": -1} {
		five = with(five, path, v)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want []string // field/rule of every problem, in order
	}{
		{"good", encode(t, goodDaily()), nil},
		{"good with a version", encode(t, with(goodDaily(), "version", 3)), nil},
		{"occupied above secured", encode(t, with(goodDaily(), "beds.covidOccupied", 21)), []string{"beds.covidOccupied/not_above:beds.covidSecured"}},
		{"secured above permitted", encode(t, with(goodDaily(), "beds.permitted", 19)), []string{"beds.covidSecured/not_above:beds.permitted"}},
		{"severe above all inpatients", encode(t, with(goodDaily(), "patients.severe", 13)),
			[]string{"patients.severe/not_above:patients.confirmed + patients.suspected"}},
		{"severe within confirmed plus suspected", encode(t, with(goodDaily(), "patients.severe", 12)), nil},
		{"ventilator above severe", encode(t, with(goodDaily(), "patients.ventilator", 4)), []string{"patients.ventilator/not_above:patients.severe"}},
		{"antigen above tested", encode(t, with(goodDaily(), "tests.antigenQualitative", 41)), []string{"tests.antigenQualitative/not_above:tests.tested"}},
		{"ICU occupied above ICU", encode(t, with(goodDaily(), "beds.icuOccupied", 11)), []string{"beds.icuOccupied/not_above:beds.icu"}},
		{"five rules at once", encode(t, five), []string{"staffing/enum", "beds.icu/range", "beds.covidOccupied/not_above:beds.covidSecured",
			"patients.ecmo/not_above:patients.severe", "tests.pcr/not_above:tests.tested"}},
		{"unknown field", encode(t, with(goodDaily(), "beds.spare", 1)), []string{"beds.spare/unknown"}},
		{"unknown top-level object", encode(t, with(goodDaily(), "extra", map[string]any{"a": 1})), []string{"extra/unknown"}},
		{"dotted name at the top", []byte(`{"beds.permitted":1,` + string(encode(t, goodDaily()))[1:]), []string{"beds.permitted/unknown"}},
		{"missing field", encode(t, with(goodDaily(), "tests.tested", nil)), []string{"tests.tested/required"}},
		{"fraction", []byte(strings.Replace(string(encode(t, goodDaily())), `"icu":10`, `"icu":10.5`, 1)), []string{"beds.icu/integer"}},
		{"whole number written as 10.0", []byte(strings.Replace(string(encode(t, goodDaily())), `"icu":10`, `"icu":10.0`, 1)), nil},
		{"over the limit", encode(t, with(with(goodDaily(), "beds.permitted", 100001), "beds.covidSecured", 0)),
			[]string{"beds.permitted/range", "beds.covidOccupied/not_above:beds.covidSecured"}},
		{"string count", encode(t, with(goodDaily(), "beds.icu", "10")), []string{"beds.icu/type"}},
		{"Japanese enum label is not a code", encode(t, with(goodDaily(), "services.surgery", "通常")), []string{"services.surgery/enum"}},
		{"flag as a string", encode(t, with(goodDaily(), "flags.pcrAvailable", "yes")), []string{"flags.pcrAvailable/type"}},
		{"object where a count belongs", encode(t, with(goodDaily(), "beds", 3)), []string{"beds/type", "beds.permitted/required",
			"beds.covidSecured/required", "beds.covidOccupied/required", "beds.covidAvailable/required", "beds.icu/required", "beds.icuOccupied/required"}},
		{"negative version", encode(t, with(goodDaily(), "version", -1)), []string{"version/type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDaily(tc.body)
			got := fieldsOf(err)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems = %q, want %q (err %v)", got, tc.want, err)
			}
			if tc.want != nil && apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("code = %v, want invalid", apperr.CodeOf(err))
			}
			if e := apperr.As(err); e != nil {
				for _, p := range e.Problems {
					if p.Message == "" || p.MessageEn == "" || p.Field == "" {
						t.Errorf("problem without a field or a message: %+v", p)
					}
					// Users read labels; the field already names the path.
					if internalKey.MatchString(p.Message) {
						t.Errorf("Japanese message %q shows an internal key", p.Message)
					}
				}
			}
		})
	}
}

func TestParseDailyValues(t *testing.T) {
	in, err := ParseDaily(encode(t, with(goodDaily(), "version", 2)))
	if err != nil {
		t.Fatal(err)
	}
	d := in.Values
	if in.Version != 2 || d.Services.Inpatient != StatusLimited || d.Staffing != StaffShort || d.Beds.CovidAvailable != 8 ||
		d.Patients.ECMO != 1 || d.Tests.FeverOutpatients != 25 || !d.Flags.DesignatedClinic {
		t.Errorf("decoded = %+v", in)
	}
}

func TestParseBodyShape(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"empty", ""}, {"array", "[]"}, {"malformed", "{"}, {"trailing", `{} {}`}, {"string", `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseDaily([]byte(tc.body)); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("err = %v, want invalid", err)
			}
		})
	}
}

func goodWeekly() map[string]any {
	items := map[string]any{}
	for i, c := range Supplies {
		items[c.Code] = map[string]any{"outlook": Outlooks[i%len(Outlooks)].Code}
	}
	items[string(N95Mask)] = map[string]any{"outlook": OutlookOneWeek, "inStock": 100, "used": 40, "bought": 0}
	return map[string]any{"items": items}
}

func TestParseWeekly(t *testing.T) {
	for _, tc := range []struct {
		name string
		body map[string]any
		want []string
	}{
		{"good", goodWeekly(), nil},
		{"unknown supply", with(goodWeekly(), "items.paper_towel", map[string]any{"outlook": "none"}), []string{"items.paper_towel/unknown"}},
		{"missing outlook", with(goodWeekly(), "items.face_shield", map[string]any{"inStock": 3}), []string{"items.face_shield.outlook/required"}},
		{"bad outlook and count", with(goodWeekly(), "items.isolation_gown", map[string]any{"outlook": "soon", "used": -2}),
			[]string{"items.isolation_gown.outlook/enum", "items.isolation_gown.used/range"}},
		{"null optional count", with(goodWeekly(), "items.surgical_mask", map[string]any{"outlook": "none", "bought": nil}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := ParseWeekly(encode(t, tc.body))
			if got := fieldsOf(err); !slices.Equal(got, tc.want) {
				t.Errorf("problems = %q, want %q (err %v)", got, tc.want, err)
			}
			if err == nil {
				if n := in.Values.Items[N95Mask]; n == nil || n.Outlook != OutlookOneWeek || n.InStock == nil || *n.InStock != 100 || n.Bought == nil || *n.Bought != 0 {
					t.Errorf("n95 = %+v", n)
				}
				if s := in.Values.Items[SurgicalMask]; s == nil || s.InStock != nil {
					t.Errorf("surgical masks = %+v, want no stock count", s)
				}
			}
		})
	}
}

func TestCheckDay(t *testing.T) {
	// 2026-05-10 23:30 JST is still the 10th in Japan, the 10th 14:30 UTC.
	now := time.Date(2026, 5, 10, 14, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		day string
		ok  bool
	}{
		{"2026-05-10", true}, {"2026-05-11", false}, {"2026-05-09", true}, {"2026-02-09", true}, {"2026-02-08", false},
		{"2026-5-10", false}, {"2026-02-30", false}, {"", false},
	} {
		t.Run(tc.day, func(t *testing.T) {
			err := CheckDay("date", tc.day, now, 90)
			if (err == nil) != tc.ok {
				t.Errorf("CheckDay(%q) = %v, want ok %v", tc.day, err, tc.ok)
			}
			if err != nil && apperr.As(err).Field != "date" {
				t.Errorf("field = %q", apperr.As(err).Field)
			}
		})
	}
	// 15:30 UTC on the 10th is 00:30 on the 11th in Japan.
	if err := CheckDay("date", "2026-05-11", now.Add(time.Hour), 90); err != nil {
		t.Errorf("the 11th at 00:30 JST: %v", err)
	}
}

func TestRuleMessageNamesLabelsAndValues(t *testing.T) {
	_, err := ParseDaily(encode(t, with(goodDaily(), "beds.covidOccupied", 21)))
	e := apperr.As(err)
	if e == nil || len(e.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	want := "「確保病床のうち使用中」（21）は「新型コロナ確保病床数」（20）以下にしてください。"
	if got := e.Problems[0].Message; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if got := e.Problems[0].MessageEn; !strings.Contains(got, "beds.covidOccupied") {
		t.Errorf("English message %q should keep the path", got)
	}
}

func TestWeekMessagesAndLabels(t *testing.T) {
	for _, tc := range []struct{ field, week, want string }{
		{"week", "2026-W60", "2026年の週は第1週から第53週までです（週は 2026-W53 のように指定してください）。"},
		{"week", "2027-W53", "2027年の週は第1週から第52週までです（週は 2027-W52 のように指定してください）。"},
		{"week", "W05", "週は 2026-W05 のように指定してください。"},
		{"from", "2026-W+5", "開始週は 2026-W05 のように指定してください。"},
		{"to", "2026-W00", "2026年の週は第1週から第53週までです（終了週は 2026-W53 のように指定してください）。"},
	} {
		_, err := ParseWeek(tc.field, tc.week)
		e := apperr.As(err)
		if e == nil || e.Field != tc.field || e.Message != tc.want {
			t.Errorf("ParseWeek(%q, %q) = %v, want field %s %q", tc.field, tc.week, err, tc.field, tc.want)
		}
	}
	if _, err := ParseDay("day", "2026/01/05"); apperr.As(err) == nil || apperr.As(err).Message != "日付は 2026-01-05 のように指定してください。" {
		t.Errorf("ParseDay = %v", err)
	}
	for _, tc := range []struct{ in, want string }{{"2026-W49", "2026年第49週"}, {"2026-W05", "2026年第5週"}, {"junk", "junk"}} {
		if got := Week(tc.in).Label(); got != tc.want {
			t.Errorf("Week(%q).Label() = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := DayLabel("2026-01-05"); got != "2026年1月5日" {
		t.Errorf("DayLabel = %q", got)
	}
	for y, want := range map[int]int{2020: 53, 2021: 52, 2026: 53, 2027: 52} {
		if got := WeeksIn(y); got != want {
			t.Errorf("WeeksIn(%d) = %d, want %d", y, got, want)
		}
	}
	now := time.Date(2026, 5, 10, 3, 0, 0, 0, time.UTC)
	if e := apperr.As(CheckWeek("week", "2026-W21", now, 90)); e == nil || e.Message != "未来の週（2026年第21週）の調査は入力できません。" {
		t.Errorf("future week = %v", e)
	}
}

func TestWeeks(t *testing.T) {
	now := time.Date(2026, 5, 10, 3, 0, 0, 0, time.UTC) // Sunday 10 May JST: week 19
	if got := WeekOf(now); got != "2026-W19" {
		t.Errorf("WeekOf = %s", got)
	}
	if got := WeekOf(now.Add(24 * time.Hour)); got != "2026-W20" {
		t.Errorf("Monday's week = %s", got)
	}
	for _, tc := range []struct {
		week   string
		monday string
		ok     bool
	}{
		{"2026-W19", "2026-05-04", true}, {"2026-W01", "2025-12-29", true}, {"2020-W53", "2020-12-28", true},
		{"2026-W53", "2026-12-28", true}, {"2027-W53", "", false}, {"2026-W00", "", false}, {"2026-19", "", false}, {"2026-W1", "", false},
	} {
		m, err := ParseWeek("week", tc.week)
		if (err == nil) != tc.ok || (tc.ok && m.Format(DayLayout) != tc.monday) {
			t.Errorf("ParseWeek(%q) = %v, %v; want %s ok %v", tc.week, m, err, tc.monday, tc.ok)
		}
	}
	for _, tc := range []struct {
		week string
		ok   bool
	}{{"2026-W19", true}, {"2026-W20", false}, {"2026-W07", true}, {"2026-W05", false}} {
		if err := CheckWeek("week", tc.week, now, 90); (err == nil) != tc.ok {
			t.Errorf("CheckWeek(%q) = %v, want ok %v", tc.week, err, tc.ok)
		}
	}
}

func FuzzParseDaily(f *testing.F) {
	f.Add([]byte(`{"version":1,"beds":{"permitted":1}}`))
	f.Add([]byte(`{"services":{"outpatient":"normal"},"tests":{"tested":1e400}}`))
	b, _ := json.Marshal(goodDaily())
	f.Add(b)
	b, _ = json.Marshal(goodWeekly())
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) error{
			func(d []byte) error { _, err := ParseDaily(d); return err },
			func(d []byte) error { _, err := ParseWeekly(d); return err },
		} {
			err := parse(data)
			if err == nil {
				continue
			}
			e := apperr.As(err)
			if e == nil || (e.Code != apperr.Invalid && e.Code != apperr.TooLarge) {
				t.Fatalf("error %v is not a client error", err)
			}
		}
		in, err := ParseDaily(data)
		if err != nil {
			return
		}
		// Anything accepted keeps every rule.
		d := in.Values
		if d.Beds.CovidOccupied > d.Beds.CovidSecured || d.Beds.CovidSecured > d.Beds.Permitted || d.Beds.ICUOccupied > d.Beds.ICU ||
			d.Patients.Severe > d.Patients.Confirmed+d.Patients.Suspected || d.Patients.Ventilator > d.Patients.Severe ||
			d.Tests.PCR > d.Tests.Tested || d.Beds.Permitted > MaxCount {
			t.Fatalf("accepted a survey that breaks a rule: %+v", d)
		}
	})
}
