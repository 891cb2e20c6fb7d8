package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gmis-oss/gmis/shared/apperr"
)

type loginRequest struct {
	UserID   string `json:"userId"`
	Password string `json:"password"`
	Remember bool   `json:"remember"`
}

func testServer(t *testing.T, maxBody int64) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var req loginRequest
		if err := DecodeJSON(r, &req); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, req)
	})
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, apperr.New(apperr.NotFound, "見つかりません。", "not found"))
	})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, errors.New("connect to 10.1.2.3: secret detail"))
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		panic("something broke")
	})
	srv := httptest.NewServer(New(mux, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), MaxBodyBytes: maxBody}))
	t.Cleanup(srv.Close)
	return srv, &logs
}

func readErrorBody(t *testing.T, resp *http.Response) ErrorDetail {
	t.Helper()
	var body ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("error body: %v", err)
	}
	return body.Error
}

func TestDecodeJSONErrors(t *testing.T) {
	srv, _ := testServer(t, 256)
	for _, tc := range []struct {
		name, contentType, body string
		wantStatus              int
		wantField               string
	}{
		{"valid", "application/json", `{"userId":"a","password":"b"}`, 200, ""},
		{"unknown field", "application/json", `{"userId":"a","pasword":"b"}`, 400, "pasword"},
		{"wrong type", "application/json", `{"userId":12}`, 400, "userId"},
		{"wrong type bool", "application/json", `{"remember":"yes"}`, 400, "remember"},
		{"malformed", "application/json", `{"userId":`, 400, ""},
		{"empty", "application/json", ``, 400, ""},
		{"trailing data", "application/json", `{"userId":"a"} {"x":1}`, 400, ""},
		{"not JSON content type", "text/plain", `{"userId":"a"}`, 400, "Content-Type"},
		{"too large", "application/json", `{"userId":"` + strings.Repeat("a", 300) + `"}`, 413, ""},
		{"NUL in a string", "application/json", `{"userId":"a\u0000b","password":"b"}`, 400, "userId"},
		{"ESC in a string", "application/json", `{"userId":"a","password":"\u001b[2J"}`, 400, "password"},
		{"line break in a one-line field", "application/json", `{"userId":"a\r\nb"}`, 400, "userId"},
		{"an array for the body", "application/json", `[1,2]`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/login", tc.contentType, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == 200 {
				return
			}
			got := readErrorBody(t, resp)
			if got.Field != tc.wantField {
				t.Errorf("field = %q, want %q", got.Field, tc.wantField)
			}
			if got.Message == "" || got.MessageEn == "" || got.RequestID == "" {
				t.Errorf("error %+v lacks a Japanese message, an English message or the request ID", got)
			}
			if strings.Contains(got.Message+got.MessageEn, "main.") || strings.Contains(got.Message+got.MessageEn, "struct") {
				t.Errorf("error %+v names a Go type", got)
			}
			if got.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("requestId %q differs from X-Request-Id %q", got.RequestID, resp.Header.Get("X-Request-Id"))
			}
		})
	}
}

func TestErrorsMapToStatuses(t *testing.T) {
	srv, logs := testServer(t, 0)
	for _, tc := range []struct {
		path       string
		wantStatus int
		wantCode   apperr.Code
	}{
		{"/items/1", 404, apperr.NotFound},
		{"/boom", 500, apperr.Internal},
		{"/panic", 500, apperr.Internal},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := readErrorBody(t, resp)
			if resp.StatusCode != tc.wantStatus || got.Code != tc.wantCode {
				t.Errorf("%s = %d %s, want %d %s", tc.path, resp.StatusCode, got.Code, tc.wantStatus, tc.wantCode)
			}
			if tc.wantCode == apperr.Internal {
				if strings.Contains(got.Message+got.MessageEn, "secret") || strings.Contains(got.Message+got.MessageEn, "broke") {
					t.Errorf("internal detail reached the client: %+v", got)
				}
				if !strings.Contains(got.Message, got.RequestID) {
					t.Errorf("internal error message %q does not quote the request ID", got.Message)
				}
			}
		})
	}
	log := logs.String()
	for _, want := range []string{`"error":"connect to 10.1.2.3: secret detail"`, `panic: something broke`, `"route":"GET /items/{id}"`, `"status":404`} {
		if !strings.Contains(log, want) {
			t.Errorf("access log lacks %s:\n%s", want, log)
		}
	}
}

func TestStatusOfEveryCode(t *testing.T) {
	for code, want := range map[apperr.Code]int{
		apperr.Invalid: 400, apperr.Unauthenticated: 401, apperr.Forbidden: 403, apperr.NotFound: 404,
		apperr.Conflict: 409, apperr.TooLarge: 413, apperr.TooManyRequests: 429, apperr.Unavailable: 503,
		apperr.Internal: 500, apperr.Code("new"): 500,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("statusOf(%s) = %d, want %d", code, got, want)
		}
	}
}

// TestLambdaAdapter runs the middleware behind the API Gateway adapter, as
// in a deployed function: the request ID is API Gateway's and the mux sees
// the path and body.
func TestLambdaAdapter(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var req loginRequest
		if err := DecodeJSON(r, &req); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"userId": req.UserID, "requestId": RequestID(r.Context())})
	})
	h := Lambda(New(mux, Config{}))
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /login", RawPath: "/login",
		Headers: map[string]string{"content-type": "application/json"},
		Body:    `{"userId":"u1"}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "gw-req-1", DomainName: "example.execute-api.ap-northeast-1.amazonaws.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/login", SourceIP: "203.0.113.1"},
		},
	}
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, body %s", resp.StatusCode, resp.Body)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got["userId"] != "u1" || got["requestId"] != "gw-req-1" || resp.Headers["X-Request-Id"] != "gw-req-1" {
		t.Errorf("answer %v headers %v, want userId u1 and request ID gw-req-1", got, resp.Headers)
	}
}

func TestDecodeJSONMultilineAndMaps(t *testing.T) {
	type body struct {
		Message string            `json:"message" text:"multiline"`
		Fields  map[string]string `json:"fields"`
		Tags    []string          `json:"tags"`
	}
	for _, tc := range []struct {
		body, field string
	}{
		{`{"message":"一行目\n二行目\r\n三行目"}`, ""},
		{`{"message":"a\u0000"}`, "message"},
		{`{"fields":{"name":"x\u001by"}}`, "name"},
		{`{"fields":{"na\u0000me":"x"}}`, "fields"},
		{`{"tags":["ok","b\nad"]}`, "tags"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		var v body
		err := DecodeJSON(r, &v)
		e := apperr.As(err)
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.field != "" && (e == nil || e.Code != apperr.Invalid || e.Field != tc.field):
			t.Errorf("%s: %v, want invalid %s", tc.body, err, tc.field)
		}
	}
}
