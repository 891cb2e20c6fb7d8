package sos

import (
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

func conditions(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Condition+":"+p.Field)
	}
	return out
}

func TestCheck(t *testing.T) {
	zero := &survey.Record[survey.Daily]{Period: "2026-11-18", Version: 1}
	pcr := &survey.Record[survey.Daily]{Period: "2026-11-18", Version: 2, Values: survey.Daily{Flags: survey.Flags{PCRAvailable: true}}}
	suspected := &survey.Record[survey.Daily]{Period: "2026-11-18", Version: 2, Values: survey.Daily{Patients: survey.Patients{Suspected: 1}}}
	weekly := func(outlook string) *survey.Record[survey.Weekly] {
		return &survey.Record[survey.Weekly]{Period: "2026-W47", Version: 1, Values: survey.Weekly{Items: map[survey.Supply]*survey.Stock{
			survey.SurgicalMask: {Outlook: outlook}, survey.N95Mask: {Outlook: survey.OutlookFourWeeks}}}}
	}
	masks := []Item{{Supply: survey.SurgicalMask}}
	tests := []struct {
		name     string
		category string
		items    []Item
		st       survey.Status
		want     []string
	}{
		{"hospital eligible by PCR", master.CategoryHospital, masks, survey.Status{Daily: pcr, Weekly: weekly(survey.OutlookOneWeek)}, nil},
		{"hospital eligible by a suspected inpatient, none in stock", master.CategoryHospital, masks, survey.Status{Daily: suspected, Weekly: weekly(survey.OutlookNone)}, nil},
		{"hospital with all zeros", master.CategoryHospital, masks, survey.Status{Daily: zero, Weekly: weekly(survey.OutlookTwoThree)},
			[]string{"②:tests.antigenQuantitative,tests.antigenQualitative,patients.confirmed,patients.suspected,beds.covidAvailable,flags.designatedClinic,flags.pcrAvailable"}},
		{"hospital without surveys", master.CategoryHospital, masks, survey.Status{}, []string{"②:", "weekly_on_file:"}},
		{"hospital with a 4-week outlook", master.CategoryHospital, []Item{{Supply: survey.SurgicalMask}, {Supply: survey.N95Mask}},
			survey.Status{Daily: pcr, Weekly: weekly(survey.OutlookOneWeek)}, []string{"③:items.n95_mask.outlook"}},
		{"item not answered", master.CategoryHospital, []Item{{Supply: survey.NonSterileGloves}},
			survey.Status{Daily: pcr, Weekly: weekly(survey.OutlookOneWeek)}, []string{"③:items.nonsterile_gloves.outlook"}},
		{"clinic without a daily survey", master.CategoryClinic, masks, survey.Status{Weekly: weekly(survey.OutlookOneWeek)}, []string{"daily_on_file:"}},
		{"clinic with an all-zero daily survey", master.CategoryClinic, masks, survey.Status{Daily: zero, Weekly: weekly(survey.OutlookOneWeek)}, nil},
		{"test centre with a long outlook", master.CategoryTestCenter, masks, survey.Status{Daily: zero, Weekly: weekly(survey.OutlookFourWeeks)}, []string{"③:items.surgical_mask.outlook"}},
		{"aggregator without a weekly survey", master.CategoryAggregator, masks, survey.Status{Daily: pcr}, []string{"weekly_on_file:"}},
		{"aggregator with any weekly survey", master.CategoryAggregator, masks, survey.Status{Weekly: weekly(survey.OutlookFourWeeks)}, nil},
		{"veterinary", master.CategoryVeterinary, masks, survey.Status{Daily: pcr, Weekly: weekly(survey.OutlookNone)}, []string{"category:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.category, tc.items, tc.st)
			if g, w := conditions(got), tc.want; len(g) != len(w) || (len(g) > 0 && !equal(g, w)) {
				t.Fatalf("Check = %v, want %v", g, w)
			}
			for _, p := range got {
				if p.Message == "" || p.MessageEn == "" {
					t.Errorf("problem %v lacks a message", p)
				}
			}
		})
	}
}

func TestCheckMessagesNamePeriodsInJapanese(t *testing.T) {
	zero := &survey.Record[survey.Daily]{Period: "2026-11-18", Version: 1}
	weekly := &survey.Record[survey.Weekly]{Period: "2026-W49", Version: 1, Values: survey.Weekly{Items: map[survey.Supply]*survey.Stock{
		survey.SurgicalMask: {Outlook: survey.OutlookFourWeeks}}}}
	got := Check(master.CategoryHospital, []Item{{Supply: survey.SurgicalMask}}, survey.Status{Daily: zero, Weekly: weekly})
	var msgs []string
	for _, p := range got {
		msgs = append(msgs, p.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"週次調査（2026年第49週）", "日次調査（2026年11月18日）"} {
		if !strings.Contains(all, want) {
			t.Errorf("messages %q do not say %s", msgs, want)
		}
	}
	if strings.Contains(all, "W49") || strings.Contains(all, "2026-11-18") {
		t.Errorf("messages %q show ISO forms", msgs)
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidate(t *testing.T) {
	q := int64(0)
	long := make([]rune, MaxComment+1)
	for i := range long {
		long[i] = 'あ'
	}
	tests := []struct {
		name  string
		in    Input
		field string
	}{
		{"general conditions not confirmed", Input{Items: map[string]*ItemInput{"surgical_mask": nil}}, "confirmedGeneral"},
		{"no item", Input{ConfirmedGeneral: true}, "items"},
		{"unknown item", Input{ConfirmedGeneral: true, Items: map[string]*ItemInput{"paper": nil}}, "items.paper"},
		{"N95 without its confirmation", Input{ConfirmedGeneral: true, Items: map[string]*ItemInput{"n95_mask": nil}}, "confirmedN95"},
		{"zero quantity", Input{ConfirmedGeneral: true, Items: map[string]*ItemInput{"isolation_gown": {Quantity: &q}}}, "items.isolation_gown.quantity"},
		{"long comment", Input{ConfirmedGeneral: true, Items: map[string]*ItemInput{"face_shield": nil}, Comment: string(long)}, "comment"},
		{"good", Input{ConfirmedGeneral: true, ConfirmedN95: true, Items: map[string]*ItemInput{"n95_mask": nil, "surgical_mask": nil}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := tc.in.Validate()
			if tc.field == "" {
				if err != nil || len(items) != 2 || items[0].Supply != survey.SurgicalMask {
					t.Fatalf("Validate = %v, %v", items, err)
				}
				return
			}
			e := apperr.As(err)
			if e == nil || e.Field != tc.field || e.Code != apperr.Invalid {
				t.Fatalf("Validate error = %v, want field %s", err, tc.field)
			}
		})
	}
}
