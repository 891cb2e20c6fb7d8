package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// countingStore is a hand-written fake that counts writes.
type countingStore struct {
	mu      sync.Mutex
	s       map[string]Session
	touches int
}

func (c *countingStore) GetSession(_ context.Context, id string) (Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.s[id]
	if !ok {
		return Session{}, apperr.New(apperr.NotFound, "", "no session")
	}
	return s, nil
}

func (c *countingStore) TouchSession(_ context.Context, id string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s[id]
	s.LastSeenAt = at
	c.s[id] = s
	c.touches++
	return nil
}

func (c *countingStore) DeleteSession(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.s, id)
	return nil
}

func TestActivityWritesAtMostEveryFewMinutes(t *testing.T) {
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	now := start
	token, id, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{s: map[string]Session{id: {ID: id, UserID: "u", CreatedAt: start, LastSeenAt: start, ExpiresAt: start.Add(12 * time.Hour)}}}
	m := NewManager(store, Config{Now: func() time.Time { return now }})
	req := func() error {
		r := httptest.NewRequest(http.MethodGet, "/auth/me", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: token})
		_, err := m.Resolve(r)
		return err
	}
	for range 100 { // a busy minute
		now = now.Add(600 * time.Millisecond)
		if err := req(); err != nil {
			t.Fatal(err)
		}
	}
	if store.touches != 0 {
		t.Errorf("%d writes in the first minute, want 0", store.touches)
	}
	now = start.Add(5*time.Minute + time.Second)
	if err := req(); err != nil {
		t.Fatal(err)
	}
	if store.touches != 1 {
		t.Errorf("%d writes after five minutes, want 1", store.touches)
	}
	if got := store.s[id].LastSeenAt; !got.Equal(now) {
		t.Errorf("LastSeenAt = %v, want %v", got, now)
	}
}

func TestCookieAttributes(t *testing.T) {
	c := Cookie("tok", 12*time.Hour)
	if c.Name != "__Host-gmis_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %+v lacks __Host- prefix rules, HttpOnly or SameSite=Strict", c)
	}
	if IDOf("tok") == "tok" || len(IDOf("tok")) != 64 {
		t.Errorf("IDOf does not hash the token")
	}
}
