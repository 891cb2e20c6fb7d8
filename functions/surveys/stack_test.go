package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// shared is one local stack of the project's template for this package's
// tests: every function as its own processes, DynamoDB Local and moto,
// real HTTP through the local API.
var shared = authtest.NewShared(map[string]string{"MaintenanceCacheSeconds": "1"})

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// institution is a master record a test writes surveys for.
type institution struct {
	code, pref, hc, category, name string
}

var mastersMu sync.Mutex

// addInstitutions puts institutions into the master directly (the admin
// function's import is tested there).
func addInstitutions(t testing.TB, e *authtest.Env, insts ...institution) {
	t.Helper()
	mastersMu.Lock()
	defer mastersMu.Unlock()
	store := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SurveysFunction")["MASTERS_TABLE"])
	for _, in := range insts {
		cat := in.category
		if cat == "" {
			cat = master.CategoryHospital
		}
		name := in.name
		if name == "" {
			name = "テスト病院" + in.code
		}
		err := store.CreateRecord(context.Background(), master.Record{Kind: master.Institutions, Code: in.code, Version: 1, UpdatedAt: time.Now(), UpdatedBy: "test",
			Fields: map[string]string{"name": name, "category": cat, "prefectureCode": in.pref, "healthCenterCode": in.hc, "phone": "0355550000"}})
		if err != nil && apperr.CodeOf(err) != apperr.Conflict {
			t.Fatal(err)
		}
	}
}

// staff logs in a user of an institution.
func staff(t testing.TB, e *authtest.Env, in institution, role authz.Role) *authtest.Client {
	t.Helper()
	if role == "" {
		role = authz.InstitutionUser
	}
	u, pw := e.Account(t, auth.NewAccount{Role: role, InstitutionCode: in.code, PrefectureCode: in.pref, HealthCenterCode: in.hc})
	return e.LoginChanged(t, u, pw)
}

// admin logs in an administrator.
func admin(t testing.TB, e *authtest.Env, role authz.Role, pref, hc string, canDownload bool) *authtest.Client {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: role, PrefectureCode: pref, HealthCenterCode: hc, CanDownload: canDownload})
	return e.LoginChanged(t, u, pw)
}

func today() string { return survey.Today(time.Now()) }

func daysAgo(n int) string { return survey.AddDays(today(), -n) }

// dailyBody is a good daily survey with version v (0: none) and the
// secured COVID beds given (they tell versions apart).
func dailyBody(v int64, secured int) map[string]any {
	b := map[string]any{
		"services": map[string]any{"outpatient": "normal", "inpatient": "normal", "emergency": "limited", "surgery": "normal"},
		"staffing": "normal",
		"beds":     map[string]any{"permitted": 300, "covidSecured": secured, "covidOccupied": 5, "covidAvailable": 10, "icu": 8, "icuOccupied": 2},
		"patients": map[string]any{"confirmed": 5, "suspected": 1, "severe": 2, "ventilator": 1, "ecmo": 0, "newAdmissions": 1},
		"tests":    map[string]any{"tested": 20, "pcr": 12, "antigenQuantitative": 3, "antigenQualitative": 5, "feverOutpatients": 30},
		"flags":    map[string]any{"designatedClinic": true, "pcrAvailable": true},
	}
	if v > 0 {
		b["version"] = v
	}
	return b
}

func dailyPath(code, day string) string { return "/surveys/institutions/" + code + "/daily/" + day }

func num(r authtest.Response, key string) float64 {
	n, _ := r.JSON[key].(float64)
	return n
}

func secured(r authtest.Response) float64 {
	v, _ := r.JSON["values"].(map[string]any)
	b, _ := v["beds"].(map[string]any)
	n, _ := b["covidSecured"].(float64)
	return n
}

func detail(r authtest.Response) map[string]any {
	e, _ := r.JSON["error"].(map[string]any)
	d, _ := e["detail"].(map[string]any)
	return d
}

func problems(r authtest.Response) []string {
	e, _ := r.JSON["error"].(map[string]any)
	ps, _ := e["problems"].([]any)
	var out []string
	for _, p := range ps {
		m := p.(map[string]any)
		out = append(out, fmt.Sprint(m["field"], "/", m["rule"]))
	}
	return out
}

func TestDailyWriteReadVersionsAndHistory(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000101", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, "")
	path := dailyPath(a.code, today())

	r := c.Do("PUT", path, dailyBody(0, 20))
	if r.Status != 200 || num(r, "version") != 1 || r.String("updatedBy") == "" || r.String("source") != "web" {
		t.Fatalf("first write = %d %s", r.Status, r.Body)
	}
	r = c.Do("GET", path, nil)
	if r.Status != 200 || num(r, "version") != 1 || secured(r) != 20 || r.JSON["draft"] != nil {
		t.Fatalf("read back = %d %s", r.Status, r.Body)
	}
	if r := c.Do("PUT", path, dailyBody(1, 21)); r.Status != 200 || num(r, "version") != 2 {
		t.Fatalf("write with the version read = %d %s", r.Status, r.Body)
	}
	// A colleague who read version 1 too.
	r = c.Do("PUT", path, dailyBody(1, 22))
	if d := detail(r); r.Status != 409 || r.ErrorField() != "version" || d["currentVersion"] != "2" || d["updatedBy"] == "" ||
		!strings.Contains(r.JSON["error"].(map[string]any)["message"].(string), "バージョン 2") {
		t.Fatalf("stale write = %d %s, want 409 naming version 2 and its writer", r.Status, r.Body)
	}
	// No version means "create": the day exists already.
	if r := c.Do("PUT", path, dailyBody(0, 23)); r.Status != 409 || detail(r)["currentVersion"] != "2" {
		t.Errorf("create over an existing survey = %d %s", r.Status, r.Body)
	}
	r = c.Do("GET", path+"/history", nil)
	versions, _ := r.JSON["versions"].([]any)
	if r.Status != 200 || len(versions) != 2 {
		t.Fatalf("history = %d %s", r.Status, r.Body)
	}
	for i, want := range []float64{20, 21} {
		v := versions[i].(map[string]any)
		if v["version"] != float64(i+1) || v["values"].(map[string]any)["beds"].(map[string]any)["covidSecured"] != want || v["updatedBy"] == "" || v["updatedAt"] == "" {
			t.Errorf("history[%d] = %v", i, v)
		}
	}
	if r := c.Do("GET", path, nil); secured(r) != 21 {
		t.Errorf("after the refused writes the survey holds %v, want 21", secured(r))
	}
}

func TestDailyDays(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000102", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, authz.InstitutionManager)
	if r := c.Do("PUT", dailyPath(a.code, daysAgo(1)), dailyBody(0, 10)); r.Status != 200 {
		t.Errorf("backfill of yesterday = %d %s", r.Status, r.Body)
	}
	if r := c.Do("PUT", dailyPath(a.code, daysAgo(90)), dailyBody(0, 10)); r.Status != 200 {
		t.Errorf("backfill of 90 days ago = %d %s", r.Status, r.Body)
	}
	for _, day := range []string{daysAgo(-1), daysAgo(91), "2026-02-30", "today"} {
		if r := c.Do("PUT", dailyPath(a.code, day), dailyBody(0, 10)); r.Status != 400 || r.ErrorField() != "date" {
			t.Errorf("write of %s = %d %s, want 400 naming date", day, r.Status, r.Body)
		}
	}
	r := c.Do("GET", "/surveys/institutions/"+a.code+"/daily?from="+daysAgo(90)+"&to="+daysAgo(60), nil)
	if got, _ := r.JSON["surveys"].([]any); r.Status != 200 || len(got) != 1 {
		t.Errorf("range = %d %s, want the one survey of 90 days ago", r.Status, r.Body)
	}
	month := today()[:7]
	r = c.Do("GET", "/surveys/institutions/"+a.code+"/daily?month="+month, nil)
	if r.Status != 200 || r.String("from") != month+"-01" {
		t.Errorf("month = %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/surveys/institutions/"+a.code+"/daily?from="+daysAgo(40)+"&to="+today(), nil); r.Status != 400 {
		t.Errorf("range of 41 days = %d, want 400", r.Status)
	}
}

func TestDailyValidation(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000103", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, "")
	path := dailyPath(a.code, today())

	body := dailyBody(0, 4) // 5 occupied > 4 secured
	r := c.Do("PUT", path, body)
	if got := problems(r); r.Status != 400 || len(got) != 1 || got[0] != "beds.covidOccupied/not_above:beds.covidSecured" || r.ErrorField() != "beds.covidOccupied" {
		t.Errorf("occupied above secured = %d %s", r.Status, r.Body)
	}
	msg, _ := r.JSON["error"].(map[string]any)["message"].(string)
	// Named by their labels; the internal paths are in the field and rule.
	if !strings.Contains(msg, "「確保病床のうち使用中」（5）") || !strings.Contains(msg, "「新型コロナ確保病床数」（4）") || strings.Contains(msg, "beds.") {
		t.Errorf("message %q does not name both fields by their labels alone", msg)
	}

	five := dailyBody(0, 20)
	five["staffing"] = "none"
	five["beds"].(map[string]any)["icuOccupied"] = 9
	five["patients"].(map[string]any)["ecmo"] = 3
	five["tests"].(map[string]any)["pcr"] = 2.5
	five["flags"].(map[string]any)["helipad"] = true
	r = c.Do("PUT", path, five)
	if got := problems(r); r.Status != 400 || len(got) != 5 {
		t.Errorf("five broken rules = %d %v, want five problems", r.Status, got)
	}
	if r := c.Do("GET", path, nil); r.Status != 200 || r.JSON["draft"] != true {
		t.Errorf("after refused writes the day = %d %s, want a draft (nothing stored)", r.Status, r.Body)
	}
	if r := c.Do("PUT", path, "not an object"); r.Status != 400 {
		t.Errorf("string body = %d", r.Status)
	}
}

func TestDailyAccess(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000104", pref: "13", hc: "1301"}
	b := institution{code: "1310000105", pref: "13", hc: "1302"}
	osaka := institution{code: "2710000104", pref: "27", hc: "2701"}
	addInstitutions(t, e, a, b, osaka)
	ca, cb, co := staff(t, e, a, ""), staff(t, e, b, authz.InstitutionManager), staff(t, e, osaka, "")
	for _, w := range []struct {
		c    *authtest.Client
		code string
	}{{ca, a.code}, {co, osaka.code}} {
		if r := w.c.Do("PUT", dailyPath(w.code, today()), dailyBody(0, 20)); r.Status != 200 {
			t.Fatalf("write %s = %d %s", w.code, r.Status, r.Body)
		}
	}
	if r := cb.Do("GET", dailyPath(a.code, today()), nil); r.Status != 403 {
		t.Errorf("B reads A = %d, want 403", r.Status)
	}
	if r := cb.Do("PUT", dailyPath(a.code, today()), dailyBody(1, 30)); r.Status != 403 {
		t.Errorf("B writes A = %d, want 403", r.Status)
	}
	if r := cb.Do("GET", dailyPath(a.code, today())+"/history", nil); r.Status != 403 {
		t.Errorf("B reads A's history = %d, want 403", r.Status)
	}
	pref13 := admin(t, e, authz.PrefectureAdmin, "13", "", false)
	if r := pref13.Do("GET", dailyPath(a.code, today()), nil); r.Status != 200 || secured(r) != 20 {
		t.Errorf("prefecture 13 reads a Tokyo hospital = %d %s", r.Status, r.Body)
	}
	if r := pref13.Do("GET", dailyPath(osaka.code, today()), nil); r.Status != 403 {
		t.Errorf("prefecture 13 reads an Osaka hospital = %d, want 403", r.Status)
	}
	if r := pref13.Do("GET", dailyPath("1319999999", today()), nil); r.Status != 403 {
		t.Errorf("prefecture 13 reads an unknown institution = %d, want 403 like a foreign one", r.Status)
	}
	if r := pref13.Do("PUT", dailyPath(a.code, today()), dailyBody(1, 30)); r.Status != 403 {
		t.Errorf("prefecture 13 writes = %d, want 403", r.Status)
	}
	hc1302 := admin(t, e, authz.HealthCenterAdmin, "13", "1302", false)
	if r := hc1302.Do("GET", dailyPath(a.code, today()), nil); r.Status != 403 {
		t.Errorf("another health centre reads = %d, want 403", r.Status)
	}
	nat := admin(t, e, authz.National, "", "", false)
	if r := nat.Do("GET", dailyPath(osaka.code, today()), nil); r.Status != 200 {
		t.Errorf("national reads = %d", r.Status)
	}
	if r := nat.Do("PUT", dailyPath(osaka.code, today()), dailyBody(1, 30)); r.Status != 403 {
		t.Errorf("national writes = %d, want 403", r.Status)
	}
	if r := e.Client(t).Do("GET", dailyPath(a.code, today()), nil); r.Status != 401 {
		t.Errorf("without a session = %d, want 401", r.Status)
	}
	if r := ca.Do("GET", dailyPath(a.code, today()), nil); secured(r) != 20 {
		t.Errorf("the refused writes changed A's survey: %s", r.Body)
	}
}

func TestLatestAndCopyForward(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000106", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, "")
	latest := "/surveys/institutions/" + a.code + "/latest"
	if r := c.Do("GET", latest, nil); r.Status != 200 || r.JSON["daily"] != nil {
		t.Fatalf("latest before any survey = %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", dailyPath(a.code, today()), nil); r.Status != 200 || r.JSON["draft"] != true || r.JSON["copiedFrom"] != nil {
		t.Errorf("a day without any survey = %d %s, want an empty draft", r.Status, r.Body)
	}
	for _, w := range []struct {
		day     string
		secured int
	}{{daysAgo(3), 13}, {today(), 10}, {daysAgo(7), 17}} {
		if r := c.Do("PUT", dailyPath(a.code, w.day), dailyBody(0, w.secured)); r.Status != 200 {
			t.Fatalf("write %s = %d %s", w.day, r.Status, r.Body)
		}
	}
	r := c.Do("GET", latest, nil)
	d, _ := r.JSON["daily"].(map[string]any)
	if r.Status != 200 || d["period"] != today() || d["values"].(map[string]any)["beds"].(map[string]any)["covidSecured"] != float64(10) {
		t.Errorf("latest after a backfill of last week = %d %s, want today's", r.Status, r.Body)
	}
	r = c.Do("GET", dailyPath(a.code, daysAgo(1)), nil)
	if r.Status != 200 || r.JSON["draft"] != true || r.String("copiedFrom") != daysAgo(3) || secured(r) != 13 || num(r, "version") != 0 {
		t.Errorf("yesterday = %d %s, want a draft copied from %s", r.Status, r.Body, daysAgo(3))
	}
	if r := c.Do("GET", dailyPath(a.code, daysAgo(1))+"/history", nil); len(r.JSON["versions"].([]any)) != 0 {
		t.Errorf("the draft was stored: %s", r.Body)
	}
}

func TestConcurrentWritersOfOneDay(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000107", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, "")
	path := dailyPath(a.code, today())
	if r := c.Do("PUT", path, dailyBody(0, 10)); r.Status != 200 {
		t.Fatalf("first write = %d %s", r.Status, r.Body)
	}
	const writers = 20
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			w := &authtest.Client{T: t, Base: c.Base, Origin: c.Origin, Cookie: c.Cookie}
			statuses[i] = w.Do("PUT", path, dailyBody(1, 100+i)).Status
		})
	}
	wg.Wait()
	var ok, conflicts int
	winner := -1
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
			winner = i
		case http.StatusConflict:
			conflicts++
		}
	}
	if ok != 1 || conflicts != writers-1 {
		t.Fatalf("statuses = %v, want one 200 and %d 409", statuses, writers-1)
	}
	r := c.Do("GET", path+"/history", nil)
	versions, _ := r.JSON["versions"].([]any)
	if len(versions) != 2 {
		t.Fatalf("history holds %d versions, want the first write and the one that succeeded: %s", len(versions), r.Body)
	}
	if got := versions[1].(map[string]any)["values"].(map[string]any)["beds"].(map[string]any)["covidSecured"]; got != float64(100+winner) {
		t.Errorf("history's second version holds %v, want the winner's %d", got, 100+winner)
	}
}

func TestWeeklySurvey(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000108", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, "")
	week := string(survey.WeekOf(time.Now()))
	path := "/surveys/institutions/" + a.code + "/weekly/" + week
	items := map[string]any{}
	for _, s := range survey.Supplies {
		items[s.Code] = map[string]any{"outlook": survey.OutlookFourWeeks}
	}
	items[string(survey.N95Mask)] = map[string]any{"outlook": survey.OutlookOneWeek, "inStock": 120, "used": 80, "bought": 0}
	r := c.Do("PUT", path, map[string]any{"items": items})
	if r.Status != 200 || num(r, "version") != 1 {
		t.Fatalf("weekly write = %d %s", r.Status, r.Body)
	}
	r = c.Do("GET", path, nil)
	n95, _ := r.JSON["values"].(map[string]any)["items"].(map[string]any)["n95_mask"].(map[string]any)
	if r.Status != 200 || n95["outlook"] != survey.OutlookOneWeek || n95["inStock"] != float64(120) {
		t.Errorf("weekly read = %d %s", r.Status, r.Body)
	}
	items["paper_towel"] = map[string]any{"outlook": "none"}
	if r := c.Do("PUT", path, map[string]any{"version": 1, "items": items}); r.Status != 400 || r.ErrorField() != "items.paper_towel" {
		t.Errorf("unknown supply = %d %s", r.Status, r.Body)
	}
	next := string(survey.WeekOf(time.Now().AddDate(0, 0, 7)))
	if r := c.Do("PUT", "/surveys/institutions/"+a.code+"/weekly/"+next, map[string]any{"items": items}); r.Status != 400 || r.ErrorField() != "week" {
		t.Errorf("next week = %d %s", r.Status, r.Body)
	}
	// There is no week 60: refused in Japanese words, not shown as a week.
	for _, method := range []string{"GET", "PUT"} {
		r := c.Do(method, "/surveys/institutions/"+a.code+"/weekly/2026-W60", map[string]any{"items": items})
		msg, _ := r.JSON["error"].(map[string]any)["message"].(string)
		if r.Status != 400 || r.ErrorField() != "week" || !strings.HasPrefix(msg, "2026年の週は第1週から第53週までです") {
			t.Errorf("%s week 60 = %d %s", method, r.Status, r.Body)
		}
	}
	r = c.Do("GET", "/surveys/institutions/"+a.code+"/latest", nil)
	if w, _ := r.JSON["weekly"].(map[string]any); w["period"] != week {
		t.Errorf("latest weekly = %s", r.Body)
	}
}

func nonResponders(t *testing.T, c *authtest.Client, query string) (answered, expected float64, codes []string, r authtest.Response) {
	t.Helper()
	r = c.Do("GET", "/surveys/daily/non-responders?"+query, nil)
	if r.Status != 200 {
		t.Fatalf("non-responders ?%s = %d %s", query, r.Status, r.Body)
	}
	list, _ := r.JSON["institutions"].([]any)
	for _, x := range list {
		codes = append(codes, x.(map[string]any)["code"].(string))
	}
	return num(r, "answered"), num(r, "expected"), codes, r
}

func TestNonResponders(t *testing.T) {
	e := shared.Env(t)
	n1 := institution{code: "1310000201", pref: "13", hc: "1303", name: "なかの中央病院"}
	n2 := institution{code: "1310000202", pref: "13", hc: "1303"}
	clinic := institution{code: "1310000203", pref: "13", hc: "1303", category: master.CategoryClinic}
	vet := institution{code: "1310000204", pref: "13", hc: "1303", category: master.CategoryVeterinary}
	other := institution{code: "1310000205", pref: "13", hc: "1304"}
	addInstitutions(t, e, n1, n2, clinic, vet, other)
	c1, c2 := staff(t, e, n1, ""), staff(t, e, n2, "")
	if r := c2.Do("PUT", dailyPath(n2.code, daysAgo(3)), dailyBody(0, 10)); r.Status != 200 {
		t.Fatalf("n2 three days ago = %d %s", r.Status, r.Body)
	}
	pref13 := admin(t, e, authz.PrefectureAdmin, "13", "", false)
	q := "limit=500&date=" + today()
	answered, expected, codes, r := nonResponders(t, pref13, q)
	if !slices.Contains(codes, n1.code) || !slices.Contains(codes, n2.code) || slices.Contains(codes, clinic.code) || slices.Contains(codes, vet.code) {
		t.Fatalf("Tokyo's non-responders %v: want the two hospitals, not the clinic or the veterinary facility", codes)
	}
	for _, x := range r.JSON["institutions"].([]any) {
		m := x.(map[string]any)
		if m["code"] == n1.code && (m["name"] != n1.name || m["phone"] != "0355550000" || m["lastAnswered"] != nil) {
			t.Errorf("n1 = %v", m)
		}
		if m["code"] == n2.code && m["lastAnswered"] != daysAgo(3) {
			t.Errorf("n2's last answer = %v, want %s", m["lastAnswered"], daysAgo(3))
		}
	}
	if r := c1.Do("PUT", dailyPath(n1.code, today()), dailyBody(0, 10)); r.Status != 200 {
		t.Fatalf("n1 answers = %d %s", r.Status, r.Body)
	}
	answered2, expected2, codes2, _ := nonResponders(t, pref13, q)
	if len(codes2) != len(codes)-1 || slices.Contains(codes2, n1.code) || answered2 != answered+1 || expected2 != expected {
		t.Errorf("after n1 answered: %d non-responders (was %d), answered %v/%v (was %v/%v)", len(codes2), len(codes), answered2, expected2, answered, expected)
	}
	// Pages follow each other without gaps.
	var paged []string
	cursor := ""
	for range 100 {
		_, _, page, r := nonResponders(t, pref13, "limit=2&date="+today()+"&cursor="+cursor)
		paged = append(paged, page...)
		if cursor = r.String("nextCursor"); cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, codes2) {
		t.Errorf("paged %v, want %v", paged, codes2)
	}
	hc := admin(t, e, authz.HealthCenterAdmin, "13", "1303", false)
	if _, exp, got, _ := nonResponders(t, hc, "date="+today()); exp != 2 || !slices.Equal(got, []string{n2.code}) {
		t.Errorf("health centre 1303 sees %v of %v expected, want only %s of 2", got, exp, n2.code)
	}
	r = pref13.Do("GET", "/surveys/daily/non-responders?format=csv&date="+today(), nil)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "\ufeff調査日,医療機関コード,医療機関名") || !strings.Contains(string(r.Body), n2.code) ||
		strings.Count(string(r.Body), "\r\n") != len(codes2)+1 {
		t.Errorf("CSV = %d %q", r.Status, r.Body)
	}
	osaka := admin(t, e, authz.PrefectureAdmin, "27", "", false)
	if r := osaka.Do("GET", "/surveys/daily/non-responders?prefectureCode=13", nil); r.Status != 403 {
		t.Errorf("Osaka asks for Tokyo = %d, want 403", r.Status)
	}
	if r := c1.Do("GET", "/surveys/daily/non-responders?prefectureCode=13", nil); r.Status != 403 {
		t.Errorf("an institution user = %d, want 403", r.Status)
	}
	nat := admin(t, e, authz.National, "", "", false)
	if r := nat.Do("GET", "/surveys/daily/non-responders", nil); r.Status != 400 || r.ErrorField() != "prefectureCode" {
		t.Errorf("national without a prefecture = %d %s", r.Status, r.Body)
	}
}

func TestRemindNonResponders(t *testing.T) {
	e := shared.Env(t)
	n := institution{code: "1310000301", pref: "13", hc: "1305"}
	addInstitutions(t, e, n)
	u, _ := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: n.code, PrefectureCode: n.pref, HealthCenterCode: n.hc})
	hc := admin(t, e, authz.HealthCenterAdmin, "13", "1305", false)
	r := hc.Do("POST", "/surveys/daily/non-responders/remind", map[string]string{"date": today()})
	if r.Status != 200 || num(r, "institutions") != 1 || num(r, "mails") != 1 {
		t.Fatalf("remind = %d %s", r.Status, r.Body)
	}
	mails := e.Moto.Mails(u.Mail)
	if len(mails) != 1 || !strings.Contains(mails[0], today()) {
		t.Fatalf("mails to the non-responder = %q", mails)
	}
	r = hc.Do("POST", "/surveys/daily/non-responders/remind", map[string]string{"date": today()})
	if r.Status != 200 || num(r, "institutions") != 0 || num(r, "skipped") != 1 || len(e.Moto.Mails(u.Mail)) != 1 {
		t.Errorf("second reminder the same day = %d %s, %d mails", r.Status, r.Body, len(e.Moto.Mails(u.Mail)))
	}
}

func TestDailyDownload(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000401", pref: "13", hc: "1306", name: "=HYPERLINK(\"http://example.com\")病院"}
	b := institution{code: "1310000402", pref: "13", hc: "1306"}
	addInstitutions(t, e, a, b)
	ca, cb := staff(t, e, a, ""), staff(t, e, b, "")
	for _, w := range []struct {
		c    *authtest.Client
		code string
		day  string
	}{{ca, a.code, today()}, {cb, b.code, today()}, {ca, a.code, daysAgo(1)}} {
		if r := w.c.Do("PUT", dailyPath(w.code, w.day), dailyBody(0, 10)); r.Status != 200 {
			t.Fatalf("write = %d %s", r.Status, r.Body)
		}
	}
	noFlag := admin(t, e, authz.HealthCenterAdmin, "13", "1306", false)
	if r := noFlag.Do("GET", "/surveys/daily/export?from="+daysAgo(1)+"&to="+today(), nil); r.Status != 403 {
		t.Errorf("download without the flag = %d, want 403", r.Status)
	}
	flagged := admin(t, e, authz.HealthCenterAdmin, "13", "1306", true)
	r := flagged.Do("GET", "/surveys/daily/export?from="+daysAgo(1)+"&to="+today(), nil)
	body := string(r.Body)
	if r.Status != 200 || !strings.HasPrefix(body, "\ufeff調査日,医療機関コード,医療機関名,保健所コード,バージョン") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("download = %d %q", r.Status, body)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	if len(lines) != 4 || strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
		t.Errorf("download has %d CRLF lines, want a header and three surveys: %q", len(lines), body)
	}
	if !strings.Contains(body, `"'=HYPERLINK(""http://example.com"")病院"`) {
		t.Errorf("the name starting with = is not escaped: %q", body)
	}
	if r := flagged.Do("GET", "/surveys/daily/export?from="+daysAgo(40)+"&to="+today(), nil); r.Status != 400 || r.ErrorField() != "to" {
		t.Errorf("41 days = %d %s, want 400", r.Status, r.Body)
	}
	osaka := admin(t, e, authz.PrefectureAdmin, "27", "", true)
	if r := osaka.Do("GET", "/surveys/daily/export?prefectureCode=13", nil); r.Status != 403 {
		t.Errorf("Osaka downloads Tokyo = %d, want 403", r.Status)
	}
}

func weeklyBody() map[string]any {
	items := map[string]any{}
	for _, s := range survey.Supplies {
		items[s.Code] = map[string]any{"outlook": survey.OutlookTwoThree, "inStock": 40}
	}
	return map[string]any{"items": items}
}

func TestWeeklyDownloadAndJSONPages(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000501", pref: "13", hc: "1307", name: "@SUM(A1)病院"}
	b := institution{code: "1310000502", pref: "13", hc: "1307"}
	addInstitutions(t, e, a, b)
	week := string(survey.WeekOf(time.Now()))
	for _, in := range []institution{a, b} {
		c := staff(t, e, in, "")
		if r := c.Do("PUT", "/surveys/institutions/"+in.code+"/weekly/"+week, weeklyBody()); r.Status != 200 {
			t.Fatalf("weekly write = %d %s", r.Status, r.Body)
		}
		if r := c.Do("PUT", dailyPath(in.code, today()), dailyBody(0, 10)); r.Status != 200 {
			t.Fatalf("daily write = %d %s", r.Status, r.Body)
		}
	}
	flagged := admin(t, e, authz.HealthCenterAdmin, "13", "1307", true)
	r := flagged.Do("GET", "/surveys/weekly/export?from="+week+"&to="+week, nil)
	body := string(r.Body)
	if r.Status != 200 || !strings.HasPrefix(body, "\ufeff調査週,医療機関コード,医療機関名,保健所コード,バージョン") ||
		!strings.Contains(body, "サージカルマスクの備蓄見通し") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("weekly download = %d %q", r.Status, body)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	if len(lines) != 3 || !strings.Contains(lines[1], week+","+a.code+",'@SUM(A1)病院,1307,1,") || !strings.Contains(lines[1], ",2〜3週間,40,,") {
		t.Errorf("weekly download rows = %q", lines)
	}
	if r := flagged.Do("GET", "/surveys/weekly/export?from="+week+"&to=2026-13", nil); r.Status != 400 || r.ErrorField() != "to" {
		t.Errorf("a bad week = %d %s, want 400 naming to", r.Status, r.Body)
	}

	// The same data as JSON pages, daily and weekly.
	for _, q := range []string{"/surveys/daily/export?format=json&limit=1", "/surveys/weekly/export?format=json&limit=1&from=" + week} {
		var codes []string
		cursor := ""
		for range 5 {
			r := flagged.Do("GET", q+"&cursor="+cursor, nil)
			list, _ := r.JSON["surveys"].([]any)
			if r.Status != 200 || len(list) != 1 {
				t.Fatalf("%s page = %d %s", q, r.Status, r.Body)
			}
			s := list[0].(map[string]any)
			if s["values"] == nil || s["version"] != float64(1) || s["healthCenterCode"] != "1307" {
				t.Errorf("survey of the page = %v", s)
			}
			codes = append(codes, s["institutionCode"].(string))
			if cursor = r.String("nextCursor"); cursor == "" {
				break
			}
		}
		if !slices.Equal(codes, []string{a.code, b.code}) {
			t.Errorf("%s pages gave %v", q, codes)
		}
	}
	r = flagged.Do("GET", "/surveys/daily/export?format=json&limit=1", nil)
	cursor := r.String("nextCursor")
	forged := strings.Replace(cursor, cursor[:4], "AAAA", 1)
	for name, q := range map[string]string{
		"a changed cursor":             "cursor=" + forged,
		"a cursor of another question": "from=" + daysAgo(1) + "&cursor=" + cursor,
		"garbage":                      "cursor=%25%25",
	} {
		if r := flagged.Do("GET", "/surveys/daily/export?format=json&"+q, nil); r.Status != 400 || r.ErrorField() != "cursor" {
			t.Errorf("%s = %d %s, want 400 naming cursor", name, r.Status, r.Body)
		}
	}
	for q, field := range map[string]string{"format=json&limit=101": "limit", "format=json&limit=x": "limit", "format=xml": "format"} {
		if r := flagged.Do("GET", "/surveys/daily/export?"+q, nil); r.Status != 400 || r.ErrorField() != field ||
			!strings.Contains(r.JSON["error"].(map[string]any)["message"].(string), field) {
			t.Errorf("?%s = %d %s, want 400 naming %s", q, r.Status, r.Body, field)
		}
	}
}

func TestRefusalsAreAudited(t *testing.T) {
	e := shared.Env(t)
	since := time.Now().Add(-time.Second)
	noFlag := admin(t, e, authz.HealthCenterAdmin, "13", "1307", false)
	if r := noFlag.Do("GET", "/surveys/weekly/export", nil); r.Status != 403 {
		t.Fatalf("download without the flag = %d, want 403", r.Status)
	}
	if r := noFlag.Do("POST", "/surveys/daily/exports", map[string]string{}); r.Status != 403 {
		t.Fatalf("export job without the flag = %d, want 403", r.Status)
	}
	user := noFlag.Do("GET", "/auth/me", nil).String("userId")
	var got []string
	for _, ev := range e.AuditOf(t, user, audit.AccessDenied, since) {
		got = append(got, ev.Detail["method"]+" "+ev.Detail["path"])
	}
	slices.Sort(got)
	if want := []string{"GET /surveys/weekly/export", "POST /surveys/daily/exports"}; !slices.Equal(got, want) {
		t.Errorf("refusals audited: %q, want %q", got, want)
	}
}

func TestExportJob(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000601", pref: "13", hc: "1308", name: "=1+1病院"}
	b := institution{code: "1310000602", pref: "13", hc: "1308"}
	addInstitutions(t, e, a, b)
	ca, cb := staff(t, e, a, ""), staff(t, e, b, "")
	for _, w := range []struct {
		c         *authtest.Client
		code, day string
	}{{ca, a.code, today()}, {cb, b.code, today()}, {ca, a.code, daysAgo(2)}} {
		if r := w.c.Do("PUT", dailyPath(w.code, w.day), dailyBody(0, 10)); r.Status != 200 {
			t.Fatalf("write = %d %s", r.Status, r.Body)
		}
	}
	flagged := admin(t, e, authz.HealthCenterAdmin, "13", "1308", true)
	if r := flagged.Do("POST", "/surveys/daily/exports", map[string]string{"from": daysAgo(31), "to": today()}); r.Status != 400 || r.ErrorField() != "to" {
		t.Errorf("32 days = %d %s, want 400 naming to", r.Status, r.Body)
	}
	if r := flagged.Do("POST", "/surveys/daily/exports", map[string]string{"from": "2026/01/01"}); r.Status != 400 || r.ErrorField() != "from" {
		t.Errorf("a bad from = %d %s, want 400 naming from", r.Status, r.Body)
	}
	r := flagged.Do("POST", "/surveys/daily/exports", map[string]string{"from": daysAgo(2), "to": today()})
	status := r.String("status")
	if r.Status != 202 || status == "" || r.Header.Get("Location") != status {
		t.Fatalf("create export = %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for r = flagged.Do("GET", status, nil); r.String("state") != "done" && r.String("state") != "failed" && time.Now().Before(deadline); r = flagged.Do("GET", status, nil) {
		time.Sleep(200 * time.Millisecond)
	}
	dl, _ := r.JSON["download"].(map[string]any)
	if r.Status != 200 || r.String("state") != "done" || num(r, "rows") != 3 || num(r, "periods") != 3 || num(r, "periodsDone") != 3 || dl == nil {
		t.Fatalf("export job = %d %s", r.Status, r.Body)
	}
	resp, err := http.Get(dl["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "\ufeff調査日,医療機関コード") || len(lines) != 4 ||
		!strings.Contains(lines[1], daysAgo(2)+","+a.code+",'=1+1病院,") || !strings.Contains(resp.Header.Get("Content-Disposition"), "daily-13-1308-") {
		t.Errorf("the export's file = %d %q (%v)", resp.StatusCode, body, resp.Header)
	}
	// The export is its creator's alone.
	other := admin(t, e, authz.PrefectureAdmin, "13", "", true)
	if r := other.Do("GET", status, nil); r.Status != 404 {
		t.Errorf("another administrator reads the export = %d, want 404", r.Status)
	}
	if r := flagged.Do("GET", "/surveys/exports/nosuchjob", nil); r.Status != 404 {
		t.Errorf("a malformed job ID = %d, want 404", r.Status)
	}
}

func TestMaintenanceWindowClosesSurveys(t *testing.T) {
	e := shared.Env(t)
	a := institution{code: "1310000701", pref: "13", hc: "1309"}
	addInstitutions(t, e, a)
	c := staff(t, e, a, "")
	nat := admin(t, e, authz.National, "", "", false)
	now := time.Now()
	r := nat.Do("POST", "/admin/maintenance-windows", map[string]any{"start": now.Add(-time.Minute), "end": now.Add(10 * time.Minute), "message": "調査システムの更新中です。"})
	if r.Status != 201 {
		t.Fatalf("create window = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	ended := false
	end := func() {
		if r := nat.Do("POST", "/admin/maintenance-windows/"+id+"/end", nil); r.Status != 204 {
			t.Fatalf("end window = %d %s", r.Status, r.Body)
		}
		ended = true
		time.Sleep(1100 * time.Millisecond) // the functions' cache of windows
	}
	defer func() {
		if !ended {
			end()
		}
	}()
	time.Sleep(1100 * time.Millisecond)
	for _, q := range []struct{ method, path string }{
		{"GET", dailyPath(a.code, today())},
		{"PUT", dailyPath(a.code, today())},
		{"GET", "/surveys/institutions/" + a.code + "/latest"},
	} {
		r := c.Do(q.method, q.path, dailyBody(0, 10))
		if q.method == "GET" {
			r = c.Do(q.method, q.path, nil)
		}
		if r.Status != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "調査システムの更新中です。") {
			t.Errorf("%s %s during maintenance = %d %s (Retry-After %q), want 503 with the message", q.method, q.path, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}
	end()
	if r := c.Do("PUT", dailyPath(a.code, today()), dailyBody(0, 10)); r.Status != 200 {
		t.Errorf("write after the window = %d %s", r.Status, r.Body)
	}
}
