package main

import (
	"context"
	"encoding/csv"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// shared is one local stack of the project's template for this package's
// tests: every function as its own process, DynamoDB Local and moto.
var shared = authtest.NewShared(map[string]string{"MaintenanceCacheSeconds": "1"})

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

type institution struct{ code, pref, category string }

var mastersMu sync.Mutex

func addInstitution(t testing.TB, e *authtest.Env, in institution) {
	t.Helper()
	mastersMu.Lock()
	defer mastersMu.Unlock()
	store := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SosFunction")["MASTERS_TABLE"])
	err := store.CreateRecord(context.Background(), master.Record{Kind: master.Institutions, Code: in.code, Version: 1, UpdatedAt: time.Now(), UpdatedBy: "test",
		Fields: map[string]string{"name": "テスト" + in.code, "category": in.category, "prefectureCode": in.pref, "healthCenterCode": in.pref + "01", "phone": "0355550000"}})
	if err != nil && apperr.CodeOf(err) != apperr.Conflict {
		t.Fatal(err)
	}
}

func staff(t testing.TB, e *authtest.Env, in institution) *authtest.Client {
	t.Helper()
	c, _ := staffUser(t, e, in)
	return c
}

func staffUser(t testing.TB, e *authtest.Env, in institution) (*authtest.Client, auth.User) {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: in.code, PrefectureCode: in.pref, HealthCenterCode: in.pref + "01"})
	return e.LoginChanged(t, u, pw), u
}

func admin(t testing.TB, e *authtest.Env, role authz.Role, pref string) *authtest.Client {
	t.Helper()
	c, _ := adminUser(t, e, role, pref)
	return c
}

func adminUser(t testing.TB, e *authtest.Env, role authz.Role, pref string) (*authtest.Client, auth.User) {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: role, PrefectureCode: pref})
	return e.LoginChanged(t, u, pw), u
}

func daily(zero bool) map[string]any {
	n := 1
	if zero {
		n = 0
	}
	return map[string]any{
		"services": map[string]any{"outpatient": "normal", "inpatient": "normal", "emergency": "normal", "surgery": "normal"},
		"staffing": "normal",
		"beds":     map[string]any{"permitted": 10, "covidSecured": 0, "covidOccupied": 0, "covidAvailable": 0, "icu": 0, "icuOccupied": 0},
		"patients": map[string]any{"confirmed": 0, "suspected": 0, "severe": 0, "ventilator": 0, "ecmo": 0, "newAdmissions": 0},
		"tests":    map[string]any{"tested": n, "pcr": 0, "antigenQuantitative": n, "antigenQualitative": 0, "feverOutpatients": 0},
		"flags":    map[string]any{"designatedClinic": false, "pcrAvailable": false},
	}
}

func weekly(outlook string) map[string]any {
	items := map[string]any{}
	for _, c := range survey.Supplies {
		items[c.Code] = map[string]any{"outlook": outlook}
	}
	return map[string]any{"items": items}
}

func problemConditions(r authtest.Response) []string {
	ps, _ := r.JSON["problems"].([]any)
	var out []string
	for _, p := range ps {
		m := p.(map[string]any)
		out = append(out, m["condition"].(string))
	}
	return out
}

func path(code string, rest ...string) string {
	return "/sos/institutions/" + code + "/requests" + strings.Join(rest, "")
}

func num(r authtest.Response, k string) int64 { f, _ := r.JSON[k].(float64); return int64(f) }

var masks = map[string]any{"surgical_mask": map[string]any{"quantity": 100}}

func TestFileApplyReview(t *testing.T) {
	e := shared.Env(t)
	hosp := institution{"1310000901", "13", master.CategoryHospital}
	clinic := institution{"1310000902", "13", master.CategoryClinic}
	other := institution{"1310000903", "13", master.CategoryHospital}
	aggregator := institution{"1310000904", "13", master.CategoryAggregator}
	for _, in := range []institution{hosp, clinic, other, aggregator} {
		addInstitution(t, e, in)
	}
	c, cu := staffUser(t, e, hosp)

	// Saving needs the general conditions confirmed; N95 its own.
	r := c.Do("POST", path(hosp.code), map[string]any{"items": masks})
	if r.Status != 400 || r.ErrorField() != "confirmedGeneral" || !strings.Contains(string(r.Body), "上記の緊急配布条件を満たしていることを確認した") {
		t.Fatalf("without confirmation = %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", path(hosp.code), map[string]any{"confirmedGeneral": true, "items": map[string]any{"n95_mask": map[string]any{}}})
	if r.Status != 400 || r.ErrorField() != "confirmedN95" {
		t.Fatalf("N95 without confirmation = %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", path(hosp.code), map[string]any{"confirmedGeneral": true, "items": masks, "comment": "至急"})
	if r.Status != 201 || r.String("status") != "draft" || r.String("statusLabel") != "未申請" ||
		!strings.HasSuffix(r.String("title"), "_テスト"+hosp.code+"_緊急配布要請") {
		t.Fatalf("save = %d %s", r.Status, r.Body)
	}
	id := r.String("id")

	// No surveys: エラー有り naming ② and the weekly survey.
	r = c.Do("POST", path(hosp.code, "/", id, "/apply"), map[string]any{"version": 1})
	if r.Status != 200 || r.String("status") != "error" || strings.Join(problemConditions(r), ",") != "②,weekly_on_file" {
		t.Fatalf("apply without surveys = %d %s", r.Status, r.Body)
	}
	// An all-zero daily survey still fails ②.
	if w := c.Do("PUT", "/surveys/institutions/"+hosp.code+"/daily/"+survey.Today(time.Now()), daily(true)); w.Status != 200 {
		t.Fatalf("daily = %d %s", w.Status, w.Body)
	}
	if w := c.Do("PUT", "/surveys/institutions/"+hosp.code+"/weekly/"+string(survey.WeekOf(time.Now())), weekly("within_1_week")); w.Status != 200 {
		t.Fatalf("weekly = %d %s", w.Status, w.Body)
	}
	r = c.Do("POST", path(hosp.code, "/", id, "/apply"), map[string]any{"version": 2})
	if r.Status != 200 || strings.Join(problemConditions(r), ",") != "②" {
		t.Fatalf("apply with a zero daily survey = %d %s", r.Status, r.Body)
	}
	if w := c.Do("PUT", "/surveys/institutions/"+hosp.code+"/daily/"+survey.Today(time.Now()), map[string]any{"version": 1, "services": daily(false)["services"],
		"staffing": "normal", "beds": daily(false)["beds"], "patients": daily(false)["patients"], "tests": daily(false)["tests"], "flags": daily(false)["flags"]}); w.Status != 200 {
		t.Fatalf("daily again = %d %s", w.Status, w.Body)
	}
	r = c.Do("POST", path(hosp.code, "/", id, "/apply"), map[string]any{"version": 3})
	if r.Status != 200 || r.String("status") != "under_review" || r.String("businessDay") == "" || r.String("appliedAt") == "" ||
		r.String("checkedDaily") == "" || r.String("checkedWeekly") == "" {
		t.Fatalf("apply passing = %d %s", r.Status, r.Body)
	}
	day := r.String("businessDay")
	if w := c.Do("GET", "/sos/window", nil); w.Status != 200 || w.String("businessDay") != day {
		t.Fatalf("window = %d %s, want day %s", w.Status, w.Body, day)
	}
	// A stale version is refused.
	if r := c.Do("PUT", path(hosp.code, "/", id), map[string]any{"version": 1, "confirmedGeneral": true, "items": masks}); r.Status != 409 {
		t.Fatalf("stale edit = %d %s", r.Status, r.Body)
	}

	// Another institution's user cannot read it.
	b := staff(t, e, other)
	if r := b.Do("GET", path(hosp.code, "/", id), nil); r.Status != 403 {
		t.Fatalf("B reads A's request = %d %s", r.Status, r.Body)
	}
	if r := b.Do("GET", path(hosp.code), nil); r.Status != 403 {
		t.Fatalf("B lists A's requests = %d %s", r.Status, r.Body)
	}

	// Review: Osaka cannot see Tokyo's list; Tokyo confirms; only national accepts.
	osaka := admin(t, e, authz.PrefectureAdmin, "27")
	if r := osaka.Do("GET", "/sos/review?prefectureCode=13&day="+day, nil); r.Status != 403 {
		t.Fatalf("Osaka lists Tokyo = %d %s", r.Status, r.Body)
	}
	tokyo, tokyoUser := adminUser(t, e, authz.PrefectureAdmin, "13")
	r = tokyo.Do("GET", "/sos/review?day="+day, nil)
	if list, _ := r.JSON["requests"].([]any); r.Status != 200 || len(list) != 1 {
		t.Fatalf("Tokyo's day = %d %s", r.Status, r.Body)
	}
	r = tokyo.Do("POST", path(hosp.code, "/", id, "/confirm"), map[string]any{"version": 4, "note": "電話確認済"})
	if r.Status != 200 || r.String("prefectureConfirmedBy") == "" {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", path(hosp.code, "/", id), nil); r.String("prefectureNote") != "" || r.String("status") != "under_review" {
		t.Fatalf("the institution sees the prefecture's note: %s", r.Body)
	}
	reviewDetail(t, tokyo, osaka, c, hosp, id, cu)
	since := time.Now().Add(-time.Second)
	x := tokyo.Do("GET", "/sos/review/export?day="+day, nil)
	rows := csvRows(t, x)
	if len(rows) != 2 || rows[0][0] != "タイトル" || rows[0][4] != "対応ステータス" || rows[1][3] != hosp.code || rows[1][4] != "都道府県・国確認中" ||
		rows[1][7] != "サージカルマスク" || !slices.Contains(rows[1], "100") || !slices.Contains(rows[1], "至急") ||
		!slices.Contains(rows[1], cu.Name) || !slices.Contains(rows[1], "0355550000") || !slices.Contains(rows[1], "都道府県確認済") ||
		!slices.Contains(rows[1], "電話確認済") {
		t.Fatalf("export rows %q", rows)
	}
	if got := e.AuditOf(t, tokyoUser.ID, "sos_review_exported", since); len(got) != 1 || got[0].Detail["rows"] != "1" || got[0].Detail["prefectureCode"] != "13" {
		t.Errorf("export audit %v", got)
	}
	if r := osaka.Do("GET", "/sos/review/export?prefectureCode=13&day="+day, nil); r.Status != 403 {
		t.Errorf("Osaka downloads Tokyo = %d %s", r.Status, r.Body)
	}
	if r := c.Do("GET", "/sos/review/export?prefectureCode=13&day="+day, nil); r.Status != 403 {
		t.Errorf("an institution downloads the list = %d %s", r.Status, r.Body)
	}
	if r := tokyo.Do("GET", "/sos/review/export?day="+day+"&status=done", nil); r.Status != 400 || r.ErrorField() != "status" {
		t.Errorf("unknown status = %d %s", r.Status, r.Body)
	}
	if r := tokyo.Do("GET", "/sos/review/export?day=2026-13-01", nil); r.Status != 400 || r.ErrorField() != "day" {
		t.Errorf("bad day = %d %s", r.Status, r.Body)
	}
	if r := tokyo.Do("POST", path(hosp.code, "/", id, "/accept"), map[string]any{"version": 5}); r.Status != 403 {
		t.Fatalf("prefecture accepts = %d %s", r.Status, r.Body)
	}
	nat := admin(t, e, authz.National, "")
	if r := nat.Do("POST", path(hosp.code, "/", id, "/accept"), map[string]any{"version": 5, "note": "発送手配"}); r.Status != 200 || r.String("status") != "accepted" {
		t.Fatalf("national accepts = %d %s", r.Status, r.Body)
	}
	var accepted []string
	for _, m := range e.Moto.Mails(cu.Mail) {
		if strings.Contains(m, "都道府県にて内容を確認し追って連絡いたします") && strings.Contains(m, "テスト"+hosp.code+"_緊急配布要請") {
			accepted = append(accepted, m)
		}
	}
	if len(accepted) != 1 {
		t.Errorf("mails of 受付完了 to the institution: %d, want 1", len(accepted))
	}
	if r := c.Do("PUT", path(hosp.code, "/", id), map[string]any{"version": 6, "confirmedGeneral": true, "items": masks}); r.Status != 409 ||
		!strings.Contains(string(r.Body), "受付完了") {
		t.Fatalf("edit of an accepted request = %d %s", r.Status, r.Body)
	}

	// A clinic passes with a weekly survey once any daily survey is on file.
	cc := staff(t, e, clinic)
	if w := cc.Do("PUT", "/surveys/institutions/"+clinic.code+"/weekly/"+string(survey.WeekOf(time.Now())), weekly("2_3_weeks")); w.Status != 200 {
		t.Fatalf("weekly = %d %s", w.Status, w.Body)
	}
	r = cc.Do("POST", path(clinic.code), map[string]any{"confirmedGeneral": true, "items": masks, "comment": "=1+1"})
	cid := r.String("id")
	r = cc.Do("POST", path(clinic.code, "/", cid, "/apply"), map[string]any{"version": 1})
	if strings.Join(problemConditions(r), ",") != "daily_on_file" {
		t.Fatalf("clinic without daily = %d %s", r.Status, r.Body)
	}
	if w := cc.Do("PUT", "/surveys/institutions/"+clinic.code+"/daily/"+survey.Today(time.Now()), daily(true)); w.Status != 200 {
		t.Fatalf("daily = %d %s", w.Status, w.Body)
	}
	if r = cc.Do("POST", path(clinic.code, "/", cid, "/apply"), map[string]any{"version": 2}); r.String("status") != "under_review" {
		t.Fatalf("clinic with a zero daily survey = %d %s", r.Status, r.Body)
	}
	// A comment is data in the download, never a formula.
	x = tokyo.Do("GET", "/sos/review/export?status=under_review&day="+r.String("businessDay"), nil)
	if rows := csvRows(t, x); !slices.ContainsFunc(rows, func(row []string) bool { return row[3] == clinic.code && slices.Contains(row, "'=1+1") }) {
		t.Errorf("export with a formula comment: %q", rows)
	}

	// An aggregator needs a weekly survey on file, and nothing else.
	ac := staff(t, e, aggregator)
	r = ac.Do("POST", path(aggregator.code), map[string]any{"confirmedGeneral": true, "items": masks})
	aid := r.String("id")
	r = ac.Do("POST", path(aggregator.code, "/", aid, "/apply"), map[string]any{"version": 1})
	if r.Status != 200 || r.String("status") != "error" || r.String("statusLabel") != "エラー有り" ||
		strings.Join(problemConditions(r), ",") != "weekly_on_file" || r.String("businessDay") != "" {
		t.Fatalf("aggregator without a weekly survey = %d %s", r.Status, r.Body)
	}
	if w := ac.Do("PUT", "/surveys/institutions/"+aggregator.code+"/weekly/"+string(survey.WeekOf(time.Now())), weekly("4_weeks_plus")); w.Status != 200 {
		t.Fatalf("weekly = %d %s", w.Status, w.Body)
	}
	if r = ac.Do("POST", path(aggregator.code, "/", aid, "/apply"), map[string]any{"version": 2}); r.String("status") != "under_review" {
		t.Fatalf("aggregator with a weekly survey = %d %s", r.Status, r.Body)
	}
	// Newest first.
	cc.Do("POST", path(clinic.code), map[string]any{"confirmedGeneral": true, "items": masks})
	r = cc.Do("GET", path(clinic.code)+"?limit=1", nil)
	list, _ := r.JSON["requests"].([]any)
	if r.Status != 200 || len(list) != 1 || list[0].(map[string]any)["id"] == cid || r.String("nextCursor") == "" {
		t.Fatalf("list = %d %s", r.Status, r.Body)
	}
}

func TestConcurrentEditsLoseNothing(t *testing.T) {
	e := shared.Env(t)
	in := institution{"1310000911", "13", master.CategoryHospital}
	addInstitution(t, e, in)
	c := staff(t, e, in)
	r := c.Do("POST", path(in.code), map[string]any{"confirmedGeneral": true, "items": masks})
	id := r.String("id")
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &authtest.Client{T: t, Base: c.Base, Origin: c.Origin, Cookie: c.Cookie}
			r := cl.Do("PUT", path(in.code, "/", id), map[string]any{"version": 1, "confirmedGeneral": true, "items": masks, "comment": string(rune('A' + i))})
			codes <- r.Status
		}()
	}
	wg.Wait()
	close(codes)
	won := 0
	for s := range codes {
		switch s {
		case 200:
			won++
		case 409:
		default:
			t.Errorf("status %d", s)
		}
	}
	if r := c.Do("GET", path(in.code, "/", id), nil); won != 1 || num(r, "version") != 2 {
		t.Fatalf("%d won; now %s", won, r.Body)
	}
}

// csvRows checks that an answer is an Excel CSV download (UTF-8 BOM, CRLF
// line ends) and returns its rows.
func csvRows(t *testing.T, r authtest.Response) [][]string {
	t.Helper()
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export = %d %v %s", r.Status, r.Header, r.Body)
	}
	body, ok := strings.CutPrefix(string(r.Body), "\ufeff")
	if !ok || !strings.HasSuffix(body, "\r\n") || strings.Count(body, "\n") != strings.Count(body, "\r\n") {
		t.Fatalf("not Excel CSV (BOM, CRLF): %q", r.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// reviewDetail checks what a reviewer sees beside a request: the
// institution's phone, the applicant's name, the latest surveys and the
// history; other prefectures and institutions cannot read it.
func reviewDetail(t *testing.T, rev, otherPref, inst *authtest.Client, in institution, id string, applicant auth.User) {
	t.Helper()
	d := rev.Do("GET", "/sos/review/institutions/"+in.code+"/requests/"+id, nil)
	if d.Status != 200 {
		t.Fatalf("detail = %d %s", d.Status, d.Body)
	}
	req, _ := d.JSON["request"].(map[string]any)
	instv, _ := d.JSON["institution"].(map[string]any)
	appl, _ := d.JSON["applicant"].(map[string]any)
	latest, _ := d.JSON["latestSurveys"].(map[string]any)
	dailyRec, _ := latest["daily"].(map[string]any)
	weeklyRec, _ := latest["weekly"].(map[string]any)
	if req["id"] != id || req["prefectureNote"] != "電話確認済" || instv["phone"] != "0355550000" || instv["name"] != "テスト"+in.code ||
		appl["userId"] != applicant.ID || appl["name"] != applicant.Name || dailyRec == nil || weeklyRec == nil ||
		dailyRec["version"] != float64(2) {
		t.Fatalf("detail = %s", d.Body)
	}
	tests, _ := dailyRec["values"].(map[string]any)["tests"].(map[string]any)
	if tests["antigenQuantitative"] != float64(1) {
		t.Errorf("latest daily figures = %v", dailyRec["values"])
	}
	var steps []string
	for _, h := range req["history"].([]any) {
		steps = append(steps, h.(map[string]any)["action"].(string))
	}
	if want := []string{"created", "applied", "applied", "applied", "prefecture_confirmed"}; !slices.Equal(steps, want) {
		t.Errorf("history %v, want %v", steps, want)
	}
	for who, c := range map[string]*authtest.Client{"another prefecture": otherPref, "the institution": inst} {
		if r := c.Do("GET", "/sos/review/institutions/"+in.code+"/requests/"+id, nil); r.Status != 403 {
			t.Errorf("%s reads the review detail = %d %s", who, r.Status, r.Body)
		}
	}
}
