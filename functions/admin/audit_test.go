package main

import (
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
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

	// The initial-password CSV and the notice mails.
	r := upload(t, c, "/admin/users/import", []byte(form([]map[string]string{withMail(person(1, "1310000002"))})), nil)
	if r.Status != 201 {
		t.Fatalf("issue = %d %s", r.Status, r.Body)
	}
	batch := r.Header.Get("X-Batch-Id")
	returned := e.AuditOf(t, admin.ID, audit.InitialPasswordsReturned, start)
	if len(returned) != 1 || returned[0].Detail["batch"] != batch || returned[0].Detail["passwords"] != "1" || returned[0].SourceIP == "" {
		t.Errorf("initial_passwords_returned = %+v, want one for batch %s", returned, batch)
	}
	n := c.Do("POST", "/admin/users/import/"+batch+"/notify", nil)
	results, _ := n.JSON["results"].([]any)
	if n.Status != 200 || len(results) != 1 {
		t.Fatalf("notify = %d %s", n.Status, n.Body)
	}
	issued := results[0].(map[string]any)["userId"].(string)
	mailed := e.AuditOf(t, issued, audit.InitialPasswordMailed, start)
	if len(mailed) != 1 || mailed[0].Actor != admin.ID || mailed[0].Detail["batch"] != batch || mailed[0].SourceIP == "" {
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
