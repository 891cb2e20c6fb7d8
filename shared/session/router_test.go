package session

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/httpapi"
)

func TestPathParametersAreChecked(t *testing.T) {
	rt := NewRouter(nil, nil)
	reached := false
	rt.Public("GET /things/{kind}/{id}", func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(httpapi.New(rt, httpapi.Config{}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		path      string
		status    int
		field     string
		reachable bool
	}{
		{"/things/institutions/1310000001", 204, "", true},
		{"/things/institutions/20981231T1600-op", 204, "", true},
		{"/things/institutions/" + strings.Repeat("A", 5000), 400, "id", false},
		{"/things/" + strings.Repeat("k", 129) + "/1", 400, "kind", false},
		{"/things/institutions/ab%00cd", 400, "id", false},
		{"/things/institutions/ab%1Bcd", 400, "id", false},
		{"/things/institutions/%E6%9D%B1%E4%BA%AC", 400, "id", false},
		{"/things/institutions/a%20b", 400, "id", false},
	} {
		reached = false
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var body httpapi.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || body.Error.Field != tc.field || reached != tc.reachable {
			t.Errorf("GET %.60s = %d field %q (handler reached %v), want %d field %q", tc.path, resp.StatusCode, body.Error.Field, reached, tc.status, tc.field)
		}
		if tc.status == 400 && !strings.Contains(body.Error.Message, tc.field) {
			t.Errorf("GET %.60s: message %q does not name %s", tc.path, body.Error.Message, tc.field)
		}
	}
}

func TestPathParams(t *testing.T) {
	got := strings.Join(pathParams("POST /admin/users/{userId}/{action}"), ",")
	if got != "userId,action" {
		t.Errorf("pathParams = %s", got)
	}
	if got := pathParams("GET /files/{rest...}"); len(got) != 1 || got[0] != "rest" {
		t.Errorf("pathParams of a rest wildcard = %v", got)
	}
}
