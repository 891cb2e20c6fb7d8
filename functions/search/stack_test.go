package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
)

// shared is one local stack of the project's template for this package's
// tests. Each test uses its own prefecture, so that they do not see each
// other's institutions.
var shared = authtest.NewShared(map[string]string{"MaintenanceCacheSeconds": "1"})

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// inst is an institution of a test.
type inst struct {
	code, pref, hc, muni, name, kana, lat, lon string
}

var mastersMu sync.Mutex

// masterStore writes masters as the admin and jobs functions do: with the
// search's read model.
func masterStore(e *authtest.Env) *dynamo.MasterStore {
	env := e.Stack.FunctionEnv("SearchFunction")
	return dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SurveysFunction")["MASTERS_TABLE"]).WithSearch(env["SURVEYS_TABLE"])
}

// addInstitutions puts institutions (and their prefecture and health
// centre) into the master.
func addInstitutions(t testing.TB, e *authtest.Env, insts ...inst) {
	t.Helper()
	mastersMu.Lock()
	defer mastersMu.Unlock()
	store := masterStore(e)
	put := func(r master.Record) {
		r.Version, r.UpdatedAt, r.UpdatedBy = 1, time.Now(), "test"
		if err := store.CreateRecord(context.Background(), r); err != nil && apperr.CodeOf(err) != apperr.Conflict {
			t.Fatal(err)
		}
	}
	for _, in := range insts {
		put(master.Record{Kind: master.Prefectures, Code: in.pref, Fields: map[string]string{"name": "県" + in.pref}})
		put(master.Record{Kind: master.HealthCenters, Code: in.hc, Fields: map[string]string{"name": "保健所" + in.hc, "prefectureCode": in.pref}})
		f := map[string]string{"name": in.name, "category": master.CategoryHospital, "prefectureCode": in.pref, "healthCenterCode": in.hc,
			"phone": "0355550000", "address": "住所" + in.code}
		for k, v := range map[string]string{"kana": in.kana, "municipalityCode": in.muni, "latitude": in.lat, "longitude": in.lon} {
			if v != "" {
				f[k] = v
			}
		}
		if in.name == "" {
			f["name"] = "テスト病院" + in.code
		}
		put(master.Record{Kind: master.Institutions, Code: in.code, Fields: f})
	}
}

func staff(t testing.TB, e *authtest.Env, in inst) *authtest.Client {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: in.code, PrefectureCode: in.pref, HealthCenterCode: in.hc})
	return e.LoginChanged(t, u, pw)
}

func admin(t testing.TB, e *authtest.Env, role authz.Role, pref, hc string) *authtest.Client {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: role, PrefectureCode: pref, HealthCenterCode: hc})
	return e.LoginChanged(t, u, pw)
}

func today() string { return survey.Today(time.Now()) }

// report writes a daily survey with the given available COVID beds.
func report(t testing.TB, c *authtest.Client, code, day string, version int64, available int) {
	t.Helper()
	b := map[string]any{
		"services": map[string]any{"outpatient": "normal", "inpatient": "normal", "emergency": "limited", "surgery": "normal"},
		"staffing": "normal",
		"beds":     map[string]any{"permitted": 300, "covidSecured": 20, "covidOccupied": 5, "covidAvailable": available, "icu": 8, "icuOccupied": 2},
		"patients": map[string]any{"confirmed": 5, "suspected": 1, "severe": 2, "ventilator": 1, "ecmo": 0, "newAdmissions": 1},
		"tests":    map[string]any{"tested": 20, "pcr": 12, "antigenQuantitative": 3, "antigenQualitative": 5, "feverOutpatients": 30},
		"flags":    map[string]any{"designatedClinic": true, "pcrAvailable": true},
	}
	if version > 0 {
		b["version"] = version
	}
	if r := c.Do("PUT", "/surveys/institutions/"+code+"/daily/"+day, b); r.Status != 200 {
		t.Fatalf("daily survey of %s %s = %d %s", code, day, r.Status, r.Body)
	}
}

// results are the results of a search answer.
func results(t testing.TB, r authtest.Response) []map[string]any {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("search = %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, x := range r.JSON["results"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func codes(rs []map[string]any) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r["code"].(string))
	}
	return out
}

func find(rs []map[string]any, code string) map[string]any {
	for _, r := range rs {
		if r["code"] == code {
			return r
		}
	}
	return nil
}

func status(r map[string]any) map[string]any {
	s, _ := r["status"].(map[string]any)
	return s
}

func query(c *authtest.Client, q string) authtest.Response {
	return c.Do("GET", "/search/hospitals?"+q, nil)
}

func TestAcceptingStaleAndDefaults(t *testing.T) {
	e := shared.Env(t)
	a := inst{code: "3100000001", pref: "31", hc: "3101", name: "鳥取中央病院"}
	b := inst{code: "3100000002", pref: "31", hc: "3101", name: "鳥取西病院"}
	never := inst{code: "3100000003", pref: "31", hc: "3101", name: "鳥取東病院"}
	addInstitutions(t, e, a, b, never)
	ca, cb := staff(t, e, a), staff(t, e, b)
	report(t, ca, a.code, today(), 0, 3)
	report(t, cb, b.code, survey.AddDays(today(), -3), 0, 9)

	// The caller's own prefecture is the default.
	r := query(ca, "")
	rs := results(t, r)
	if got := strings.Join(codes(rs), ","); got != a.code+","+b.code+","+never.code {
		t.Fatalf("order = %s, want the current one, then the stale one with more beds, then the one that never reported", got)
	}
	if cc, vary := r.Header.Get("Cache-Control"), r.Header.Get("Vary"); cc != "private, max-age=30" || vary != "Cookie" {
		t.Errorf("Cache-Control = %q, Vary = %q: kept 30 s, per session", cc, vary)
	}
	if x := rs[0]; x["accepting"] != true || x["stale"] != false || status(x)["covidAvailable"] != float64(3) || status(x)["reportedAt"] == "" {
		t.Errorf("a fresh report of 3 beds = %v", x)
	}
	if x := rs[1]; x["accepting"] != false || x["stale"] != true || status(x)["covidAvailable"] != float64(9) {
		t.Errorf("a 3-day-old report = %v, want stale and not accepting", x)
	}
	if x := rs[2]; x["status"] != nil || x["stale"] != true || x["accepting"] != false {
		t.Errorf("never reported = %v", x)
	}
	if got := codes(results(t, query(ca, "accepting=true"))); len(got) != 1 || got[0] != a.code {
		t.Errorf("accepting=true = %v, want only %s", got, a.code)
	}
	report(t, ca, a.code, today(), 1, 0)
	if got := codes(results(t, query(ca, "accepting=true"))); len(got) != 0 {
		t.Errorf("after reporting 0 beds, accepting=true = %v", got)
	}
	if got := codes(results(t, query(ca, "pcr=true&inpatient=true&designatedClinic=true&emergency=true"))); len(got) != 1 || got[0] != a.code {
		t.Errorf("status filters = %v, want only the current report", got)
	}

	// National administrators have no prefecture: they must name one.
	nat := admin(t, e, authz.National, "", "")
	if r := query(nat, ""); r.Status != 400 || r.ErrorField() != "prefecture" || !strings.Contains(string(r.Body), "都道府県") {
		t.Errorf("national without prefecture = %d %s", r.Status, r.Body)
	}
	if got := codes(results(t, query(nat, "prefecture=31"))); len(got) != 3 {
		t.Errorf("national, prefecture 31 = %v", got)
	}
	for q, field := range map[string]string{"limit=101": "limit", "limit=0": "limit", "prefecture=48": "prefecture", "sort=nearest": "sort",
		"sort=distance": "near", "near=north": "near", "withinKm=5": "near", "accepting=yes": "accepting", "municipality=x": "municipality"} {
		if r := query(ca, q); r.Status != 400 || r.ErrorField() != field {
			t.Errorf("%s = %d %s, want 400 naming %s", q, r.Status, r.Body, field)
		}
	}
	if r := e.Client(t).Do("GET", "/search/hospitals?prefecture=31", nil); r.Status != 401 {
		t.Errorf("without a session = %d", r.Status)
	}
}

func TestTextAndArea(t *testing.T) {
	e := shared.Env(t)
	tokyo := inst{code: "3200000001", pref: "32", hc: "3201", muni: "32201", name: "東京記念病院", kana: "トウキョウキネンビョウイン"}
	bay := inst{code: "3200000002", pref: "32", hc: "3202", muni: "32202", name: "東京湾岸病院", kana: "トウキョウワンガンビョウイン"}
	other := inst{code: "3200000003", pref: "32", hc: "3202", muni: "32202", name: "中央センター病院", kana: "チュウオウセンタービョウイン"}
	addInstitutions(t, e, tokyo, bay, other)
	c := staff(t, e, other)
	for _, q := range []string{"とうきょう", "トウキョウ", "ﾄｳｷｮｳ", "東京", "とう きょう"} {
		got := codes(results(t, query(c, "q="+url.QueryEscape(q))))
		if want := []string{tokyo.code, bay.code}; !sameSet(got, want) {
			t.Errorf("q=%s found %v, want %v", q, got, want)
		}
	}
	for _, q := range []string{"ｾﾝﾀｰ", "せんた", "センタ", "ちゅうおう　せんたー"} {
		if got := codes(results(t, query(c, "q="+url.QueryEscape(q)))); len(got) != 1 || got[0] != other.code {
			t.Errorf("q=%s found %v, want %s", q, got, other.code)
		}
	}
	if got := codes(results(t, query(c, "municipality=32202"))); !sameSet(got, []string{bay.code, other.code}) {
		t.Errorf("municipality = %v", got)
	}
	if got := codes(results(t, query(c, "healthCenter=3201"))); !sameSet(got, []string{tokyo.code}) {
		t.Errorf("health centre = %v", got)
	}
	if got := codes(results(t, query(c, "sort=name"))); strings.Join(got, ",") != other.code+","+tokyo.code+","+bay.code {
		t.Errorf("sorted by kana = %v, want チュウオウ, トウキョウキ, トウキョウワ", got)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

func TestVisibility(t *testing.T) {
	e := shared.Env(t)
	a := inst{code: "3300000001", pref: "33", hc: "3301", name: "岡山A病院"}
	b := inst{code: "3300000002", pref: "33", hc: "3302", name: "岡山B病院"}
	addInstitutions(t, e, a, b)
	ca, cb := staff(t, e, a), staff(t, e, b)
	report(t, ca, a.code, today(), 0, 4)
	report(t, cb, b.code, today(), 0, 2)

	rs := results(t, query(cb, ""))
	if x := find(rs, a.code); x == nil || status(x)["covidAvailable"] != float64(4) || x["survey"] != nil {
		t.Errorf("B sees A as %v: want its accepting status without its survey", x)
	}
	if x := find(rs, b.code); x == nil || x["survey"] == nil {
		t.Errorf("B sees itself as %v: want its survey", x)
	}
	d := cb.Do("GET", "/search/hospitals/"+a.code, nil)
	if d.Status != 200 || d.JSON["survey"] != nil || d.JSON["name"] != a.name || status(d.JSON)["covidAvailable"] != float64(4) || strings.Contains(string(d.Body), "patients") {
		t.Errorf("B reads A's detail = %d %s", d.Status, d.Body)
	}
	days, _ := d.JSON["days"].([]any)
	if len(days) != 7 || days[0].(map[string]any)["date"] != today() || days[0].(map[string]any)["accepting"] != true || days[1].(map[string]any)["reported"] != false {
		t.Errorf("days = %v", days)
	}
	if d := ca.Do("GET", "/search/hospitals/"+a.code, nil); d.Status != 200 || d.JSON["survey"] == nil {
		t.Errorf("A reads its own detail = %d %s", d.Status, d.Body)
	}
	pref := admin(t, e, authz.PrefectureAdmin, "33", "")
	if x := find(results(t, query(pref, "")), a.code); x == nil || x["survey"] == nil {
		t.Errorf("the prefecture's administrator sees A as %v", x)
	}
	hc := admin(t, e, authz.HealthCenterAdmin, "33", "3302")
	rs = results(t, query(hc, ""))
	if x := find(rs, a.code); x == nil || x["survey"] != nil {
		t.Errorf("another health centre's administrator sees A as %v", x)
	}
	if x := find(rs, b.code); x == nil || x["survey"] == nil {
		t.Errorf("B's health centre's administrator sees B as %v", x)
	}
	elsewhere := admin(t, e, authz.PrefectureAdmin, "34", "")
	if x := find(results(t, query(elsewhere, "prefecture=33")), a.code); x == nil || x["survey"] != nil {
		t.Errorf("another prefecture's administrator sees A as %v", x)
	}
	if d := cb.Do("GET", "/search/hospitals/3300009999", nil); d.Status != 404 {
		t.Errorf("unknown code = %d %s", d.Status, d.Body)
	}
	if d := cb.Do("GET", "/search/hospitals/12", nil); d.Status != 400 || d.ErrorField() != "code" {
		t.Errorf("malformed code = %d %s", d.Status, d.Body)
	}
}

// TestNameSortPutsStaleLast: sorted by name, the current institutions
// come first in kana order, then the stale ones (an old report or none) in
// kana order.
func TestNameSortPutsStaleLast(t *testing.T) {
	e := shared.Env(t)
	old := inst{code: "3900000001", pref: "39", hc: "3901", name: "高知ア病院", kana: "コウチアビョウイン"}
	cur1 := inst{code: "3900000002", pref: "39", hc: "3901", name: "高知イ病院", kana: "コウチイビョウイン"}
	never := inst{code: "3900000003", pref: "39", hc: "3901", name: "高知ウ病院", kana: "コウチウビョウイン"}
	cur2 := inst{code: "3900000004", pref: "39", hc: "3901", name: "高知エ病院", kana: "コウチエビョウイン"}
	addInstitutions(t, e, old, cur1, never, cur2)
	report(t, staff(t, e, old), old.code, survey.AddDays(today(), -3), 0, 5)
	report(t, staff(t, e, cur1), cur1.code, today(), 0, 1)
	c := staff(t, e, cur2)
	report(t, c, cur2.code, survey.AddDays(today(), -2), 0, 0) // two days old: still current
	rs := results(t, query(c, "sort=name"))
	if got, want := strings.Join(codes(rs), ","), strings.Join([]string{cur1.code, cur2.code, old.code, never.code}, ","); got != want {
		t.Errorf("sorted by name = %s, want %s (イ, エ current; ア, ウ stale)", got, want)
	}
	var staleFlags []bool
	for _, r := range rs {
		staleFlags = append(staleFlags, r["stale"] == true)
	}
	if fmt.Sprint(staleFlags) != "[false false true true]" {
		t.Errorf("stale flags = %v", staleFlags)
	}
}

// TestPagingWhileSurveysAreWritten pages through a prefecture by name in
// pages of 7 while surveys are written between pages: one turns a stale
// institution that is still to come current, one turns current one that
// never reported, one corrects a current one. Every institution is seen
// exactly once, the stale ones after the current ones as they were at the
// first page; a new search then shows the new current ones first.
func TestPagingWhileSurveysAreWritten(t *testing.T) {
	e := shared.Env(t)
	var insts []inst
	kana := []string{"ア", "イ", "ウ", "エ", "オ", "カ", "キ", "ク", "ケ", "コ", "サ", "シ", "ス", "セ", "ソ", "タ", "チ", "ツ", "テ", "ト", "ナ", "ニ", "ヌ", "ネ", "ノ"}
	for i, k := range kana {
		insts = append(insts, inst{code: fmt.Sprintf("34000000%02d", i+1), pref: "34", hc: "3401", name: "広島病院" + k, kana: "ヒロシマビョウイン" + k})
	}
	addInstitutions(t, e, insts...)
	c := staff(t, e, insts[0])
	writer := map[int]*authtest.Client{0: c}
	for _, i := range []int{5, 8, 17, 20, 24} {
		writer[i] = staff(t, e, insts[i])
	}
	report(t, writer[5], insts[5].code, today(), 0, 4)
	report(t, writer[17], insts[17].code, today(), 0, 6)
	report(t, writer[8], insts[8].code, survey.AddDays(today(), -3), 0, 10)
	report(t, writer[20], insts[20].code, survey.AddDays(today(), -3), 0, 2)
	advance := func(code string) (prev, at string) {
		t.Helper()
		out, err := e.Stack.Endpoints.DynamoDBClient().GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String(e.Stack.FunctionEnv("SearchFunction")["SURVEYS_TABLE"]), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "inst#" + code}, "sk": &types.AttributeValueMemberS{Value: "status"}}})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := out.Item["prevDaily"].(*types.AttributeValueMemberS)
		a, _ := out.Item["dailyAdvancedAt"].(*types.AttributeValueMemberS)
		if p == nil || a == nil {
			t.Fatalf("status item of %s has no prevDaily or dailyAdvancedAt: %v", code, out.Item)
		}
		return p.Value, a.Value
	}
	_, kaAdvanced := advance(insts[5].code)
	between := []func(){
		// ト: stale with an old report, not yet seen, turns current.
		func() { report(t, writer[20], insts[20].code, today(), 0, 7) },
		// ノ: never reported, not yet seen, turns current; ア (seen) too.
		func() {
			report(t, writer[24], insts[24].code, today(), 0, 8)
			report(t, writer[0], insts[0].code, today(), 0, 1)
		},
		// カ: a current one corrects today's report.
		func() { report(t, writer[5], insts[5].code, today(), 1, 9) },
	}
	seen := map[string]int{}
	var order []string
	cursor, pages := "", 0
	for {
		q := "sort=name&limit=7"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := query(c, q)
		for _, code := range codes(results(t, r)) {
			seen[code]++
			order = append(order, code)
		}
		if pages < len(between) {
			between[pages]()
		}
		pages++
		cursor, _ = r.JSON["nextCursor"].(string)
		if cursor == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the cursor never ends")
		}
	}
	if len(seen) != len(insts) || pages != 4 {
		t.Errorf("%d pages saw %d institutions, want 4 pages and %d", pages, len(seen), len(insts))
	}
	for code, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", code, n)
		}
	}
	// As of the first page: カ and ツ current, then the others by kana.
	var want []string
	for _, i := range []int{5, 17} {
		want = append(want, insts[i].code)
	}
	for i, in := range insts {
		if i != 5 && i != 17 {
			want = append(want, in.code)
		}
	}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("by name while surveys were written = %v, want %v", order, want)
	}
	// The status items: ト's advance from its old report is kept; カ's
	// correction of today's report and a late report of an older day for
	// ト leave what the advances kept.
	report(t, writer[20], insts[20].code, survey.AddDays(today(), -1), 0, 3)
	if prev, at := advance(insts[20].code); prev != survey.AddDays(today(), -3) || at == "" {
		t.Errorf("ト: prevDaily %q, dailyAdvancedAt %q, want the report of 3 days ago and a time", prev, at)
	}
	if prev, at := advance(insts[5].code); prev != "" || at != kaAdvanced {
		t.Errorf("カ: prevDaily %q, dailyAdvancedAt %q, want none before its first report and %s (its first report)", prev, at, kaAdvanced)
	}

	// A new search: the five current ones (ア, カ, ツ, ト, ノ) first.
	got := codes(results(t, query(c, "sort=name&limit=6")))
	if want := []string{insts[0].code, insts[5].code, insts[17].code, insts[20].code, insts[24].code, insts[1].code}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("a new search by name = %v, want %v", got, want)
	}

	// By beds (the read model's order), pages of 4: every one once, the
	// current ones by beds, then the stale ones by the beds of their last
	// report.
	seen, cursor, order = map[string]int{}, "", nil
	for range 10 {
		q := "limit=4"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := query(c, q)
		for _, code := range codes(results(t, r)) {
			seen[code]++
			order = append(order, code)
		}
		if cursor, _ = r.JSON["nextCursor"].(string); cursor == "" {
			break
		}
		if len(order) == 4 {
			// ケ, stale and not yet seen, reports the most beds: as of the
			// first page it is still stale, so it is not missed among the
			// current ones already passed.
			report(t, writer[8], insts[8].code, today(), 0, 20)
		}
	}
	var head []string
	for _, i := range []int{5, 24, 20, 17, 0, 8} {
		head = append(head, insts[i].code)
	}
	if len(seen) != len(insts) || len(order) != len(insts) || strings.Join(order[:6], ",") != strings.Join(head, ",") {
		t.Errorf("by beds, pages of 4 = %v, want %v first", order, head)
	}
	r := query(c, "sort=name&limit=7")
	next := r.JSON["nextCursor"].(string)
	tampered := []byte(next)
	tampered[2] ^= 1
	for _, q := range []string{"sort=name&limit=7&cursor=" + url.QueryEscape(string(tampered)), "sort=beds&limit=7&cursor=" + url.QueryEscape(next), "cursor=junk"} {
		if r := query(c, q); r.Status != 400 || r.ErrorField() != "cursor" {
			t.Errorf("%s = %d %s, want 400 naming cursor", q, r.Status, r.Body)
		}
	}
	if r := query(c, "sort=name&limit=100&cursor="+url.QueryEscape(next)); r.Status != 200 {
		t.Errorf("another limit with the same cursor = %d %s", r.Status, r.Body)
	}
}

// TestFirstPageByBedsReadsAtMostTwoPages searches a prefecture of 600
// institutions (a seventh of those that reported are stale, a fifth never
// reported) by beds through the handler, counting DynamoDB calls: the first
// page is at most two Queries, and holds current institutions, most beds
// first; paging on reaches the stale ones after every current one.
func TestFirstPageByBedsReadsAtMostTwoPages(t *testing.T) {
	e := shared.Env(t)
	var calls atomic.Int64
	h, db := benchHandler(t, e, &calls)
	load(t, db, e.Stack.FunctionEnv("SearchFunction")["SURVEYS_TABLE"], "30", 0, 600)
	srv := httptest.NewServer(httpapi.New(h.routes(), httpapi.Config{}))
	defer srv.Close()
	c := &authtest.Client{T: t, Base: srv.URL, Cookie: staff(t, e, inst{code: "3000000001", pref: "30", hc: "3001"}).Cookie}
	for _, limit := range []int{1, 20, 100} {
		calls.Store(0)
		r := c.Do("GET", fmt.Sprintf("/search/hospitals?prefecture=30&limit=%d", limit), nil)
		rs := results(t, r)
		if n := calls.Load(); n > 2 {
			t.Errorf("limit %d: the first page by beds made %d DynamoDB calls, want at most 2", limit, n)
		}
		if len(rs) != limit || r.JSON["nextCursor"] == "" {
			t.Fatalf("limit %d: %d results, next %v", limit, len(rs), r.JSON["nextCursor"])
		}
		last := 1 << 30
		for _, x := range rs {
			b := int(status(x)["covidAvailable"].(float64))
			if x["stale"] != false || b > last {
				t.Fatalf("limit %d: %v after %d beds, want current ones, most beds first", limit, x, last)
			}
			last = b
		}
	}
	// Every one once, the stale ones after the current ones.
	seen, cursor, staleSeen := map[string]bool{}, "", false
	for range 20 {
		q := "/search/hospitals?prefecture=30&limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := c.Do("GET", q, nil)
		for _, x := range results(t, r) {
			code := x["code"].(string)
			if seen[code] {
				t.Errorf("%s twice", code)
			}
			seen[code] = true
			if x["stale"] == true {
				staleSeen = true
			} else if staleSeen {
				t.Errorf("%s is current and came after a stale one", code)
			}
		}
		if cursor, _ = r.JSON["nextCursor"].(string); cursor == "" {
			break
		}
	}
	if len(seen) != 600 {
		t.Errorf("paged through %d of 600", len(seen))
	}
	// accepting=true by beds, paged, finds what the whole prefecture's
	// read (a text every name matches) finds.
	pageAll := func(q string) []string {
		var out []string
		cursor := ""
		for range 20 {
			u := "/search/hospitals?prefecture=30&accepting=true&limit=50" + q
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			r := c.Do("GET", u, nil)
			for _, x := range results(t, r) {
				if x["accepting"] != true {
					t.Errorf("%s: %v is not accepting", q, x)
				}
				out = append(out, x["code"].(string))
			}
			if cursor, _ = r.JSON["nextCursor"].(string); cursor == "" {
				break
			}
		}
		return out
	}
	byBeds, whole := pageAll(""), pageAll("&q="+url.QueryEscape("ベンチ"))
	if len(byBeds) < 100 || strings.Join(byBeds, ",") != strings.Join(whole, ",") {
		t.Errorf("accepting by beds found %d, the whole prefecture %d (or in another order)", len(byBeds), len(whole))
	}
}

func TestDistance(t *testing.T) {
	e := shared.Env(t)
	station := inst{code: "3500000001", pref: "35", hc: "3501", name: "駅前病院", lat: "35.6812", lon: "139.7671"}
	west := inst{code: "3500000002", pref: "35", hc: "3501", name: "西口病院", lat: "35.6896", lon: "139.7006"}
	nowhere := inst{code: "3500000003", pref: "35", hc: "3501", name: "座標なし病院"}
	addInstitutions(t, e, station, west, nowhere)
	c := staff(t, e, station)
	rs := results(t, query(c, "near=35.69,139.70"))
	if got := strings.Join(codes(rs), ","); got != west.code+","+station.code+","+nowhere.code {
		t.Errorf("by distance = %s", got)
	}
	if d, _ := rs[0]["distanceKm"].(float64); d <= 0 || d > 1 {
		t.Errorf("distance of the nearest = %v", rs[0]["distanceKm"])
	}
	if rs[2]["noLocation"] != true {
		t.Errorf("without coordinates = %v", rs[2])
	}
	if got := codes(results(t, query(c, "near=35.69,139.70&withinKm=3"))); strings.Join(got, ",") != west.code {
		t.Errorf("within 3 km = %v", got)
	}
}

func TestMasterEditAndRebuild(t *testing.T) {
	e := shared.Env(t)
	a := inst{code: "3600000001", pref: "36", hc: "3601", name: "徳島旧名病院", kana: "トクシマキュウメイビョウイン"}
	addInstitutions(t, e, a)
	pref := admin(t, e, authz.PrefectureAdmin, "36", "")
	r := pref.Do("PUT", "/admin/institutions/"+a.code, map[string]any{"version": 1, "fields": map[string]string{"name": "徳島新名病院", "kana": "トクシマシンメイビョウイン",
		"category": "hospital", "prefectureCode": "36", "healthCenterCode": "3601", "latitude": "34.07", "longitude": "134.55"}})
	if r.Status != 200 {
		t.Fatalf("edit = %d %s", r.Status, r.Body)
	}
	rs := results(t, query(pref, "q="+url.QueryEscape("しんめい")))
	if len(rs) != 1 || rs[0]["name"] != "徳島新名病院" || rs[0]["latitude"] != 34.07 {
		t.Errorf("after the edit = %v", rs)
	}
	if r := pref.Do("PUT", "/admin/institutions/"+a.code, map[string]any{"version": 2, "fields": map[string]string{"name": "徳島新名病院",
		"category": "hospital", "prefectureCode": "36", "healthCenterCode": "3601", "latitude": "60", "longitude": "134.55"}}); r.Status != 400 || r.ErrorField() != "latitude" {
		t.Errorf("latitude outside Japan = %d %s", r.Status, r.Body)
	}
	// Recovery: the maintenance function writes a prefecture's entries
	// again from the masters.
	client := lambda.New(lambda.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(e.Stack.InvokeURL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	rebuild := func() string {
		t.Helper()
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("MaintenanceFunction"),
			Payload: []byte(`{"command": "rebuild-search", "prefecture": "36"}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("rebuild-search = %v %s", err, out.Payload)
		}
		return string(out.Payload)
	}
	if got := rebuild(); !strings.Contains(got, `"written":1`) || !strings.Contains(got, `"changed":0`) {
		t.Errorf("rebuild-search of an intact prefecture = %s, want 1 written and 0 changed", got)
	}
	// An entry that went astray is reported as changed.
	surveys := e.Stack.FunctionEnv("SearchFunction")["SURVEYS_TABLE"]
	if _, err := e.Stack.Endpoints.DynamoDBClient().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(surveys),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "inst#" + a.code}, "sk": &types.AttributeValueMemberS{Value: "status"}},
		UpdateExpression:          aws.String("SET searchPrefecture = :x"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: "99#0"}}}); err != nil {
		t.Fatal(err)
	}
	if got := rebuild(); !strings.Contains(got, `"changed":1`) || !strings.Contains(got, a.code) {
		t.Errorf("rebuild-search after an entry went astray = %s, want it changed and named", got)
	}
	if rs := results(t, query(pref, "q="+url.QueryEscape("しんめい"))); len(rs) != 1 {
		t.Errorf("after rebuild-search = %v", rs)
	}
}

// TestImportedInstitutionsAreFound imports a master CSV with coordinates
// as a job of the admin function: the institutions are in the next
// search, and a row with coordinates outside Japan is rejected naming the
// column.
func TestImportedInstitutionsAreFound(t *testing.T) {
	e := shared.Env(t)
	addInstitutions(t, e, inst{code: "3700000001", pref: "37", hc: "3701", name: "香川既存病院"})
	pref := admin(t, e, authz.PrefectureAdmin, "37", "")
	csv := "医療機関コード,名称,カナ,区分,都道府県コード,保健所コード,緯度,経度\r\n" +
		"3700000002,香川港病院,カガワミナトビョウイン,病院,37,3701,34.35,134.05\r\n" +
		"3700000003,香川海外病院,カガワカイガイビョウイン,病院,37,3701,48.85,2.35\r\n"
	id, done := importJob(t, pref, csv)
	counts, _ := done.JSON["counts"].(map[string]any)
	if counts["created"] != float64(1) || counts["rejected"] != float64(1) {
		t.Fatalf("import job = %s", done.Body)
	}
	rej := pref.Do("GET", "/admin/jobs/"+id+"/rejections.csv", nil)
	if rej.Status != 200 || !strings.Contains(string(rej.Body), "3,\"緯度は") || !strings.Contains(string(rej.Body), "経度は") {
		t.Errorf("rejections.csv = %d %s, want row 3 rejected for its latitude and longitude", rej.Status, rej.Body)
	}
	if got := fmt.Sprint(done.JSON["rejections"]); !strings.Contains(got, "G列（緯度）") || !strings.Contains(got, "H列（経度）") {
		t.Errorf("the job's rejections = %s, want G列（緯度） and H列（経度）", got)
	}
	rs := results(t, query(pref, "q="+url.QueryEscape("ﾐﾅﾄ")))
	if len(rs) != 1 || rs[0]["code"] != "3700000002" || rs[0]["latitude"] != 34.35 {
		t.Errorf("the imported institution = %v", rs)
	}
}

// importJob imports an institutions master CSV as a job of the admin
// function and waits until it is done; it returns the job's ID and view.
func importJob(t *testing.T, c *authtest.Client, csv string) (string, authtest.Response) {
	t.Helper()
	req, err := http.NewRequest("POST", c.Base+"/admin/jobs?type=master-import&kind=institutions", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Origin", c.Origin)
	req.AddCookie(&http.Cookie{Name: session.CookieName, Value: c.Cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ JobID string }
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != 202 || started.JobID == "" {
		t.Fatalf("start the import job = %d %+v", resp.StatusCode, started)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := c.Do("GET", "/admin/jobs/"+started.JobID, nil)
		if st := r.String("state"); st == "done" {
			return started.JobID, r
		} else if st == "failed" || time.Now().After(deadline) {
			t.Fatalf("the import job: %d %s", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestMaintenanceWindowClosesSearch(t *testing.T) {
	e := shared.Env(t)
	a := inst{code: "1310000901", pref: "13", hc: "1301"}
	addInstitutions(t, e, a)
	c := staff(t, e, a)
	nat := admin(t, e, authz.National, "", "")
	now := time.Now()
	r := nat.Do("POST", "/admin/maintenance-windows", map[string]any{"start": now.Add(-time.Minute), "end": now.Add(10 * time.Minute), "message": "検索システムの更新中です。"})
	if r.Status != 201 {
		t.Fatalf("create window = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	end := func() {
		if r := nat.Do("POST", "/admin/maintenance-windows/"+id+"/end", nil); r.Status != 204 {
			t.Errorf("end window = %d %s", r.Status, r.Body)
		}
		time.Sleep(1100 * time.Millisecond) // the functions' cache of windows
	}
	time.Sleep(1100 * time.Millisecond)
	for _, path := range []string{"/search/hospitals?prefecture=13", "/search/hospitals/" + a.code} {
		r := c.Do("GET", path, nil)
		if r.Status != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "検索システムの更新中です。") {
			t.Errorf("GET %s during maintenance = %d %s (Retry-After %q), want 503 with the message", path, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
	}
	end()
	if r := query(c, "prefecture=13"); r.Status != 200 {
		t.Errorf("search after the window = %d %s", r.Status, r.Body)
	}
}

// TestImportJobKeepsSearchCurrent imports institutions through a master
// import job (the jobs function): they are in the next search.
func TestImportJobKeepsSearchCurrent(t *testing.T) {
	e := shared.Env(t)
	addInstitutions(t, e, inst{code: "3800000001", pref: "38", hc: "3801", name: "愛媛既存病院"})
	pref := admin(t, e, authz.PrefectureAdmin, "38", "")
	csv := "医療機関コード,名称,カナ,区分,都道府県コード,保健所コード\r\n" +
		"3800000002,愛媛灯台病院,エヒメトウダイビョウイン,病院,38,3801\r\n"
	importJob(t, pref, csv)
	rs := results(t, query(pref, "q="+url.QueryEscape("とうだい")))
	if len(rs) != 1 || rs[0]["code"] != "3800000002" {
		t.Errorf("the institution the job imported = %v", rs)
	}
}
