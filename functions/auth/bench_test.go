package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/session"
)

type callsKey struct{}

// BenchmarkLoginLoad is a ward logging in at shift change: 200 logins of 50
// accounts from one address by 16 concurrent clients, each with the right
// password and the code read from moto. It reports the 409s and 429s (both
// should be none) and the DynamoDB calls per login and per verify.
func BenchmarkLoginLoad(b *testing.B) {
	e := shared.Env(b)
	ep := e.Stack.Endpoints
	fnEnv := e.Stack.FunctionEnv("AuthFunction")
	db := ep.CountingDynamoDBClient(func(ctx context.Context) *atomic.Int64 {
		n, _ := ctx.Value(callsKey{}).(*atomic.Int64)
		return n
	})
	store := dynamo.NewAuthStore(db, dynamo.AuthTables{Users: fnEnv["USERS_TABLE"], Sessions: fnEnv["SESSIONS_TABLE"], AuthState: fnEnv["AUTH_STATE_TABLE"]})
	log := dynamo.NewAuditLog(db, fnEnv["AUDIT_TABLE"])
	svc, err := auth.NewService(store, log, notify.New(ep.SESClient(), nil, nil, notify.Config{MailFrom: fnEnv["MAIL_FROM"]}),
		[]byte(fnEnv["AUTH_SECRET"]), auth.Config{ResetURL: "http://127.0.0.1:3000/password-reset"})
	if err != nil {
		b.Fatal(err)
	}
	h := &handler{svc: svc, sessions: session.NewManager(store, session.Config{}), logger: slog.New(slog.DiscardHandler)}
	routes := httpapi.New(h.routes(), httpapi.Config{})
	var loginCalls, verifyCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "203.0.113.10:40000" // one hospital, one address
		counter := &loginCalls
		if r.URL.Path == "/auth/verify" {
			counter = &verifyCalls
		}
		routes.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callsKey{}, counter)))
	}))
	defer srv.Close()

	const accounts, rounds, clients = 50, 4, 16
	users := make([]auth.User, accounts)
	passwords := make([]string, accounts)
	for i := range users {
		users[i], passwords[i] = e.Account(b, auth.NewAccount{})
	}
	var conflicts, refusals, other, logins, verifies atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for k := range clients {
		wg.Go(func() {
			for range rounds {
				for i := k; i < accounts; i += clients {
					u := users[i]
					c := &authtest.Client{T: b, Base: srv.URL}
					sent := len(e.Moto.Mails(u.Mail))
					r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": passwords[i]})
					logins.Add(1)
					if !tally(r.Status, &conflicts, &refusals, &other) {
						continue
					}
					code := authtest.LastCode(b, sent+1, func() []string { return e.Moto.Mails(u.Mail) })
					r = c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code})
					verifies.Add(1)
					tally(r.Status, &conflicts, &refusals, &other)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	perLogin := float64(loginCalls.Load()) / float64(max(logins.Load(), 1))
	perVerify := float64(verifyCalls.Load()) / float64(max(verifies.Load(), 1))
	fmt.Printf("BENCH login_conflicts %d\n", conflicts.Load())
	fmt.Printf("BENCH login_refusals %d\n", refusals.Load())
	fmt.Printf("BENCH login_calls %.2f calls/login\n", perLogin)
	fmt.Printf("BENCH verify_calls %.2f calls/verify\n", perVerify)
	b.ReportMetric(perLogin, "calls/login")
	b.ReportMetric(perVerify, "calls/verify")
	if conflicts.Load()+refusals.Load()+other.Load() > 0 {
		b.Errorf("%d logins, %d verifies: %d conflicts (409), %d refusals (429), %d other failures",
			logins.Load(), verifies.Load(), conflicts.Load(), refusals.Load(), other.Load())
	}
}

// tally counts a failed answer by kind and says whether it succeeded.
func tally(status int, conflicts, refusals, other *atomic.Int64) bool {
	switch status {
	case http.StatusOK:
		return true
	case http.StatusConflict:
		conflicts.Add(1)
	case http.StatusTooManyRequests:
		refusals.Add(1)
	default:
		other.Add(1)
	}
	return false
}
