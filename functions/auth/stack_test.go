package main

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/otp"
)

// stateDir holds the shared stack's builds; it outlives any one test.
// shared is one local stack of the project's template for this package's
// tests: every function as its own processes, DynamoDB Local and moto, real
// HTTP through the local API.
var shared = authtest.NewShared(nil)

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

func stackEnv(t *testing.T) *authtest.Env {
	t.Helper()
	return shared.Env(t)
}

func TestLoginWithMailCode(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.Login(t, u, pw)

	me := c.Do("GET", "/auth/me", nil)
	if me.Status != 200 || me.String("userId") != u.ID || me.JSON["mustChangePassword"] != true || me.String("role") != "institution_user" {
		t.Fatalf("me = %d %s", me.Status, me.Body)
	}
	if r := c.Do("POST", "/auth/logout", nil); r.Status != 204 || c.Cookie != "" || r.Header.Get("Clear-Site-Data") != `"cache"` {
		t.Fatalf("logout = %d %s (cookie %q)", r.Status, r.Body, c.Cookie)
	}
	// The token itself is dead on the server, not only forgotten by the browser.
	token := e.Login(t, u, pw).Cookie
	other := e.Client(t)
	other.Cookie = token
	if r := other.Do("POST", "/auth/logout", nil); r.Status != 204 {
		t.Fatalf("logout = %d", r.Status)
	}
	other.Cookie = token
	if r := other.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("me with a logged-out token = %d, want 401", r.Status)
	}
}

func TestLoginWithSMSCode(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{Phone: "090-1111-2201", Method: auth.MethodSMS})
	if u.Destination != "+819011112201" {
		t.Fatalf("destination %q, want E.164", u.Destination)
	}
	c := e.Client(t)
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 || r.String("method") != "sms" || r.String("destination") != "***-****-2201" {
		t.Fatalf("login = %d %s", r.Status, r.Body)
	}
	code := authtest.LastCode(t, 1, func() []string { return e.Moto.SMS("+819011112201") })
	if v := c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code}); v.Status != 200 {
		t.Fatalf("verify = %d %s", v.Status, v.Body)
	}
	if me := c.Do("GET", "/auth/me", nil); me.Status != 200 {
		t.Errorf("me = %d", me.Status)
	}
}

func TestForcedPasswordChangeAtFirstLogin(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.Login(t, u, pw)

	if r := c.Do("GET", "/auth/users/"+u.ID, nil); r.Status != 403 || r.ErrorField() != "password" {
		t.Errorf("a private route before the change = %d %s, want 403 naming password", r.Status, r.Body)
	}
	// Every broken rule is listed, in Japanese and English.
	r := c.Do("POST", "/auth/password", map[string]string{"current": pw, "new": "abcd1234"})
	if r.Status != 400 || r.ErrorField() != "new" {
		t.Fatalf("weak password = %d %s, want 400 on new", r.Status, r.Body)
	}
	problems, _ := r.JSON["error"].(map[string]any)["problems"].([]any)
	if len(problems) == 0 || !strings.Contains(string(r.Body), "3種類以上") || !strings.Contains(string(r.Body), "classes") {
		t.Errorf("weak password answer lacks the classes rule: %s", r.Body)
	}
	if r := c.Do("POST", "/auth/password", map[string]string{"current": "wrong", "new": authtest.GoodPassword}); r.Status != 400 || r.ErrorField() != "current" {
		t.Errorf("wrong current password = %d %s, want 400 on current", r.Status, r.Body)
	}
	if r := c.Do("POST", "/auth/password", map[string]string{"current": pw, "new": pw}); r.Status != 400 {
		t.Errorf("the same password again = %d, want 400", r.Status)
	}

	old := c.Cookie
	if r := c.Do("POST", "/auth/password", map[string]string{"current": pw, "new": authtest.GoodPassword}); r.Status != 200 || r.JSON["mustChangePassword"] != false {
		t.Fatalf("change = %d %s", r.Status, r.Body)
	}
	if c.Cookie == "" || c.Cookie == old {
		t.Error("the change did not start a new session")
	}
	if r := c.Do("GET", "/auth/users/"+u.ID, nil); r.Status != 200 {
		t.Errorf("private route after the change = %d %s", r.Status, r.Body)
	}
	stale := e.Client(t)
	stale.Cookie = old
	if r := stale.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("the session from before the change = %d, want 401 (ended)", r.Status)
	}
	// The old password no longer works; the new one does.
	if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw}); r.Status != 401 {
		t.Errorf("login with the initial password = %d, want 401", r.Status)
	}
	e.Login(t, u, authtest.GoodPassword)
}

func TestTOTPEnrolmentAndLogin(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)

	if r := c.Do("POST", "/auth/totp/enroll", map[string]string{"currentPassword": "wrong"}); r.Status != 400 {
		t.Errorf("enrol with a wrong password = %d, want 400", r.Status)
	}
	r := c.Do("POST", "/auth/totp/enroll", map[string]string{"currentPassword": authtest.GoodPassword})
	if r.Status != 200 {
		t.Fatalf("enroll = %d %s", r.Status, r.Body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.String("secret"))
	if err != nil {
		t.Fatalf("secret %q: %v", r.String("secret"), err)
	}
	uri, err := url.Parse(r.String("otpauthUri"))
	if err != nil || uri.Scheme != "otpauth" || uri.Query().Get("secret") != r.String("secret") {
		t.Errorf("otpauthUri %q", r.String("otpauthUri"))
	}
	if r := c.Do("POST", "/auth/totp/confirm", map[string]string{"code": "000000"}); r.Status != 401 {
		t.Errorf("confirm with a wrong code = %d, want 401", r.Status)
	}
	now := time.Now()
	if r := c.Do("POST", "/auth/totp/confirm", map[string]string{"code": otp.TOTP(secret, now)}); r.Status != 200 {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
	me := c.Do("GET", "/auth/me", nil)
	if f, _ := me.JSON["secondFactor"].(map[string]any); f["method"] != "totp" {
		t.Fatalf("method after enrolment = %v", me.JSON["secondFactor"])
	}

	c2 := e.Client(t)
	r = c2.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": authtest.GoodPassword})
	if r.Status != 200 || r.String("method") != "totp" {
		t.Fatalf("login = %d %s, want method totp", r.Status, r.Body)
	}
	ch := r.String("challengeId")
	// The code used for enrolment is spent; the next step's code is good.
	if v := c2.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": otp.TOTP(secret, now)}); v.Status != 401 {
		t.Errorf("verify with the spent enrolment code = %d, want 401", v.Status)
	}
	if v := c2.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": otp.TOTP(secret, now.Add(30*time.Second))}); v.Status != 200 {
		t.Fatalf("verify with TOTP = %d %s", v.Status, v.Body)
	}
}

func TestPasswordResetByMail(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	e.LoginChanged(t, u, pw)

	c := e.Client(t)
	known := c.Do("POST", "/auth/password-reset/request", map[string]string{"userId": u.ID})
	unknown := c.Do("POST", "/auth/password-reset/request", map[string]string{"userId": "NOSUCHUSER1"})
	if known.Status != 202 || unknown.Status != 202 || known.String("message") != unknown.String("message") {
		t.Fatalf("reset answers differ: %d %s / %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
	}
	mails := e.Moto.Mails(u.Mail)
	link := authtest.Link(t, mails[len(mails)-1])
	lu, err := url.Parse(link)
	if err != nil || !strings.HasSuffix(lu.Path, "/password-reset") || lu.RawQuery != "" {
		t.Fatalf("link %q", link)
	}
	frag, _ := url.ParseQuery(lu.Fragment) // the token is in the fragment, never sent to a server
	token := frag.Get("token")

	// A password against the policy leaves the link usable.
	if r := c.Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": "aaa"}); r.Status != 400 || r.ErrorField() != "newPassword" {
		t.Fatalf("weak reset = %d %s", r.Status, r.Body)
	}
	const newPassword = "Shin#Pass2927"
	if r := c.Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": newPassword}); r.Status != 204 {
		t.Fatalf("reset = %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/auth/password-reset/confirm", map[string]string{"token": token, "newPassword": "Other#Pass2927"}); r.Status != 400 || r.ErrorField() != "token" {
		t.Errorf("reused link = %d %s, want 400 on token", r.Status, r.Body)
	}
	e.Login(t, u, newPassword)
}

func TestSecondFactorChange(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)

	if r := c.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": authtest.GoodPassword, "method": "sms", "destination": "03-1234-5678"}); r.Status != 400 || r.ErrorField() != "destination" {
		t.Errorf("SMS to a landline = %d %s, want 400 on destination", r.Status, r.Body)
	}
	if r := c.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": "nope", "method": "sms", "destination": "090-3333-4401"}); r.Status != 400 || r.ErrorField() != "currentPassword" {
		t.Errorf("without the right password = %d %s", r.Status, r.Body)
	}
	r := c.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": authtest.GoodPassword, "method": "sms", "destination": "０９０－３３３３－４４０１"})
	if r.Status != 200 || r.String("destination") != "***-****-4401" {
		t.Fatalf("change = %d %s", r.Status, r.Body)
	}
	code := authtest.LastCode(t, 1, func() []string { return e.Moto.SMS("+819033334401") })
	if r := c.Do("POST", "/auth/second-factor/change/confirm", map[string]string{"code": code}); r.Status != 200 {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
	c2 := e.Client(t)
	if r := c2.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": authtest.GoodPassword}); r.Status != 200 || r.String("method") != "sms" {
		t.Errorf("login after the change = %d %s, want the code by SMS", r.Status, r.Body)
	}
}

func TestCodesRefused(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.Client(t)
	start := func() (string, string) {
		t.Helper()
		n := len(e.Moto.Mails(u.Mail))
		r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
		if r.Status != 200 {
			t.Fatalf("login = %d %s", r.Status, r.Body)
		}
		return r.String("challengeId"), authtest.LastCode(t, n+1, func() []string { return e.Moto.Mails(u.Mail) })
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "000001"
		}
		return "000000"
	}

	t.Run("wrong code", func(t *testing.T) {
		ch, code := start()
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": wrong(code)}); r.Status != 401 ||
			codeRefusal(r) != "code open 4 確認コードが正しくありません。もう一度入力してください。" {
			t.Errorf("wrong code = %d %s, want 401 asking for the code again, 4 attempts left", r.Status, r.Body)
		}
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": "12ab56"}); r.Status != 400 || r.ErrorField() != "code" {
			t.Errorf("malformed code = %d %s, want 400 on code", r.Status, r.Body)
		}
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": code}); r.Status != 200 {
			t.Errorf("right code after one wrong = %d", r.Status)
		}
	})
	t.Run("reused code", func(t *testing.T) {
		ch, code := start()
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": code}); r.Status != 200 {
			t.Fatalf("first use = %d", r.Status)
		}
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": code}); r.Status != 401 || codeRefusal(r) != " closed  "+closedMessage {
			t.Errorf("second use = %d %s, want 401 asking to log in again", r.Status, r.Body)
		}
	})
	t.Run("five tries per challenge, and a resend gives no more", func(t *testing.T) {
		ch, code := start()
		for i := range 5 {
			r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": wrong(code)})
			want := fmt.Sprintf("code open %d 確認コードが正しくありません。もう一度入力してください。", 4-i)
			if i == 4 {
				want = " closed  " + closedMessage // the last attempt is spent
			}
			if r.Status != 401 || codeRefusal(r) != want {
				t.Fatalf("try %d = %d %s, want %q", i+1, r.Status, r.Body, want)
			}
		}
		n := len(e.Moto.Mails(u.Mail))
		if r := c.Do("POST", "/auth/login/resend", map[string]string{"challengeId": ch}); r.Status != 401 {
			t.Errorf("resend after five failures = %d, want 401 (the challenge is spent)", r.Status)
		}
		if got := len(e.Moto.Mails(u.Mail)); got != n {
			t.Errorf("a spent challenge sent another code")
		}
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": code}); r.Status != 401 {
			t.Errorf("right code after five failures = %d, want 401", r.Status)
		}
		clearFailures(t, e, u)
	})
	t.Run("resend keeps the failure count", func(t *testing.T) {
		ch, code := start()
		for range 4 {
			c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": wrong(code)})
		}
		n := len(e.Moto.Mails(u.Mail))
		if r := c.Do("POST", "/auth/login/resend", map[string]string{"challengeId": ch}); r.Status != 200 {
			t.Fatalf("resend = %d %s", r.Status, r.Body)
		}
		fresh := authtest.LastCode(t, n+1, func() []string { return e.Moto.Mails(u.Mail) })
		c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": wrong(fresh)})
		if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": fresh}); r.Status != 401 {
			t.Errorf("sixth try with the resent code = %d, want 401", r.Status)
		}
		clearFailures(t, e, u)
	})
}

// closedMessage is the answer to a code whose challenge is spent.
const closedMessage = "確認コードの有効期限が切れたか、入力できる回数を超えました。もう一度ログインしてください。"

// codeRefusal is a refused code's error as "field challenge attemptsLeft
// message": the page asks for the code again while the challenge is open.
func codeRefusal(r authtest.Response) string {
	e, _ := r.JSON["error"].(map[string]any)
	d, _ := e["detail"].(map[string]any)
	return fmt.Sprintf("%s %s %s %s", r.ErrorField(), d["challenge"], valueOr(d["attemptsLeft"]), e["message"])
}

func valueOr(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func TestGrowingDelayAndLock(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.Client(t)
	login := func(p string) authtest.Response {
		return c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": p})
	}
	for range 5 {
		if r := login("Wrong#Pass1"); r.Status != 401 {
			t.Fatalf("wrong password = %d", r.Status)
		}
	}
	// After the fifth failure the account waits 2^0 s: the right password
	// is refused with the same answer as a wrong one, then accepted.
	refused := login(pw)
	wrongAnswer := login("Wrong#Pass1")
	if refused.Status != 401 || refused.ErrorCode() != wrongAnswer.ErrorCode() {
		t.Fatalf("right password during the delay = %d %s", refused.Status, refused.Body)
	}
	time.Sleep(2100 * time.Millisecond) // six failures now: 2^1 s
	if r := login(pw); r.Status != 200 {
		t.Fatalf("right password after the delay = %d %s", r.Status, r.Body)
	}

	// At 100 consecutive failures the account locks until an administrator
	// unlocks it.
	ctx := context.Background()
	clearFailures(t, e, u)
	for range 99 {
		if _, err := e.Store.RecordFailure(ctx, u.ID, time.Now().Add(-time.Hour), 100); err != nil {
			t.Fatal(err)
		}
	}
	if r := login("Wrong#Pass1"); r.Status != 401 {
		t.Fatalf("hundredth failure = %d", r.Status)
	}
	got, err := e.Store.GetUser(ctx, u.ID)
	if err != nil || !got.Locked || got.FailedAttempts != 100 {
		t.Fatalf("after 100 failures: locked=%v failures=%d err=%v", got.Locked, got.FailedAttempts, err)
	}
	// Backdate the last failure: no delay is left, only the lock.
	if _, err := e.Store.RecordFailure(ctx, u.ID, time.Now().Add(-time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	if r := login(pw); r.Status != 401 || r.ErrorCode() != wrongAnswer.ErrorCode() {
		t.Errorf("right password on a locked account = %d %s", r.Status, r.Body)
	}
	events, err := e.Audit.ByUser(ctx, u.ID, time.Now().Add(-time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var locked bool
	for _, ev := range events {
		locked = locked || ev.Action == audit.AccountLocked
	}
	if !locked {
		t.Error("no account_locked event in the audit log")
	}
	if err := e.Store.Unlock(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	clearFailures(t, e, u) // the delays this test's own failures earned its address
	if r := login(pw); r.Status != 200 {
		t.Errorf("after unlock = %d %s", r.Status, r.Body)
	}
}

func TestNothingRevealsWhetherAnIDExists(t *testing.T) {
	e := stackEnv(t)
	u, _ := e.Account(t, auth.NewAccount{})
	c := e.Client(t)
	wrongPassword := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": "Wrong#Pass1"})
	unknownID := c.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER2", "password": "Wrong#Pass1"})
	strip := func(r authtest.Response) string {
		e := r.JSON["error"].(map[string]any)
		return r.Header.Get("Content-Type") + "|" + e["code"].(string) + "|" + e["message"].(string)
	}
	if wrongPassword.Status != unknownID.Status || strip(wrongPassword) != strip(unknownID) {
		t.Errorf("wrong password %d %s\nunknown ID %d %s", wrongPassword.Status, wrongPassword.Body, unknownID.Status, unknownID.Body)
	}
}

func TestAuthorizationAcrossInstitutionsAndPrefectures(t *testing.T) {
	e := stackEnv(t)
	userA, pwA := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"})
	userA2, _ := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"})
	managerA, pwM := e.Account(t, auth.NewAccount{Role: authz.InstitutionManager, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"})
	userB, _ := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "2710000001", PrefectureCode: "27", HealthCenterCode: "2701"})
	pref13, pwP := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})

	a := e.LoginChanged(t, userA, pwA)
	m := e.LoginChanged(t, managerA, pwM)
	p := e.LoginChanged(t, pref13, pwP)
	for _, tc := range []struct {
		who    string
		c      *authtest.Client
		target auth.User
		want   int
	}{
		{"user A on themself", a, userA, 200},
		{"user A on a colleague", a, userA2, 403},
		{"user A on institution B", a, userB, 403},
		{"manager A on their institution", m, userA2, 200},
		{"manager A on institution B", m, userB, 403},
		{"prefecture 13 admin inside", p, userA, 200},
		{"prefecture 13 admin on prefecture 27", p, userB, 403},
	} {
		t.Run(tc.who, func(t *testing.T) {
			r := tc.c.Do("GET", "/auth/users/"+tc.target.ID, nil)
			if r.Status != tc.want {
				t.Errorf("GET /auth/users/%s = %d %s, want %d", tc.target.ID, r.Status, r.Body, tc.want)
			}
			if tc.want == 403 && strings.Contains(string(r.Body), tc.target.Name) {
				t.Errorf("a refusal showed the account: %s", r.Body)
			}
		})
	}
	if r := e.Client(t).Do("GET", "/auth/users/"+userA.ID, nil); r.Status != 401 {
		t.Errorf("without a session = %d, want 401", r.Status)
	}
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)
	c.Origin = "https://evil.example.com"
	if r := c.Do("POST", "/auth/logout", nil); r.Status != 403 || r.ErrorField() != "Origin" {
		t.Errorf("logout from another origin = %d %s, want 403", r.Status, r.Body)
	}
	c.Origin = ""
	if r := c.Do("GET", "/auth/me", nil); r.Status != 200 {
		t.Errorf("the session should have survived the refused request: %d", r.Status)
	}
}

// TestNoSecretInLogs runs last in this file: everything before has logged
// in, changed passwords and sent codes; none of it may be in the logs.
func TestNoSecretInLogs(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.Login(t, u, pw)
	mails := e.Moto.Mails(u.Mail)
	code := authtest.LastCode(t, len(mails), func() []string { return mails })
	logs := e.Out.String()
	for name, secret := range map[string]string{"password": pw, "new password": authtest.GoodPassword, "code": code, "session token": c.Cookie} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
	if !strings.Contains(logs, `"route":"POST /auth/login"`) {
		t.Errorf("the auth function's access log is missing from the output")
	}
}

func TestStoppingAnAccountEndsItsSessions(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)
	ctx := context.Background()
	outsider := authz.Principal{UserID: "admin27", Role: authz.PrefectureAdmin, PrefectureCode: "27"}
	if _, err := e.Admins.SetStatus(ctx, outsider, u.ID, auth.StatusStopped); apperr.CodeOf(err) != apperr.Forbidden {
		t.Fatalf("stop by another prefecture's admin = %v, want forbidden", err)
	}
	admin := authz.Principal{UserID: "admin13", Role: authz.PrefectureAdmin, PrefectureCode: "13"}
	if _, err := e.Admins.SetStatus(ctx, admin, u.ID, auth.StatusStopped); err != nil {
		t.Fatal(err)
	}
	if r := c.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("the stopped account's session = %d, want 401", r.Status)
	}
	if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": authtest.GoodPassword}); r.Status != 401 {
		t.Errorf("login of a stopped account = %d, want 401", r.Status)
	}
	if _, err := e.Admins.SetStatus(ctx, admin, u.ID, auth.StatusActive); err != nil {
		t.Fatal(err)
	}
	e.Login(t, u, authtest.GoodPassword)
}

func TestAuditIsQueryableByUserAndDay(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	e.Login(t, u, pw)
	ctx := context.Background()
	byUser, err := e.Audit.ByUser(ctx, u.ID, time.Now().Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range byUser {
		actions = append(actions, ev.Action)
		if ev.Action == audit.LoginSucceeded && (ev.SourceIP != "127.0.0.1" || ev.UserAgent == "") {
			t.Errorf("login event lacks source IP or user agent: %+v", ev)
		}
	}
	want := []string{audit.AccountCreated, audit.LoginPasswordOK, audit.CodeSent, audit.LoginSucceeded}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Errorf("events by user = %v, want %v", actions, want)
	}
	day := time.Now().In(time.FixedZone("JST", 9*3600)).Format("2006-01-02")
	byDay, err := e.Audit.ByDay(ctx, day, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	for _, ev := range byDay {
		if ev.UserID == u.ID {
			found++
		}
	}
	if found != len(want) {
		t.Errorf("%d of the user's events in day %s, want %d", found, day, len(want))
	}
}

// A burst of parallel guesses gets no more tries than sequential ones.
func TestParallelGuessesAreCounted(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.Client(t)
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 {
		t.Fatalf("login = %d", r.Status)
	}
	ch := r.String("challengeId")
	code := authtest.LastCode(t, 1, func() []string { return e.Moto.Mails(u.Mail) })
	var wg sync.WaitGroup
	for i := range 20 {
		guess := fmt.Sprintf("%06d", (i*7919+1)%1000000)
		if guess == code {
			continue
		}
		wg.Go(func() {
			e.Client(t).Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": guess})
		})
	}
	wg.Wait()
	if r := c.Do("POST", "/auth/verify", map[string]string{"challengeId": ch, "code": code}); r.Status != 401 {
		t.Errorf("the right code after 20 parallel wrong ones = %d, want 401 (5 tries per challenge)", r.Status)
	}

	// Parallel password guesses: every check that ran was counted.
	v, _ := e.Account(t, auth.NewAccount{})
	for range 12 {
		wg.Go(func() {
			e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": v.ID, "password": "Wrong#Pass1"})
		})
	}
	wg.Wait()
	got, err := e.Store.GetUser(context.Background(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	events, err := e.Audit.ByUser(context.Background(), v.ID, time.Now().Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, ev := range events {
		if ev.Action == audit.LoginFailed {
			checked++
		}
	}
	if checked != got.FailedAttempts || checked == 0 {
		t.Errorf("%d password checks ran but %d failures were counted", checked, got.FailedAttempts)
	}
}

func TestReauthenticationFollowsTheFailureRules(t *testing.T) {
	e := stackEnv(t)
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)
	for range 5 {
		if r := c.Do("POST", "/auth/password", map[string]string{"current": "Wrong#Pass1", "new": "Other#Pass97"}); r.Status != 400 {
			t.Fatalf("wrong current password = %d", r.Status)
		}
	}
	if r := c.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": authtest.GoodPassword, "method": "sms", "destination": "090-5555-0001"}); r.Status != 429 {
		t.Errorf("the right password right after five wrong ones = %d %s, want 429", r.Status, r.Body)
	}
}

func TestLockEndsSessionsAndAChangedFactorVoidsPendingCodes(t *testing.T) {
	e := stackEnv(t)
	ctx := context.Background()
	u, pw := e.Account(t, auth.NewAccount{})
	c := e.LoginChanged(t, u, pw)
	for range 99 {
		if _, err := e.Store.RecordFailure(ctx, u.ID, time.Now().Add(-time.Hour), 100); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.Client(t).Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": "Wrong#Pass1"}); r.Status != 401 {
		t.Fatalf("hundredth failure = %d", r.Status)
	}
	if r := c.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("a session of the locked account = %d, want 401", r.Status)
	}

	// A code sent for a method the user has since left is refused, not a 500.
	v, pv := e.Account(t, auth.NewAccount{})
	cv := e.LoginChanged(t, v, pv)
	other := e.Client(t)
	r := other.Do("POST", "/auth/login", map[string]string{"userId": v.ID, "password": authtest.GoodPassword})
	if r.Status != 200 {
		t.Fatalf("login = %d", r.Status)
	}
	code := authtest.LastCode(t, 2, func() []string { return e.Moto.Mails(v.Mail) })
	if r := cv.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": authtest.GoodPassword, "method": "sms", "destination": "090-5555-0002"}); r.Status != 200 {
		t.Fatalf("factor change = %d %s", r.Status, r.Body)
	}
	sms := authtest.LastCode(t, 1, func() []string { return e.Moto.SMS("+819055550002") })
	if r := cv.Do("POST", "/auth/second-factor/change/confirm", map[string]string{"code": sms}); r.Status != 200 {
		t.Fatalf("confirm = %d", r.Status)
	}
	if r := other.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code}); r.Status != 401 {
		t.Errorf("a mail code after switching to SMS = %d %s, want 401", r.Status, r.Body)
	}
}
