package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingLister is a fake store that counts reads.
type countingLister struct {
	reads   atomic.Int32
	windows []Window
	err     error
}

func (c *countingLister) ListWindows(context.Context) ([]Window, error) {
	c.reads.Add(1)
	return c.windows, c.err
}

func TestGateReadsAtMostOncePerPeriod(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	store := &countingLister{}
	g := NewGate(store, 30*time.Second, func() time.Time { return now })
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), nil)
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		if rec.Code != 204 {
			t.Fatalf("status %d outside a window", rec.Code)
		}
		now = now.Add(100 * time.Millisecond)
	}
	if got := store.reads.Load(); got != 1 {
		t.Errorf("%d reads for 100 requests in 10 s, want 1", got)
	}
	now = now.Add(25 * time.Second)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	if got := store.reads.Load(); got != 2 {
		t.Errorf("%d reads after the cache period, want 2", got)
	}
}

func TestGateAnswers503DuringAWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	store := &countingLister{windows: []Window{
		{ID: "past", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)},
		{ID: "ended", Start: now.Add(-time.Hour), End: now.Add(time.Hour), EndedAt: now.Add(-time.Minute)},
		{ID: "now", Start: now.Add(-time.Minute), End: now.Add(90 * time.Second), Message: "更新作業中です。"},
	}}
	g := NewGate(store, 0, func() time.Time { return now })
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }),
		func(r *http.Request) bool { return r.URL.Path == "/exempt" })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", nil))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "90" {
		t.Errorf("during the window: %d, Retry-After %q; want 503 and 90", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := rec.Body.String(); !strings.Contains(body, "更新作業中です。") || !strings.Contains(body, "2026/11/22 10:01") || !strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("body %s lacks the message or the end in JST", body)
	}
	if body := rec.Body.String(); !strings.Contains(body, `"reason":"maintenance"`) || !strings.Contains(body, `"end":"2026-11-22T10:01:30+09:00"`) {
		t.Errorf("body %s lacks the detail the pages show the window from", body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/exempt", nil))
	if rec.Code != 204 {
		t.Errorf("an exempt route = %d", rec.Code)
	}
	now = now.Add(2 * time.Minute)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/auth/login", nil))
	if rec.Code != 204 {
		t.Errorf("after the window = %d", rec.Code)
	}
}

func TestGateStoreFailureIsInternal(t *testing.T) {
	g := NewGate(&countingLister{err: errors.New("boom")}, time.Minute, nil)
	rec := httptest.NewRecorder()
	g.Wrap(http.NotFoundHandler(), nil).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("store failure = %d %s", rec.Code, rec.Body)
	}
}

func TestNoticesAreTheWindowsNotOverSoonestFirst(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	ws := []Window{
		{ID: "later", Start: now.Add(48 * time.Hour), End: now.Add(50 * time.Hour), Message: "後の作業", CreatedBy: "N0000000001"},
		{ID: "past", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)},
		{ID: "ended", Start: now.Add(-time.Hour), End: now.Add(time.Hour), EndedAt: now.Add(-time.Minute)},
		{ID: "now", Start: now.Add(-time.Minute), End: now.Add(time.Hour), Message: "作業中"},
		{ID: "ends-now", Start: now.Add(-time.Hour), End: now},
		{ID: "soon", Start: now.Add(time.Hour), End: now.Add(2 * time.Hour), Message: "次の作業"},
	}
	got := Notices(ws, now)
	var msgs []string
	for _, n := range got {
		msgs = append(msgs, fmt.Sprintf("%s active=%v %s", n.Message, n.Active, n.Start.Format(time.RFC3339)))
	}
	want := []string{"作業中 active=true 2026-11-22T09:59:00+09:00", "次の作業 active=false 2026-11-22T11:00:00+09:00",
		"後の作業 active=false 2026-11-24T10:00:00+09:00"}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	body, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "N0000000001") || strings.Contains(string(body), "later") {
		t.Errorf("a notice tells the public who scheduled it or its ID: %s", body)
	}
	var many []Window
	for i := range MaxNotices + 3 {
		many = append(many, Window{ID: fmt.Sprint(i), Start: now.Add(time.Duration(10-i) * time.Hour), End: now.Add(time.Duration(11-i) * time.Hour)})
	}
	if got := Notices(many, now); len(got) != MaxNotices || !got[0].Start.Equal(now.Add(3*time.Hour)) {
		t.Errorf("%d notices from %d windows starting at %v, want the %d soonest", len(got), len(many), got[0].Start, MaxNotices)
	}
}
