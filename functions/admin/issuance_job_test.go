package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// bigForm is n applicants of institution inst with unique names and mails,
// under a title line as forms arrive from Excel.
func bigForm(n int, inst, tag string) []map[string]string {
	rows := make([]map[string]string, n)
	for i := range rows {
		p := withMail(person(i+1, inst))
		p["B"] = fmt.Sprintf("一括 %s%d", tag, i)
		p["D"] = fmt.Sprintf("bulk-%s-%d@hospital.example.jp", tag, i)
		p["AM"] = p["D"]
		rows[i] = p
	}
	return rows
}

func TestIssuanceJobOf2000AccountsAndTheirNoticeMails(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	const inst = "1310000005"
	tag := fmt.Sprint(time.Now().UnixNano() % 1000000)
	before := usersOf(t, e, inst)
	file := "医療機関等情報支援システム 利用申請様式\r\n" + authtest.ApplicationForm("", bigForm(2000, inst, tag))

	began := time.Now()
	r := upload(t, c, "/admin/jobs?type=issuance", []byte(file), nil)
	if r.Status != 202 {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	id := r.String("jobId")
	got, partial := waitJob(t, c, id)
	if got.String("state") != "done" || got.JSON["rowsDone"] != float64(2000) || jobCounts(got) != "created 2000 updated <nil> unchanged <nil> rejected <nil>" {
		t.Fatalf("issuance job: %.600s", got.Body)
	}
	t.Logf("2000 accounts issued in %s", time.Since(began).Round(time.Millisecond))
	if !partial {
		t.Log("no partial progress observed while polling")
	}
	if n := usersOf(t, e, inst) - before; n != 2000 {
		t.Fatalf("%d accounts created, want 2000", n)
	}
	dl := c.Do("GET", "/admin/jobs/"+id+"/accounts.csv", nil)
	rows, _, err := csvio.Read(dl.Body, 1<<20)
	if err != nil || dl.Status != 200 || len(rows) != 2001 {
		t.Fatalf("accounts.csv = %d, %d rows, %v", dl.Status, len(rows), err)
	}
	ids := map[string]bool{}
	for _, row := range rows[1:] {
		if ids[row.Field(0)] || row.Field(3) == "" || strings.HasPrefix(row.Field(3), "（") {
			t.Fatalf("row %q: a repeated ID or no password", row.Fields)
		}
		ids[row.Field(0)] = true
	}
	// The first account logs in with its initial password.
	first, err := e.Store.GetUser(t.Context(), rows[1].Field(0))
	if err != nil {
		t.Fatal(err)
	}
	e.Login(t, first, rows[1].Field(3))

	// The same form again creates nothing: every person is registered.
	again := upload(t, c, "/admin/jobs?type=issuance", []byte(file), nil)
	res, _ := waitJob(t, c, again.String("jobId"))
	if res.String("state") != "done" || res.JSON["counts"].(map[string]any)["alreadyRegistered"] != float64(2000) || usersOf(t, e, inst)-before != 2000 {
		t.Errorf("the same form again: %.300s (accounts %d)", res.Body, usersOf(t, e, inst)-before)
	}

	// Notice mails: 2000 sent once; a second job sends none.
	n := c.Do("POST", "/admin/jobs", map[string]string{"type": "notify", "issuance": id})
	if n.Status != 202 {
		t.Fatalf("notify = %d %s", n.Status, n.Body)
	}
	began = time.Now()
	sent, _ := waitJob(t, c, n.String("jobId"))
	t.Logf("2000 notice mails sent in %s", time.Since(began).Round(time.Millisecond))
	if sent.String("state") != "done" || sent.JSON["counts"].(map[string]any)["sent"] != float64(2000) {
		t.Fatalf("notify job: %.400s", sent.Body)
	}
	n2 := c.Do("POST", "/admin/jobs", map[string]string{"type": "notify", "issuance": id})
	second, _ := waitJob(t, c, n2.String("jobId"))
	if cs := second.JSON["counts"].(map[string]any); cs["sent"] != nil && cs["sent"] != float64(0) || cs["alreadySent"] != float64(2000) {
		t.Errorf("second notify job: %.400s", second.Body)
	}
	mails := e.Moto.MailsBySubject("アカウント発行のお知らせ")
	total := 0
	for _, row := range rows[1:] {
		if n := mails[strings.ToLower(row.Field(2))]; n != 1 {
			t.Errorf("%s received %d notice mails, want 1", row.Field(2), n)
		}
		total += mails[strings.ToLower(row.Field(2))]
	}
	if total != 2000 {
		t.Errorf("%d notice mails in moto, want 2000", total)
	}
	// Once mailed, the passwords are gone from the download.
	dl = c.Do("GET", "/admin/jobs/"+id+"/accounts.csv", nil)
	if rows, _, _ := csvio.Read(dl.Body, 1<<20); len(rows) != 2001 || !strings.HasPrefix(rows[1].Field(3), "（通知メール送信済み") {
		t.Errorf("accounts.csv after the mails: %q", rows[1].Fields)
	}
}

func TestIssuanceJobWithOneBadRowCreatesNothing(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	const inst = "1310000006"
	before := usersOf(t, e, inst)
	rows := bigForm(2000, inst, fmt.Sprint(time.Now().UnixNano()%1000000))
	rows[1499]["C"] = "+1 415 555 0100"
	r := upload(t, c, "/admin/jobs?type=issuance", []byte(authtest.ApplicationForm("", rows)), nil)
	got, _ := waitJob(t, c, r.String("jobId"))
	problems, _ := got.JSON["problems"].([]any)
	if got.String("state") != "failed" || len(problems) != 1 {
		t.Fatalf("job: %.600s", got.Body)
	}
	p := problems[0].(map[string]any)
	if p["row"] != float64(1501) || !strings.HasPrefix(p["column"].(string), "C列") {
		t.Errorf("problem %v, want row 1501 column C", p)
	}
	if n := usersOf(t, e, inst) - before; n != 0 {
		t.Errorf("%d accounts created by a form with an error", n)
	}
}

// Excel drops the leading zero of 0110000001: the form's 110000001 is
// read as that institution; a code with no padded form in the master is
// an error that says what Excel may have done.
func TestIssuanceJobRestoresALeadingZeroExcelDropped(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	tag := fmt.Sprint(time.Now().UnixNano() % 1000000)
	p := withMail(person(1, "110000001"))
	p["K"], p["D"], p["AM"] = "101", "zero-"+tag+"@hospital.example.jp", "zero-"+tag+"@hospital.example.jp"
	before := usersOf(t, e, "0110000001")
	r := upload(t, c, "/admin/jobs?type=issuance", []byte(authtest.ApplicationForm("", []map[string]string{p})), nil)
	got, _ := waitJob(t, c, r.String("jobId"))
	if got.String("state") != "done" || usersOf(t, e, "0110000001")-before != 1 {
		t.Errorf("form with 110000001: %.400s", got.Body)
	}
	q := withMail(person(2, "110009999"))
	q["K"] = "101"
	r = upload(t, c, "/admin/jobs?type=issuance", []byte(authtest.ApplicationForm("", []map[string]string{q})), nil)
	got, _ = waitJob(t, c, r.String("jobId"))
	if got.String("state") != "failed" || !strings.Contains(string(got.Body), "先頭の0") {
		t.Errorf("form with an unknown short code: %.400s", got.Body)
	}
}

// A cumulative form sent again with new rows: the rows of people already
// registered (same mail at the institution) are named with their user
// IDs and skipped, the new rows are issued — among them people who share
// a name with someone there but not a mail.
func TestResubmittedCumulativeFormIssuesOnlyTheNewRows(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	const inst = "1310000007"
	tag := fmt.Sprint(time.Now().UnixNano() % 1000000)
	rows := bigForm(2, inst, "cum"+tag)
	rows[1]["B"] = "同名 花子" + tag
	r := upload(t, c, "/admin/jobs?type=issuance", []byte(authtest.ApplicationForm("", rows)), nil)
	first, _ := waitJob(t, c, r.String("jobId"))
	if first.String("state") != "done" {
		t.Fatalf("first form: %.400s", first.Body)
	}
	dl := c.Do("GET", "/admin/jobs/"+r.String("jobId")+"/accounts.csv", nil)
	issued, _, _ := csvio.Read(dl.Body, 1<<20)
	if len(issued) != 3 {
		t.Fatalf("first accounts.csv: %d rows", len(issued))
	}
	before, began := usersOf(t, e, inst), time.Now()

	more := bigForm(5, inst, "cum2"+tag)[2:]
	more[0]["B"] = rows[1]["B"] // the same name, another mail: another person
	more[1]["B"], more[2]["B"] = "同名 次郎"+tag, "同名 次郎"+tag
	rows[0]["D"] = strings.ToUpper(rows[0]["D"]) // mails compare without case
	r = upload(t, c, "/admin/jobs?type=issuance", []byte(authtest.ApplicationForm("", append(rows, more...))), nil)
	got, _ := waitJob(t, c, r.String("jobId"))
	counts, _ := got.JSON["counts"].(map[string]any)
	if got.String("state") != "done" || counts["created"] != float64(3) || counts["alreadyRegistered"] != float64(2) || got.JSON["rowsTotal"] != float64(5) {
		t.Fatalf("cumulative form: %.600s", got.Body)
	}
	if n := usersOf(t, e, inst) - before; n != 3 {
		t.Errorf("%d accounts created, want 3", n)
	}
	notes, _ := got.JSON["registered"].([]any)
	if len(notes) != 2 {
		t.Fatalf("registered notes: %.600s", got.Body)
	}
	for i, n := range notes {
		note := n.(map[string]any)
		want := issued[i+1].Field(0)
		if note["row"] != float64(i+2) || !strings.Contains(note["message"].(string), "登録済み、利用者ID "+want) ||
			note["messageEn"] != "already registered, user ID "+want {
			t.Errorf("note %d = %v, want row %d naming %s", i, note, i+2, want)
		}
	}
	dl = c.Do("GET", "/admin/jobs/"+r.String("jobId")+"/accounts.csv", nil)
	out, _, _ := csvio.Read(dl.Body, 1<<20)
	if len(out) != 6 {
		t.Fatalf("accounts.csv: %d rows", len(out))
	}
	for i, row := range out[1:] {
		registered := i < 2
		if registered && (row.Field(0) != issued[i+1].Field(0) || row.Field(3) != "（登録済みのため発行していません）") ||
			!registered && (row.Field(0) == "" || strings.HasPrefix(row.Field(3), "（")) {
			t.Errorf("accounts.csv row %d = %q", i+1, row.Fields)
		}
		// Each new account has its record, written with it.
		if n := len(e.AuditOf(t, row.Field(0), audit.AccountCreated, began)); !registered && n != 1 || registered && n != 0 {
			t.Errorf("account %s has %d account_created records since the form", row.Field(0), n)
		}
	}

	// The notice mails go to the new accounts only.
	n := c.Do("POST", "/admin/jobs", map[string]string{"type": "notify", "issuance": r.String("jobId")})
	sent, _ := waitJob(t, c, n.String("jobId"))
	if cs := sent.JSON["counts"].(map[string]any); cs["sent"] != float64(3) || cs["alreadyRegistered"] != float64(2) {
		t.Errorf("notify job: %.400s", sent.Body)
	}
}

// Two people of one name at one institution are two accounts when their
// mails differ; by name alone only accounts without a mail are one
// person. Deleting an account drops its own keys, never another's.
func TestOnePersonIsOneMailOrOneNameWithoutMail(t *testing.T) {
	e := stackEnv(t)
	ctx := t.Context()
	const inst = "1310000001"
	name := fmt.Sprintf("同名 三郎%d", time.Now().UnixNano()%1000000)
	newUser := func(mail string) auth.User {
		id, err := auth.NewUserID()
		if err != nil {
			t.Fatal(err)
		}
		return auth.User{ID: id, Name: name, Role: authz.InstitutionUser, InstitutionCode: inst, PrefectureCode: "13",
			HealthCenterCode: "1301", Mail: mail, Method: auth.MethodMail, Destination: mail, Status: auth.StatusActive, PasswordHash: "x"}
	}
	created := audit.Event{At: time.Now(), UserID: "test", Action: audit.AccountCreated}
	person := func(err error) bool { e := apperr.As(err); return e != nil && e.Field == "person" }
	noMail := newUser("")
	if err := e.Store.CreateUser(ctx, noMail, created); err != nil {
		t.Fatal(err)
	}
	mailA, mailB := newUser("a-"+noMail.ID+"@x.example.jp"), newUser("b-"+noMail.ID+"@x.example.jp")
	for _, u := range []auth.User{mailA, mailB} {
		if err := e.Store.CreateUser(ctx, u, created); err != nil {
			t.Fatalf("a namesake with a mail: %v", err)
		}
	}
	if err := e.Store.CreateUser(ctx, newUser(strings.ToUpper(mailA.Mail)), created); !person(err) {
		t.Errorf("the same mail again = %v, want a person conflict", err)
	}
	if err := e.Store.DeleteUser(ctx, mailA.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateUser(ctx, newUser(""), created); !person(err) {
		t.Errorf("a second account without a mail after deleting a namesake = %v, want a person conflict", err)
	}
	if err := e.Store.CreateUser(ctx, newUser(mailA.Mail), created); err != nil {
		t.Errorf("the deleted account's mail again: %v", err)
	}
	if err := e.Store.DeleteUser(ctx, noMail.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.CreateUser(ctx, newUser(""), created); err != nil {
		t.Errorf("without a mail after the other was deleted: %v", err)
	}
}
