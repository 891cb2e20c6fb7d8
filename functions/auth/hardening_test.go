package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/password"
	"github.com/gmis-oss/gmis/shared/session"
)

// adminOf13 is a logged-in prefecture administrator of Tokyo, the
// jurisdiction of the test accounts.
func adminOf13(t *testing.T, e *authtest.Env) *authtest.Client {
	t.Helper()
	a, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	return e.LoginChanged(t, a, pw)
}

// clearFailures forgets u's failures: the account's count, and the delays
// of the address the tests send from.
func clearFailures(t *testing.T, e *authtest.Env, u auth.User) {
	t.Helper()
	ctx := context.Background()
	if err := e.Store.ClearFailures(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.ForgetCount(ctx, auth.SourceKey(u.ID, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
}

// endReasons lists the reasons of the user's session_ended records.
func endReasons(t *testing.T, e *authtest.Env, userID string) []string {
	t.Helper()
	var out []string
	for _, ev := range e.AuditOf(t, userID, audit.SessionEnded, time.Now().Add(-time.Hour)) {
		out = append(out, ev.Detail["reason"])
	}
	return out
}

func TestResetRequestsDoNotBlockLogin(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	stranger := e.Client(t)
	for i := range 8 {
		if r := stranger.Do("POST", "/auth/password-reset/request", map[string]string{"userId": u.ID}); r.Status != 202 {
			t.Fatalf("reset request %d = %d %s", i+1, r.Status, r.Body)
		}
	}
	if got := len(e.Moto.Mails(u.Mail)); got != 5 {
		t.Errorf("%d reset mails sent, want 5 (the reset budget)", got)
	}
	// The user's own login still gets its code: resets have their own budget.
	e.Login(t, u, pw)
}

// raceLoginWith logs u in up to the code, then sends the verify and act
// together; it returns the session cookie if the verify won one. It
// reports problems as errors, not by failing the test: it runs on workers.
func raceLoginWith(t *testing.T, e *authtest.Env, u auth.User, pw string, act func() authtest.Response) (string, error) {
	c := e.Client(t)
	sent := len(e.Moto.Mails(u.Mail))
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 {
		return "", fmt.Errorf("login: %d %s", r.Status, r.Body)
	}
	var mails []string
	for range 200 {
		if mails = e.Moto.Mails(u.Mail); len(mails) > sent {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if len(mails) <= sent {
		return "", fmt.Errorf("no code mailed to %s", u.Mail)
	}
	code := codeRE.FindString(mails[len(mails)-1])
	var wg sync.WaitGroup
	var verify, action authtest.Response
	wg.Go(func() {
		verify = c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code})
	})
	wg.Go(func() { action = act() })
	wg.Wait()
	if action.Status >= 300 {
		return "", fmt.Errorf("administrator's action: %d %s", action.Status, action.Body)
	}
	if verify.Status != 200 && verify.Status != 401 {
		return "", fmt.Errorf("verify: %d %s", verify.Status, verify.Body)
	}
	if verify.Status == 200 {
		return c.Cookie, nil
	}
	return "", nil
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

func TestStopRacingLoginLeavesNoSession(t *testing.T) {
	e := stackEnv(t)
	admin := adminOf13(t, e)
	const races = 100
	var mu sync.Mutex
	won := 0
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				u, pw := e.Account(t, auth.NewAccount{})
				stop := func() authtest.Response { return admin.Do("POST", "/admin/users/"+u.ID+"/stop", nil) }
				if i%4 == 3 {
					stop = func() authtest.Response { return admin.Do("DELETE", "/admin/users/"+u.ID, nil) }
				}
				cookie, err := raceLoginWith(t, e, u, pw, stop)
				if err != nil {
					t.Errorf("race %d: %v", i, err)
				}
				if cookie == "" {
					continue
				}
				mu.Lock()
				won++
				mu.Unlock()
				c := e.Client(t)
				c.Cookie = cookie
				if r := c.Do("GET", "/auth/me", nil); r.Status != 401 {
					t.Errorf("race %d: a session of the stopped or deleted account answers %d", i, r.Status)
				}
			}
		})
	}
	for i := range races {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("%d of %d verifies won their race before the stop", won, races)
}

func TestRepeatedStopEndsLeftoverSessions(t *testing.T) {
	e := stackEnv(t)
	admin := adminOf13(t, e)
	u, pw := e.Account(t, auth.NewAccount{})
	e.Login(t, u, pw)
	if r := admin.Do("POST", "/admin/users/"+u.ID+"/stop", nil); r.Status != 200 {
		t.Fatalf("stop = %d %s", r.Status, r.Body)
	}
	// A session left behind (as a race on earlier code could leave one)
	// is ended by the next stop.
	ctx := context.Background()
	_, id, err := session.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	item, err := attributevalue.MarshalMap(map[string]any{"id": id, "userId": u.ID, "role": string(u.Role), "createdAt": time.Now().UTC().Format(time.RFC3339Nano),
		"lastSeenAt": time.Now().UTC().Format(time.RFC3339Nano), "expiresAt": time.Now().Add(time.Hour).Unix(), "mustChangePassword": false})
	if err != nil {
		t.Fatal(err)
	}
	db := e.Stack.Endpoints.DynamoDBClient()
	table := e.Stack.FunctionEnv("AuthFunction")["SESSIONS_TABLE"]
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
	if r := admin.Do("POST", "/admin/users/"+u.ID+"/stop", nil); r.Status != 200 {
		t.Fatalf("second stop = %d %s", r.Status, r.Body)
	}
	if _, err := e.Store.GetSession(ctx, id); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("the leftover session after a second stop: %v, want not found", err)
	}
}

func TestRightPasswordAtTheLockThresholdDoesNotLock(t *testing.T) {
	e := stackEnv(t)
	ctx := context.Background()
	u, pw := e.Account(t, auth.NewAccount{})
	fail99 := func() {
		t.Helper()
		clearFailures(t, e, u)
		for range 99 {
			// Backdated, so no delay is in force: only the count matters.
			if _, err := e.Store.RecordFailure(ctx, u.ID, time.Now().Add(-time.Hour), 100); err != nil {
				t.Fatal(err)
			}
		}
	}
	fail99()
	c := e.Login(t, u, pw) // the right password and code at 99 failures
	got, err := e.Store.GetUser(ctx, u.ID)
	if err != nil || got.Locked || got.FailedAttempts != 0 {
		t.Fatalf("after a right login at 99 failures: locked=%v failures=%d err=%v", got.Locked, got.FailedAttempts, err)
	}
	if n := len(e.AuditOf(t, u.ID, audit.AccountLocked, time.Now().Add(-time.Hour))); n != 0 {
		t.Errorf("%d account_locked records after a right password", n)
	}

	// The hundredth failure by password locks, records the lock and ends
	// the live session.
	fail99()
	if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": "Wrong#Pass1"}); r.Status != 401 {
		t.Fatalf("hundredth failure = %d", r.Status)
	}
	if got, _ := e.Store.GetUser(ctx, u.ID); !got.Locked {
		t.Error("not locked after the hundredth failure")
	}
	if n := len(e.AuditOf(t, u.ID, audit.AccountLocked, time.Now().Add(-time.Hour))); n != 1 {
		t.Errorf("%d account_locked records, want 1", n)
	}
	if r := c.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("the live session after the lock = %d, want 401", r.Status)
	}
	if reasons := endReasons(t, e, u.ID); !contains(reasons, "account_locked") {
		t.Errorf("session_ended reasons %v, want account_locked", reasons)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// requestLink asks for a reset link for u and returns its token.
func requestLink(t *testing.T, e *authtest.Env, u auth.User) string {
	t.Helper()
	sent := len(e.Moto.Mails(u.Mail))
	if r := e.Client(t).Do("POST", "/auth/password-reset/request", map[string]string{"userId": u.ID}); r.Status != 202 {
		t.Fatalf("reset request = %d %s", r.Status, r.Body)
	}
	var mails []string
	for range 100 {
		if mails = e.Moto.Mails(u.Mail); len(mails) > sent {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(mails) <= sent {
		t.Fatal("no reset mail")
	}
	link := authtest.Link(t, mails[len(mails)-1])
	_, token, ok := strings.Cut(link, "#token=")
	if !ok {
		t.Fatalf("no token in %s", link)
	}
	return token
}

func TestOnlyTheNewestResetLinkWorks(t *testing.T) {
	e := stackEnv(t)
	u, _ := e.Account(t, auth.NewAccount{})
	c := e.Client(t)
	confirm := func(token, pw string) authtest.Response {
		return c.Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": pw})
	}
	first := requestLink(t, e, u)
	second := requestLink(t, e, u)
	if r := confirm(first, "Kusuri#Bako42"); r.Status != 400 || r.ErrorField() != "token" {
		t.Errorf("an older link = %d %s, want 400 token", r.Status, r.Body)
	}
	if r := confirm(second, "Kusuri#Bako42"); r.Status != 204 && r.Status != 200 {
		t.Fatalf("the newest link = %d %s", r.Status, r.Body)
	}
	third, fourth := requestLink(t, e, u), requestLink(t, e, u)
	if r := confirm(fourth, "Yakuhin#Dana43"); r.Status != 204 && r.Status != 200 {
		t.Fatalf("the newest link = %d %s", r.Status, r.Body)
	}
	if r := confirm(third, "Tsukue#Kagi44"); r.Status != 400 {
		t.Errorf("a link older than a used one = %d %s, want 400", r.Status, r.Body)
	}
}

func TestStoppedOrLockedAccountCannotReset(t *testing.T) {
	e := stackEnv(t)
	ctx := context.Background()
	admin := authz.Principal{UserID: "admin13", Role: authz.PrefectureAdmin, PrefectureCode: "13"}
	for _, how := range []string{"stopped", "locked"} {
		t.Run(how, func(t *testing.T) {
			u, pw := e.Account(t, auth.NewAccount{})
			token := requestLink(t, e, u)
			if how == "stopped" {
				if _, err := e.Admins.SetStatus(ctx, admin, u.ID, auth.StatusStopped); err != nil {
					t.Fatal(err)
				}
			} else {
				for range 99 {
					if _, err := e.Store.RecordFailure(ctx, u.ID, time.Now().Add(-time.Hour), 100); err != nil {
						t.Fatal(err)
					}
				}
				// The hundredth, by password, locks the account.
				if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": "Wrong#Pass1"}); r.Status != 401 {
					t.Fatalf("hundredth failure = %d", r.Status)
				}
			}
			r := e.Client(t).Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": "Kusuri#Bako42"})
			if r.Status != 403 && r.Status != 400 {
				t.Errorf("reset of a %s account = %d %s, want refused", how, r.Status, r.Body)
			}
			// Nor does the link work once the account is active again.
			if how == "stopped" {
				if _, err := e.Admins.SetStatus(ctx, admin, u.ID, auth.StatusActive); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := e.Store.Unlock(ctx, u.ID); err != nil {
					t.Fatal(err)
				}
			}
			r = e.Client(t).Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": "Kusuri#Bako42"})
			if r.Status != 400 || r.ErrorField() != "token" {
				t.Errorf("the link after the account was %s and restored = %d %s, want 400 token", how, r.Status, r.Body)
			}
			got, err := e.Store.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := password.Verify(got.PasswordHash, pw); !ok {
				t.Error("the refused reset changed the password")
			}
		})
	}
}

func TestSessionEndsAreAuditedWithTheirReason(t *testing.T) {
	e := stackEnv(t)
	ctx := context.Background()

	changed, pw := e.Account(t, auth.NewAccount{})
	e.LoginChanged(t, changed, pw) // ends the first-login session
	if reasons := endReasons(t, e, changed.ID); !contains(reasons, "password_changed") {
		t.Errorf("after a password change: %v", reasons)
	}

	reset, pw := e.Account(t, auth.NewAccount{})
	e.Login(t, reset, pw)
	token := requestLink(t, e, reset)
	if r := e.Client(t).Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": "Kusuri#Bako42"}); r.Status >= 300 {
		t.Fatalf("reset = %d %s", r.Status, r.Body)
	}
	if reasons := endReasons(t, e, reset.ID); !contains(reasons, "password_reset") {
		t.Errorf("after a reset: %v", reasons)
	}

	stopped, pw := e.Account(t, auth.NewAccount{})
	e.Login(t, stopped, pw)
	admin := authz.Principal{UserID: "admin13", Role: authz.PrefectureAdmin, PrefectureCode: "13"}
	if _, err := e.Admins.SetStatus(ctx, admin, stopped.ID, auth.StatusStopped); err != nil {
		t.Fatal(err)
	}
	ends := e.AuditOf(t, stopped.ID, audit.SessionEnded, time.Now().Add(-time.Hour))
	if len(ends) != 1 || ends[0].Detail["reason"] != "account_stopped" || ends[0].Actor != "admin13" {
		t.Errorf("after a stop: %+v", ends)
	}
}

func TestMistypedUserIDIsNotStoredVerbatim(t *testing.T) {
	e := stackEnv(t)
	typed := fmt.Sprintf("Tokyo%dHosp", time.Now().UnixNano()%10000) // a password typed into the ID field: letters and digits
	if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": typed, "password": "x"}); r.Status != 401 {
		t.Fatalf("login = %d", r.Status)
	}
	if events := e.AuditOf(t, typed, audit.LoginFailed, time.Now().Add(-time.Hour)); len(events) != 0 {
		t.Errorf("the typed ID is in the audit log: %+v", events)
	}
	day := time.Now().In(time.FixedZone("JST", 9*3600)).Format("2006-01-02")
	events, err := e.Audit.ByDay(context.Background(), day, 100000)
	if err != nil {
		t.Fatal(err)
	}
	hashed := 0
	for _, ev := range events {
		if strings.Contains(ev.UserID, typed) || strings.Contains(fmt.Sprint(ev.Detail), typed) {
			t.Errorf("the typed ID is in the audit log: %+v", ev)
		}
		if strings.HasPrefix(ev.UserID, "unknown:") {
			hashed++
		}
	}
	if hashed == 0 {
		t.Error("no failed login with a hashed ID was recorded")
	}
	// An ID of the right shape is kept as typed: it names whom someone tried.
	if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": "NXSUCHUSER9", "password": "x"}); r.Status != 401 {
		t.Fatalf("login = %d", r.Status)
	}
	if events := e.AuditOf(t, "NXSUCHUSER9", audit.LoginFailed, time.Now().Add(-time.Hour)); len(events) == 0 {
		t.Error("a failed login with an ID-shaped unknown ID is not recorded under it")
	}
}
