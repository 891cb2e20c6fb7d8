package main

import (
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
)

// sameRefusal reports whether two answers are the same refusal, request
// IDs aside.
func sameRefusal(a, b authtest.Response) bool {
	strip := func(r authtest.Response) string {
		e, _ := r.JSON["error"].(map[string]any)
		return strings.Join([]string{r.ErrorCode(), r.ErrorField(), toString(e["message"]), toString(e["messageEn"])}, "|")
	}
	return a.Status == b.Status && strip(a) == strip(b)
}

func toString(v any) string { s, _ := v.(string); return s }

func TestUnknownUserIDs(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	pref := e.LoginChanged(t, admin, pw)
	osaka, _ := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "2710000001", PrefectureCode: "27", HealthCenterCode: "2701"})
	const unknown = "NXSTUVWXYZ2"
	for _, req := range []struct{ method, suffix string }{{"POST", "/stop"}, {"POST", "/resume"}, {"POST", "/unlock"}, {"DELETE", ""}} {
		if r := c.Do(req.method, "/admin/users/"+unknown+req.suffix, nil); r.Status != 404 || r.ErrorCode() != "not_found" {
			t.Errorf("national %s %s of an unknown ID = %d %s, want 404", req.method, req.suffix, r.Status, r.Body)
		}
		unknownAnswer := pref.Do(req.method, "/admin/users/"+unknown+req.suffix, nil)
		foreignAnswer := pref.Do(req.method, "/admin/users/"+osaka.ID+req.suffix, nil)
		if unknownAnswer.Status != 403 || !sameRefusal(unknownAnswer, foreignAnswer) {
			t.Errorf("prefecture admin %s %s: unknown = %d %s, foreign = %d %s; want the same 403", req.method, req.suffix,
				unknownAnswer.Status, unknownAnswer.Body, foreignAnswer.Status, foreignAnswer.Body)
		}
	}
}

func TestNoExistenceOraclesForLowRoles(t *testing.T) {
	e := stackEnv(t)
	nat := national(t, e)
	loadMasters(t, e, nat)
	// 2710000001 has accounts, 2710000002 has none, 2799999999 does not exist.
	e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "2710000001", PrefectureCode: "27", HealthCenterCode: "2701"})
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	pref := e.LoginChanged(t, admin, pw)

	var first authtest.Response
	for i, inst := range []string{"2710000001", "2710000002", "2799999999"} {
		r := pref.Do("GET", "/admin/users?institutionCode="+inst, nil)
		if i == 0 {
			first = r
		}
		if r.Status != 403 || !sameRefusal(r, first) {
			t.Errorf("prefecture-13 admin listing %s = %d %s, want the same 403 for all", inst, r.Status, r.Body)
		}
	}
	if r := pref.Do("GET", "/admin/users?institutionCode=1310000007", nil); r.Status != 200 {
		t.Errorf("listing an own institution without accounts = %d %s, want 200", r.Status, r.Body)
	}
	if r := pref.Do("GET", "/admin/users?healthCenterCode=2701", nil); !sameRefusal(r, pref.Do("GET", "/admin/users?healthCenterCode=2799", nil)) || r.Status != 403 {
		t.Errorf("listing a foreign and an unknown health centre differ: %d %s", r.Status, r.Body)
	}

	foreign := pref.Do("GET", "/admin/masters/institutions/2710000001", nil)
	for _, path := range []string{"/admin/masters/institutions/2799999999", "/admin/masters/institutions/2799999999/history", "/admin/masters/health-centers/2799"} {
		if r := pref.Do("GET", path, nil); r.Status != 403 || !sameRefusal(r, foreign) {
			t.Errorf("prefecture admin GET %s = %d %s, want the 403 of a foreign record %s", path, r.Status, r.Body, foreign.Body)
		}
	}
	if r := pref.Do("PUT", "/admin/institutions/2799999999", map[string]any{"version": 1, "fields": map[string]string{"name": "x"}}); r.Status != 403 || !sameRefusal(r, foreign) {
		t.Errorf("editing an unknown institution = %d %s, want the foreign 403", r.Status, r.Body)
	}
	if r := nat.Do("GET", "/admin/masters/institutions/2799999999", nil); r.Status != 404 {
		t.Errorf("national reading an unknown record = %d, want 404", r.Status)
	}

	// Institution roles may not use master or account administration at
	// all: refused before any row or record is read.
	for _, role := range []authz.Role{authz.InstitutionUser, authz.InstitutionManager} {
		u, upw := e.Account(t, auth.NewAccount{Role: role, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"})
		c := e.LoginChanged(t, u, upw)
		row := "保健所コード,保健所名,都道府県コード\n1399,x,13\n"
		if r := upload(t, c, "/admin/jobs?type=master-import&kind=health-centers", []byte(row), nil); r.Status != 403 || strings.Contains(string(r.Body), "1399") {
			t.Errorf("%s importing masters = %d %s, want 403", role, r.Status, r.Body)
		}
		if r := upload(t, c, "/admin/jobs?type=issuance", []byte(authtest.ApplicationForm("", []map[string]string{withMail(person(1, "2710000001"))})), nil); r.Status != 403 || strings.Contains(string(r.Body), "problems") {
			t.Errorf("%s issuing accounts = %d %s, want 403", role, r.Status, r.Body)
		}
		if r := c.Do("POST", "/admin/institutions", map[string]any{"fields": map[string]string{"name": "x", "category": "hospital", "prefectureCode": "13", "healthCenterCode": "2701"}}); r.Status != 403 {
			t.Errorf("%s adding an institution = %d %s, want 403", role, r.Status, r.Body)
		}
		if r := c.Do("GET", "/admin/masters/institutions/2799999999", nil); r.Status != 403 {
			t.Errorf("%s reading an unknown record = %d, want 403", role, r.Status)
		}
	}
	u, upw := e.Account(t, auth.NewAccount{})
	if r := e.LoginChanged(t, u, upw).Do("GET", "/admin/users?institutionCode=2799999999", nil); r.Status != 403 {
		t.Errorf("institution user listing accounts = %d, want 403", r.Status)
	}

	// Rows of the form and of a master import answer alike for unknown
	// and foreign references.
	p27, pw27 := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "27"})
	c27 := e.LoginChanged(t, p27, pw27)
	problemOf := func(inst string) string {
		t.Helper()
		r := issueJob(t, c27, []byte(authtest.ApplicationForm("", []map[string]string{withMail(person(1, inst))})))
		problems, _ := r.JSON["problems"].([]any)
		var out []string
		for _, p := range problems {
			m := p.(map[string]any)
			out = append(out, toString(m["column"])+" "+strings.ReplaceAll(toString(m["message"]), inst, "<code>"))
		}
		return strings.Join(out, "; ")
	}
	if f, u := problemOf("1310000001"), problemOf("1399999999"); f != u || !strings.Contains(f, "管轄外") {
		t.Errorf("form rows: foreign %q, unknown %q; want the same", f, u)
	}
	hcRow := func(hc string) string {
		csv := "医療機関コード,名称,区分,都道府県コード,保健所コード\n2710000009,x病院,hospital,27," + hc + "\n"
		r := importJob(t, c27, "institutions", []byte(csv))
		rej := c27.Do("GET", "/admin/jobs/"+r.String("id")+"/rejections.csv", nil)
		return jobCounts(r) + " " + strings.ReplaceAll(string(rej.Body), hc, "<hc>")
	}
	if f, u := hcRow("1301"), hcRow("1399"); f != u {
		t.Errorf("master rows: foreign health centre %s, unknown %s; want the same", f, u)
	}
}
