// Package maintenance closes the system for scheduled maintenance windows
// (seed 003): during a window every HTTP function except health answers 503
// with the window's message, its end and Retry-After. The check reads the
// windows at most once per cache period per function instance, so most
// requests cost no extra read.
package maintenance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/httpapi"
)

// Window is a scheduled maintenance window.
type Window struct {
	ID        string    `json:"id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Message   string    `json:"message"`
	CreatedBy string    `json:"createdBy"`
	EndedAt   time.Time `json:"endedAt,omitzero"` // ended early by an operator
}

// ActiveAt reports whether the window closes the system at t.
func (w Window) ActiveAt(t time.Time) bool {
	return w.EndedAt.IsZero() && !t.Before(w.Start) && t.Before(w.End)
}

// Lister reads the windows that have not ended.
type Lister interface {
	ListWindows(ctx context.Context) ([]Window, error)
}

// Gate answers 503 during a window.
type Gate struct {
	store Lister
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	cached  []Window
	fetched time.Time
}

// NewGate returns a Gate that rereads the windows every ttl.
func NewGate(store Lister, ttl time.Duration, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	return &Gate{store: store, ttl: ttl, now: now}
}

// Active returns the window that closes the system now, if any.
func (g *Gate) Active(ctx context.Context) (Window, bool, error) {
	ws, now, err := g.windows(ctx)
	if err != nil {
		return Window{}, false, err
	}
	for _, w := range ws {
		if w.ActiveAt(now) {
			return w, true, nil
		}
	}
	return Window{}, false, nil
}

// Notices returns the announced windows, current and upcoming, as the
// public may see them, from the same cached read as Active.
func (g *Gate) Notices(ctx context.Context) ([]Notice, error) {
	ws, now, err := g.windows(ctx)
	if err != nil {
		return nil, err
	}
	return Notices(ws, now), nil
}

// windows returns the cached windows, read again when the cache is older
// than ttl, and the time it judged that by.
func (g *Gate) windows(ctx context.Context) ([]Window, time.Time, error) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fetched.IsZero() || now.Sub(g.fetched) >= g.ttl || now.Before(g.fetched) {
		ws, err := g.store.ListWindows(ctx)
		if err != nil {
			return nil, now, fmt.Errorf("read maintenance windows: %w", err)
		}
		g.cached, g.fetched = ws, now
	}
	return g.cached, now, nil
}

// Notice is a window as announced to everyone, logged in or not
// (メンテナンス実施のお知らせ): its times and message, nothing about who
// scheduled it.
type Notice struct {
	Start   time.Time `json:"start"` // JST
	End     time.Time `json:"end"`   // JST
	Message string    `json:"message"`
	Active  bool      `json:"active"` // the system is closed now
}

// MaxNotices is how many windows are announced at most: the soonest.
const MaxNotices = 5

// Notices returns the windows not yet over at now and not ended early,
// soonest first, at most MaxNotices.
func Notices(ws []Window, now time.Time) []Notice {
	var live []Window
	for _, w := range ws {
		if w.EndedAt.IsZero() && now.Before(w.End) {
			live = append(live, w)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Start.Before(live[j].Start) })
	out := make([]Notice, 0, min(len(live), MaxNotices))
	for _, w := range live[:min(len(live), MaxNotices)] {
		out = append(out, Notice{Start: w.Start.In(JST), End: w.End.In(JST), Message: w.Message, Active: w.ActiveAt(now)})
	}
	return out
}

// JST is Japan Standard Time: windows are named and shown in it.
var JST = time.FixedZone("JST", 9*60*60)

// WindowID names a window by its start in JST (what operators and users
// read) and a suffix that keeps two windows of the same minute apart.
func WindowID(start time.Time, suffix string) string {
	return start.In(JST).Format("20060102T1504") + "-" + suffix
}

// MarshalJSON writes the window's times in JST, as people read them.
func (w Window) MarshalJSON() ([]byte, error) {
	type plain Window
	p := plain(w)
	p.Start, p.End = w.Start.In(JST), w.End.In(JST)
	if !w.EndedAt.IsZero() {
		p.EndedAt = w.EndedAt.In(JST)
	}
	return json.Marshal(p)
}

// Wrap returns h closed during windows, except for requests exempt allows.
func (g *Gate) Wrap(h http.Handler, exempt func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if exempt != nil && exempt(r) {
			h.ServeHTTP(w, r)
			return
		}
		win, active, err := g.Active(r.Context())
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if !active {
			h.ServeHTTP(w, r)
			return
		}
		retry := max(int(win.End.Sub(g.now()).Seconds()+0.999), 1)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		until := win.End.In(JST).Format("2006/01/02 15:04")
		msg := win.Message
		if msg == "" {
			msg = "システムメンテナンス中です。"
		}
		e := apperr.New(apperr.Unavailable,
			fmt.Sprintf("%s（%s まで）", msg, until),
			fmt.Sprintf("closed for maintenance until %s", win.End.UTC().Format(time.RFC3339)))
		// The pages show the window as a notice of its own, not as an error.
		e.Detail = map[string]string{"reason": "maintenance", "message": msg, "end": win.End.In(JST).Format(time.RFC3339)}
		httpapi.WriteError(w, r, e)
	})
}
