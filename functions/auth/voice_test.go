package main

import (
	"testing"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
)

// TestLoginWithVoiceCode logs in with seed 001's method 3: the local stack
// configures voice and records the call in its stand-in, where the code
// is read back.
func TestLoginWithVoiceCode(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{Phone: "03-5555-2301", Method: auth.MethodVoice})
	if u.Destination != "+81355552301" {
		t.Fatalf("destination %q, want E.164", u.Destination)
	}
	c := e.Client(t)
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 || r.String("method") != "voice" {
		t.Fatalf("login = %d %s, want a code by voice call", r.Status, r.Body)
	}
	code := authtest.LastCode(t, 1, func() []string { return authtest.CallCode(e.Voice.Calls("+81355552301")) })
	if v := c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code}); v.Status != 200 {
		t.Fatalf("verify = %d %s", v.Status, v.Body)
	}
	if me := c.Do("GET", "/auth/me", nil); me.Status != 200 {
		t.Errorf("me = %d", me.Status)
	}
}

func TestSecondFactorChangeToVoice(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)
	r := c.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": authtest.GoodPassword, "method": "voice", "destination": "03-5555-2302"})
	if r.Status != 200 || r.String("method") != "voice" {
		t.Fatalf("change = %d %s", r.Status, r.Body)
	}
	code := authtest.LastCode(t, 1, func() []string { return authtest.CallCode(e.Voice.Calls("+81355552302")) })
	if r := c.Do("POST", "/auth/second-factor/change/confirm", map[string]string{"code": code}); r.Status != 200 {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
}
