package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
)

// The tests in this file drive Debian's chromium (make deps installs it)
// through the real local stack: the web function serves the pages, the
// pages call the real API.

// Maintenance windows are seen by the functions within a second, so that
// a test may open and end one.
var shared = authtest.NewBrowserShared(map[string]string{"MaintenanceCacheSeconds": "1"})

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// browser starts a headless chromium for t.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (make deps installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	// Generous: the suite runs packages side by side on two cores.
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// axeViolations runs axe-core on the page and returns its serious and
// critical violations.
func axeViolations(t *testing.T, ctx context.Context) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core (make deps installs it): %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(src))); err != nil {
		t.Fatalf("load axe: %v", err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')'))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	return found
}

// screenshots writes the page at a phone's and a PC's size under
// .local/screenshots/.
func screenshots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join("..", "..", ".local", "screenshots")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int64{{360, 740}, {1366, 768}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1]), chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatalf("viewport %s: %v", name, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, size[0], size[1]))
		if err := os.WriteFile(file, png, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}
}

// checkPage runs axe on the page and takes its screenshots.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if v := axeViolations(t, ctx); len(v) > 0 {
		t.Errorf("page %s: %d serious or critical accessibility violations:\n%s", name, len(v), strings.Join(v, "\n"))
	}
	screenshots(t, ctx, name)
}

// do runs actions in the browser and fails t on the first error.
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// value runs one action that answers a value.
func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFirstLoginInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	u, initial := e.Account(t, auth.NewAccount{})
	base := e.Stack.APIURL

	// ログイン: a wrong password is shown at the form, then the right one.
	do(t, ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#userId"))
	checkPage(t, ctx, "login")
	do(t, ctx,
		chromedp.SendKeys("#userId", u.ID),
		chromedp.SendKeys("#password", "Wrong#Pass1"),
		chromedp.Click("#login button[type=submit]"),
		chromedp.WaitVisible(".error-summary"))
	if summary := value(t, ctx, chromedp.Text(".error-summary")); !strings.Contains(summary, "利用者IDまたはパスワードが正しくありません") {
		t.Errorf("error summary %q", summary)
	}
	checkPage(t, ctx, "login-error")
	sent := len(e.Moto.Mails(u.Mail))
	do(t, ctx,
		chromedp.SendKeys("#password", initial),
		chromedp.Click("#login button[type=submit]"),
		chromedp.WaitVisible("#code"))
	// The page's script fills in the destination once its modules load.
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, _ = chromedp.Run(wait, chromedp.Poll[bool](`document.getElementById('sent-to').textContent.includes('***')`))
	cancel()
	if where := value(t, ctx, chromedp.Text("#sent-to")); !strings.Contains(where, "メール") || !strings.Contains(where, "***") {
		t.Errorf("the code page says %q, want where the code went, masked", where)
	}
	checkPage(t, ctx, "code")

	// 確認コード: the code from the mail, then the forced password change.
	code := authtest.LastCode(t, sent+1, func() []string { return e.Moto.Mails(u.Mail) })
	do(t, ctx,
		chromedp.SendKeys("#code", code),
		chromedp.Click("#code-form button[type=submit]"),
		chromedp.WaitVisible("#first-login"))
	// The rules tick as the user types.
	do(t, ctx, chromedp.SendKeys("#new", "abc"))
	unmet := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#new-rules .ng').length`))
	do(t, ctx, chromedp.SendKeys("#new", "DEF#42x"))
	met := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#new-rules .ok').length`))
	if unmet == 0 || met != 5 {
		t.Errorf("rules: %d unmet for %q, %d met for %q (want >0 and 5)", unmet, "abc", met, "abcDEF#42x")
	}
	checkPage(t, ctx, "password-change")
	do(t, ctx,
		chromedp.SendKeys("#current", initial),
		chromedp.SendKeys("#confirm", "abcDEF#42x"),
		chromedp.Click("#password-form button[type=submit]"),
		chromedp.WaitVisible("#me"),
		chromedp.WaitVisible("#surveys"))
	value(t, ctx, chromedp.Poll[bool](`document.getElementById('daily-state').textContent !== ''`))
	name := value(t, ctx, chromedp.Text("#me-name"))
	daily := value(t, ctx, chromedp.Text("#daily-state"))
	if name != u.Name || daily != "未回答" {
		t.Errorf("home shows name %q and daily survey %q, want %q and 未回答", name, daily, u.Name)
	}
	checkPage(t, ctx, "home")

	// ログアウト: the session ends on the server, home sends to login.
	do(t, ctx,
		chromedp.Click("#logout"),
		chromedp.WaitVisible("#login"),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible("#login"))
}

func TestPasswordResetPages(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	u, _ := e.Account(t, auth.NewAccount{})
	sent := len(e.Moto.Mails(u.Mail))
	do(t, ctx,
		chromedp.Navigate(e.Stack.APIURL+"/password-reset"),
		chromedp.WaitVisible("#userId"),
		chromedp.SendKeys("#userId", u.ID),
		chromedp.Click("#request-form button[type=submit]"),
		chromedp.WaitVisible(".notice-success"))
	checkPage(t, ctx, "reset-request")
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
	if !strings.HasPrefix(link, e.Stack.APIURL+"/password-reset#token=") {
		t.Fatalf("the mail's link %q does not open this site's reset page", link)
	}
	// As from a mail client: a fresh page, not a fragment change of this one.
	do(t, ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(link), chromedp.WaitVisible("#newPassword"))
	if url := value(t, ctx, chromedp.Location()); strings.Contains(url, "token") {
		t.Errorf("the token stays in the address bar: %s", url)
	}
	checkPage(t, ctx, "reset-confirm")
	do(t, ctx,
		chromedp.SendKeys("#newPassword", "Kusuri#Bako42"),
		chromedp.SendKeys("#confirm", "Kusuri#Bako42"),
		chromedp.Click("#confirm-form button[type=submit]"),
		chromedp.WaitVisible(".notice-success"))
	if msg := value(t, ctx, chromedp.Text(".notice-success")); !strings.Contains(msg, "パスワードを設定しました") {
		t.Errorf("after the reset the page says %q", msg)
	}
	e.Login(t, u, "Kusuri#Bako42")
}

// loginInBrowser walks the login pages: user ID and password, then the
// code read from moto, and lands where the pages send the user next.
func loginInBrowser(t *testing.T, ctx context.Context, e *authtest.Env, u auth.User, pw string) {
	t.Helper()
	sent := len(e.Moto.Mails(u.Mail))
	// The page that sent the user here navigates on its own: wait until the
	// login page is the one loaded, or a node found now may be gone.
	waitForPage(t, ctx, "/login")
	do(t, ctx,
		chromedp.WaitVisible("#userId"),
		chromedp.SendKeys("#userId", u.ID),
		chromedp.SendKeys("#password", pw),
		chromedp.Click("#login button[type=submit]"))
	// A node looked up while the next page loads may be gone by the time
	// it is read: wait for the code page first.
	waitForPage(t, ctx, "/login/code")
	do(t, ctx, chromedp.WaitVisible("#code"))
	code := authtest.LastCode(t, sent+1, func() []string { return e.Moto.Mails(u.Mail) })
	do(t, ctx, chromedp.SendKeys("#code", code), chromedp.Click("#code-form button[type=submit]"))
}

// firstLoginInBrowser opens page as a new user would: the login pages,
// the forced change to authtest.GoodPassword, then page again, until sel
// shows.
func firstLoginInBrowser(t *testing.T, ctx context.Context, e *authtest.Env, u auth.User, initial, page, sel string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+page))
	loginInBrowser(t, ctx, e, u, initial)
	do(t, ctx,
		chromedp.WaitVisible("#first-login"),
		chromedp.SendKeys("#current", initial),
		chromedp.SendKeys("#new", authtest.GoodPassword),
		chromedp.SendKeys("#confirm", authtest.GoodPassword),
		chromedp.Click("#password-form button[type=submit]"),
		chromedp.WaitVisible("#me"),
		chromedp.Navigate(e.Stack.APIURL+page),
		chromedp.WaitVisible(sel))
}

// waitForPage waits until the page at path is the one loaded. A page that
// navigates on its own destroys what was being evaluated in it, so each
// look is tried again until the deadline.
func waitForPage(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + ' ' + document.readyState`))
		if err == nil && got == path+" complete" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: at %q (%v)", path, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fillDaily sets every field of the daily survey form, counts to n.
const fillDaily = `(n) => {
  for (const el of document.querySelectorAll('#daily [name]')) {
    if (el.type === 'checkbox') el.checked = true;
    else if (el.tagName === 'SELECT') el.value = el.options[1].value;
    else el.value = String(n);
  }
  document.getElementById('daily').dispatchEvent(new Event('input'));
}`

func TestDailySurveyInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	u, initial := e.Account(t, auth.NewAccount{})
	firstLoginInBrowser(t, ctx, e, u, initial, "/daily", "#daily")
	if st := value(t, ctx, chromedp.Text("#state")); !strings.Contains(st, "未回答") {
		t.Errorf("a day without a survey says %q", st)
	}
	// No earlier survey to copy: the counts start empty, not at 0.
	if filled := value(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#daily .input-count')].filter(el => el.value !== '').map(el => el.name)`)); len(filled) != 0 {
		t.Errorf("a first survey starts with values in %v", filled)
	}
	checkPage(t, ctx, "daily")
	// A count showing 0 is retyped, not appended to.
	do(t, ctx, chromedp.SetValue("#f-beds-covidAvailable", "0"), chromedp.Click("#f-beds-covidAvailable"), chromedp.SendKeys("#f-beds-covidAvailable", "１２０"))
	if v := value(t, ctx, chromedp.Value("#f-beds-covidAvailable")); v != "１２０" {
		t.Errorf("typing １２０ into a field showing 0 gives %q", v)
	}
	// The save button's bar hides no field: the last one scrolled to the
	// bottom is above the bar, on a phone and on a desktop.
	for _, w := range []int64{360, 1366} {
		do(t, ctx, chromedp.EmulateViewport(w, 740))
		hidden := value(t, ctx, chromedp.Evaluate[string](`(() => {
		  window.scrollTo(0, document.body.scrollHeight);
		  const bar = document.querySelector('#daily .save-bar').getBoundingClientRect();
		  const last = [...document.querySelectorAll('#daily .field')].at(-1).getBoundingClientRect();
		  const bg = getComputedStyle(document.querySelector('#daily .save-bar')).backgroundColor;
		  if (last.bottom > bar.top + 1) return 'the last field ends at ' + last.bottom + ', the bar starts at ' + bar.top;
		  if (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent') return 'the bar is transparent';
		  return '';
		})()`))
		if hidden != "" {
			t.Errorf("at %d px: %s", w, hidden)
		}
	}
	do(t, ctx, chromedp.EmulateViewport(1366, 768))

	// A part above its whole is refused at its field.
	value(t, ctx, chromedp.Evaluate[any](`(`+fillDaily+`)(5)`))
	do(t, ctx,
		chromedp.SetValue("#f-beds-covidOccupied", "30"),
		chromedp.Click("#daily button[type=submit]"),
		chromedp.WaitVisible(".error-summary"),
		chromedp.WaitVisible("#f-beds-covidOccupied-error"))
	checkPage(t, ctx, "daily-error")
	do(t, ctx,
		chromedp.SetValue("#f-beds-covidOccupied", "3"),
		chromedp.Click("#daily button[type=submit]"))
	saved(t, ctx)

	// Another tab saves the same day first: the conflict is explained and
	// the user may keep their own values.
	value(t, ctx, chromedp.Evaluate[any](`(async () => {
	  const day = new Intl.DateTimeFormat('sv-SE', {timeZone: 'Asia/Tokyo'}).format(new Date());
	  const path = '/surveys/institutions/`+u.InstitutionCode+`/daily/' + day;
	  const cur = await (await fetch(path)).json();
	  const body = {...cur.values, version: cur.version};
	  body.beds.covidAvailable = 1;
	  const res = await fetch(path, {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
	  if (!res.ok) throw new Error('the other tab: ' + res.status);
	})()`, chromedp.EvalAwaitPromise))
	do(t, ctx,
		chromedp.SetValue("#f-beds-covidAvailable", "7"),
		chromedp.Click("#daily button[type=submit]"),
		chromedp.WaitVisible(".conflict"))
	if msg := value(t, ctx, chromedp.Text(".conflict")); !strings.Contains(msg, "別の画面または別の方が先に保存しました（保存したのはあなた自身（別の画面））") {
		t.Errorf("the conflict says %q", msg)
	}
	checkPage(t, ctx, "daily-conflict")
	do(t, ctx, chromedp.Click(".conflict .button-primary"))
	saved(t, ctx)

	// The session ends under the user's feet: what they typed survives the
	// login and is saved after it.
	do(t, ctx, chromedp.SetValue("#f-beds-covidAvailable", "9"))
	value(t, ctx, chromedp.Evaluate[any](`document.getElementById('daily').dispatchEvent(new Event('input'))`))
	if _, err := e.Store.EndUserSessions(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Click("#daily button[type=submit]"))
	waitForPage(t, ctx, "/login")
	if got := value(t, ctx, chromedp.Text("#notice")); !strings.Contains(got, "セッションの有効期限が切れたか、ログアウトされました") {
		t.Errorf("the login page after the session ended says %q", got)
	}
	// The ID as typed by hand: full-width, lower-case, with a space.
	typed := " " + strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			return r + 0xFEE0
		}
		return r
	}, u.ID[:4]) + strings.ToLower(u.ID[4:])
	loginInBrowser(t, ctx, e, auth.User{ID: typed, Mail: u.Mail}, authtest.GoodPassword)
	do(t, ctx, chromedp.WaitVisible("#daily"))
	if st := value(t, ctx, chromedp.Text("#state")); !strings.Contains(st, "復元しました") {
		t.Errorf("after logging in again the page says %q", st)
	}
	if v := value(t, ctx, chromedp.Value("#f-beds-covidAvailable")); v != "9" {
		t.Errorf("the restored draft has %q, want 9", v)
	}
	do(t, ctx, chromedp.Click("#daily button[type=submit]"))
	saved(t, ctx)

	// A day still to come is refused at once, with no form.
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/daily?date=2099-01-01"))
	waitUntil(t, ctx, `document.getElementById('state').textContent.includes('未来の日の調査は入力できません')`)
	if visible := value(t, ctx, chromedp.Evaluate[bool](`!document.getElementById('daily').hidden`)); visible {
		t.Errorf("a future day shows the form")
	}

	// 週次調査: outlooks chosen, the optional counts left empty but one.
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/weekly"), chromedp.WaitVisible("#weekly"))
	value(t, ctx, chromedp.Evaluate[any](`(() => {
	  for (const el of document.querySelectorAll('#weekly select')) el.value = el.options[2].value;
	  document.querySelector('[name="items.n95_mask.inStock"]').value = '１２０';
	})()`))
	checkPage(t, ctx, "weekly")
	do(t, ctx, chromedp.Click("#weekly button[type=submit]"))
	saved(t, ctx)
	week := value(t, ctx, chromedp.Evaluate[string](`(async () => {
	  const w = document.getElementById('week').value;
	  const r = await (await fetch('/surveys/institutions/`+u.InstitutionCode+`/weekly/' + w)).json();
	  return JSON.stringify(r.values.items.n95_mask) + ' ' + JSON.stringify(r.values.items.surgical_mask);
	})()`, chromedp.EvalAwaitPromise))
	if !strings.Contains(week, `"inStock":120`) || strings.Contains(week[strings.Index(week, " "):], "inStock") {
		t.Errorf("the saved weekly survey: %s, want n95 in stock 120 and no count for masks", week)
	}
}

// saved waits for the daily form to say it saved, and tells what it said
// instead if it does not.
func saved(t *testing.T, ctx context.Context) {
	t.Helper()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wait, chromedp.Poll[bool](`document.getElementById('state').textContent.includes('保存しました')`)); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('main').innerText`))
		t.Fatalf("not saved: %v\n%s", err, page)
	}
}

func TestSecondFactorChangeInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	u, initial := e.Account(t, auth.NewAccount{})
	firstLoginInBrowser(t, ctx, e, u, initial, "/settings/factor", "#factor-form")
	checkPage(t, ctx, "factor")
	const mobile = "090-1234-5678"
	sent := len(e.Moto.SMS("+819012345678"))
	do(t, ctx,
		chromedp.Click("#m-sms"),
		chromedp.SendKeys("#destination", mobile),
		chromedp.SendKeys("#currentPassword", authtest.GoodPassword),
		chromedp.Click("#factor-form button[type=submit]"),
		chromedp.WaitVisible("#code"))
	code := authtest.LastCode(t, sent+1, func() []string { return e.Moto.SMS("+819012345678") })
	do(t, ctx,
		chromedp.SendKeys("#code", code),
		chromedp.Click("#confirm-form button[type=submit]"),
		chromedp.WaitVisible(".notice-success"))
	got, err := e.Store.GetUser(context.Background(), u.ID)
	if err != nil || got.Method != auth.MethodSMS || got.Destination != "+819012345678" {
		t.Errorf("after the change: method %s to %s (%v), want sms to +819012345678", got.Method, got.Destination, err)
	}
}
