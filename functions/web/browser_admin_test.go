package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/encoding/japanese"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// formTitle is the title line Excel forms have above their header row.
const formTitle = "医療機関等情報支援システム 利用申請様式"

// applicant is a row of the form: a user of institution 1310000002 with
// a name and mail of their own.
func applicant(i int, tag string) map[string]string {
	mail := fmt.Sprintf("web-applicant%d-%s@hospital.example.jp", i, tag)
	return map[string]string{
		"A": fmt.Sprint(i), "B": fmt.Sprintf("画面 花子%d%s", i, tag), "C": "03-5555-0001", "D": mail, "E": "09",
		"K": "1301", "AG": "0", "AJ": "1310000002", "AM": mail, "AN": "1",
	}
}

// until polls js in the page until it is true, and tells what the page
// says if it never is.
func until(t *testing.T, ctx context.Context, js, what string) {
	t.Helper()
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wait, chromedp.Poll[bool](js)); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\n%s", what, err, page)
	}
}

func TestAdminPagesInTheBrowser(t *testing.T) {
	e := shared.Env(t)
	ctx := browser(t)
	base := e.Stack.APIURL
	admin, initial := e.Account(t, auth.NewAccount{Role: authz.National})

	// Home shows the administrators' menu from the role.
	firstLoginInBrowser(t, ctx, e, admin, initial, "/", "#admin-menu")
	if links := value(t, ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#admin-menu li')].filter(li => !li.hidden).length`)); links != 6 {
		t.Errorf("a national administrator's menu has %d links, want 6", links)
	}
	checkPage(t, ctx, "home-admin")

	// マスタの取込: the demo masters, each job watched to its counts.
	demo, err := filepath.Abs(filepath.Join("..", "..", "infra", "local", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"/manage/masters"), chromedp.WaitVisible("#upload"))
	checkPage(t, ctx, "manage-masters")
	for _, m := range []struct{ kind, label string }{{"prefectures", "都道府県"}, {"health-centers", "保健所"}, {"institutions", "医療機関（全数）"}, {"sentinels", "定点医療機関"}} {
		if m.kind == "sentinels" {
			// As a file over 4 MB goes: a presigned PUT to the bucket (moto,
			// through its CORS rule), then the job over the upload.
			value(t, ctx, chromedp.Evaluate[any](`(() => {
			  document.getElementById('upload').dataset.directLimit = '0';
			  window.puts = [];
			  const f = window.fetch;
			  window.fetch = (u, o) => { if (o && o.method === 'PUT') window.puts.push(String(u)); return f(u, o); };
			})()`))
		}
		do(t, ctx,
			chromedp.SetValue("#kind", m.kind),
			chromedp.SetUploadFiles("#file", []string{filepath.Join(demo, m.kind+".csv")}),
			chromedp.Click("#upload button[type=submit]"))
		until(t, ctx, `!document.getElementById('result').hidden && document.getElementById('result-kind').textContent === '`+m.label+`'`, "import of "+m.kind)
		rejected := value(t, ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#result-counts dt')].find(dt => dt.textContent === '除外').nextElementSibling.textContent`))
		if rejected != "0 件" {
			t.Errorf("import of %s: 除外 %q, want 0 件", m.kind, rejected)
		}
	}
	puts := value(t, ctx, chromedp.Evaluate[[]string](`window.puts`))
	if len(puts) != 1 || strings.HasPrefix(puts[0], base) {
		t.Errorf("the upload through the bucket PUT to %q, want one presigned URL of S3", puts)
	}
	// A row the master refuses is left out, the others go in; the rejected
	// rows download as CSV.
	masterFile := filepath.Join(t.TempDir(), "institutions.csv")
	demoRows, err := os.ReadFile(filepath.Join(demo, "institutions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(demoRows), "\n", 3)
	badMaster := lines[0] + "\n" + lines[1] + "\n" + "1310099999,ひかり病院,ヒカリビョウイン,101-1009,東京都みどり区9丁目9-9,03-5555-1009,たくさん,0000099,hospital,13,13101,1301\n"
	if err := os.WriteFile(masterFile, []byte(badMaster), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, ctx,
		chromedp.SetValue("#kind", "institutions"),
		chromedp.SetUploadFiles("#file", []string{masterFile}),
		chromedp.Click("#upload button[type=submit]"))
	until(t, ctx, `!document.getElementById('rejections').hidden`, "the rejected row's download")
	if got := value(t, ctx, chromedp.Text("#result-counts")); !strings.Contains(strings.Join(strings.Fields(got), " "), "除外 1 件") {
		t.Errorf("counts of a file with one bad row: %q", got)
	}
	checkPage(t, ctx, "manage-masters-result")
	rejections := value(t, ctx, chromedp.Evaluate[string](`fetch(document.getElementById('rejections-link').href).then(r => r.ok ? r.text() : 'status ' + r.status)`, chromedp.EvalAwaitPromise))
	if !strings.Contains(rejections, "行,理由,") || !strings.Contains(rejections, "許可病床数") {
		t.Errorf("the rejected rows CSV:\n%s", rejections)
	}

	// アカウントの一括発行: a form with a bad row (Shift_JIS, as Excel saves
	// it) shows the row and column at fault and creates nothing.
	tag := fmt.Sprint(time.Now().UnixNano() % 1000000)
	rows := []map[string]string{applicant(1, tag), applicant(2, tag)}
	rows[1]["C"] = "+1 415 555 0100"
	bad, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(authtest.ApplicationForm(formTitle, rows)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	badFile, goodFile := filepath.Join(dir, "申請様式.csv"), filepath.Join(dir, "申請様式_修正.csv")
	if err := os.WriteFile(badFile, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"/manage/issuance"), chromedp.WaitVisible("#upload"))
	checkPage(t, ctx, "manage-issuance")
	do(t, ctx,
		chromedp.SetUploadFiles("#file", []string{badFile}),
		chromedp.Click("#upload button[type=submit]"))
	until(t, ctx, `!document.getElementById('errors').hidden`, "the bad form's errors")
	cells := value(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#errors tbody tr')].map(tr => [...tr.cells].map(c => c.textContent).join('|'))`))
	if len(cells) != 1 || !strings.HasPrefix(cells[0], "4|C|連絡先電話番号|") {
		t.Errorf("error table rows %q, want one: row 4 (title, header, two rows), column C 連絡先電話番号", cells)
	}
	checkPage(t, ctx, "manage-issuance-errors")
	if users, _, err := e.Store.ListUsers(context.Background(), "institution", "1310000002", 200, ""); err != nil {
		t.Fatal(err)
	} else {
		for _, u := range users {
			if strings.HasSuffix(u.Name, tag) {
				t.Errorf("account %s %s created from a form with an error", u.ID, u.Name)
			}
		}
	}

	// The fixed file (UTF-8 with a BOM) issues the accounts; the password
	// CSV downloads from the page and lists them.
	rows[1]["C"] = "03-5555-0002"
	if err := os.WriteFile(goodFile, append([]byte("\ufeff"), authtest.ApplicationForm(formTitle, rows)...), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, ctx,
		chromedp.SetUploadFiles("#file", []string{goodFile}),
		chromedp.Click("#upload button[type=submit]"))
	until(t, ctx, `!document.getElementById('result').hidden`, "the fixed form's accounts")
	if p := value(t, ctx, chromedp.Text(".progress-text")); !strings.Contains(p, "完了") {
		t.Errorf("the progress says %q when the job is done", p)
	}
	checkPage(t, ctx, "manage-issuance-result")
	csvText := value(t, ctx, chromedp.Evaluate[string](`(async () => {
	  const a = document.getElementById('download');
	  if (!a.hasAttribute('download')) throw new Error('the link is not a download');
	  const r = await fetch(a.href);
	  if (!r.ok || !r.headers.get('Content-Disposition').startsWith('attachment')) throw new Error('download: ' + r.status);
	  return r.text();
	})()`, chromedp.EvalAwaitPromise))
	out, _, err := csvio.Read([]byte(csvText), 1<<20)
	if err != nil || len(out) != 3 || out[0].Field(0) != "利用者ID" || out[0].Field(3) != "初期パスワード" {
		t.Fatalf("the password CSV (%v):\n%s", err, csvText)
	}
	for i, r := range out[1:] {
		if r.Field(1) != rows[i]["B"] || r.Field(2) != rows[i]["D"] || r.Field(3) == "" || strings.HasPrefix(r.Field(3), "（") {
			t.Errorf("password CSV row %d = %q, want %s %s and a password", i+1, r.Fields, rows[i]["B"], rows[i]["D"])
		}
	}
	issued, err := e.Store.GetUser(context.Background(), out[1].Field(0))
	if err != nil {
		t.Fatal(err)
	}
	e.Login(t, issued, out[1].Field(3)) // the initial password of the CSV logs in

	// 通知メールを送信: a notice-mail job and its counts per recipient.
	do(t, ctx, chromedp.Click("#notify"))
	until(t, ctx, `!document.getElementById('notify-counts').hidden`, "the notice mails")
	if got := value(t, ctx, chromedp.Evaluate[string](`document.querySelector('#notify-counts dd').textContent`)); got != "2 件" {
		t.Errorf("notice mails sent: %q, want 2 件", got)
	}
	checkPage(t, ctx, "manage-issuance-notified")
	mails := e.Moto.MailsBySubject("アカウント発行のお知らせ")
	for _, r := range rows {
		if n := mails[strings.ToLower(r["D"])]; n != 1 {
			t.Errorf("%s received %d notice mails, want 1", r["D"], n)
		}
	}

	// The same form again issues nothing: its people are named as registered.
	do(t, ctx,
		chromedp.SetUploadFiles("#file", []string{goodFile}),
		chromedp.Click("#upload button[type=submit]"))
	until(t, ctx, `!document.getElementById('registered').hidden`, "the resubmitted form's registered rows")
	if got := value(t, ctx, chromedp.Text("#registered-list")); !strings.Contains(got, out[1].Field(0)) || !strings.Contains(got, out[2].Field(0)) {
		t.Errorf("registered rows %q, want the user IDs %s and %s", got, out[1].Field(0), out[2].Field(0))
	}

	// 処理の一覧: the jobs above, each linking to its result.
	do(t, ctx, chromedp.Navigate(base+"/manage/jobs"), chromedp.WaitVisible("#list"))
	if n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#jobs tr a').length`)); n != 9 {
		t.Errorf("the job list links %d jobs, want 9 (5 masters, 3 forms, 1 notice)", n)
	}
	checkPage(t, ctx, "manage-jobs")
	value(t, ctx, chromedp.Evaluate[any](`[...document.querySelectorAll('#jobs tr')].find(tr => tr.cells[1].textContent === 'アカウント一括発行' && tr.cells[2].textContent === '完了').querySelector('a').click()`))
	waitForPage(t, ctx, "/manage/issuance")
	until(t, ctx, `!document.getElementById('result').hidden`, "the issuance reopened from the job list")
	if href := value(t, ctx, chromedp.Evaluate[string](`document.getElementById('download').getAttribute('href')`)); !strings.HasSuffix(href, "/accounts.csv") {
		t.Errorf("the reopened issuance links %q", href)
	}

	// アカウントの管理: the new accounts by institution; stop one, delete
	// the other after the confirmation.
	do(t, ctx, chromedp.Navigate(base+"/manage/accounts"), chromedp.WaitVisible("#filter"),
		chromedp.SetValue("#by", "institutionCode"),
		chromedp.SendKeys("#code", "1310000002"),
		chromedp.Click("#filter button[type=submit]"))
	row := func(id string) string {
		return `[...document.querySelectorAll('#users tr')].find(tr => tr.cells[0].textContent === '` + id + `')`
	}
	until(t, ctx, `!!`+row(out[1].Field(0))+` && !!`+row(out[2].Field(0)), "the new accounts in the list")
	checkPage(t, ctx, "manage-accounts")
	value(t, ctx, chromedp.Evaluate[any](row(out[1].Field(0))+`.querySelector('button').click()`))
	until(t, ctx, `!!document.querySelector('#users .confirm') && document.querySelector('#users .confirm').textContent.includes('利用を停止します')`, "the stop's confirmation")
	if got, err := e.Store.GetUser(context.Background(), out[1].Field(0)); err != nil || got.Status == auth.StatusStopped {
		t.Errorf("stopped before the confirmation: %s (%v)", got.Status, err)
	}
	value(t, ctx, chromedp.Evaluate[any](row(out[1].Field(0))+`.querySelector('.button-danger').click()`))
	until(t, ctx, `document.getElementById('notice').textContent.includes('利用停止しました')`, "the stop's answer")
	if got, err := e.Store.GetUser(context.Background(), out[1].Field(0)); err != nil || got.Status != auth.StatusStopped {
		t.Errorf("after 利用停止: %s (%v)", got.Status, err)
	}
	value(t, ctx, chromedp.Evaluate[any](row(out[2].Field(0))+`.querySelector('.button-danger').click()`))
	until(t, ctx, `!!document.querySelector('#users .confirm')`, "the delete's confirmation")
	checkPage(t, ctx, "manage-accounts-confirm")
	value(t, ctx, chromedp.Evaluate[any](row(out[2].Field(0))+`.querySelector('.button-danger').click()`))
	until(t, ctx, `document.getElementById('notice').textContent.includes('削除しました')`, "the delete's answer")
	if _, err := e.Store.GetUser(context.Background(), out[2].Field(0)); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("the deleted account is still there: %v", err)
	}

	// メンテナンスの予定 and 未回答機関: seen once each.
	do(t, ctx, chromedp.Navigate(base+"/manage/maintenance"), chromedp.WaitVisible("#create"))
	until(t, ctx, `!document.getElementById('list').hidden || !document.getElementById('empty').hidden`, "the maintenance windows")
	checkPage(t, ctx, "manage-maintenance")
	do(t, ctx,
		chromedp.SetValue("#start", "2099-01-02T01:00"),
		chromedp.SetValue("#end", "2099-01-02T00:30"),
		chromedp.Click("#create button[type=submit]"),
		chromedp.WaitVisible("#end-error"))
	if msg := value(t, ctx, chromedp.Text("#end-error")); !strings.Contains(msg, "終了日時は開始日時より後") {
		t.Errorf("a window ending before it starts: %q", msg)
	}
	checkPage(t, ctx, "manage-maintenance-error")

	// A window that starts now: the page asks before sending. During the
	// window the other pages show the notice with a link to this page,
	// which still lists the window (no /auth/me) and ends it.
	t.Cleanup(func() { endOpenWindows(t, nationalClient(t, e)) })
	now := time.Now().In(jst)
	do(t, ctx,
		chromedp.SetValue("#start", now.Format("2006-01-02T15:04")),
		chromedp.SetValue("#end", now.Add(10*time.Minute).Format("2006-01-02T15:04")),
		chromedp.Click("#create button[type=submit]"),
		chromedp.WaitVisible("#start-warning"))
	if msg := value(t, ctx, chromedp.Text("#start-warning")); !strings.Contains(msg, "開始時刻を過ぎています。保存するとすぐにメンテナンスが始まり") {
		t.Errorf("a window starting now asks %q", msg)
	}
	if n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#windows tr').length`)); n != 0 {
		t.Errorf("before the confirmation %d windows are listed", n)
	}
	do(t, ctx, chromedp.Click("#start-go"))
	until(t, ctx, `document.getElementById('notice').textContent.includes('メンテナンスを予定しました')`, "the window saved")
	time.Sleep(1100 * time.Millisecond) // the functions' cache of windows
	do(t, ctx, chromedp.Navigate(base+"/manage/non-responders"), chromedp.WaitVisible("#maintenance a[href='/manage/maintenance']"))
	if s := value(t, ctx, chromedp.Text("#maintenance a")); s != "管理者の方はこちら" {
		t.Errorf("the maintenance notice links to the maintenance page as %q", s)
	}
	do(t, ctx, chromedp.Click("#maintenance a"))
	waitForPage(t, ctx, "/manage/maintenance")
	do(t, ctx, chromedp.WaitVisible("#windows button"))
	if s := value(t, ctx, chromedp.Text("#windows button")); s != "今すぐ終了する" {
		t.Errorf("the active window's button says %q", s)
	}
	do(t, ctx, chromedp.Click("#windows button"))
	until(t, ctx, `document.getElementById('notice').textContent.includes('メンテナンスを終了しました') && !document.getElementById('empty').hidden`, "the window ended")
	time.Sleep(1100 * time.Millisecond)
	do(t, ctx, chromedp.Navigate(base+"/manage/non-responders"), chromedp.WaitVisible("#filter"),
		chromedp.SendKeys("#prefectureCode", "13"),
		chromedp.Click("#filter button[type=submit]"))
	until(t, ctx, `!document.getElementById('results').hidden`, "the non-responders")
	if s := value(t, ctx, chromedp.Text("#summary")); !strings.Contains(s, "未回答") {
		t.Errorf("the non-responders summary says %q", s)
	}
	if href := value(t, ctx, chromedp.Evaluate[string](`document.getElementById('csv').getAttribute('href')`)); !strings.Contains(href, "format=csv") || !strings.Contains(href, "prefectureCode=13") {
		t.Errorf("the CSV link is %q", href)
	}
	checkPage(t, ctx, "manage-non-responders")
}

// endOpenWindows ends every maintenance window not ended yet, so that a
// failed check leaves the shared stack open to the other tests.
func endOpenWindows(t *testing.T, admin *authtest.Client) {
	t.Helper()
	r := admin.Do("GET", "/admin/maintenance-windows", nil)
	var page struct {
		Windows []struct {
			ID      string `json:"id"`
			EndedAt string `json:"endedAt"`
		} `json:"windows"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Errorf("list maintenance windows = %d %s", r.Status, r.Body)
		return
	}
	for _, w := range page.Windows {
		if w.EndedAt == "" {
			admin.Do("POST", "/admin/maintenance-windows/"+w.ID+"/end", nil)
		}
	}
	time.Sleep(1100 * time.Millisecond)
}
