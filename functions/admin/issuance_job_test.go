package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
	file := "医療機関等情報支援システム 利用申請様式\r\n" + form(bigForm(2000, inst, tag))

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
	if res.String("state") != "failed" || usersOf(t, e, inst)-before != 2000 {
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
	if rows, _, _ := csvio.Read(dl.Body, 1<<20); len(rows) != 2001 || rows[1].Field(3) != "（通知メール送信済み）" {
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
	r := upload(t, c, "/admin/jobs?type=issuance", []byte(form(rows)), nil)
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
	r := upload(t, c, "/admin/jobs?type=issuance", []byte(form([]map[string]string{p})), nil)
	got, _ := waitJob(t, c, r.String("jobId"))
	if got.String("state") != "done" || usersOf(t, e, "0110000001")-before != 1 {
		t.Errorf("form with 110000001: %.400s", got.Body)
	}
	q := withMail(person(2, "110009999"))
	q["K"] = "101"
	r = upload(t, c, "/admin/jobs?type=issuance", []byte(form([]map[string]string{q})), nil)
	got, _ = waitJob(t, c, r.String("jobId"))
	if got.String("state") != "failed" || !strings.Contains(string(got.Body), "先頭の0") {
		t.Errorf("form with an unknown short code: %.400s", got.Body)
	}
}
