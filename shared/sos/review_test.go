package sos

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/calendar"
)

func TestAfterClose(t *testing.T) {
	at := func(day string, hh, mm, ss int) time.Time {
		d, _ := calendar.Parse(day)
		return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, 0, calendar.JST)
	}
	for _, tc := range []struct {
		name string
		day  string
		t    time.Time
		want bool
	}{
		{"a second before 13:00", "2027-03-05", at("2027-03-05", 12, 59, 59), false},
		{"13:00:00", "2027-03-05", at("2027-03-05", 13, 0, 0), true},
		{"the next morning", "2027-03-05", at("2027-03-06", 9, 0, 0), true},
		{"the evening before the window's day", "2027-05-06", at("2027-04-30", 18, 0, 0), false},
		{"no window", "", at("2027-03-05", 18, 0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AfterClose(tc.day, tc.t); got != tc.want {
				t.Errorf("AfterClose(%q, %v) = %v, want %v", tc.day, tc.t, got, tc.want)
			}
		})
	}
}

func TestNoteMarksOnlyLateChangesByTheInstitution(t *testing.T) {
	day := "2027-03-05"
	late := time.Date(2027, 3, 5, 13, 0, 0, 0, calendar.JST)
	r := Request{Status: StatusDraft}
	r.note(late.Add(-time.Hour), "u1", ChangeCreated)
	r.Status, r.BusinessDay = StatusUnderReview, day
	r.note(late.Add(-time.Minute), "u1", ChangeApplied)
	r.note(late.Add(-time.Second), "u1", ChangeUpdated)
	if r.EditedAfterClose {
		t.Fatal("marked before the close")
	}
	r.note(late.Add(time.Hour), "p1", ChangeConfirmed)
	if r.EditedAfterClose {
		t.Fatal("a reviewer's step marked as a late edit")
	}
	r.note(late, "u1", ChangeUpdated)
	if !r.EditedAfterClose || !r.History[4].AfterClose || r.History[3].AfterClose || len(r.History) != 5 {
		t.Fatalf("after the close: %v %+v", r.EditedAfterClose, r.History)
	}
}

func TestHistoryKeepsFirstAndLatest(t *testing.T) {
	var r Request
	start := time.Date(2027, 3, 1, 9, 0, 0, 0, calendar.JST)
	for i := range MaxHistory + 20 {
		r.note(start.Add(time.Duration(i)*time.Second), "u", ChangeUpdated)
	}
	if len(r.History) != MaxHistory || !r.History[0].At.Equal(start.UTC()) ||
		!r.History[MaxHistory-1].At.Equal(start.Add(time.Duration(MaxHistory+19)*time.Second).UTC()) ||
		!r.History[1].At.Equal(start.Add(21*time.Second).UTC()) {
		t.Fatalf("history of %d: first %v, second %v, last %v", len(r.History), r.History[0].At, r.History[1].At, r.History[len(r.History)-1].At)
	}
}

func TestExportCSV(t *testing.T) {
	e := Export{Rows: [][]string{ExportHeader(), {"2027/03/05_病院_緊急配布要請", "2027/03/05 12:59:59", "病院", "1310000001", "都道府県・国確認中", "2027-03-05", "13", "サージカルマスク", "100", "", "", "", "", "=HYPERLINK(\"x\")"}}}
	var b bytes.Buffer
	if err := e.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.HasPrefix(s, "\ufeffタイトル,申請日時,医療機関名,医療機関コード,対応ステータス,") || !strings.Contains(s, "\r\n2027/03/05_病院_緊急配布要請,") ||
		!strings.Contains(s, `"'=HYPERLINK(""x"")"`) {
		t.Fatalf("csv %q", s)
	}
}

func TestValidPrefecture(t *testing.T) {
	for code, want := range map[string]bool{"01": true, "13": true, "47": true, "00": false, "48": false, "1": false, "013": false,
		"0a": false, `";`: false, "..": false, "\r\n": false, "": false} {
		if got := validPrefecture(code); got != want {
			t.Errorf("validPrefecture(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestOpenWindowNamesTheLastClosed(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.JST)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for now, want := range map[string][2]string{
		"2026-12-01 12:59": {"2026-12-01", "2026-11-30"}, // before the deadline: today's is open
		"2026-12-01 13:00": {"2026-12-02", "2026-12-01"}, // today's just closed
		"2026-11-23 14:00": {"2026-11-24", "2026-11-20"}, // a Monday holiday: Friday's closed last
		"2026-12-31 10:00": {"2027-01-04", "2026-12-28"}, // the year end
	} {
		w := OpenWindow(at(now))
		if w.BusinessDay != want[0] || w.LastClosedDay != want[1] {
			t.Errorf("at %s: open %s, last closed %s; want %v", now, w.BusinessDay, w.LastClosedDay, want)
		}
	}
}
