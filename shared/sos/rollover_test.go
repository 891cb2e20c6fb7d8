package sos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/calendar"
)

func TestDueWindows(t *testing.T) {
	at := func(y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, calendar.JST)
	}
	tests := []struct {
		name      string
		now       time.Time
		wantFirst string
		wantLast  string
	}{
		{"at 13:00 on a Tuesday the day itself is due", at(2024, 1, 9, 13, 0), "2023-12-11", "2024-01-09"},
		{"at 12:59 the day is still open", at(2024, 1, 9, 12, 59), "2023-12-11", "2024-01-05"},
		{"on a Saturday Friday's window is the last", at(2024, 1, 13, 13, 0), "2023-12-13", "2024-01-12"},
		{"Golden Week: Monday 6 May 2024 is a holiday", at(2024, 5, 7, 9, 0), "2024-04-08", "2024-05-02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DueWindows(tt.now)
			if len(got) == 0 || got[0] != tt.wantFirst || got[len(got)-1] != tt.wantLast {
				t.Fatalf("DueWindows(%s) = %v, want %s … %s", tt.now, got, tt.wantFirst, tt.wantLast)
			}
			for _, d := range got {
				day, _ := calendar.Parse(d)
				if !calendar.IsBusinessDay(day) || tt.now.Sub(day) > (CatchUpDays+1)*24*time.Hour {
					t.Errorf("%s is not a due business day", d)
				}
			}
		})
	}
}

func TestMessage(t *testing.T) {
	r := NewRollover(nil, nil, nil, "https://gmis.example.jp/", nil)
	subject, body := r.Message(Summary{Day: "2024-01-09", PrefectureCode: "13", Count: 3})
	if !strings.Contains(subject, "3件") || !strings.Contains(body, "https://gmis.example.jp/sos/review?day=2024-01-09&prefectureCode=13") {
		t.Fatalf("message = %q %q", subject, body)
	}
}

func TestRunForRefuses(t *testing.T) {
	r := NewRollover(nil, nil, nil, "", nil) // a refusal reads and writes nothing
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, calendar.JST)
	tests := []struct{ day, want string }{
		{"2026-11-23", "not a business day"},         // 勤労感謝の日
		{"2026-11-29", "not a business day"},         // a Sunday
		{"2026-12-30", "not a business day"},         // the year-end closure
		{"2026-12-01", "13:00 JST is still to come"}, // today, before 13:00
		{"2027-01-06", "13:00 JST is still to come"},
		{"2026/11/30", "YYYY-MM-DD"},
		{"", "YYYY-MM-DD"},
	}
	for _, tt := range tests {
		t.Run(tt.day, func(t *testing.T) {
			_, err := r.RunFor(context.Background(), tt.day, now)
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid || e.Field != "date" || !strings.Contains(e.MessageEn, tt.want) {
				t.Fatalf("RunFor(%q) = %v, want an invalid date naming %q", tt.day, err, tt.want)
			}
		})
	}
}
