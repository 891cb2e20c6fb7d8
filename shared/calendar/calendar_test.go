package calendar

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func jst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, JST)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBusinessDayOf(t *testing.T) {
	tests := []struct {
		name, at, want string
	}{
		{"weekday morning", "2026-11-18 08:00:00", "2026-11-18"},
		{"one second before the cutoff", "2026-11-18 12:59:59", "2026-11-18"},
		{"at the cutoff", "2026-11-18 13:00:00", "2026-11-19"},
		{"weekday evening", "2026-11-18 23:59:59", "2026-11-19"},
		{"just after midnight", "2026-11-19 00:00:00", "2026-11-19"},
		{"friday before the cutoff", "2026-11-20 12:59:59", "2026-11-20"},
		{"friday at the cutoff goes over the weekend", "2026-11-20 13:00:00", "2026-11-24"}, // 11-23 勤労感謝の日 is a Monday
		{"saturday", "2026-11-21 10:00:00", "2026-11-24"},
		{"sunday", "2026-11-22 12:00:00", "2026-11-24"},
		{"friday at the cutoff, plain weekend", "2026-10-16 13:00:00", "2026-10-19"},
		{"before golden week", "2026-04-28 12:59:59", "2026-04-28"},
		{"into golden week", "2026-04-28 13:00:00", "2026-04-30"}, // 04-29 昭和の日
		{"last day before the long holidays", "2026-05-01 13:00:00", "2026-05-07"},
		{"during golden week", "2026-05-05 09:00:00", "2026-05-07"}, // 05-06 振替休日
		{"year end: before the cutoff of Dec 28", "2026-12-28 12:59:59", "2026-12-28"},
		{"year end: at the cutoff of Dec 28", "2026-12-28 13:00:00", "2027-01-04"},
		{"year end: Dec 30", "2026-12-30 10:00:00", "2027-01-04"},
		{"new year: Jan 3", "2027-01-03 10:00:00", "2027-01-04"},
		{"new year: Jan 4 morning", "2027-01-04 12:59:59", "2027-01-04"},
		{"a UTC time is read in JST", "2026-11-18 03:59:59", "2026-11-18"},
		{"2019's enthronement holidays", "2019-04-26 13:00:00", "2019-05-07"},
		{"silver week 2026", "2026-09-18 13:00:00", "2026-09-24"}, // 21 敬老の日, 22 国民の休日, 23 秋分の日
		{"moved olympic holidays", "2021-07-21 13:00:00", "2021-07-26"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := jst(tc.at)
			if tc.name == "a UTC time is read in JST" {
				at = time.Date(2026, 11, 18, 3, 59, 59, 0, time.UTC) // 12:59:59 JST
			}
			if got := Format(BusinessDayOf(at)); got != tc.want {
				t.Errorf("BusinessDayOf(%s) = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	tests := []struct{ day, start, deadline string }{
		{"2026-11-19", "2026-11-18 13:00:00", "2026-11-19 13:00:00"},
		{"2026-11-24", "2026-11-20 13:00:00", "2026-11-24 13:00:00"},
		{"2027-01-04", "2026-12-28 13:00:00", "2027-01-04 13:00:00"},
		{"2026-05-07", "2026-05-01 13:00:00", "2026-05-07 13:00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.day, func(t *testing.T) {
			d, err := Parse(tc.day)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := WindowStart(d), jst(tc.start); !got.Equal(want) {
				t.Errorf("WindowStart = %v, want %v", got, want)
			}
			if got, want := Deadline(d), jst(tc.deadline); !got.Equal(want) {
				t.Errorf("Deadline = %v, want %v", got, want)
			}
			// Every instant of the window belongs to the day, and only those.
			for _, at := range []time.Time{jst(tc.start), jst(tc.deadline).Add(-time.Second)} {
				if got := Format(BusinessDayOf(at)); got != tc.day {
					t.Errorf("BusinessDayOf(%v) = %s, want %s", at, got, tc.day)
				}
			}
			if got := Format(BusinessDayOf(jst(tc.start).Add(-time.Second))); got == tc.day {
				t.Errorf("a second before the window belongs to it")
			}
		})
	}
}

func TestIsBusinessDay(t *testing.T) {
	tests := []struct {
		day  string
		want bool
	}{
		{"2026-11-18", true}, {"2026-11-21", false}, {"2026-11-22", false}, {"2026-11-23", false},
		{"2026-12-28", true}, {"2026-12-29", false}, {"2026-12-31", false}, {"2027-01-01", false}, {"2027-01-03", false}, {"2027-01-04", true},
		{"2020-12-29", false}, {"2021-01-04", true}, {"2019-10-22", false}, {"2019-04-30", false}, {"2019-05-02", false}, {"2019-05-06", false},
		{"2020-07-24", false}, {"2020-10-12", true}, {"2021-08-09", false}, {"2000-01-10", false},
	}
	for _, tc := range tests {
		d, _ := Parse(tc.day)
		if got := IsBusinessDay(d); got != tc.want {
			t.Errorf("IsBusinessDay(%s) = %v, want %v", tc.day, got, tc.want)
		}
	}
}

// TestHolidaysMatchPackage compares every day from 2000-01-01 to the last
// date of the pinned npm package @holiday-jp/holiday_jp with its data.
func TestHolidaysMatchPackage(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(root, "node_modules", "@holiday-jp", "holiday_jp", "lib", "holidays.js")
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("the pinned @holiday-jp/holiday_jp is missing (run make deps or npm ci): %v", err)
	}
	out, err := exec.Command("node", "-e", `process.stdout.write(JSON.stringify(Object.keys(require(process.argv[1]))))`, lib).Output()
	if err != nil {
		t.Fatalf("read %s with node: %v", lib, err)
	}
	var dates []string
	if err := json.Unmarshal(out, &dates); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	last := ""
	for _, d := range dates {
		want[d] = true
		last = max(last, d)
	}
	end, err := Parse(last)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for d := Date(2000, 1, 1); !d.After(end); d = d.AddDate(0, 0, 1) {
		name, got := Holiday(d)
		if got != want[Format(d)] {
			t.Errorf("%s (%s): Holiday = %v %q, package says %v", Format(d), d.Weekday(), got, name, want[Format(d)])
		}
		n++
	}
	if n < 365*50 {
		t.Fatalf("compared only %d days up to %s", n, last)
	}
}
