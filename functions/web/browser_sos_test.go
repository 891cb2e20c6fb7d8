package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// waitUntil waits for a JavaScript condition on the page and, when it does not
// come, fails with what the page says instead.
func waitUntil(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	// Tried again and again rather than polled once: a page that navigates
	// on its own (after a login, a save) ends what was evaluated in it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		try, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(try, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search + '\n' + document.body.innerText`))
			t.Fatalf("waiting for %s (%v): the page is\n%s", expr, err, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shows is a condition: the element sel is displayed and its text holds want.
func shows(sel, want string) string {
	return `(() => { const el = document.querySelector(` + jsString(sel) + `); return !!el && el.offsetParent !== null && el.innerText.includes(` + jsString(want) + `); })()`
}

// checkSOSPage is checkPage, and the page must fit a 360-px phone
// without scrolling sideways.
func checkSOSPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checkPage(t, ctx, name)
	do(t, ctx, chromedp.EmulateViewport(360, 740), chromedp.Sleep(100*time.Millisecond))
	w := value(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	do(t, ctx, chromedp.EmulateReset())
	if w > 360 {
		t.Errorf("page %s is %d px wide on a 360-px phone", name, w)
	}
}

// logoutInBrowser ends the session through the header's button.
func logoutInBrowser(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.Click("#logout"))
	waitForPage(t, ctx, "/login")
}

// sosInstitution puts a hospital of Tokyo in the master, with a phone for
// its reviewers.
func sosInstitution(t *testing.T, e *authtest.Env, code string) {
	t.Helper()
	store := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SosFunction")["MASTERS_TABLE"])
	err := store.CreateRecord(context.Background(), master.Record{Kind: master.Institutions, Code: code, Version: 1, UpdatedAt: time.Now(), UpdatedBy: "test",
		Fields: map[string]string{"name": "緊急テスト病院" + code[6:], "category": master.CategoryHospital, "prefectureCode": "13", "healthCenterCode": "1301", "phone": "0355550000"}})
	if err != nil && apperr.CodeOf(err) != apperr.Conflict {
		t.Fatal(err)
	}
}

// eligibleSurveys writes the surveys that make a hospital eligible: antigen
// tests in today's daily survey, every supply short this week.
func eligibleSurveys(t *testing.T, c *authtest.Client, code string) {
	t.Helper()
	daily := map[string]any{
		"services": map[string]any{"outpatient": "normal", "inpatient": "normal", "emergency": "normal", "surgery": "normal"},
		"staffing": "normal",
		"beds":     map[string]any{"permitted": 10, "covidSecured": 0, "covidOccupied": 0, "covidAvailable": 0, "icu": 0, "icuOccupied": 0},
		"patients": map[string]any{"confirmed": 0, "suspected": 0, "severe": 0, "ventilator": 0, "ecmo": 0, "newAdmissions": 0},
		"tests":    map[string]any{"tested": 2, "pcr": 0, "antigenQuantitative": 2, "antigenQualitative": 0, "feverOutpatients": 0},
		"flags":    map[string]any{"designatedClinic": false, "pcrAvailable": false},
	}
	if r := c.Do("PUT", "/surveys/institutions/"+code+"/daily/"+survey.Today(time.Now()), daily); r.Status != 200 {
		t.Fatalf("daily survey: %d %s", r.Status, r.Body)
	}
	items := map[string]any{}
	for _, s := range survey.Supplies {
		items[s.Code] = map[string]any{"outlook": survey.OutlookOneWeek}
	}
	if r := c.Do("PUT", "/surveys/institutions/"+code+"/weekly/"+string(survey.WeekOf(time.Now())), map[string]any{"items": items}); r.Status != 200 {
		t.Fatalf("weekly survey: %d %s", r.Status, r.Body)
	}
}

// TestSOSInTheBrowser: a hospital saves an SOS request, applies it and sees
// it under review; the prefecture confirms it, the nation accepts it; the
// hospital then sees it read-only and prints it. The business day comes
// from the request, so the test holds at any time of day.
func TestSOSInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	const code = "1310000961"
	sosInstitution(t, e, code)
	u, initial := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: code, PrefectureCode: "13", HealthCenterCode: "1301"})
	c := e.LoginChanged(t, u, initial)
	eligibleSurveys(t, c, code)
	ctx := browser(t)
	base := e.Stack.APIURL

	// 一覧: the banner with the time left, nothing filed yet.
	do(t, ctx, chromedp.Navigate(base+"/sos-requests"))
	loginInBrowser(t, ctx, e, u, authtest.GoodPassword)
	waitUntil(t, ctx, shows("#count", "まだありません"))
	waitUntil(t, ctx, shows("#sos-window", "締切まであと"))
	// The deadline passes: the banner reads the next window and shows it,
	// never the closed one. The API's answers are played by the page
	// here: the first a window closing in 3 seconds, then the next day's.
	value(t, ctx, chromedp.Evaluate[any](`(async () => {
	  const sos = await import(document.querySelector('script[type=module]').src.replace(/pages\/[^/]+\.js$/, 'sos.js'));
	  const real = window.fetch;
	  const answers = [{businessDay: '2030-01-07', deadline: new Date(Date.now() + 3000).toISOString()},
	    {businessDay: '2030-01-08', deadline: new Date(Date.now() + 3600000).toISOString()}];
	  window.fetch = (u, o) => String(u).endsWith('/sos/window')
	    ? Promise.resolve(new Response(JSON.stringify(answers.length > 1 ? answers.shift() : answers[0]), {headers: {'Content-Type': 'application/json'}}))
	    : real(u, o);
	  await sos.refreshBanner();
	  window.restoreFetch = () => { window.fetch = real; return sos.refreshBanner(); };
	})()`, chromedp.EvalAwaitPromise))
	waitUntil(t, ctx, shows("#sos-window", "2030年1月7日（月） 13:00締切分（締切まであと1分）"))
	waitUntil(t, ctx, shows("#sos-window", "受付中：2030年1月8日（火） 13:00締切分（締切まであと1時間0分）"))
	value(t, ctx, chromedp.Evaluate[any](`window.restoreFetch()`, chromedp.EvalAwaitPromise))
	waitUntil(t, ctx, shows("#sos-window", "締切まであと"))
	if b := value(t, ctx, chromedp.Text(".sos-banner")); !strings.Contains(b, "!!!ご回答期限!!! 当日13:00まで") || !strings.Contains(b, "※毎日の回答が必要というわけではございません") {
		t.Errorf("the banner says %q", b)
	}
	checkSOSPage(t, ctx, "sos-list-empty")

	// 新規作成: saving without the general confirmation is refused at its box.
	do(t, ctx, chromedp.Click("#new"))
	waitForPage(t, ctx, "/sos-requests/edit")
	waitUntil(t, ctx, shows("#sos-form", "上記の緊急配布条件を満たしていることを確認した"))
	checkSOSPage(t, ctx, "sos-edit-new")
	do(t, ctx, chromedp.Click("#f-items-surgical_mask"), chromedp.Click("#save"))
	waitUntil(t, ctx, shows("#f-confirmedGeneral-error", "にチェックをしてください"))
	waitUntil(t, ctx, shows(".error-summary", "にチェックをしてください"))
	checkSOSPage(t, ctx, "sos-edit-error")

	// 保存: a draft (未申請) with a quantity and a comment.
	do(t, ctx,
		chromedp.Click("#f-confirmedGeneral"),
		chromedp.SendKeys("#f-items-surgical_mask-quantity", "１２０"),
		chromedp.SendKeys("#f-comment", "在庫が残りわずかです。"),
		chromedp.Click("#save"))
	waitUntil(t, ctx, shows("#notice", "保存しました"))
	waitUntil(t, ctx, shows("#s-status", "未申請"))
	if left := value(t, ctx, chromedp.Text("#comment-left")); left != "989" {
		t.Errorf("comment counter says %s left, want 989", left)
	}
	id := value(t, ctx, chromedp.Evaluate[string](`new URLSearchParams(location.search).get('id') || ''`))
	if id == "" {
		t.Fatal("the saved request's id is not in the address")
	}
	saved := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil)
	if saved.Status != 200 || saved.String("status") != "draft" || !strings.Contains(string(saved.Body), `"quantity":120`) || saved.String("comment") != "在庫が残りわずかです。" {
		t.Fatalf("the saved request: %d %s", saved.Status, saved.Body)
	}
	// Over the limit the counter says by how much, as an error, never a
	// negative count.
	over := value(t, ctx, chromedp.Evaluate[string](`(() => {
	  const c = document.getElementById('f-comment');
	  const was = c.value;
	  c.value = 'あ'.repeat(1003);
	  c.dispatchEvent(new Event('input', {bubbles: true}));
	  const got = [document.getElementById('comment-hint').innerText, document.getElementById('comment-over').className].join('|');
	  c.value = was;
	  c.dispatchEvent(new Event('input', {bubbles: true}));
	  return got;
	})()`))
	if over != "1000文字以内（3文字多すぎます）|error-text" {
		t.Errorf("a comment 3 characters too long: the hint says %q", over)
	}

	// システムチェック&申請: eligible, so 都道府県・国確認中 with its business day.
	do(t, ctx, chromedp.Click("#apply"))
	waitUntil(t, ctx, shows("#result", "緊急配布要請を受け付けました"))
	waitUntil(t, ctx, shows("#s-status", "都道府県・国確認中"))
	applied := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil)
	day := applied.String("businessDay")
	if applied.String("status") != "under_review" || day == "" {
		t.Fatalf("after apply: %s", applied.Body)
	}
	if got := value(t, ctx, chromedp.Text("#result")); !strings.Contains(got, "申請日時") || !strings.Contains(got, "13:00締切分") {
		t.Errorf("after apply the page says %q, want the applied time and the business day", got)
	}
	checkSOSPage(t, ctx, "sos-edit-applied")
	title := applied.String("title")
	do(t, ctx, chromedp.Navigate(base+"/sos-requests"))
	waitUntil(t, ctx, shows("#rows", title))
	waitUntil(t, ctx, shows("#rows", "都道府県・国確認中"))
	checkSOSPage(t, ctx, "sos-list")

	// The prefecture's administrator confirms it (都道府県確認済).
	logoutInBrowser(t, ctx)
	pa, paInitial := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	firstLoginInBrowser(t, ctx, e, pa, paInitial, "/sos-review?day="+day, "#filter")
	waitUntil(t, ctx, shows("#rows", title))
	// The status filter names the statuses as the rows show them.
	if opts := value(t, ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#status option')].map(o => o.textContent).join('|')`)); opts != "すべて|都道府県・国確認中|都道府県確認済|受付完了|エラー有り" {
		t.Errorf("the status filter offers %q", opts)
	}
	checkSOSPage(t, ctx, "sos-review")
	// The day's list as Excel CSV, linked from the page.
	waitUntil(t, ctx, shows("#export", "ダウンロード"))
	csv := value(t, ctx, chromedp.Evaluate[string](`(async () => {
	  const r = await fetch(document.getElementById('export-link').href);
	  return r.status + ' ' + r.headers.get('Content-Type') + '\n' + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if !strings.HasPrefix(csv, "200 text/csv") || !strings.Contains(csv, title) {
		t.Errorf("the CSV link answers %.200q", csv)
	}
	do(t, ctx, chromedp.Click(`#rows a[href*="`+id+`"]`))
	waitForPage(t, ctx, "/sos-review/detail")
	waitUntil(t, ctx, shows("#confirm-form", "都道府県確認済にする"))
	waitUntil(t, ctx, shows("#summary-body", "0355550000"))
	waitUntil(t, ctx, shows("#summary-body", u.Name+"（"+u.ID+"）"))
	waitUntil(t, ctx, shows("#daily-period", "更新"))
	waitUntil(t, ctx, shows("#history", "システムチェック&申請"))
	if visible := value(t, ctx, chromedp.Evaluate[bool](`!document.getElementById('accept-form').hidden`)); visible {
		t.Error("a prefecture administrator is offered 受付完了")
	}
	checkSOSPage(t, ctx, "sos-review-detail")
	do(t, ctx, chromedp.SendKeys("#confirm-note", "電話で在庫を確認済"), chromedp.Click("#confirm-form button[type=submit]"))
	waitUntil(t, ctx, shows("#notice", "都道府県確認済にしました"))
	waitUntil(t, ctx, shows("#summary-body", "都道府県確認済"))
	// The institution does not see the prefecture's step: still 確認中.
	if r := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil); r.String("status") != "under_review" || r.String("prefectureNote") != "" {
		t.Errorf("after the prefecture's confirmation the institution reads %s", r.Body)
	}

	// A national administrator accepts it (受付完了).
	logoutInBrowser(t, ctx)
	na, naInitial := e.Account(t, auth.NewAccount{Role: authz.National})
	firstLoginInBrowser(t, ctx, e, na, naInitial, "/sos-review/detail?code="+code+"&id="+id, "#accept-form")
	if visible := value(t, ctx, chromedp.Evaluate[bool](`!document.getElementById('confirm-form').hidden`)); visible {
		t.Error("a national administrator is offered the prefecture's confirmation")
	}
	do(t, ctx, chromedp.SendKeys("#accept-note", "発送手配済"), chromedp.Click("#accept-form button[type=submit]"))
	waitUntil(t, ctx, shows("#notice", "受付完了にしました"))
	waitUntil(t, ctx, shows("#summary-body", "受付完了"))
	checkSOSPage(t, ctx, "sos-review-accepted")
	if r := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil); r.String("status") != "accepted" || r.String("acceptedBy") != na.ID {
		t.Fatalf("after acceptance: %s", r.Body)
	}
	// The national list covers every prefecture; the filter narrows it.
	do(t, ctx, chromedp.Navigate(base+"/sos-review?day="+day+"&status=accepted"))
	waitUntil(t, ctx, shows("#count", "すべての都道府県"))
	waitUntil(t, ctx, shows("#rows", title))
	do(t, ctx, chromedp.Navigate(base+"/sos-review?day="+day+"&prefectureCode=27"))
	waitUntil(t, ctx, shows("#count", "大阪府"))
	if n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#rows tr').length`)); n != 0 {
		t.Errorf("Osaka's list shows %d requests of Tokyo", n)
	}

	// The hospital sees it read-only: no form, no buttons to change it.
	logoutInBrowser(t, ctx)
	do(t, ctx, chromedp.Navigate(base+"/sos-requests/edit?id="+id))
	loginInBrowser(t, ctx, e, u, authtest.GoodPassword)
	waitForPage(t, ctx, "/sos-requests/edit")
	waitUntil(t, ctx, shows("#view", "受付完了"))
	waitUntil(t, ctx, shows("#view", "サージカルマスク（数量 120）"))
	if editable := value(t, ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#sos-form, #save, #apply, #delete')].filter(el => el.offsetParent !== null).length`)); editable != 0 {
		t.Errorf("%d edit controls shown on an accepted request", editable)
	}
	checkSOSPage(t, ctx, "sos-edit-accepted")

	// 印刷用に表示: the sheet, a print stylesheet, and 印刷 calls window.print.
	do(t, ctx, chromedp.Click("#print-link"))
	waitForPage(t, ctx, "/sos-requests/print")
	waitUntil(t, ctx, shows("#sheet", title))
	checkSOSPage(t, ctx, "sos-print")
	printed := value(t, ctx, chromedp.Evaluate[bool](`(() => {
	  window.print = () => { window.__printed = true; };
	  document.getElementById('print').click();
	  const rules = [...document.styleSheets].flatMap((s) => [...s.cssRules]);
	  return window.__printed === true && rules.some((r) => r.media && r.media.mediaText === 'print');
	})()`))
	if !printed {
		t.Error("印刷 does not call window.print, or there is no print stylesheet")
	}
	// As printed: the site's header, footer and buttons are left out.
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	do(t, ctx, media("print"))
	shown := value(t, ctx, chromedp.Evaluate[string](`['.site-header', '.site-footer', '#print', '#sheet']
	  .map((s) => s + ':' + getComputedStyle(document.querySelector(s)).display).join(' ')`))
	if shown != ".site-header:none .site-footer:none #print:none #sheet:block" {
		t.Errorf("printed, the page shows %s", shown)
	}
	screenshots(t, ctx, "sos-print-media")
	do(t, ctx, media(""))

	// ホーム: the latest requests with their status.
	do(t, ctx, chromedp.Navigate(base+"/"))
	waitUntil(t, ctx, shows("#sos-latest", title))
	waitUntil(t, ctx, shows("#sos-latest", "受付完了"))
	checkSOSPage(t, ctx, "home-sos")
}

// TestSOSErrorsInTheBrowser: a hospital without surveys gets エラー有り with
// each failed condition in words; a stale version is explained and the
// latest one read again; a draft is deleted after its confirmation.
func TestSOSErrorsInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	const code = "1310000962"
	sosInstitution(t, e, code)
	u, initial := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: code, PrefectureCode: "13", HealthCenterCode: "1301"})
	c := e.LoginChanged(t, u, initial)
	ctx := browser(t)

	// N95 without its confirmation is refused at its box, before any save.
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/sos-requests/edit"))
	loginInBrowser(t, ctx, e, u, authtest.GoodPassword)
	waitForPage(t, ctx, "/sos-requests/edit")
	waitUntil(t, ctx, shows("#sos-form", "保存"))
	do(t, ctx, chromedp.Click("#f-confirmedGeneral"), chromedp.Click("#f-items-n95_mask"), chromedp.Click("#apply"))
	waitUntil(t, ctx, shows("#f-confirmedN95-error", "N95マスク"))
	do(t, ctx, chromedp.Click("#f-confirmedN95"), chromedp.Click("#apply"))

	// No surveys: エラー有り, naming condition ② and the weekly survey.
	waitUntil(t, ctx, shows("#result", "エラー有り"))
	waitUntil(t, ctx, shows("#s-status", "エラー有り"))
	res := value(t, ctx, chromedp.Text("#result"))
	if !strings.Contains(res, "② 日次調査が登録されていません") || !strings.Contains(res, "週次調査が登録されていません") {
		t.Errorf("the failed conditions read %q", res)
	}
	checkSOSPage(t, ctx, "sos-edit-failed")
	id := value(t, ctx, chromedp.Evaluate[string](`new URLSearchParams(location.search).get('id') || ''`))

	// Another person edits it meanwhile: saving here is refused and explained.
	cur := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil)
	if r := c.Do("PUT", "/sos/institutions/"+code+"/requests/"+id, map[string]any{"version": cur.JSON["version"], "confirmedGeneral": true,
		"confirmedN95": true, "items": map[string]any{"n95_mask": map[string]any{"quantity": 50}}, "comment": "別の端末から"}); r.Status != 200 {
		t.Fatalf("the other edit: %d %s", r.Status, r.Body)
	}
	do(t, ctx, chromedp.SendKeys("#f-comment", "こちらの入力"), chromedp.Click("#save"))
	waitUntil(t, ctx, shows("#result .conflict", "他の方が更新しました"))
	waitUntil(t, ctx, shows("#result .conflict", "別の画面または別の方が先に保存しました（保存したのはあなた自身（別の画面））"))
	checkSOSPage(t, ctx, "sos-edit-conflict")
	do(t, ctx, chromedp.Click("#result .conflict button"))
	waitUntil(t, ctx, shows("#notice", "最新の内容を読み込みました"))
	if got := value(t, ctx, chromedp.Value("#f-comment")); got != "別の端末から" {
		t.Errorf("after reading again the comment is %q", got)
	}

	// The session ends under the user's feet: what they typed survives the
	// login and is saved after it.
	do(t, ctx, chromedp.SendKeys("#f-comment", "・追記"))
	if _, err := e.Store.EndUserSessions(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Click("#save"))
	loginInBrowser(t, ctx, e, u, authtest.GoodPassword)
	waitForPage(t, ctx, "/sos-requests/edit")
	waitUntil(t, ctx, shows("#notice", "復元しました"))
	if got := value(t, ctx, chromedp.Value("#f-comment")); got != "別の端末から・追記" {
		t.Errorf("the restored comment is %q", got)
	}
	do(t, ctx, chromedp.Click("#save"))
	waitUntil(t, ctx, shows("#notice", "保存しました"))
	c = e.Login(t, u, authtest.GoodPassword) // its session ended too
	if r := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil); r.String("comment") != "別の端末から・追記" {
		t.Errorf("saved after the login: %s", r.Body)
	}

	// 削除: asked first; then the request is gone.
	do(t, ctx, chromedp.Click("#delete"))
	waitUntil(t, ctx, shows("#delete-confirm", "よろしいですか"))
	do(t, ctx, chromedp.Click("#delete-yes"))
	waitForPage(t, ctx, "/sos-requests")
	waitUntil(t, ctx, shows("#notice", "削除しました"))
	if r := c.Do("GET", "/sos/institutions/"+code+"/requests/"+id, nil); r.Status != 404 {
		t.Errorf("after delete the request reads %d %s", r.Status, r.Body)
	}
}
