package main

import (
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/authtest"
)

func TestPathParametersGet400NamingThem(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	long := strings.Repeat("A", 5000)
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/auth/users/" + long, "userId"},
		{"GET", "/admin/masters/institutions/" + long, "code"},
		{"GET", "/admin/masters/institutions/" + long + "/history", "code"},
		{"POST", "/admin/users/" + long + "/stop", "userId"},
		{"DELETE", "/admin/users/" + long, "userId"},
		{"POST", "/admin/maintenance-windows/" + long + "/end", "id"},
		{"GET", "/auth/users/AB%00CD", "userId"},
		{"GET", "/admin/masters/institutions/13%00", "code"},
		{"POST", "/admin/users/AB%0D%0ACD/unlock", "userId"},
	} {
		r := c.Do(tc.method, tc.path, nil)
		if r.Status != 400 || r.ErrorField() != tc.field {
			t.Errorf("%s %.50s… = %d %.200s, want 400 naming %s", tc.method, tc.path, r.Status, r.Body, tc.field)
		}
	}
}

func TestControlCharactersAreRefusedInTextFields(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	loadMasters(t, e, c)
	fields := map[string]string{"name": "制御\x00病院", "category": "hospital", "prefectureCode": "13", "healthCenterCode": "1301"}
	if r := c.Do("POST", "/admin/institutions", map[string]any{"fields": fields}); r.Status != 400 || r.ErrorField() != "name" {
		t.Errorf("institution name with NUL = %d %s, want 400 naming name", r.Status, r.Body)
	}
	fields["name"], fields["address"] = "せいぎょ病院", "東京都\x1b[2Jみどり区"
	if r := c.Do("POST", "/admin/institutions", map[string]any{"fields": fields}); r.Status != 400 || r.ErrorField() != "address" {
		t.Errorf("address with ESC = %d %s, want 400 naming address", r.Status, r.Body)
	}
	rec := c.Do("GET", "/admin/masters/institutions/1310000002", nil)
	fields = map[string]string{}
	for k, v := range rec.JSON["fields"].(map[string]any) {
		fields[k] = v.(string)
	}
	fields["name"] = "さくら\r\n記念病院"
	if r := c.Do("PUT", "/admin/institutions/1310000002", map[string]any{"version": rec.JSON["version"], "fields": fields}); r.Status != 400 || r.ErrorField() != "name" {
		t.Errorf("edit with CR/LF in the name = %d %s, want 400 naming name", r.Status, r.Body)
	}

	far := "2099/02/01 01:00"
	if r := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": far, "end": "2099/02/01 02:00", "message": "停止\x00します"}); r.Status != 400 || r.ErrorField() != "message" {
		t.Errorf("maintenance message with NUL = %d %s, want 400 naming message", r.Status, r.Body)
	}
	r := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": far, "end": "2099/02/01 02:00", "message": "システム更新のため停止します。\n再開は 2:00 の予定です。"})
	if r.Status != 201 || r.String("message") != "システム更新のため停止します。\n再開は 2:00 の予定です。" {
		t.Errorf("a two-line maintenance message = %d %s, want 201 keeping the line break", r.Status, r.Body)
	} else {
		c.Do("POST", "/admin/maintenance-windows/"+r.String("id")+"/end", nil)
	}

	// Master import: the row is rejected with its column, the others go on.
	csv := "保健所コード,保健所名,都道府県コード\n1381,せいぎょ\x1b保健所,13\n1382,ふつう保健所,13\n"
	res := importJob(t, c, "health-centers", []byte(csv))
	if got := rejections(t, c, res); jobCounts(res) != "created 1 updated 0 unchanged 0 rejected 1" || strings.Join(got, " ") != "2:B列（保健所名）" {
		t.Errorf("master row with ESC = %s %v, want row 2 column B列（保健所名） rejected", jobCounts(res), got)
	}

	// Application form: the row is named with its column, nothing is created.
	const inst = "1310000007"
	before := usersOf(t, e, inst)
	p := withMail(person(1, inst))
	p["B"] = "申請\x00花子"
	up := issueJob(t, c, []byte(authtest.ApplicationForm("", []map[string]string{p})))
	problems, _ := up.JSON["problems"].([]any)
	if up.String("state") != "failed" || len(problems) != 1 || problems[0].(map[string]any)["row"] != float64(2) ||
		!strings.HasPrefix(toString(problems[0].(map[string]any)["column"]), "B列") ||
		!strings.Contains(toString(problems[0].(map[string]any)["message"]), "制御文字") {
		t.Errorf("form with a NUL in the name = %d %s, want one problem at row 2 column B", up.Status, up.Body)
	}
	if n := usersOf(t, e, inst) - before; n != 0 {
		t.Errorf("%d accounts created from a form with a NUL", n)
	}
}

func TestMaintenanceWindowDateTimes(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	r := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": "2099/03/01 01:00", "end": "2099-03-01T03:30:00+09:00", "message": "更新"})
	if r.Status != 201 {
		t.Fatalf("window in JST wall time = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	if !strings.HasPrefix(id, "20990301T0100-") || r.String("start") != "2099-03-01T01:00:00+09:00" || r.String("end") != "2099-03-01T03:30:00+09:00" {
		t.Errorf("window = %s, want a JST ID and JST times", r.Body)
	}
	if l := c.Do("GET", "/admin/maintenance-windows", nil); !strings.Contains(string(l.Body), `"start":"2099-03-01T01:00:00+09:00"`) {
		t.Errorf("listed windows are not in JST: %s", l.Body)
	}
	c.Do("POST", "/admin/maintenance-windows/"+id+"/end", nil)

	for _, tc := range []struct {
		start, end any
		field      string
	}{
		{"tomorrow", "2099/03/01 03:00", "start"},
		{"2099/03/01 01:00", "2099-03-01 03:00", "end"},
		{"2099/13/01 01:00", "2099/03/01 03:00", "start"},
		{"2099/03/01 01:00", 12, "end"},
	} {
		r := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": tc.start, "end": tc.end})
		if r.Status != 400 || r.ErrorField() != tc.field || strings.Contains(string(r.Body), "JSON を読み取れません") {
			t.Errorf("start %v end %v = %d %s, want 400 naming %s", tc.start, tc.end, r.Status, r.Body, tc.field)
		}
		if tc.field == "start" && !strings.Contains(string(r.Body), "2026/11/22 01:00") {
			t.Errorf("the error does not show the accepted forms: %s", r.Body)
		}
	}
}
