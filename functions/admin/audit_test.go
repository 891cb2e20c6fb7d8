package main

import (
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

func TestAdministratorActionsAreAudited(t *testing.T) {
	e := stackEnv(t)
	start := time.Now().Add(-time.Second)
	loadMasters(t, e, national(t, e))
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	c := e.LoginChanged(t, admin, pw)

	// Account status changes carry where they came from.
	u, _ := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "1310000002", PrefectureCode: "13", HealthCenterCode: "1301"})
	if r := c.Do("POST", "/admin/users/"+u.ID+"/stop", nil); r.Status != 200 {
		t.Fatalf("stop = %d %s", r.Status, r.Body)
	}
	stopped := e.AuditOf(t, u.ID, audit.AccountStopped, start)
	if len(stopped) != 1 || stopped[0].Actor != admin.ID || stopped[0].SourceIP != "127.0.0.1" || stopped[0].UserAgent == "" {
		t.Errorf("account_stopped = %+v, want one by %s with source IP and user agent", stopped, admin.ID)
	}

	// The notice mail carries the initial password: from then on it is
	// deleted, and the CSV downloaded afterwards does not show it.
	r := issueJob(t, c, []byte(authtest.ApplicationForm("", []map[string]string{withMail(person(1, "1310000002"))})))
	if r.String("state") != "done" {
		t.Fatalf("issue = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	n := c.Do("POST", "/admin/jobs", map[string]string{"type": "notify", "issuance": id})
	if sent, _ := waitJob(t, c, n.String("jobId")); sent.JSON["counts"].(map[string]any)["sent"] != float64(1) {
		t.Fatalf("notify = %d %s", n.Status, sent.Body)
	}
	if n := passwordItems(t, e, id); n != 0 {
		t.Errorf("%d sealed passwords after the notice, want none: the mail carried it", n)
	}
	dl := c.Do("GET", "/admin/jobs/"+id+"/accounts.csv", nil)
	rows, _, err := csvio.Read(dl.Body, 1<<10)
	if err != nil || len(rows) != 2 || !strings.HasPrefix(rows[1].Field(3), "（通知メール送信済み") {
		t.Fatalf("accounts.csv = %d %q %v, want the user ID without the mailed password", dl.Status, dl.Body, err)
	}
	returned := e.AuditOf(t, admin.ID, audit.InitialPasswordsReturned, start)
	if len(returned) != 1 || returned[0].Detail["job"] != id || returned[0].Detail["accounts"] != "1" || returned[0].SourceIP == "" {
		t.Errorf("initial_passwords_returned = %+v, want one for job %s", returned, id)
	}
	issued := rows[1].Field(0)
	mailed := e.AuditOf(t, issued, audit.InitialPasswordMailed, start)
	if len(mailed) != 1 || mailed[0].Actor != admin.ID || mailed[0].Detail["job"] != id {
		t.Errorf("initial_password_mailed = %+v, want one by %s", mailed, admin.ID)
	}

	// A refused call.
	osaka, _ := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "2710000001", PrefectureCode: "27", HealthCenterCode: "2701"})
	if r := c.Do("POST", "/admin/users/"+osaka.ID+"/stop", nil); r.Status != 403 {
		t.Fatalf("stopping a foreign account = %d", r.Status)
	}
	var denied []audit.Event
	for range 50 { // written after the answer
		if denied = e.AuditOf(t, admin.ID, audit.AccessDenied, start); len(denied) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(denied) != 1 || denied[0].Detail["route"] != "POST /admin/users/{userId}/{action}" || denied[0].SourceIP == "" {
		t.Errorf("access_denied = %+v, want one naming the route", denied)
	}
}
