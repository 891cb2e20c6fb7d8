package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/session"
)

// The tests in this file need time to pass: they run the auth handler in
// this process with a clock they move, against the same DynamoDB Local and
// moto as the stack tests.

// clockServer serves the auth routes with clock as their time, seen from
// sourceIP (as API Gateway would report it).
func clockServer(t *testing.T, e *authtest.Env, clock *authtest.Clock, sourceIP string, cfg auth.Config) *authtest.Client {
	t.Helper()
	var fnEnv map[string]string
	for _, f := range e.Stack.Template.Functions {
		if f.LogicalID == "AuthFunction" {
			fnEnv = f.Env
		}
	}
	ep := e.Stack.Endpoints
	smsClient := sns.NewFromConfig(ep.Config(), func(o *sns.Options) { o.BaseEndpoint = aws.String(ep.Moto) })
	notifier := notify.New(ep.SESClient(), smsClient, nil, notify.Config{MailFrom: fnEnv["MAIL_FROM"]})
	cfg.Now = clock.Now
	cfg.Session = session.Config{Now: clock.Now}
	cfg.ResetURL = "http://127.0.0.1:3000/password-reset"
	svc, err := auth.NewService(e.Store, e.Audit, notifier, []byte(fnEnv["AUTH_SECRET"]), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sessions := session.NewManager(e.Store, session.Config{Now: clock.Now, Ended: auth.RecordExpiry(e.Audit, clock.Now)})
	h := &handler{svc: svc, sessions: sessions, logger: slog.New(slog.DiscardHandler)}
	routes := httpapi.New(h.routes(), httpapi.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = sourceIP + ":40000"
		routes.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &authtest.Client{T: t, Base: srv.URL}
}

// futureClock starts far from the wall clock, so that rate-limit windows of
// other tests sharing the tables do not overlap this one's.
func futureClock(offset time.Duration) *authtest.Clock {
	return authtest.NewClock(time.Now().Add(offset).Truncate(time.Second))
}

func loginWith(t *testing.T, e *authtest.Env, c *authtest.Client, u auth.User, pw string) authtest.Response {
	t.Helper()
	n := len(e.Moto.Mails(u.Mail))
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	code := authtest.LastCode(t, n+1, func() []string { return e.Moto.Mails(u.Mail) })
	return c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code})
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(24 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.1", auth.Config{})
	u, pw := e.Account(t, auth.NewAccount{})
	if r := loginWith(t, e, c, u, pw); r.Status != 200 {
		t.Fatalf("verify = %d %s", r.Status, r.Body)
	}

	// Activity keeps the session: 2h59m of silence twice is fine.
	for i := range 2 {
		clock.Advance(2*time.Hour + 59*time.Minute)
		if r := c.Do("GET", "/auth/me", nil); r.Status != 200 {
			t.Fatalf("me after idle period %d = %d %s", i+1, r.Status, r.Body)
		}
	}
	// Three hours and a minute without a request ends it.
	clock.Advance(3*time.Hour + time.Minute)
	r := c.Do("GET", "/auth/me", nil)
	if r.Status != 401 || c.Cookie != "" {
		t.Fatalf("me after 3h01m idle = %d %s (cookie %q), want 401 and the cookie cleared", r.Status, r.Body, c.Cookie)
	}

	// However active, a session ends 12 hours after login.
	if r := loginWith(t, e, c, u, pw); r.Status != 200 {
		t.Fatalf("verify = %d %s", r.Status, r.Body)
	}
	for range 5 {
		clock.Advance(2 * time.Hour)
		if r := c.Do("GET", "/auth/me", nil); r.Status != 200 {
			t.Fatalf("me while active = %d", r.Status)
		}
	}
	clock.Advance(2*time.Hour + time.Second)
	if r := c.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("me 12h after login = %d, want 401", r.Status)
	}
	if got, want := endReasons(t, e, u.ID), []string{"idle_timeout", "absolute_timeout"}; !slices.Equal(got, want) {
		t.Errorf("session_ended reasons %v, want %v", got, want)
	}
}

func TestCodeExpiresAfterFiveMinutes(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(48 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.2", auth.Config{})
	u, pw := e.Account(t, auth.NewAccount{})
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	code := authtest.LastCode(t, 1, func() []string { return e.Moto.Mails(u.Mail) })
	clock.Advance(5*time.Minute + time.Second)
	if v := c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code}); v.Status != 401 {
		t.Errorf("verify after 5m01s = %d, want 401", v.Status)
	}
}

func TestDelayIsCappedAtFifteenMinutes(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(72 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.3", auth.Config{})
	u, pw := e.Account(t, auth.NewAccount{})
	key := auth.SourceKey(u.ID, "198.51.100.3")
	for range 20 { // 2^(20-5) s would be nine hours
		if _, err := e.Store.Count(context.Background(), key, clock.Now(), clock.Now().Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(14*time.Minute + 59*time.Second)
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 401 {
		t.Fatalf("login inside the 15-minute wait = %d, want 401", r.Status)
	}
	clock.Advance(2 * time.Second)
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 200 {
		t.Errorf("login after 15 minutes = %d %s, want 200", r.Status, r.Body)
	}
}

func TestCodeSendsAreLimited(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(96 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.4", auth.Config{})
	u, pw := e.Account(t, auth.NewAccount{})
	for i := range 5 {
		if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 200 {
			t.Fatalf("send %d = %d %s", i+1, r.Status, r.Body)
		}
		clock.Advance(time.Minute)
	}
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 429 {
		t.Fatalf("sixth code within 15 minutes = %d %s, want 429", r.Status, r.Body)
	}
	if got := len(e.Moto.Mails(u.Mail)); got != 5 {
		t.Errorf("%d mails sent, want 5", got)
	}
	// Sends are counted in 15-minute windows, the previous one weighted by
	// how much of it is still inside the last 15 minutes: 26 more minutes
	// leave at most a quarter of the five sends counted.
	clock.Advance(26 * time.Minute)
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 200 {
		t.Errorf("a code after the window = %d %s", r.Status, r.Body)
	}
}

func TestSourceIPIsThrottled(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(120 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.5", auth.Config{IPLimit: 3, IPWindow: time.Minute})
	for i := range 3 {
		if r := c.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER3", "password": "Wrong#Pass1"}); r.Status != 401 {
			t.Fatalf("attempt %d = %d", i+1, r.Status)
		}
	}
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER3", "password": "Wrong#Pass1"}); r.Status != 429 {
		t.Errorf("fourth attempt in a minute = %d, want 429", r.Status)
	}
	if r := c.Do("POST", "/auth/password-reset/request", map[string]string{"userId": "NOSUCHUSER3"}); r.Status != 202 {
		t.Errorf("reset has its own budget: %d", r.Status)
	}
	clock.Advance(2 * time.Minute) // the failures' window and the one after it are over
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER3", "password": "Wrong#Pass1"}); r.Status != 401 {
		t.Errorf("after the window = %d, want 401", r.Status)
	}
}

func TestAddressIsLimitedByFailuresNotLogins(t *testing.T) {
	e := stackEnv(t)
	// At the start of a one-minute window, so that the failures below fall
	// in one window: across a boundary the estimate weights the earlier one.
	clock := authtest.NewClock(time.Now().Add(144 * time.Hour).Truncate(time.Minute).Add(5 * time.Second))
	c := clockServer(t, e, clock, "198.51.100.6", auth.Config{IPLimit: 3, IPWindow: time.Minute})
	// A ward logging in from one address: more logins than the limit.
	for range 2 {
		u, pw := e.Account(t, auth.NewAccount{})
		for i := range 3 {
			if r := loginWith(t, e, c, u, pw); r.Status != 200 {
				t.Fatalf("login %d of %s = %d %s", i+1, u.ID, r.Status, r.Body)
			}
		}
	}
	// Failures are what count: the fourth request after three is refused,
	// even with the right password.
	u, pw := e.Account(t, auth.NewAccount{})
	for range 3 {
		if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": "Wrong#Pass1"}); r.Status != 401 {
			t.Fatalf("wrong password = %d", r.Status)
		}
		clock.Advance(time.Second) // past the 5-failure delay's reach: only the address counts here
	}
	if r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 429 {
		t.Errorf("after 3 failures from the address = %d %s, want 429", r.Status, r.Body)
	}
}

func TestParallelVerifiesFromOneAddress(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(168 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.7", auth.Config{})
	const n = 30
	type pending struct {
		u         auth.User
		challenge string
		code      string
	}
	ps := make([]pending, n)
	var wg sync.WaitGroup
	for i := range ps {
		u, pw := e.Account(t, auth.NewAccount{})
		wg.Go(func() {
			cl := &authtest.Client{T: t, Base: c.Base}
			r := cl.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
			if r.Status != 200 {
				t.Errorf("login = %d %s", r.Status, r.Body)
				return
			}
			ps[i] = pending{u: u, challenge: r.String("challengeId"), code: authtest.LastCode(t, 1, func() []string { return e.Moto.Mails(u.Mail) })}
		})
	}
	wg.Wait()
	statuses := make([]int, n)
	for i, p := range ps {
		wg.Go(func() {
			cl := &authtest.Client{T: t, Base: c.Base}
			statuses[i] = cl.Do("POST", "/auth/verify", map[string]string{"challengeId": p.challenge, "code": p.code}).Status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("verify %d from the shared address = %d, want 200", i, s)
		}
	}
}

func TestVoiceUserOnADeploymentWithoutVoiceGetsAClearAnswer(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(192 * time.Hour)
	c := clockServer(t, e, clock, "198.51.100.8", auth.Config{}) // its notifier has no origination identity
	u, pw := e.Account(t, auth.NewAccount{Method: auth.MethodVoice, Phone: "03-5555-2399"})
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 503 || r.ErrorCode() != "unavailable" {
		t.Fatalf("login of a voice user without voice = %d %s, want 503 unavailable", r.Status, r.Body)
	}
	got, err := e.Store.GetUser(context.Background(), u.ID)
	if err != nil || got.FailedAttempts != 0 {
		t.Errorf("the refused login left failures=%d (err %v), want 0", got.FailedAttempts, err)
	}
}

func TestOthersFailuresDoNotDelayTheOwner(t *testing.T) {
	e := stackEnv(t)
	clock := futureClock(216 * time.Hour)
	guesser := clockServer(t, e, clock, "198.51.100.9", auth.Config{})
	owner := clockServer(t, e, clock, "198.51.100.10", auth.Config{})
	u, pw := e.Account(t, auth.NewAccount{})
	for i := range 8 {
		if r := guesser.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": "Wrong#Pass1"}); r.Status != 401 {
			t.Fatalf("guess %d = %d", i+1, r.Status)
		}
		clock.Advance(5 * time.Second) // each guess counts: past the guesser's own delay
	}
	// The guesser's address waits 2^3 s now, even with the right password.
	if r := guesser.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 401 {
		t.Errorf("the right password from the guessing address = %d, want 401 (delayed)", r.Status)
	}
	// The owner, elsewhere, logs in at once.
	if r := loginWith(t, e, owner, u, pw); r.Status != 200 {
		t.Fatalf("the owner's login = %d %s", r.Status, r.Body)
	}
	got, err := e.Store.GetUser(context.Background(), u.ID)
	if err != nil || got.FailedAttempts != 0 {
		t.Errorf("after the owner's login: failures=%d err=%v, want 0", got.FailedAttempts, err)
	}
}
