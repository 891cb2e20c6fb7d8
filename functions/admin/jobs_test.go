package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// waitJob polls a job until it is finished and returns its last view; it
// also reports whether progress short of the end was ever seen.
func waitJob(t *testing.T, c *authtest.Client, id string) (authtest.Response, bool) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	partial := false
	for {
		r := c.Do("GET", "/admin/jobs/"+id, nil)
		if r.Status != 200 {
			t.Fatalf("GET job %s = %d %s", id, r.Status, r.Body)
		}
		done, _ := r.JSON["rowsDone"].(float64)
		total, _ := r.JSON["rowsTotal"].(float64)
		if done > 0 && done < total {
			partial = true
		}
		switch r.String("state") {
		case "done", "failed":
			return r, partial
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not finished: %s", id, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jobCounts(r authtest.Response) string {
	c, _ := r.JSON["counts"].(map[string]any)
	return fmt.Sprintf("created %v updated %v unchanged %v rejected %v", c["created"], c["updated"], c["unchanged"], c["rejected"])
}

// institutionsCSV is a master of n institutions of health centre 1301.
func institutionsCSV(n, from int) []byte {
	var b bytes.Buffer
	b.WriteString("医療機関コード,名称,カナ,郵便番号,住所,電話番号,許可病床数,保険医療機関コード,区分,都道府県コード,市区町村コード,保健所コード\r\n")
	for i := range n {
		fmt.Fprintf(&b, "13%08d,テスト病院%d,テストビョウイン,101-1001,東京都みどり区1丁目%d,03-5555-1001,20,0000001,clinic,13,13101,1301\r\n", from+i, i, i)
	}
	return b.Bytes()
}

// presignedUpload gets an upload URL, PUTs the file there as a browser
// would, and returns the upload ID.
func presignedUpload(t *testing.T, c *authtest.Client, data []byte) string {
	t.Helper()
	r := c.Do("POST", "/admin/uploads", nil)
	if r.Status != 201 {
		t.Fatalf("POST /admin/uploads = %d %s", r.Status, r.Body)
	}
	req, err := http.NewRequest("PUT", r.String("url"), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL = %d", resp.StatusCode)
	}
	return r.String("uploadId")
}

func TestMasterImportJobOf10000Institutions(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	data := institutionsCSV(10000, 50000000)

	r := upload(t, c, "/admin/jobs?type=master-import&kind=institutions", data, nil)
	if r.Status != 202 || r.String("jobId") == "" {
		t.Fatalf("create job = %d %s", r.Status, r.Body)
	}
	got, partial := waitJob(t, c, r.String("jobId"))
	if got.String("state") != "done" || jobCounts(got) != "created 10000 updated 0 unchanged 0 rejected 0" {
		t.Fatalf("first import: %s", got.Body)
	}
	if got.JSON["rowsDone"] != float64(10000) || got.JSON["rowsTotal"] != float64(10000) {
		t.Errorf("rows done %v of %v, want 10000 of 10000", got.JSON["rowsDone"], got.JSON["rowsTotal"])
	}
	if inv, _ := got.JSON["invocations"].(float64); inv < 2 {
		t.Errorf("the job ran in %v invocations; with a 2 s slice it should have continued itself", inv)
	}
	if !partial {
		t.Log("no partial progress observed while polling")
	}
	if rec := c.Do("GET", "/admin/masters/institutions/1350009999", nil); rec.Status != 200 {
		t.Errorf("last row's record = %d %s", rec.Status, rec.Body)
	}

	// The same file again, through a presigned upload: nothing changes.
	id := presignedUpload(t, c, data)
	r = c.Do("POST", "/admin/jobs", map[string]string{"type": "master-import", "kind": "institutions", "uploadId": id})
	if r.Status != 202 {
		t.Fatalf("create job from upload = %d %s", r.Status, r.Body)
	}
	again, _ := waitJob(t, c, r.String("jobId"))
	if c := again.JSON["counts"].(map[string]any); again.String("state") != "done" || c["unchanged"] != float64(10000) || c["created"] != float64(0) || c["updated"] != float64(0) {
		t.Errorf("re-import: %s", again.Body)
	}
	if h := c.Do("GET", "/admin/masters/institutions/1350000000/history", nil); h.Status != 200 || len(h.JSON["versions"].([]any)) != 0 {
		t.Errorf("history after re-import = %d %s, want no earlier versions", h.Status, h.Body)
	}
}

func TestMasterImportJobRejectionsDownloadable(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	data := institutionsCSV(3, 51000000)
	data = append(data, []byte("1351000000,重複病院,,,,,,,clinic,13,13101,1301\r\n1351000009,,,,,,,,clinic,13,13101,1301\r\n"+
		"1351000010,笑顔😀病院,,123-45678,,,abc,,clinic,13,13101,1301\r\n")...)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "institutions.csv")
	fw.Write(data)
	mw.Close()
	r := upload(t, c, "/admin/jobs?type=master-import&kind=institutions", body.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	if r.Status != 202 {
		t.Fatalf("multipart create = %d %s", r.Status, r.Body)
	}
	got, _ := waitJob(t, c, r.String("jobId"))
	if jobCounts(got) != "created 3 updated 0 unchanged 0 rejected 3" {
		t.Fatalf("counts: %s", got.Body)
	}

	// The job's view lists every problem of the rejected rows.
	var view struct {
		Rejections []apperr.Problem `json:"rejections"`
	}
	if err := json.Unmarshal(got.Body, &view); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, p := range view.Rejections {
		listed = append(listed, fmt.Sprintf("%d %s %s", p.Row, p.Column, p.Message))
	}
	wantListed := []string{
		"5 A列（医療機関コード） 医療機関コード：1351000000 は2行目と重複しています。",
		"6 B列（名称） 名称を入力してください。",
		"7 B列（名称） 名称：環境依存文字「😀」は使用できません。",
		"7 D列（郵便番号） 郵便番号は7桁（123-4567）で入力してください。",
		"7 G列（許可病床数） 許可病床数：0以上の整数で入力してください。",
	}
	if strings.Join(listed, "\n") != strings.Join(wantListed, "\n") {
		t.Errorf("listed rejections:\n%s\nwant:\n%s", strings.Join(listed, "\n"), strings.Join(wantListed, "\n"))
	}

	files, _ := got.JSON["files"].(map[string]any)
	link, _ := files["rejections"].(string)
	if link == "" {
		t.Fatalf("no rejections file: %s", got.Body)
	}
	dl := c.Do("GET", link, nil)
	rows, _, err := csvio.Read(dl.Body, 1<<20)
	if err != nil || dl.Status != 200 || len(rows) != 4 {
		t.Fatalf("rejections = %d %q (%v)", dl.Status, dl.Body, err)
	}
	wantHeader := "行,理由,医療機関コード,名称,カナ,郵便番号,住所,電話番号,許可病床数,保険医療機関コード,区分,都道府県コード,市区町村コード,保健所コード"
	if got := strings.Join(rows[0].Fields, ","); got != wantHeader {
		t.Errorf("header %q, want %q", got, wantHeader)
	}
	for _, row := range rows[1:] {
		if len(row.Fields) != len(rows[0].Fields) {
			t.Errorf("row %q has %d cells, the header %d", row.Fields, len(row.Fields), len(rows[0].Fields))
		}
	}
	if rows[1].Field(0) != "5" || !strings.Contains(rows[1].Field(1), "2行目と重複") || rows[1].Field(2) != "1351000000" {
		t.Errorf("first rejection %q, want row 5, a duplicate of row 2, with its cells", rows[1].Fields)
	}
	if rows[2].Field(0) != "6" || rows[2].Field(1) != "名称を入力してください。" {
		t.Errorf("second rejection %q, want row 6 naming 名称", rows[2].Fields)
	}
	reasons := strings.Split(rows[3].Field(1), "\n")
	if rows[3].Field(0) != "7" || len(reasons) != 3 || !strings.HasPrefix(reasons[0], "名称：") ||
		!strings.HasPrefix(reasons[1], "郵便番号") || !strings.HasPrefix(reasons[2], "許可病床数：") || rows[3].Field(3) != "笑顔😀病院" {
		t.Errorf("third rejection %q, want row 7 with three reasons naming 名称, 郵便番号 and 許可病床数", rows[3].Fields)
	}
}

func TestJobRequestsRefused(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	tests := []struct {
		name, path string
		body       []byte
		status     int
		field      string
	}{
		{"no type", "/admin/jobs", []byte("a\n"), 400, "type"},
		{"unknown master", "/admin/jobs?type=master-import&kind=hospitals", []byte("a\n"), 400, "kind"},
		{"bad header", "/admin/jobs?type=master-import&kind=institutions", []byte("名前,住所\nx,y\n"), 400, "file"},
		{"empty", "/admin/jobs?type=master-import&kind=institutions", nil, 400, "file"},
		{"unknown type", "/admin/jobs?type=reindex", []byte("a\n"), 400, "type"},
		{"too large", "/admin/jobs?type=master-import&kind=institutions", bytes.Repeat([]byte("x"), MaxDirectBytes+1), 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := upload(t, c, tt.path, tt.body, nil)
			if r.Status != tt.status || r.ErrorField() != tt.field {
				t.Errorf("= %d %.300s, want %d naming %q", r.Status, r.Body, tt.status, tt.field)
			}
		})
	}
	if r := c.Do("POST", "/admin/jobs", map[string]string{"type": "master-import", "kind": "institutions", "uploadId": "0123456789abcdef01234567"}); r.Status != 400 || r.ErrorField() != "upload" {
		t.Errorf("job over a missing upload = %d %s, want 400 naming upload", r.Status, r.Body)
	}
	// Another administrator's job is not found, as if it did not exist.
	r := upload(t, c, "/admin/jobs?type=master-import&kind=institutions", institutionsCSV(1, 52000000), nil)
	other := national(t, e)
	u27, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "27"})
	c27 := e.LoginChanged(t, u27, pw)
	if g := c27.Do("GET", "/admin/jobs/"+r.String("jobId"), nil); g.Status != 404 {
		t.Errorf("prefecture admin reading a national admin's job = %d %s", g.Status, g.Body)
	}
	if g := other.Do("GET", "/admin/jobs/"+r.String("jobId"), nil); g.Status != 404 {
		t.Errorf("another national admin reading the job = %d %s, want 404 (not above its creator)", g.Status, g.Body)
	}
	if l := c.Do("GET", "/admin/jobs", nil); l.Status != 200 || len(l.JSON["jobs"].([]any)) == 0 {
		t.Errorf("list own jobs = %d %s", l.Status, l.Body)
	}
	waitJob(t, c, r.String("jobId"))
}

// GET /admin/jobs pages with an opaque cursor, newest first; a cursor of
// another listing or a bad limit is a 400 naming it.
func TestJobListIsPaged(t *testing.T) {
	e := stackEnv(t)
	loadMasters(t, e, national(t, e))
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.National})
	c := e.LoginChanged(t, admin, pw)
	var ids []string
	for i := range 3 {
		r := upload(t, c, "/admin/jobs?type=master-import&kind=institutions", institutionsCSV(1, 51000000+i), nil)
		if r.Status != 202 {
			t.Fatalf("create job = %d %s", r.Status, r.Body)
		}
		ids = append([]string{r.String("jobId")}, ids...) // newest first
		time.Sleep(2 * time.Millisecond)
	}
	var got []string
	cursor := ""
	for page := 0; page < 3; page++ {
		r := c.Do("GET", "/admin/jobs?limit=2&cursor="+cursor, nil)
		if r.Status != 200 {
			t.Fatalf("page %d = %d %s", page, r.Status, r.Body)
		}
		jobs, _ := r.JSON["jobs"].([]any)
		for _, j := range jobs {
			got = append(got, j.(map[string]any)["id"].(string))
		}
		if cursor = r.String("nextCursor"); cursor == "" {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("paged jobs %v, want %v", got, ids)
	}
	first := c.Do("GET", "/admin/jobs?limit=1", nil).String("nextCursor")
	other := national(t, e)
	for _, path := range []string{"/admin/jobs?cursor=" + first, "/admin/jobs?cursor=not-a-cursor", "/admin/jobs?limit=0", "/admin/jobs?limit=x"} {
		field := "cursor"
		if strings.Contains(path, "limit") {
			field = "limit"
		}
		if r := other.Do("GET", path, nil); r.Status != 400 || r.ErrorField() != field {
			t.Errorf("GET %s = %d %s, want 400 naming %s", path, r.Status, r.Body, field)
		}
	}
}
