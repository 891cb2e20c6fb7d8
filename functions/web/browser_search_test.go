package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
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

// hospital is an institution of the search tests, in the master.
type hospital struct {
	code, name, kana string
	lat, lon         string
}

// The search tests use a prefecture of their own (大分県), so that no
// other test's institutions show in their results.
const (
	searchPref = "44"
	searchHC   = "4401"
)

// addHospitals puts hospitals into the master, with the search's read
// model, as a master import does.
func addHospitals(t *testing.T, e *authtest.Env, hs ...hospital) {
	t.Helper()
	store := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SurveysFunction")["MASTERS_TABLE"]).
		WithSearch(e.Stack.FunctionEnv("SearchFunction")["SURVEYS_TABLE"])
	put := func(r master.Record) {
		r.Version, r.UpdatedAt, r.UpdatedBy = 1, time.Now(), "test"
		if err := store.CreateRecord(context.Background(), r); err != nil && apperr.CodeOf(err) != apperr.Conflict {
			t.Fatal(err)
		}
	}
	put(master.Record{Kind: master.Prefectures, Code: searchPref, Fields: map[string]string{"name": "大分県"}})
	put(master.Record{Kind: master.HealthCenters, Code: searchHC, Fields: map[string]string{"name": "大分市保健所", "prefectureCode": searchPref}})
	for _, h := range hs {
		put(master.Record{Kind: master.Institutions, Code: h.code, Fields: map[string]string{
			"name": h.name, "kana": h.kana, "category": master.CategoryHospital, "prefectureCode": searchPref, "healthCenterCode": searchHC,
			"municipalityCode": "44201", "address": "大分県大分市" + h.code[6:] + "番地", "phone": "097-555-" + h.code[6:], "latitude": h.lat, "longitude": h.lon,
		}})
	}
}

// reportBeds saves an institution's daily survey of day through the API,
// with the given available COVID beds.
func reportBeds(t *testing.T, c *authtest.Client, code, day string, available int) {
	t.Helper()
	b := map[string]any{
		"services": map[string]any{"outpatient": "normal", "inpatient": "normal", "emergency": "limited", "surgery": "stopped"},
		"staffing": "normal",
		"beds":     map[string]any{"permitted": 300, "covidSecured": 20, "covidOccupied": 5, "covidAvailable": available, "icu": 8, "icuOccupied": 2},
		"patients": map[string]any{"confirmed": 5, "suspected": 1, "severe": 2, "ventilator": 1, "ecmo": 0, "newAdmissions": 1},
		"tests":    map[string]any{"tested": 20, "pcr": 12, "antigenQuantitative": 3, "antigenQualitative": 5, "feverOutpatients": 30},
		"flags":    map[string]any{"designatedClinic": true, "pcrAvailable": true},
	}
	if r := c.Do("PUT", "/surveys/institutions/"+code+"/daily/"+day, b); r.Status != 200 {
		t.Fatalf("daily survey of %s %s = %d %s", code, day, r.Status, r.Body)
	}
}

// searchDone waits until the page's address holds exactly the search
// want (its query parameters) and that search's results are shown, and
// returns what the count says.
func searchDone(t *testing.T, ctx context.Context, want map[string]string) string {
	t.Helper()
	if want == nil {
		want = map[string]string{}
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	cond := `(() => {
	  const key = (o) => JSON.stringify(Object.entries(o).sort());
	  const c = document.getElementById('count').textContent;
	  return key(Object.fromEntries(new URLSearchParams(location.search))) === key(` + string(js) + `) && c !== '' && !c.includes('検索しています');
	})()`
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wait, chromedp.Poll[bool](cond)); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\n' + document.getElementById('main').innerText`))
		t.Fatalf("no results for %v: %v\n%s", want, err, page)
	}
	return value(t, ctx, chromedp.Text("#count"))
}

// attr is an attribute of the first element sel finds.
func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[string](`document.querySelector(`+jsString(sel)+`)?.getAttribute(`+jsString(name)+`) ?? ''`))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shownCodes lists the codes of the results on the page, in order.
func shownCodes(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#results .hospital-name a')].map(a => new URL(a.href).searchParams.get('code'))`))
}

// resultText is the text of one result on the page.
func resultText(t *testing.T, ctx context.Context, code string) string {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[string](`(() => { const a = document.querySelector('#results a[href$="code=`+code+`"]');
	  return a ? a.closest('li').innerText : '' })()`))
}

func TestHospitalSearchInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	a := hospital{code: "4400000001", name: "大分中央病院", kana: "オオイタチュウオウビョウイン", lat: "33.2382", lon: "131.6126"}
	b := hospital{code: "4400000002", name: "別府西病院", kana: "ベップニシビョウイン", lat: "33.2846", lon: "131.4914"}
	old := hospital{code: "4400000003", name: "大分東病院", kana: "オオイタヒガシビョウイン", lat: "33.2500", lon: "131.6500"}
	// And enough others for a second page (20 a page).
	others := []hospital{a, b, old}
	for i := range 20 {
		others = append(others, hospital{code: fmt.Sprintf("44000001%02d", i), name: fmt.Sprintf("臼杵病院%d", i), kana: "ウスキビョウイン"})
	}
	addHospitals(t, e, others...)
	account := func(h hospital) (auth.User, string) {
		return e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: h.code, PrefectureCode: searchPref, HealthCenterCode: searchHC})
	}
	// Hospital A's user enters today's daily survey on its page, with 4
	// beds free, and logs out; the other one last reported three days
	// ago, with more.
	today := survey.Today(time.Now())
	ua, pa := account(a)
	firstLoginInBrowser(t, ctx, e, ua, pa, "/", "#me")
	// Home names where the user belongs, from the masters.
	if got := value(t, ctx, chromedp.Text("#me-scope")); got != "大分県（44） / 大分市保健所（4401） / 大分中央病院（4400000001）" {
		t.Errorf("home's 所属 = %q", got)
	}
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/daily"), chromedp.WaitVisible("#daily"))
	value(t, ctx, chromedp.Evaluate[any](`(`+fillDaily+`)(5)`))
	do(t, ctx,
		chromedp.SetValue("#f-beds-covidAvailable", "4"),
		chromedp.SetValue("#f-services-inpatient", "normal"),
		chromedp.SetValue("#f-services-emergency", "limited"),
		chromedp.SetValue("#f-services-surgery", "stopped"),
		chromedp.Click("#daily button[type=submit]"))
	saved(t, ctx)
	do(t, ctx, chromedp.Click("#logout"), chromedp.WaitVisible("#login"))
	uo, po := account(old)
	reportBeds(t, e.LoginChanged(t, uo, po), old.code, survey.AddDays(today, -3), 9)

	// Hospital B's user opens the search: their own prefecture is chosen
	// and searched by beds, the current report first.
	ub, pb := account(b)
	firstLoginInBrowser(t, ctx, e, ub, pb, "/hospitals", "#search-form")
	searchDone(t, ctx, nil)
	if got := value(t, ctx, chromedp.Value("#prefecture")); got != searchPref {
		t.Errorf("prefecture = %q, want the user's own %s", got, searchPref)
	}
	if got := shownCodes(t, ctx); len(got) != 20 || got[0] != a.code {
		t.Errorf("the default search shows %v, want 20 with %s first", got, a.code)
	}
	// もっと見る: the rest, each once, and the focus on the first of them.
	do(t, ctx, chromedp.Click("#more"))
	value(t, ctx, chromedp.Poll[bool](`document.querySelectorAll('#results .hospital').length > 20`))
	got := shownCodes(t, ctx)
	seen := map[string]bool{}
	for _, c := range got {
		seen[c] = true
	}
	if len(got) != 23 || len(seen) != 23 {
		t.Errorf("after もっと見る: %d shown, %d different, want 23", len(got), len(seen))
	}
	if more := value(t, ctx, chromedp.Evaluate[bool](`document.getElementById('more').hidden`)); !more {
		t.Error("もっと見る stays after the last page")
	}
	if focused := value(t, ctx, chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != value(t, ctx, chromedp.Text("#results li:nth-child(21) a")) {
		t.Errorf("after もっと見る the focus is on %q, want the first new result", focused)
	}

	// A by a hiragana fragment of its kana, accepting only.
	do(t, ctx,
		chromedp.SendKeys("#q", "おおいた"),
		chromedp.Click("#accepting"),
		chromedp.Click("#search-form button[type=submit]"))
	kana := map[string]string{"prefecture": searchPref, "q": "おおいた", "sort": "beds", "accepting": "true"}
	count := searchDone(t, ctx, kana)
	if got := shownCodes(t, ctx); len(got) != 1 || got[0] != a.code {
		t.Fatalf("おおいた, accepting: %v, want only %s (the other one's report is stale)", got, a.code)
	}
	if !strings.Contains(count, "1件見つかりました") {
		t.Errorf("the count says %q", count)
	}
	if live := attr(t, ctx, "#count", "aria-live"); live != "polite" {
		t.Errorf("the count is not announced: aria-live=%q", live)
	}
	text := resultText(t, ctx, a.code)
	for _, want := range []string{a.name, a.kana, "受入可能 4床", "救急 制限", "手術 停止", "実施可能", "報告日時"} {
		if !strings.Contains(text, want) {
			t.Errorf("A's result lacks %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日（.）\d{2}:\d{2}`).MatchString(text) {
		t.Errorf("A's result has no report time like 2026年12月1日（火）10:42:\n%s", text)
	}
	if tel := attr(t, ctx, "#results a.tel", "href"); tel != "tel:0975550001" {
		t.Errorf("phone link = %q", tel)
	}
	checkPage(t, ctx, "search")

	// Without the filter the stale one shows, marked and not accepting.
	do(t, ctx, chromedp.Click("#accepting"), chromedp.Click("#search-form button[type=submit]"))
	searchDone(t, ctx, map[string]string{"prefecture": searchPref, "q": "おおいた", "sort": "beds"})
	if got := shownCodes(t, ctx); len(got) != 2 || got[0] != a.code || got[1] != old.code {
		t.Errorf("おおいた: %v, want %s then the stale %s", got, a.code, old.code)
	}
	stale := resultText(t, ctx, old.code)
	if !strings.Contains(stale, "報告が古い（最終報告") || strings.Contains(stale, "受入可能 9床") {
		t.Errorf("the stale result:\n%s", stale)
	}
	checkPage(t, ctx, "search-stale")

	// Back, and reload: the filters come back from the address.
	value(t, ctx, chromedp.Evaluate[any](`history.back()`))
	searchDone(t, ctx, kana)
	if checked := value(t, ctx, chromedp.Evaluate[bool](`document.getElementById('accepting').checked`)); !checked || len(shownCodes(t, ctx)) != 1 {
		t.Errorf("after back: accepting ticked %v, %v shown", checked, shownCodes(t, ctx))
	}
	do(t, ctx, chromedp.Reload())
	searchDone(t, ctx, kana)
	if q := value(t, ctx, chromedp.Value("#q")); q != "おおいた" || len(shownCodes(t, ctx)) != 1 {
		t.Errorf("after reload: q=%q, %v shown", q, shownCodes(t, ctx))
	}

	// Nothing found is said.
	do(t, ctx, chromedp.SetValue("#q", "存在しない病院"), chromedp.Click("#search-form button[type=submit]"))
	if c := searchDone(t, ctx, map[string]string{"prefecture": searchPref, "q": "存在しない病院", "sort": "beds", "accepting": "true"}); !strings.Contains(c, "該当なし") || len(shownCodes(t, ctx)) != 0 {
		t.Errorf("no match: count %q, %v shown", c, shownCodes(t, ctx))
	}

	// The API's refusal is shown at the field it names.
	do(t, ctx,
		chromedp.Click("#more-filters summary"),
		chromedp.SendKeys("#municipality", "12"),
		chromedp.Click("#search-form button[type=submit]"),
		chromedp.WaitVisible("#municipality-error"))
	if msg := value(t, ctx, chromedp.Text("#municipality-error")); !strings.Contains(msg, "市区町村コード") {
		t.Errorf("a bad municipality code: %q", msg)
	}

	// 近い順 needs a position, asked only when 近くを探す is clicked:
	// refused, it says so; allowed, the nearest comes first with its
	// distance.
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/hospitals"))
	searchDone(t, ctx, nil)
	do(t, ctx, chromedp.SetValue("#sort", "distance"), chromedp.Click("#search-form button[type=submit]"), chromedp.WaitVisible("#sort-error"))
	if msg := value(t, ctx, chromedp.Text("#sort-error")); !strings.Contains(msg, "近くを探す") {
		t.Errorf("distance without a position: %q", msg)
	}
	permission := func(setting cdpbrowser.PermissionSetting) {
		t.Helper()
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: setting, Origin: e.Stack.APIURL}); err != nil {
			t.Fatal(err)
		}
	}
	permission("denied")
	do(t, ctx, chromedp.Click("#near-me"))
	value(t, ctx, chromedp.Poll[bool](`document.getElementById('near-state').textContent.includes('許可されていません')`))
	permission("granted")
	lat, lon, acc := 33.2383, 131.6127, 10.0
	if _, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lon, Accuracy: &acc}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Click("#near-me"))
	searchDone(t, ctx, map[string]string{"prefecture": searchPref, "sort": "distance", "near": "33.2383,131.6127"})
	if got := shownCodes(t, ctx); len(got) != 20 || got[0] != a.code || got[1] != old.code || got[2] != b.code {
		t.Errorf("near A: %v, want A, the other one in Oita, then Beppu, then those without a position", got)
	}
	if text := resultText(t, ctx, "4400000100"); !strings.Contains(text, "位置が登録されていません") {
		t.Errorf("a result without a position:\n%s", text)
	}
	if text := resultText(t, ctx, a.code); !strings.Contains(text, "約0.0km") {
		t.Errorf("A's result has no distance:\n%s", text)
	}

	do(t, ctx, chromedp.SetValue("#withinKm", "5"), chromedp.Click("#search-form button[type=submit]"))
	searchDone(t, ctx, map[string]string{"prefecture": searchPref, "sort": "distance", "near": "33.2383,131.6127", "withinKm": "5"})
	if got := shownCodes(t, ctx); len(got) != 2 || got[0] != a.code || got[1] != old.code {
		t.Errorf("within 5 km of A: %v, want A and the other one in Oita", got)
	}

	// The detail: master fields, status and seven days; not A's figures.
	do(t, ctx, chromedp.Click(`#results a[href$="code=`+a.code+`"]`), chromedp.WaitVisible("#hospital"))
	if got := value(t, ctx, chromedp.Text("#h-name")); got != a.name {
		t.Errorf("detail of %q", got)
	}
	days := value(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#h-days tr')].map(tr => tr.innerText)`))
	if len(days) != 7 || !strings.Contains(days[0], "受入可能") || !strings.Contains(days[0], "4床") || !strings.Contains(days[1], "未報告") {
		t.Errorf("the seven days: %q", days)
	}
	if shown := value(t, ctx, chromedp.Evaluate[bool](`!document.getElementById('survey').hidden`)); shown {
		t.Error("B's user sees A's whole survey")
	}
	if back := attr(t, ctx, "#back", "href"); !strings.Contains(back, "sort=distance") {
		t.Errorf("the way back is %q, want the last search", back)
	}
	checkPage(t, ctx, "hospital")

	// A's own user, sent to log in on the way, sees the whole survey.
	do(t, ctx, chromedp.Click("#logout"), chromedp.WaitVisible("#login"), chromedp.Navigate(e.Stack.APIURL+"/hospitals/detail?code="+a.code))
	loginInBrowser(t, ctx, e, ua, authtest.GoodPassword)
	waitForPage(t, ctx, "/hospitals/detail")
	// The browser keeps search answers for 30 seconds: B's answer for this
	// address, without the figures, must not be the one A gets (answers
	// vary by session cookie, and logout clears the cache).
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(wait, chromedp.WaitVisible("#survey")); err != nil {
		t.Fatalf("A's own detail shows no survey: %v\n%s", err, value(t, ctx, chromedp.Text("#main")))
	}
	figures := value(t, ctx, chromedp.Text("#survey"))
	for _, want := range []string{"入院中の患者（確定）\n5", "救急の受入状況\n制限", "PCR検査実施の可否\nはい"} {
		if !strings.Contains(figures, want) {
			t.Errorf("A's own survey lacks %q:\n%s", want, figures)
		}
	}
	checkPage(t, ctx, "hospital-own")

	// An unknown code is said in words.
	do(t, ctx, chromedp.Navigate(e.Stack.APIURL+"/hospitals/detail?code=4499999999"), chromedp.WaitVisible("#problem"))
	if msg := value(t, ctx, chromedp.Text("#problem")); !strings.Contains(msg, "見つかりませんでした") {
		t.Errorf("an unknown hospital: %q", msg)
	}
}

// The prefecture select lists the 47 prefectures in JIS order, by the
// codes the search API takes (01 to 47), with none chosen before the
// page knows the user's own.
func TestPageSearchPrefectures(t *testing.T) {
	s, _ := testSite(t)
	sel := regexp.MustCompile(`(?s)<select id="prefecture".*?</select>`).FindString(string(s.pages["/hospitals"]))
	opts := regexp.MustCompile(`<option value="([0-9]*)"( selected)?>([^<]+)</option>`).FindAllStringSubmatch(sel, -1)
	var prefs []string
	for _, o := range opts {
		if o[2] != "" {
			t.Errorf("%s is chosen in the page itself", o[3])
		}
		if len(o[1]) == 2 {
			prefs = append(prefs, o[1]+o[3])
		}
	}
	if len(prefs) != 47 || prefs[0] != "01北海道" || prefs[12] != "13東京都" || prefs[26] != "27大阪府" || prefs[46] != "47沖縄県" {
		t.Fatalf("prefectures: %d %v", len(prefs), prefs)
	}
	for i, p := range prefs {
		if want := fmt.Sprintf("%02d", i+1); p[:2] != want {
			t.Errorf("option %d is %s, want code %s", i, p, want)
		}
	}
}
