package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
)

// qrVector is a QR code made by a well-known encoder: the npm package
// qrcode 1.5.4, QRCode.create with one byte-mode segment of the text,
// error correction M (and maskPattern where forcedMask is set), its
// modules written one row a string, 1 for dark. testdata/qr-vectors.json
// holds them; the package is not a dependency.
type qrVector struct {
	Text       string   `json:"text"`
	ForcedMask *int     `json:"forcedMask"`
	Version    int      `json:"version"`
	Mask       int      `json:"mask"`
	Rows       []string `json:"rows"`
}

// TestQREncoderMatchesAReference runs site/assets/js/qr.js in chromium
// and compares each symbol, module by module, with the reference's: the
// version, the Reed–Solomon codewords and their placement, the format and
// version information, and the mask chosen by the penalty rules.
func TestQREncoderMatchesAReference(t *testing.T) {
	data, err := os.ReadFile("testdata/qr-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []qrVector
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	s, srv := testSite(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/password-reset"), chromedp.WaitVisible("#userId"))
	got := value(t, ctx, chromedp.Evaluate[[]qrVector](`(async (vectors) => {
	  const { encode } = await import('/assets/`+s.version+`/js/qr.js');
	  return vectors.map((v) => {
	    const q = encode(v.text, v.forcedMask === null ? {} : { mask: v.forcedMask });
	    return { text: v.text, forcedMask: v.forcedMask, version: q.version, mask: q.mask,
	      rows: q.modules.map((r) => r.map((d) => (d ? '1' : '0')).join('')) };
	  });
	})(`+string(data)+`)`, chromedp.EvalAwaitPromise))
	if len(got) != len(vectors) {
		t.Fatalf("%d symbols for %d vectors", len(got), len(vectors))
	}
	versions := map[int]bool{}
	for i, want := range vectors {
		g := got[i]
		versions[want.Version] = true
		name := fmt.Sprintf("%.24q (mask %v)", want.Text, want.ForcedMask)
		if want.ForcedMask != nil {
			name = fmt.Sprintf("%.24q (mask %d forced)", want.Text, *want.ForcedMask)
		}
		if g.Version != want.Version || g.Mask != want.Mask || len(g.Rows) != len(want.Rows) {
			t.Errorf("%s: version %d mask %d size %d, want version %d mask %d size %d", name, g.Version, g.Mask, len(g.Rows), want.Version, want.Mask, len(want.Rows))
			continue
		}
		diff := 0
		for y := range want.Rows {
			for x := range want.Rows[y] {
				if x >= len(g.Rows[y]) || g.Rows[y][x] != want.Rows[y][x] {
					diff++
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d modules differ from the reference", name, diff)
		}
	}
	// The vectors cover one and several blocks, version information (7+)
	// and the 16-bit length of version 10.
	for _, v := range []int{1, 4, 7, 10} {
		if !versions[v] {
			t.Errorf("no vector of version %d", v)
		}
	}
	tooLong := value(t, ctx, chromedp.Evaluate[string](`(async () => {
	  const { encode } = await import('/assets/`+s.version+`/js/qr.js');
	  try { encode('z'.repeat(214)); return 'encoded'; } catch (e) { return e.message; }
	})()`, chromedp.EvalAwaitPromise))
	if !strings.Contains(tooLong, "長すぎます") {
		t.Errorf("214 bytes (past version 10-M): %q, want a refusal", tooLong)
	}
}

// national returns an API client of a national administrator, who
// schedules maintenance windows.
func nationalClient(t *testing.T, e *authtest.Env) *authtest.Client {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: authz.National})
	return e.LoginChanged(t, u, pw)
}

// window schedules a maintenance window and returns a func that ends it.
func window(t *testing.T, admin *authtest.Client, start, end time.Time, message string) func() {
	t.Helper()
	r := admin.Do("POST", "/admin/maintenance-windows", map[string]any{"start": start, "end": end, "message": message})
	if r.Status != 201 {
		t.Fatalf("schedule maintenance = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	time.Sleep(1100 * time.Millisecond) // the functions' cache of windows
	return func() {
		if r := admin.Do("POST", "/admin/maintenance-windows/"+id+"/end", nil); r.Status != 204 && r.Status != 404 {
			t.Errorf("end maintenance = %d %s", r.Status, r.Body)
		}
		time.Sleep(1100 * time.Millisecond)
	}
}

// setLastSeen moves the idle clock of every session of u on the server, as
// if its last request had been at at.
func setLastSeen(t *testing.T, e *authtest.Env, u auth.User, at time.Time) {
	t.Helper()
	got, err := e.Store.GetUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for id := range got.Sessions {
		if err := e.Store.TouchSession(context.Background(), id, at); err == nil {
			moved++
		}
	}
	if moved == 0 {
		t.Fatalf("%s has no session to move", u.ID)
	}
}

// lastSeen is the latest idle clock of u's sessions on the server.
func lastSeen(t *testing.T, e *authtest.Env, u auth.User) time.Time {
	t.Helper()
	got, err := e.Store.GetUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var latest time.Time
	for id := range got.Sessions {
		if s, err := e.Store.GetSession(context.Background(), id); err == nil && s.LastSeenAt.After(latest) {
			latest = s.LastSeenAt
		}
	}
	return latest
}

// shiftClock makes the page's Date.now run ahead of the real clock by d
// (from the real clock, however often it is called): the test's stand-in
// for hours passing while the page stays open. Requests still go to the
// real server, which answers with its own time.
func shiftClock(t *testing.T, ctx context.Context, d time.Duration) {
	t.Helper()
	value(t, ctx, chromedp.Evaluate[any](fmt.Sprintf(`(() => {
	  window.realNow = window.realNow || Date.now.bind(Date);
	  Date.now = () => window.realNow() + %d;
	})()`, d.Milliseconds())))
}

// within runs actions that wait for the page, failing t with what the
// page shows if they take longer than 30 seconds (not the browser's four
// minutes).
func within(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(wait, actions...); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + document.body.innerText`))
		t.Fatalf("%v; the page:\n%s", err, page)
	}
}

// pollTrue waits for a JavaScript expression to be true in the page.
func pollTrue(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr)(ctx, tg)
		return err
	})
}

func TestSessionWarningAndReturnInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	base := e.Stack.APIURL
	admin := nationalClient(t, e)
	u, initial := e.Account(t, auth.NewAccount{})

	// An announced window shows on the login page the user is sent to.
	tag := fmt.Sprintf("定期メンテナンス（試験%d）", time.Now().UnixNano()%100000)
	// 02:00 to 05:00 JST the day after tomorrow: one day, as the page writes it.
	y, m, d := time.Now().In(jst).Date()
	start := time.Date(y, m, d+2, 2, 0, 0, 0, jst)
	defer window(t, admin, start, start.Add(3*time.Hour), tag)()
	do(t, ctx, chromedp.Navigate(base+"/daily"))
	waitForPage(t, ctx, "/login")
	within(t, ctx, chromedp.WaitVisible("#announcements section"))
	if got := value(t, ctx, chromedp.Text("#announcements")); !strings.Contains(got, "メンテナンス実施のお知らせ") || !strings.Contains(got, tag) ||
		!strings.Contains(got, japaneseDate(start)+" "+start.In(jst).Format("15:04")+" 〜 "+start.Add(3*time.Hour).In(jst).Format("15:04")) {
		t.Errorf("the login page announces %q, want the window %s of %s", got, tag, start)
	}
	checkPage(t, ctx, "login-notice")
	loginInBrowser(t, ctx, e, u, initial)
	within(t, ctx,
		chromedp.WaitVisible("#first-login"),
		chromedp.SendKeys("#current", initial),
		chromedp.SendKeys("#new", authtest.GoodPassword),
		chromedp.SendKeys("#confirm", authtest.GoodPassword),
		chromedp.Click("#password-form button[type=submit]"),
		chromedp.WaitVisible("#me"),
		chromedp.WaitVisible("#announcements section"))
	if got := value(t, ctx, chromedp.Text("#announcements")); !strings.Contains(got, tag) {
		t.Errorf("home announces %q, want %s", got, tag)
	}
	checkPage(t, ctx, "home-notice")

	// The user types in the daily survey and stops.
	within(t, ctx, chromedp.Navigate(base+"/daily"), chromedp.WaitVisible("#daily"))
	within(t, ctx, pollTrue(`document.getElementById('account').hidden === false`))
	do(t, ctx, chromedp.SetValue("#f-beds-covidAvailable", "7"))
	value(t, ctx, chromedp.Evaluate[any](`document.getElementById('daily').dispatchEvent(new Event('input'))`))
	if v := value(t, ctx, chromedp.Evaluate[bool](`!!document.getElementById('session-warning') && !document.getElementById('session-warning').hidden`)); v {
		t.Fatal("the warning shows right after a page load")
	}

	// Hours pass: the server's session has two minutes left, and the page,
	// counting from what the server told it, warns.
	var sess struct {
		ExpiresAt          time.Time `json:"expiresAt"`
		IdleTimeoutSeconds int       `json:"idleTimeoutSeconds"`
	}
	raw := value(t, ctx, chromedp.Evaluate[string](`fetch('/auth/me').then(async (r) => JSON.stringify({...(await r.json()).session, now: r.headers.get('Date')}))`, chromedp.EvalAwaitPromise))
	if err := json.Unmarshal([]byte(raw), &sess); err != nil || sess.IdleTimeoutSeconds == 0 {
		t.Fatalf("/auth/me tells no session end: %s (%v)", raw, err)
	}
	idle := time.Duration(sess.IdleTimeoutSeconds) * time.Second
	setLastSeen(t, e, u, time.Now().Add(-idle+2*time.Minute))
	shift := time.Until(sess.ExpiresAt) - 2*time.Minute
	shiftClock(t, ctx, shift)
	within(t, ctx, chromedp.WaitVisible("#session-warning"))
	if got := value(t, ctx, chromedp.Text("#session-warning")); !strings.Contains(got, "まもなく自動的にログアウトします") {
		t.Errorf("the warning says %q", got)
	}
	if role, focus := value(t, ctx, chromedp.Evaluate[string](`document.getElementById('session-warning').getAttribute('role')`)),
		value(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`)); role != "alertdialog" || focus != "session-continue" {
		t.Errorf("the warning is a %q with the focus on %q, want an alertdialog with the focus on its button", role, focus)
	}
	checkPage(t, ctx, "session-warning")

	// 「ログインを続ける」 extends the session on the server.
	before := time.Now()
	within(t, ctx, chromedp.Click("#session-continue"), chromedp.WaitNotVisible("#session-warning"))
	if seen := lastSeen(t, e, u); seen.Before(before.Add(-2 * time.Second)) {
		t.Errorf("after 「ログインを続ける」 the session was last seen at %v, want after %v", seen, before)
	}
	if v := value(t, ctx, chromedp.Value("#f-beds-covidAvailable")); v != "7" {
		t.Errorf("the field holds %q after the warning, want 7", v)
	}

	// Left alone past the end: the session ends on the server, the page
	// goes to login, and login brings the user back to the draft.
	setLastSeen(t, e, u, time.Now().Add(-idle-time.Second))
	shiftClock(t, ctx, shift+idle+time.Minute)
	waitForPage(t, ctx, "/login")
	if got := value(t, ctx, chromedp.Location()); !strings.Contains(got, "next=%2Fdaily") {
		t.Errorf("the login page after the session ended is %s, want next=/daily", got)
	}
	if got := value(t, ctx, chromedp.Text("#notice")); !strings.Contains(got, "セッションの有効期限が切れたか、ログアウトされました") {
		t.Errorf("the login page says %q after the session ended", got)
	}
	checkPage(t, ctx, "login-expired")
	loginInBrowser(t, ctx, e, u, authtest.GoodPassword)
	waitForPage(t, ctx, "/daily")
	within(t, ctx, chromedp.WaitVisible("#daily"), pollTrue(`document.getElementById('state').textContent.includes('復元しました')`))
	if v := value(t, ctx, chromedp.Value("#f-beds-covidAvailable")); v != "7" {
		t.Errorf("the draft after logging in again has %q, want 7", v)
	}
}

// The pages may send the user only to a page of this site after login.
func TestSessionNextPageStaysOnThisSite(t *testing.T) {
	_, srv := testSite(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible("#userId"))
	for next, want := range map[string]string{
		"/daily?date=2026-11-30": "/daily?date=2026-11-30",
		"/":                      "/",
		"//evil.example/":        "/",
		`/\evil.example/`:        "/",
		"https://evil.example/":  "/",
		"javascript:alert(1)":    "/",
		"/login?next=/x":         "/",
		"%2F%2Fevil.example":     "/",
		"/.//evil.example/x":     "/",
		"/..//evil.example/x":    "/",
		"/a/..//evil.example":    "/",
	} {
		got := value(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`(async () => {
		  const { nextPage } = await import(document.querySelector('script[type=module]').src.replace(/pages\/login\.js$/, 'api.js'));
		  history.replaceState(null, '', '/login?next=' + encodeURIComponent(%q));
		  return nextPage();
		})()`, next), chromedp.EvalAwaitPromise))
		if got != want {
			t.Errorf("next=%q: goes to %q, want %q", next, got, want)
		}
	}
}

func TestQRCodeAndMaintenancePageInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	admin := nationalClient(t, e)
	u, initial := e.Account(t, auth.NewAccount{})
	firstLoginInBrowser(t, ctx, e, u, initial, "/settings/factor", "#factor-form")

	// The authenticator app: its QR code drawn in the page, the key beside.
	// The form shows before the page has read the current method (which it
	// then checks): a choice made earlier would be undone.
	within(t, ctx,
		pollTrue(`document.getElementById('current-factor').textContent !== ''`),
		chromedp.Click("#m-totp"),
		chromedp.SendKeys("#currentPassword", authtest.GoodPassword),
		chromedp.Click("#factor-form button[type=submit]"),
		chromedp.WaitVisible("#totp-secret"))
	// What is drawn is the symbol of the URI the API answered (the encoder
	// itself is checked against a reference above).
	within(t, ctx, pollTrue(`!!document.querySelector('#qr svg path')`))
	drawn := value(t, ctx, chromedp.Evaluate[string](`(() => {
	  const svg = document.querySelector('#qr svg');
	  const box = svg.getBoundingClientRect();
	  return [svg.getAttribute('viewBox'), svg.getAttribute('role'), svg.getAttribute('aria-label'), Math.round(box.width), Math.round(box.height),
	    svg.querySelector('path').getAttribute('d').length].join('|');
	})()`))
	parts := strings.Split(drawn, "|")
	width := 0
	if len(parts) == 6 {
		width, _ = strconv.Atoi(parts[3])
	}
	if len(parts) != 6 || !strings.HasPrefix(parts[0], "0 0 ") || parts[1] != "img" || parts[2] == "" || parts[3] != parts[4] || width < 150 || len(parts[5]) < 3 {
		t.Errorf("the QR code drawn: %q, want a square image of a symbol and its quiet zone, labelled, at least 150 px wide", drawn)
	}
	if key := value(t, ctx, chromedp.Text("#secret")); len(strings.ReplaceAll(key, " ", "")) < 16 {
		t.Errorf("the key shown beside the QR code: %q", key)
	}
	checkPage(t, ctx, "factor-totp")

	// A maintenance window: the API's 503 is shown as the page.
	now := time.Now()
	end := now.Add(20 * time.Minute)
	stop := window(t, admin, now.Add(-time.Minute), end, "システム更新作業を行っています。")
	defer stop()
	within(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/daily"), chromedp.WaitVisible("#maintenance"))
	got := value(t, ctx, chromedp.Text("#maintenance"))
	if !strings.Contains(got, "ただいまメンテナンス中です") || !strings.Contains(got, "システム更新作業を行っています。") ||
		!strings.Contains(got, "終了予定："+japaneseDate(end)+" "+end.In(jst).Format("15:04")) {
		t.Errorf("the page during maintenance says %q", got)
	}
	if n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.error-summary, .field-error').length`)); n != 0 {
		t.Errorf("maintenance shown as %d form errors", n)
	}
	checkPage(t, ctx, "maintenance")
}

var jst = time.FixedZone("JST", 9*60*60)

// japaneseDate writes a day as the pages do: 2026年12月1日（火）.
func japaneseDate(t time.Time) string {
	t = t.In(jst)
	return fmt.Sprintf("%d年%d月%d日（%s）", t.Year(), t.Month(), t.Day(), []string{"日", "月", "火", "水", "木", "金", "土"}[t.Weekday()])
}
