package sos

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
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
	if !strings.Contains(subject, "3件") || !strings.Contains(body, "https://gmis.example.jp/sos-review?day=2024-01-09&prefectureCode=13") {
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

// memStore is an in-memory RolloverStore.
type memStore struct {
	closed  map[string]bool
	done    map[string]bool
	members map[string][]Member
	sums    map[string]Summary // day#prefecture
	held    map[string]bool    // day#prefecture: another run's claim
}

func newMemStore() *memStore {
	return &memStore{closed: map[string]bool{}, done: map[string]bool{}, members: map[string][]Member{}, sums: map[string]Summary{}, held: map[string]bool{}}
}

func (m *memStore) Windows(_ context.Context, from, to string) ([]WindowRecord, error) {
	var out []WindowRecord
	for day := range m.closed {
		if day >= from && day <= to {
			w := WindowRecord{Day: day, ClosedAt: &time.Time{}}
			if m.done[day] {
				w.DoneAt = &time.Time{}
			}
			out = append(out, w)
		}
	}
	return out, nil
}

func (m *memStore) Close(_ context.Context, day string, _ time.Time) (bool, error) {
	was := m.closed[day]
	m.closed[day] = true
	return !was, nil
}

func (m *memStore) Done(_ context.Context, day string, _ time.Time) error {
	m.done[day] = true
	return nil
}

func (m *memStore) Members(_ context.Context, day string) ([]Member, error) {
	if !m.closed[day] {
		return nil, fmt.Errorf("members of %s read before its close", day)
	}
	return m.members[day], nil
}

func (m *memStore) Summaries(_ context.Context, day string) ([]Summary, error) {
	var out []Summary
	for _, p := range Prefectures {
		if s, ok := m.sums[day+"#"+p]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memStore) PutSummary(_ context.Context, s Summary) (Summary, error) {
	if old, ok := m.sums[s.Day+"#"+s.PrefectureCode]; ok {
		return old, nil
	}
	m.sums[s.Day+"#"+s.PrefectureCode] = s
	return s, nil
}

func (m *memStore) ClaimMail(_ context.Context, day, prefecture string, _ time.Time, _ time.Duration) (bool, error) {
	return !m.held[day+"#"+prefecture] && m.sums[day+"#"+prefecture].MailedAt == nil, nil
}

func (m *memStore) Mailed(_ context.Context, day, prefecture string, at time.Time, n int) error {
	s := m.sums[day+"#"+prefecture]
	s.MailedAt, s.MailedTo = &at, n
	m.sums[day+"#"+prefecture] = s
	return nil
}

type mails struct{ to []string }

func (m *mails) Mail(_ context.Context, to, _, _ string) error {
	m.to = append(m.to, to)
	return nil
}

type reviewers struct{}

func (reviewers) Mails(_ context.Context, _, code string, _ ...authz.Role) ([]string, error) {
	return []string{"a-" + code + "@example.jp", "b-" + code + "@example.jp"}, nil
}

// TestRunReports: a run reports per window and prefecture what it did — a
// window it closed, one it went on with after a run that stopped before
// mailing, a prefecture whose claim another run holds (the window stays
// unfinished) — and a re-run reports a finished window from its summaries
// and sends nothing.
func TestRunReports(t *testing.T) {
	st := newMemStore()
	m := &mails{}
	r := NewRollover(st, m, reviewers{}, "http://127.0.0.1", slog.New(slog.DiscardHandler))
	ctx := context.Background()
	// Catch-up of everything before Monday 30 November 2026, untimed.
	if _, err := r.Run(ctx, calendar.Deadline(calendar.Date(2026, 11, 27))); err != nil {
		t.Fatal(err)
	}
	m.to = nil
	// Tuesday 1 December: two requests of 13, one of 27. Monday 30
	// November was closed by a run that wrote 13's summary and stopped.
	st.members["2026-12-01"] = []Member{{PrefectureCode: "13", RequestID: "a"}, {PrefectureCode: "13", RequestID: "b"}, {PrefectureCode: "27", RequestID: "c"}}
	st.members["2026-11-30"] = []Member{{PrefectureCode: "13", RequestID: "x"}}
	st.closed["2026-11-30"] = true
	st.sums["2026-11-30#13"] = NewSummary("2026-11-30", "13", st.members["2026-11-30"], time.Now())
	st.held["2026-12-01#27"] = true

	got, err := r.RunFor(ctx, "2026-12-01", calendar.Deadline(calendar.Date(2026, 12, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Closed, ",") != "2026-11-30,2026-12-01" || got.Mails != 2 || len(m.to) != 4 || len(got.Windows) != 2 {
		t.Fatalf("run = %+v, mails to %v", got, m.to)
	}
	mon, tue := got.Windows[0], got.Windows[1]
	if mon.Action != ActionResumed || mon.Requests != 1 || mon.Empty != 46 ||
		len(mon.Prefectures) != 1 || mon.Prefectures[0] != (PrefectureReport{PrefectureCode: "13", Count: 1, Mail: MailSent, MailedTo: 2}) {
		t.Errorf("Monday = %+v", mon)
	}
	want := []PrefectureReport{{PrefectureCode: "13", Count: 2, Mail: MailSent, MailedTo: 2}, {PrefectureCode: "27", Count: 1, Mail: MailHeld}}
	if tue.Action != ActionClosed || tue.Requests != 3 || tue.Empty != 45 || !slices.Equal(tue.Prefectures, want) {
		t.Errorf("Tuesday = %+v, want prefectures %+v", tue, want)
	}
	if !st.done["2026-11-30"] || st.done["2026-12-01"] {
		t.Errorf("done = %v, want Monday only (27's mail is still claimed)", st.done)
	}

	// The claim's run went away; the next run sends 27's mail only.
	st.held["2026-12-01#27"] = false
	m.to = nil
	got, err = r.RunFor(ctx, "2026-12-01", calendar.Deadline(calendar.Date(2026, 12, 1)).Add(time.Hour))
	if err != nil || got.Mails != 1 || len(m.to) != 2 || len(got.Windows) != 1 || got.Windows[0].Action != ActionResumed {
		t.Fatalf("run after the claim = %+v, %v, mails to %v", got, err, m.to)
	}
	// Finished: a re-run sends nothing and reports from the summaries.
	m.to = nil
	got, err = r.RunFor(ctx, "2026-12-01", calendar.Deadline(calendar.Date(2026, 12, 1)))
	if err != nil || got.Mails != 0 || len(m.to) != 0 || len(got.Closed) != 0 || len(got.Windows) != 1 {
		t.Fatalf("re-run = %+v, %v", got, err)
	}
	if w := got.Windows[0]; w.Action != ActionDone || w.Requests != 3 || len(w.Prefectures) != 2 || w.Prefectures[0].Mail != MailBefore {
		t.Errorf("re-run's report = %+v", w)
	}
}
