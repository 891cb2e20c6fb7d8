package search

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/survey"
)

// fakeStore is a read model in memory.
type fakeStore struct {
	entries []Entry
	surveys map[string]survey.Daily
}

func (f *fakeStore) Prefecture(_ context.Context, pref string) ([]Entry, error) {
	var out []Entry
	for _, e := range f.entries {
		if e.PrefectureCode == pref {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeStore) Entry(_ context.Context, code string) (Entry, error) {
	for _, e := range f.entries {
		if e.Code == code {
			return e, nil
		}
	}
	return Entry{}, apperr.New(apperr.NotFound, "ありません。", "not found")
}

func (f *fakeStore) Ranked(ctx context.Context, r RankedRead, fn func(Entry) bool) error {
	all, _ := f.Prefecture(ctx, r.Prefecture)
	rank := func(e Entry) string {
		var beds int64
		if e.Status != nil {
			beds = e.Status.CovidAvailable
		}
		return Rank(beds, e.Code)
	}
	sort.Slice(all, func(i, j int) bool { return rank(all[i]) < rank(all[j]) })
	for _, e := range all {
		current := e.Status != nil && e.Status.Date >= r.Since
		if current == r.Stale || rank(e) <= r.After || r.Before != "" && rank(e) >= r.Before {
			continue
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

func (f *fakeStore) Surveys(_ context.Context, codes []string) (map[string]survey.Daily, error) {
	out := map[string]survey.Daily{}
	for _, c := range codes {
		if v, ok := f.surveys[c]; ok {
			out[c] = v
		}
	}
	return out, nil
}

type noHistory struct{}

func (noHistory) Range(context.Context, string, string, string) ([]survey.Record[survey.Daily], error) {
	return nil, nil
}

var now = time.Date(2026, 11, 21, 10, 0, 0, 0, survey.JST)

func entry(code, name, kana, day string, beds int64, pcr bool) Entry {
	e := Entry{Institution: Institution{Code: code, Name: name, Kana: kana, PrefectureCode: "13", HealthCenterCode: "1301"}, NameKey: Fold(name), KanaKey: Fold(kana)}
	if day != "" {
		e.Status = &Status{Date: day, CovidAvailable: beds, Services: survey.Services{Inpatient: "normal", Emergency: "stopped"}, PCRAvailable: pcr}
	}
	return e
}

func fixture() *fakeStore {
	return &fakeStore{entries: []Entry{
		entry("1300000001", "東京第一病院", "トウキョウダイイチビョウイン", "2026-11-21", 3, true),
		entry("1300000002", "港病院", "ミナトビョウイン", "2026-11-20", 7, false),
		entry("1300000003", "古い病院", "フルイビョウイン", "2026-11-18", 9, true), // stale: 3 days
		entry("1300000004", "未報告病院", "ミホウコクビョウイン", "", 0, false),
		entry("1300000005", "空き無し病院", "アキナシビョウイン", "2026-11-19", 0, true), // 2 days: current
	}, surveys: map[string]survey.Daily{"1300000001": {Staffing: "normal"}}}
}

func TestSearchFiltersAndOrders(t *testing.T) {
	svc := NewService(fixture(), noHistory{}, Config{CursorKey: []byte("k"), Now: func() time.Time { return now }})
	user := authz.Principal{UserID: "u", Role: authz.InstitutionUser, InstitutionCode: "1300000001", PrefectureCode: "13", HealthCenterCode: "1301"}
	tests := []struct {
		query string
		want  string
	}{
		{"", "1300000002,1300000001,1300000005,1300000003,1300000004"},
		{"accepting=true", "1300000002,1300000001"},
		{"pcr=true", "1300000001,1300000005"},
		{"emergency=true", ""},
		{"inpatient=true", "1300000002,1300000001,1300000005"},
		{"q=%EF%BE%84%EF%BD%B3%EF%BD%B7%EF%BD%AE%EF%BD%B3", "1300000001"}, // ﾄｳｷｮｳ
		{"q=%E3%81%B3%E3%82%87%E3%81%86%E3%81%84%E3%82%93&accepting=true", "1300000002,1300000001"},
		// The current ones by kana, then the stale ones by kana.
		{"sort=name", "1300000005,1300000001,1300000002,1300000003,1300000004"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.query)
			q, err := ParseQuery(v)
			if err != nil {
				t.Fatal(err)
			}
			page, err := svc.Search(context.Background(), user, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range page.Results {
				got = append(got, r.Code)
				if (r.Survey != nil) != (r.Code == "1300000001") {
					t.Errorf("%s: survey shown = %v", r.Code, r.Survey != nil)
				}
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("got %s, want %s", strings.Join(got, ","), tt.want)
			}
		})
	}
}

func TestCursorPagesEveryResultOnce(t *testing.T) {
	for _, sortBy := range []string{SortBeds, SortName} {
		t.Run(sortBy, func(t *testing.T) {
			svc := NewService(fixture(), noHistory{}, Config{CursorKey: []byte("k"), Now: func() time.Time { return now }})
			p := authz.Principal{UserID: "n", Role: authz.National}
			q := Query{Prefecture: "13", Sort: sortBy, Limit: 2}
			seen := map[string]bool{}
			for range 5 {
				page, err := svc.Search(context.Background(), p, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Results {
					if seen[r.Code] {
						t.Errorf("%s twice", r.Code)
					}
					seen[r.Code] = true
				}
				if q.Cursor = page.NextCursor; q.Cursor == "" {
					break
				}
			}
			if len(seen) != 5 {
				t.Errorf("saw %d of 5", len(seen))
			}
			q.Cursor = "AAAA.BBBB"
			if _, err := svc.Search(context.Background(), p, q); apperr.As(err) == nil || apperr.As(err).Field != "cursor" {
				t.Errorf("a forged cursor = %v", err)
			}
		})
	}
}

func TestParseQueryRefusals(t *testing.T) {
	for q, field := range map[string]string{"prefecture=00": "prefecture", "limit=101": "limit", "sort=x": "sort", "near=1": "near",
		"near=35,139&withinKm=-1": "withinKm", "near=NaN,NaN": "near", "near=35,NaN": "near", "near=35,139&withinKm=NaN": "withinKm", "withinKm=3": "near", "pcr=1": "pcr", "healthCenter=abc": "healthCenter"} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseQuery(v); apperr.As(err) == nil || apperr.As(err).Field != field {
			t.Errorf("%s: %v, want a problem with %s", q, err, field)
		}
	}
}

func TestDistanceKm(t *testing.T) {
	// Tokyo station to Shin-Osaka station: about 403 km.
	if d := DistanceKm(35.6812, 139.7671, 34.7335, 135.5003); d < 395 || d > 410 {
		t.Errorf("DistanceKm = %.1f", d)
	}
}

// TestNameSortJudgesStalenessAtTheFirstPage turns a stale institution
// current between two pages by name: it stays among the stale ones of that
// search (judged as of its first page), so it is seen once and not
// skipped; a new search shows it among the current ones.
func TestNameSortJudgesStalenessAtTheFirstPage(t *testing.T) {
	store := fixture()
	clock := now
	svc := NewService(store, noHistory{}, Config{CursorKey: []byte("k"), Now: func() time.Time { return clock }})
	p := authz.Principal{UserID: "n", Role: authz.National}
	q := Query{Prefecture: "13", Sort: SortName, Limit: 3}
	codesOf := func(pg Page) string {
		var out []string
		for _, r := range pg.Results {
			out = append(out, r.Code)
		}
		return strings.Join(out, ",")
	}
	first, err := svc.Search(context.Background(), p, q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := codesOf(first), "1300000005,1300000001,1300000002"; got != want {
		t.Fatalf("first page = %s, want the current ones %s", got, want)
	}
	// フルイ (stale since 11-18) reports today, a minute after the first page.
	clock = now.Add(time.Minute)
	e := &store.entries[2]
	e.PrevDate, e.AdvancedAt = e.Status.Date, clock
	e.Status = &Status{Date: "2026-11-21", CovidAvailable: 2}
	if got := e.LatestAsOf(now); got != "2026-11-18" {
		t.Errorf("LatestAsOf the first page = %s, want the report before the advance", got)
	}
	if got := e.LatestAsOf(clock); got != "2026-11-21" {
		t.Errorf("LatestAsOf the advance = %s", got)
	}
	q.Cursor = first.NextCursor
	second, err := svc.Search(context.Background(), p, q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := codesOf(second), "1300000003,1300000004"; got != want || second.NextCursor != "" {
		t.Errorf("second page = %s (next %q), want %s: the stale ones as of the first page", got, second.NextCursor, want)
	}
	if second.Results[0].Stale {
		t.Errorf("フルイ is shown stale after its report of today")
	}
	q.Cursor = ""
	fresh, err := svc.Search(context.Background(), p, q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := codesOf(fresh), "1300000005,1300000001,1300000003"; got != want {
		t.Errorf("a new search = %s, want %s", got, want)
	}
}
