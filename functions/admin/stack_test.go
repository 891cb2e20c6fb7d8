package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"golang.org/x/text/encoding/japanese"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// shared is one local stack of the project's template for this package's
// tests: every function as its own processes, DynamoDB Local and moto, real
// HTTP through the local API.
var shared = authtest.NewShared(map[string]string{"MaintenanceCacheSeconds": "1", "JobSliceSeconds": "2", "MailSendRate": "1000"})

var (
	mastersMu sync.Mutex
	mastersIn bool
)

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

func stackEnv(t *testing.T) *authtest.Env {
	t.Helper()
	return shared.Env(t)
}

func demoFile(t *testing.T, name string) []byte {
	t.Helper()
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "infra", "local", "demo", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// upload posts a file body and decodes a JSON answer.
func upload(t *testing.T, c *authtest.Client, path string, body []byte, header map[string]string) authtest.Response {
	t.Helper()
	req, err := http.NewRequest("POST", c.Base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Origin", c.Origin)
	req.AddCookie(&http.Cookie{Name: "__Host-gmis_session", Value: c.Cookie})
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	out := authtest.Response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
	_ = json.Unmarshal(out.Body, &out.JSON)
	return out
}

func national(t *testing.T, e *authtest.Env) *authtest.Client {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: authz.National})
	return e.LoginChanged(t, u, pw)
}

// importJob imports a master file as a job and waits for its end; an
// answer other than 202 (a file refused when the job is created) is
// returned as it is.
func importJob(t *testing.T, c *authtest.Client, kind string, data []byte) authtest.Response {
	t.Helper()
	r := upload(t, c, "/admin/jobs?type=master-import&kind="+kind, data, nil)
	if r.Status != 202 {
		return r
	}
	got, _ := waitJob(t, c, r.String("jobId"))
	return got
}

// issueJob sends an application form as an issuance job and waits for
// its end; an answer other than 202 is returned as it is.
func issueJob(t *testing.T, c *authtest.Client, data []byte) authtest.Response {
	t.Helper()
	r := upload(t, c, "/admin/jobs?type=issuance", data, nil)
	if r.Status != 202 {
		return r
	}
	got, _ := waitJob(t, c, r.String("jobId"))
	return got
}

// rejections lists the problems of an import job's rejected rows, as the
// job's view gives them, as "row:column"; the rejections file must list
// the same rows, each as wide as its header.
func rejections(t *testing.T, c *authtest.Client, job authtest.Response) []string {
	t.Helper()
	r := c.Do("GET", "/admin/jobs/"+job.String("id")+"/rejections.csv", nil)
	if r.Status != 200 {
		t.Fatalf("rejections.csv = %d %s", r.Status, r.Body)
	}
	rows, _, err := csvio.Read(r.Body, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var inFile []string
	for _, row := range rows[1:] {
		if len(row.Fields) != len(rows[0].Fields) {
			t.Errorf("rejections.csv row %q has %d cells, its header %d", row.Fields, len(row.Fields), len(rows[0].Fields))
		}
		inFile = append(inFile, row.Field(0))
	}
	listed, _ := job.JSON["rejections"].([]any)
	var out, inView []string
	for _, p := range listed {
		p, _ := p.(map[string]any)
		row := fmt.Sprint(p["row"])
		out = append(out, row+":"+fmt.Sprint(p["column"]))
		if len(inView) == 0 || inView[len(inView)-1] != row {
			inView = append(inView, row)
		}
	}
	if strings.Join(inFile, " ") != strings.Join(inView, " ") {
		t.Errorf("rows in rejections.csv %v, in the job's view %v", inFile, inView)
	}
	return out
}

// problemsOf lists the problems of a failed issuance job as "row column".
func problemsOf(r authtest.Response) []string {
	problems, _ := r.JSON["problems"].([]any)
	var out []string
	for _, p := range problems {
		m := p.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v", m["row"], strings.SplitN(toString(m["column"]), "列", 2)[0]))
	}
	return out
}

// loadMasters imports the demo masters once for the package.
func loadMasters(t *testing.T, e *authtest.Env, c *authtest.Client) {
	t.Helper()
	mastersMu.Lock()
	defer mastersMu.Unlock()
	if mastersIn {
		return
	}
	for _, kind := range []string{"prefectures", "health-centers", "institutions", "sentinels"} {
		if r := importJob(t, c, kind, demoFile(t, kind+".csv")); r.String("state") != "done" || !strings.HasSuffix(jobCounts(r), "rejected 0") {
			t.Fatalf("import %s = %d %s", kind, r.Status, r.Body)
		}
	}
	mastersIn = true
}

func TestDemoMasterImportIsIdempotent(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	want := map[string]string{"prefectures": "47", "health-centers": "7", "institutions": "35", "sentinels": "3"}
	for _, kind := range []string{"prefectures", "health-centers", "institutions", "sentinels"} {
		r := importJob(t, c, kind, demoFile(t, kind+".csv"))
		if got := jobCounts(r); r.String("state") != "done" || got != "created 0 updated 0 unchanged "+want[kind]+" rejected 0" {
			t.Errorf("second import of %s = %s %s", kind, r.String("state"), got)
		}
	}
}

func TestCP932AndUTF8BOMImportTheSameData(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	// Full-width digits and a half-width-kana name, as Excel users type them.
	text := "医療機関コード,名称,カナ,郵便番号,住所,電話番号,許可病床数,保険医療機関コード,区分,都道府県コード,市区町村コード,保健所コード\r\n" +
		"１３９８０００００１,わかば病院,ﾜｶﾊﾞﾋﾞｮｳｲﾝ,１６０－０００１,東京都みどり区わかば1-1,０３－１２３４－５６７８,５０,1398000,病院,13,13104,1301\r\n" +
		"\"1398000002\",\"わかば診療所, 分院\",ワカバシンリョウジョ,160-0002,\"東京都みどり区わかば\"\"2\"\"\",03-1234-5679,0,,診療所,13,,1301\r\n"
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := importJob(t, c, "institutions", sjis)
	if r.String("state") != "done" || r.JSON["params"].(map[string]any)["encoding"] != "cp932" || jobCounts(r) != "created 2 updated 0 unchanged 0 rejected 0" {
		t.Fatalf("CP932 import = %d %s", r.Status, r.Body)
	}
	first := c.Do("GET", "/admin/masters/institutions/1398000001", nil)
	second := c.Do("GET", "/admin/masters/institutions/1398000002", nil)

	bom := append([]byte{0xEF, 0xBB, 0xBF}, text...)
	r = importJob(t, c, "institutions", bom)
	if r.String("state") != "done" || r.JSON["params"].(map[string]any)["encoding"] != "utf-8-bom" || jobCounts(r) != "created 0 updated 0 unchanged 2 rejected 0" {
		t.Fatalf("UTF-8 BOM import of the same content = %d %s, want everything unchanged", r.Status, r.Body)
	}
	if again := c.Do("GET", "/admin/masters/institutions/1398000001", nil); !bytes.Equal(again.Body, first.Body) {
		t.Errorf("record differs after the UTF-8 import:\n%s\n%s", first.Body, again.Body)
	}
	fields, _ := first.JSON["fields"].(map[string]any)
	if fields["name"] != "わかば病院" || fields["kana"] != "ワカバビョウイン" || fields["postalCode"] != "160-0001" || fields["phone"] != "0312345678" || fields["permittedBeds"] != "50" || fields["category"] != "hospital" {
		t.Errorf("normalised fields = %v", fields)
	}
	if f2, _ := second.JSON["fields"].(map[string]any); f2["name"] != "わかば診療所, 分院" || f2["address"] != `東京都みどり区わかば"2"` {
		t.Errorf("quoted fields = %v", f2)
	}
}

func TestMasterRowsRejectedOneByOne(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	csv := "保健所コード,保健所名,都道府県コード,中核市コード\n" +
		"1390,ゆうやけ保健所,13,\n" + // good
		"12,みじかい保健所,13,\n" + // code too short
		"1391,みしょう保健所,48,\n" + // no such prefecture
		"1392,①保健所,13,\n" + // machine-dependent character
		"1390,にじゅう保健所,13,\n" // duplicate code in the file
	r := importJob(t, c, "health-centers", []byte(csv))
	if r.String("state") != "done" || jobCounts(r) != "created 1 updated 0 unchanged 0 rejected 4" {
		t.Fatalf("import = %d %s", r.Status, r.Body)
	}
	// Named by the file's own column letter and Japanese header.
	if got := rejections(t, c, r); strings.Join(got, " ") != "3:A列（保健所コード） 4:C列（都道府県コード） 5:B列（保健所名） 6:A列（保健所コード）" {
		t.Errorf("rejections = %v", got)
	}
	if r := upload(t, c, "/admin/jobs?type=master-import&kind=health-centers", []byte("保健所コード,名前\n1,a\n"), nil); r.Status != 400 || r.ErrorField() != "file" {
		t.Errorf("unknown header = %d %s, want 400", r.Status, r.Body)
	}
}

func TestAddAndEditInstitution(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	fields := map[string]string{"name": "あたらし病院", "category": "hospital", "prefectureCode": "13", "healthCenterCode": "1302", "permittedBeds": "30"}
	r := c.Do("POST", "/admin/institutions", map[string]any{"fields": fields})
	code := r.String("code")
	if r.Status != 201 || !strings.HasPrefix(code, "139") || len(code) != 10 {
		t.Fatalf("add = %d %s, want a new 139xxxxxxx code", r.Status, r.Body)
	}
	if r2 := c.Do("POST", "/admin/institutions", map[string]any{"fields": fields}); r2.String("code") == code {
		t.Errorf("two additions got the same code %s", code)
	}
	fields["permittedBeds"] = "40"
	if r := c.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 1, "fields": fields}); r.Status != 200 || r.JSON["version"] != float64(2) {
		t.Fatalf("edit = %d %s", r.Status, r.Body)
	}
	if r := c.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 1, "fields": fields}); r.Status != 409 {
		t.Errorf("edit of a stale version = %d, want 409", r.Status)
	}
	h := c.Do("GET", "/admin/masters/institutions/"+code+"/history", nil)
	versions, _ := h.JSON["versions"].([]any)
	if h.Status != 200 || len(versions) != 1 || versions[0].(map[string]any)["fields"].(map[string]any)["permittedBeds"] != "30" {
		t.Errorf("history = %d %s", h.Status, h.Body)
	}
	fields["healthCenterCode"] = "2701"
	if r := c.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 2, "fields": fields}); r.Status != 400 || r.ErrorField() != "healthCenterCode" {
		t.Errorf("health centre of another prefecture = %d %s", r.Status, r.Body)
	}
}

func person(i int, inst string) map[string]string {
	hc := "1301"
	if strings.HasPrefix(inst, "133") {
		hc = "1303"
	}
	return map[string]string{
		"A": fmt.Sprint(i), "B": fmt.Sprintf("申請 太郎%d-%d", i, time.Now().UnixNano()%100000), "C": "03-5555-0001",
		"D": fmt.Sprintf("applicant%d-%d@hospital.example.jp", i, time.Now().UnixNano()), "E": "09",
		"K": hc, "AG": "0", "AJ": inst, "AN": "1",
	}
}

func withMail(p map[string]string) map[string]string { p["AM"] = p["D"]; return p }

func usersOf(t *testing.T, e *authtest.Env, inst string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		users, next, err := e.Store.ListUsers(context.Background(), "institution", inst, 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		n += len(users)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// passwordItems counts the sealed initial passwords an issuance job keeps
// in the jobs table, read from DynamoDB Local itself.
func passwordItems(t *testing.T, e *authtest.Env, id string) int {
	t.Helper()
	out, err := e.Stack.Endpoints.DynamoDBClient().Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(e.Stack.FunctionEnv("JobsFunction")["JOBS_TABLE"]), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :pw)"), Select: types.SelectCount,
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "job#" + id},
			":pw": &types.AttributeValueMemberS{Value: "pw#"}}})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

// expirePassword moves the expiry of one kept initial password (the row
// of line) into the past, as if 7 days had gone by; DynamoDB's TTL
// deletes such an item late, so readers must check it themselves.
func expirePassword(t *testing.T, e *authtest.Env, id string, line int) {
	t.Helper()
	_, err := e.Stack.Endpoints.DynamoDBClient().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(e.Stack.FunctionEnv("JobsFunction")["JOBS_TABLE"]),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "job#" + id},
			"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("pw#%07d", line)}},
		UpdateExpression:    aws.String("SET expiresAt = :past"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":past": &types.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(-time.Minute).Unix())}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBulkIssuanceOf200Accounts(t *testing.T) {
	e := stackEnv(t)
	loadMasters(t, e, national(t, e))
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	c := e.LoginChanged(t, admin, pw)
	const inst = "1310000003"
	before := usersOf(t, e, inst)

	var rows []map[string]string
	for i := range 200 {
		rows = append(rows, withMail(person(i+1, inst)))
	}
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(authtest.ApplicationForm("", rows)))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := issueJob(t, c, sjis)
	if r.String("state") != "done" || jobCounts(r) != "created 200 updated <nil> unchanged <nil> rejected <nil>" {
		t.Fatalf("issuance job = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	t.Logf("200 accounts in %s", time.Since(start).Round(time.Millisecond))
	if n := passwordItems(t, e, id); n != 200 {
		t.Errorf("%d sealed passwords kept, want 200: one item per account", n)
	}
	dl := c.Do("GET", "/admin/jobs/"+id+"/accounts.csv", nil)
	if !bytes.HasPrefix(dl.Body, []byte{0xEF, 0xBB, 0xBF}) || !bytes.Contains(dl.Body, []byte("\r\n")) || !strings.HasPrefix(dl.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("the result is not an Excel CSV (BOM, CRLF, text/csv)")
	}
	out, _, err := csvio.Read(dl.Body, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 201 || out[0].Field(0) != "利用者ID" || out[0].Field(3) != "初期パスワード" {
		t.Fatalf("result has %d rows; header %v", len(out), out[0].Fields)
	}
	if got := usersOf(t, e, inst) - before; got != 200 {
		t.Fatalf("%d accounts created, want 200", got)
	}

	// Initial passwords log in, and the first login must change them.
	for _, i := range []int{1, 100, 200} {
		row := out[i]
		u, err := e.Store.GetUser(context.Background(), row.Field(0))
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != row.Field(1) || u.Role != authz.InstitutionUser || u.InstitutionCode != inst || u.PrefectureCode != "13" {
			t.Errorf("account %s = %+v", row.Field(0), u)
		}
		uc := e.Login(t, u, row.Field(3))
		if me := uc.Do("GET", "/auth/me", nil); me.JSON["mustChangePassword"] != true {
			t.Errorf("first login of %s does not force a change: %s", u.ID, me.Body)
		}
	}

	// Seven days pass for the last row's password (line 201) before its
	// mail: it is not sent, and no download shows it.
	expirePassword(t, e, id, 201)
	n := c.Do("POST", "/admin/jobs", map[string]string{"type": "notify", "issuance": id})
	sent, _ := waitJob(t, c, n.String("jobId"))
	if cs, _ := sent.JSON["counts"].(map[string]any); sent.String("state") != "done" || cs["sent"] != float64(199) || cs["passwordExpired"] != float64(1) {
		t.Fatalf("notify job = %d %.400s", n.Status, sent.Body)
	}
	for _, i := range []int{1, 199} {
		mails := e.Moto.Mails(out[i].Field(2))
		if len(mails) == 0 {
			t.Fatalf("no notice mail to %s", out[i].Field(2))
		}
		notice := mails[len(mails)-1]
		if !strings.Contains(notice, out[i].Field(0)) || !strings.Contains(notice, out[i].Field(3)) || !strings.Contains(notice, "http://127.0.0.1:3000/") {
			t.Errorf("notice mail lacks ID, initial password or URL:\n%s", notice)
		}
	}
	if got := e.Moto.MailsBySubject("アカウント発行のお知らせ")[strings.ToLower(out[200].Field(2))]; got != 0 {
		t.Errorf("%d notice mails with an expired password, want none", got)
	}
	// Mailed: those passwords are deleted; the expired one is left to the
	// TTL until a download finds it.
	if n := passwordItems(t, e, id); n != 1 {
		t.Errorf("%d sealed passwords kept after the notice, want only the expired one", n)
	}
	dl = c.Do("GET", "/admin/jobs/"+id+"/accounts.csv", nil)
	again, _, _ := csvio.Read(dl.Body, 1<<20)
	if len(again) != 201 || again[1].Field(0) != out[1].Field(0) || !strings.HasPrefix(again[1].Field(3), "（通知メール送信済み") ||
		again[200].Field(0) != out[200].Field(0) || !strings.Contains(again[200].Field(3), "7日を過ぎた") {
		t.Errorf("accounts.csv after the notice: %d rows, row 1 %q, row 200 %q", len(again), again[1].Fields, again[200].Fields)
	}
	if n := passwordItems(t, e, id); n != 0 {
		t.Errorf("%d sealed passwords kept after the second download, want none", n)
	}
	if bytes.Contains(dl.Body, []byte(out[1].Field(3))) || bytes.Contains(dl.Body, []byte(out[200].Field(3))) {
		t.Errorf("a deleted password is still served")
	}

	// A second notice job sends nothing again.
	n2 := c.Do("POST", "/admin/jobs", map[string]string{"type": "notify", "issuance": id})
	second, _ := waitJob(t, c, n2.String("jobId"))
	if cs, _ := second.JSON["counts"].(map[string]any); cs["sent"] != nil || cs["alreadySent"] != float64(199) || len(e.Moto.Mails(out[1].Field(2))) != 2 {
		// 2 mails: the code of the login above and one notice, not two notices.
		t.Errorf("a second notify: %.300s (mails %d)", second.Body, len(e.Moto.Mails(out[1].Field(2))))
	}
}

func TestFormErrorsAreAllNamedAndNothingIsCreated(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	const inst = "1310000004"
	before := usersOf(t, e, inst)
	good := withMail(person(1, inst))
	badName := withMail(person(2, inst))
	badName["B"] = "髙橋 ①郎"
	badPhone := withMail(person(3, inst))
	badPhone["C"] = "+1 415 555 0100"
	badMailAndMethod := person(4, inst)
	badMailAndMethod["D"] = "not-a-mail"
	badMailAndMethod["AN"] = "4"
	unknownInst := withMail(person(5, "1319999999"))
	wrongHC := withMail(person(6, inst))
	wrongHC["K"] = "1302"
	smsToLandline := withMail(person(7, inst))
	smsToLandline["AN"], smsToLandline["AL"] = "2", "03-1111-2222"
	dup := withMail(person(8, inst))
	dup["D"], dup["AM"] = good["D"], good["D"]
	vetAs09 := withMail(person(9, "1320000002")) // さくら市こもれび動物病院 is a veterinary facility
	vetAs09["K"] = "1302"
	rows := []map[string]string{good, badName, badPhone, badMailAndMethod, unknownInst, wrongHC, smsToLandline, dup, vetAs09}

	r := issueJob(t, c, []byte(authtest.ApplicationForm("", rows)))
	if r.String("state") != "failed" {
		t.Fatalf("issuance job = %d %s", r.Status, r.Body)
	}
	got := problemsOf(r)
	want := []string{"3 B", "4 C", "5 D", "5 AN", "6 AJ", "7 K", "8 AL", "9 D", "10 AJ"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("problems (row column) = %v\nwant %v\n%s", got, want, r.Body)
	}
	if n := usersOf(t, e, inst) - before; n != 0 {
		t.Errorf("%d accounts created by a form with errors", n)
	}
}

func TestAdminOfAnotherPrefectureCannotIssue(t *testing.T) {
	e := stackEnv(t)
	loadMasters(t, e, national(t, e))
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "27"})
	c := e.LoginChanged(t, admin, pw)
	const inst = "1310000005"
	before := usersOf(t, e, inst)
	r := issueJob(t, c, []byte(authtest.ApplicationForm("", []map[string]string{withMail(person(1, inst))})))
	if r.String("state") != "failed" || !strings.Contains(string(r.Body), "管轄外") {
		t.Errorf("upload for prefecture 13 by a prefecture-27 admin = %d %s", r.Status, r.Body)
	}
	if n := usersOf(t, e, inst) - before; n != 0 {
		t.Errorf("%d accounts created outside the jurisdiction", n)
	}
	// Its own prefecture's 10 rows go through; the other 25 are refused.
	if r := importJob(t, c, "institutions", demoFile(t, "institutions.csv")); jobCounts(r) != "created 0 updated 0 unchanged 10 rejected 25" {
		t.Errorf("prefecture-27 admin importing every prefecture's institutions: %s", jobCounts(r))
	}
	if r := c.Do("GET", "/admin/users?prefectureCode=13", nil); r.Status != 403 {
		t.Errorf("listing prefecture 13's accounts = %d, want 403", r.Status)
	}
}

func TestAccountStopResumeDeleteAndList(t *testing.T) {
	e := stackEnv(t)
	loadMasters(t, e, national(t, e)) // a listing's jurisdiction comes from the masters
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	c := e.LoginChanged(t, admin, pw)
	u, upw := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "1310000006", PrefectureCode: "13", HealthCenterCode: "1301"})
	uc := e.LoginChanged(t, u, upw)
	if r := c.Do("POST", "/admin/users/"+u.ID+"/stop", nil); r.Status != 200 || r.String("status") != "stopped" {
		t.Fatalf("stop = %d %s", r.Status, r.Body)
	}
	if r := uc.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("session of a stopped account = %d", r.Status)
	}
	if r := c.Do("POST", "/admin/users/"+u.ID+"/resume", nil); r.Status != 200 || r.String("status") != "active" {
		t.Errorf("resume = %d %s", r.Status, r.Body)
	}
	l := c.Do("GET", "/admin/users?institutionCode=1310000006&limit=1", nil)
	users, _ := l.JSON["users"].([]any)
	if l.Status != 200 || len(users) != 1 || strings.Contains(string(l.Body), "passwordHash") {
		t.Errorf("list = %d %s", l.Status, l.Body)
	}
	if r := c.Do("DELETE", "/admin/users/"+u.ID, nil); r.Status != 204 {
		t.Errorf("delete = %d %s", r.Status, r.Body)
	}
	if _, err := e.Store.GetUser(context.Background(), u.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("deleted account still there: %v", err)
	}
	if r := c.Do("POST", "/admin/users/"+u.ID+"/bogus", nil); r.Status != 403 && r.Status != 404 {
		t.Errorf("unknown action = %d", r.Status)
	}
}

func TestMaintenanceWindowClosesAllButHealth(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	anon := e.Client(t)
	now := time.Now()
	r := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": now.Add(-time.Minute), "end": now.Add(10 * time.Minute), "message": "定期メンテナンス中です。"})
	if r.Status != 201 {
		t.Fatalf("create window = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	time.Sleep(1100 * time.Millisecond) // the functions' cache of windows
	login := anon.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER9", "password": "x"})
	if login.Status != 503 || login.Header.Get("Retry-After") == "" || !strings.Contains(string(login.Body), "定期メンテナンス中です。") {
		t.Errorf("login during maintenance = %d %s (Retry-After %q)", login.Status, login.Body, login.Header.Get("Retry-After"))
	}
	if r := c.Do("GET", "/admin/users?prefectureCode=13", nil); r.Status != 503 {
		t.Errorf("admin route during maintenance = %d, want 503", r.Status)
	}
	if r := anon.Do("GET", "/health", nil); r.Status != 200 {
		t.Errorf("health during maintenance = %d, want 200", r.Status)
	}
	if r := c.Do("POST", "/admin/maintenance-windows/"+id+"/end", nil); r.Status != 204 {
		t.Fatalf("end window = %d %s", r.Status, r.Body)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := anon.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER9", "password": "x"}); r.Status != 401 {
		t.Errorf("login after the window = %d, want 401 (service restored)", r.Status)
	}
	me := c.Do("GET", "/auth/me", nil)
	events, err := e.Audit.ByUser(context.Background(), me.String("userId"), now.Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, ev := range events {
		if strings.HasPrefix(ev.Action, "maintenance_") && ev.Detail["window"] == id {
			audited = append(audited, ev.Action)
		}
	}
	if strings.Join(audited, ",") != "maintenance_scheduled,maintenance_ended" {
		t.Errorf("audit of the window = %v", audited)
	}
	if r := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": now, "end": now.Add(-time.Minute)}); r.Status != 400 || r.ErrorField() != "end" {
		t.Errorf("window ending before it starts = %d %s", r.Status, r.Body)
	}
	u, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	if r := e.LoginChanged(t, u, pw).Do("POST", "/admin/maintenance-windows", map[string]any{"start": now, "end": now.Add(time.Hour)}); r.Status != 403 {
		t.Errorf("a prefecture admin scheduling maintenance = %d, want 403", r.Status)
	}
}

// TestMaintenanceFunctionCommands runs every sample event in
// events/maintenance through the Lambda Invoke API with the AWS SDK, as
// `aws lambda invoke` does.
func TestMaintenanceFunctionCommands(t *testing.T) {
	e := stackEnv(t)
	loadMasters(t, e, national(t, e))
	locked, _ := e.Account(t, auth.NewAccount{ID: "EVENTUSER23"})
	for range 100 {
		if _, err := e.Store.RecordFailure(context.Background(), locked.ID, time.Now(), 100); err != nil {
			t.Fatal(err)
		}
	}
	client := lambda.New(lambda.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(e.Stack.InvokeURL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	root, _ := services.RepoRoot(".")
	invoke := func(name string) (map[string]any, string) {
		t.Helper()
		payload, err := os.ReadFile(filepath.Join(root, "events", "maintenance", name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("MaintenanceFunction"), Payload: payload})
		if err != nil {
			t.Fatalf("invoke %s: %v", name, err)
		}
		var body map[string]any
		_ = json.Unmarshal(out.Payload, &body)
		return body, aws.ToString(out.FunctionError)
	}
	for _, tc := range []struct {
		event string
		check func(map[string]any) error
	}{
		{"import-master.json", func(b map[string]any) error {
			if b["result"].(map[string]any)["created"] != float64(1) {
				return errors.New("did not create the health centre")
			}
			return nil
		}},
		{"schedule-window.json", func(b map[string]any) error {
			if b["result"].(map[string]any)["id"] != "20990101T0100-op2860b7" {
				return errors.New("unexpected window ID")
			}
			return nil
		}},
		{"list-windows.json", func(b map[string]any) error {
			if !strings.Contains(fmt.Sprint(b["result"]), "20990101T0100-op2860b7") {
				return errors.New("the scheduled window is not listed")
			}
			return nil
		}},
		{"end-window.json", func(map[string]any) error { return nil }},
		{"unlock-user.json", func(map[string]any) error {
			u, err := e.Store.GetUser(context.Background(), "EVENTUSER23")
			if err != nil || u.Locked || u.FailedAttempts != 0 {
				return fmt.Errorf("still locked: %+v %v", u, err)
			}
			return nil
		}},
		{"table-counts.json", func(b map[string]any) error {
			tables := b["result"].(map[string]any)["tables"].(map[string]any)
			if tables["gmis-local-masters"].(float64) < 92 || len(tables) != 6 {
				return fmt.Errorf("counts %v", tables)
			}
			return nil
		}},
	} {
		t.Run(tc.event, func(t *testing.T) {
			body, fnErr := invoke(tc.event)
			if fnErr != "" {
				t.Fatalf("function error: %v", body)
			}
			if err := tc.check(body); err != nil {
				t.Errorf("%v: %v", err, body)
			}
		})
	}
	t.Run("unknown-command.json", func(t *testing.T) {
		body, fnErr := invoke("unknown-command.json")
		if fnErr != "Unhandled" || !strings.Contains(fmt.Sprint(body["errorMessage"]), `unknown command "reboot-everything"`) {
			t.Errorf("unknown command = %q %v", fnErr, body)
		}
	})
}

// TestSampleHTTPEvents decodes every HTTP sample event in events/, checks
// that it survives a round trip through the event type, and runs it
// through its function via the Invoke API.
func TestSampleHTTPEvents(t *testing.T) {
	e := stackEnv(t)
	root, _ := services.RepoRoot(".")
	client := lambda.New(lambda.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(e.Stack.InvokeURL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	want := map[string]int{
		"auth/post-login.json":                 401,
		"auth/get-me-without-session.json":     401,
		"admin/get-users-without-session.json": 401,
		"admin/post-jobs-without-session.json": 401,
		"admin/get-maintenance-notices.json":   200,
		"health/get-health.json":               200,
	}
	functions := map[string]string{"auth": "AuthFunction", "admin": "AdminFunction", "health": "HealthFunction"}
	for dir, fn := range functions {
		files, _ := filepath.Glob(filepath.Join(root, "events", dir, "*.json"))
		for _, file := range files {
			name := dir + "/" + filepath.Base(file)
			t.Run(name, func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				var ev events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal(data, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Version != "2.0" || ev.RouteKey == "" || ev.RouteKey != ev.RequestContext.RouteKey || ev.RequestContext.RequestID == "" {
					t.Fatalf("%s is not a complete payload 2.0 event", name)
				}
				again, _ := json.Marshal(ev)
				var a, b any
				_ = json.Unmarshal(data, &a)
				_ = json.Unmarshal(again, &b)
				if fmt.Sprint(stripEmpty(a)) != fmt.Sprint(stripEmpty(b)) {
					t.Errorf("%s has fields the event type does not know:\n%s\n%s", name, data, again)
				}
				out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: data})
				if err != nil || out.FunctionError != nil {
					t.Fatalf("invoke %s: %v %s", fn, err, out.Payload)
				}
				var resp events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out.Payload, &resp); err != nil {
					t.Fatal(err)
				}
				code, ok := want[name]
				if !ok {
					t.Fatalf("no expected status for %s; add it to this test", name)
				}
				if resp.StatusCode != code {
					t.Errorf("%s = %d %s, want %d", name, resp.StatusCode, resp.Body, code)
				}
			})
		}
	}
}

// stripEmpty drops empty values, which the event type omits or adds.
func stripEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			val = stripEmpty(val)
			if val == nil || val == "" || val == false || val == float64(0) {
				continue
			}
			if m, ok := val.(map[string]any); ok && len(m) == 0 {
				continue
			}
			out[k] = val
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = stripEmpty(x[i])
		}
		return out
	}
	return v
}

func TestJurisdictionOfMastersAndAccounts(t *testing.T) {
	e := stackEnv(t)
	loadMasters(t, e, national(t, e))
	pref13, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	c := e.LoginChanged(t, pref13, pw)

	// Naming its own prefecture in the row does not let an admin take over
	// an Osaka record.
	csv := "医療機関コード,名称,区分,都道府県コード,保健所コード\n2710000001,のっとり病院,hospital,13,1301\n"
	if r := importJob(t, c, "institutions", []byte(csv)); jobCounts(r) != "created 0 updated 0 unchanged 0 rejected 1" {
		t.Errorf("overwriting another prefecture's record: %s", jobCounts(r))
	}
	if r := c.Do("GET", "/admin/masters/institutions/2710000001", nil); r.Status != 403 {
		t.Errorf("reading another prefecture's record = %d, want 403", r.Status)
	}
	u, upw := e.Account(t, auth.NewAccount{})
	if r := e.LoginChanged(t, u, upw).Do("GET", "/admin/masters/institutions/1310000001", nil); r.Status != 403 {
		t.Errorf("an institution user reading the admin master API = %d, want 403", r.Status)
	}

	// Administrators manage accounts below their role, never peers or themselves.
	peer, _ := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	for _, target := range []string{peer.ID, pref13.ID} {
		if r := c.Do("POST", "/admin/users/"+target+"/stop", nil); r.Status != 403 {
			t.Errorf("prefecture admin stopping %s = %d, want 403", target, r.Status)
		}
		if r := c.Do("DELETE", "/admin/users/"+target, nil); r.Status != 403 {
			t.Errorf("prefecture admin deleting %s = %d, want 403", target, r.Status)
		}
	}
	if r := c.Do("GET", "/admin/users?prefectureCode=13&cursor=eyJ1c2VySWQiOiJ4IiwicHJlZmVjdHVyZUNvZGUiOiIyNyJ9", nil); r.Status != 400 || r.ErrorField() != "cursor" {
		t.Errorf("a cursor of another listing = %d %s, want 400", r.Status, r.Body)
	}
}
