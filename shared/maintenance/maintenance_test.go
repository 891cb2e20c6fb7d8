package maintenance

import (
	"context"
	"errors"
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
