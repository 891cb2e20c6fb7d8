package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/auth"
)

// TestSessionEndIsToldToThePages checks what /auth/me says about the end
// of the session, which the pages warn by: honest to the server's own
// bookkeeping (LastSeenAt is written at most every 5 minutes), and never
// past the absolute end.
func TestSessionEndIsToldToThePages(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(72 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.9", auth.Config{})
	u, pw := e.Account(t, auth.NewAccount{})
	if r := loginWith(t, e, c, u, pw); r.Status != 200 {
		t.Fatalf("verify = %d %s", r.Status, r.Body)
	}
	login := clock.Now()
	sessionAt := func(what string) (expires, absolute time.Time) {
		t.Helper()
		r := c.Do("GET", "/auth/me", nil)
		if r.Status != 200 {
			t.Fatalf("me %s = %d %s", what, r.Status, r.Body)
		}
		var body struct {
			Session struct {
				ExpiresAt          time.Time `json:"expiresAt"`
				AbsoluteExpiresAt  time.Time `json:"absoluteExpiresAt"`
				IdleTimeoutSeconds int       `json:"idleTimeoutSeconds"`
				TouchEverySeconds  int       `json:"touchEverySeconds"`
			} `json:"session"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Session.IdleTimeoutSeconds != 3*60*60 || body.Session.TouchEverySeconds != 5*60 {
			t.Errorf("me %s: idle %ds, touch every %ds; want 10800 and 300", what, body.Session.IdleTimeoutSeconds, body.Session.TouchEverySeconds)
		}
		return body.Session.ExpiresAt, body.Session.AbsoluteExpiresAt
	}

	if got, abs := sessionAt("right after login"); !got.Equal(login.Add(3*time.Hour)) || !abs.Equal(login.Add(12*time.Hour)) {
		t.Errorf("right after login: ends %v (absolute %v), want %v and %v", got, abs, login.Add(3*time.Hour), login.Add(12*time.Hour))
	}
	// Within 5 minutes of the last write nothing is written: the end stays.
	clock.Advance(2 * time.Minute)
	if got, _ := sessionAt("2 minutes on"); !got.Equal(login.Add(3 * time.Hour)) {
		t.Errorf("2 minutes on: ends %v, want still %v", got, login.Add(3*time.Hour))
	}
	// Later, a request moves the end.
	clock.Advance(58 * time.Minute)
	if got, _ := sessionAt("an hour on"); !got.Equal(login.Add(4 * time.Hour)) {
		t.Errorf("an hour on: ends %v, want %v", got, login.Add(4*time.Hour))
	}
	// Near the absolute end, that is the end.
	for range 5 {
		clock.Advance(2 * time.Hour)
		sessionAt("while active")
	}
	if got, _ := sessionAt("11 hours on"); !got.Equal(login.Add(12 * time.Hour)) {
		t.Errorf("11 hours on: ends %v, want the absolute end %v", got, login.Add(12*time.Hour))
	}
}
