package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/session"
)

// closedPort returns a loopback address nothing listens on: connecting to
// it is refused at once, as an unreachable DynamoDB endpoint is.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachableDynamoDBIs503 builds the function as main does, over a
// real connection to an endpoint that refuses it.
func TestUnreachableDynamoDBIs503(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://"+closedPort(t))
	t.Setenv("AWS_REGION", "ap-northeast-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	vars := map[string]string{"USERS_TABLE": "u", "SESSIONS_TABLE": "s", "AUTH_STATE_TABLE": "a", "AUDIT_TABLE": "au",
		"MASTERS_TABLE": "m", "SURVEYS_TABLE": "sv", "SYSTEM_TABLE": "sys", "JOBS_TABLE": "j", "UPLOADS_BUCKET": "b", "JOBS_FUNCTION": "f", "AUTH_SECRET": strings.Repeat("k", 32), "MAIL_FROM": "no-reply@gmis.example.jp",
		"APP_BASE_URL": "http://127.0.0.1:3000", "MAINTENANCE_CACHE_SECONDS": "1"}
	h, err := build(context.Background(), func(k string) string { return vars[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(h.routes(), httpapi.Config{}))
	t.Cleanup(srv.Close)

	for _, path := range []string{"/admin/users?prefectureCode=13", "/admin/maintenance-windows"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: session.CookieName, Value: "some-session-token"})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body httpapi.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || body.Error.Code != "unavailable" ||
			!strings.Contains(body.Error.Message, "データベース") || strings.Contains(body.Error.Message, "127.0.0.1") {
			t.Errorf("GET %s with DynamoDB unreachable = %d (Retry-After %q) %+v, want 503 with Retry-After and a Japanese message",
				path, resp.StatusCode, resp.Header.Get("Retry-After"), body.Error)
		}
	}
}
