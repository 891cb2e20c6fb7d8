package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
)

func loginRequestOf(body []byte, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/auth/login", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	// As the shared middleware does.
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<20)
	return r
}

func TestParseLogin(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 129)
	for _, tc := range []struct {
		name, body, ct string
		wantField      string
		wantCode       apperr.Code
	}{
		{"ok", `{"userId":"ABCDEFGHJK2","password":"Kusuri#Bako42"}`, "application/json", "", ""},
		{"missing user", `{"password":"x"}`, "application/json", "userId", apperr.Invalid},
		{"empty password", `{"userId":"A","password":""}`, "application/json", "password", apperr.Invalid},
		{"long password", `{"userId":"A","password":"` + string(long) + `"}`, "application/json", "password", apperr.Invalid},
		{"number as ID", `{"userId":12,"password":"x"}`, "application/json", "userId", apperr.Invalid},
		{"unknown field", `{"userId":"A","password":"x","admin":true}`, "application/json", "admin", apperr.Invalid},
		{"form post", `userId=A&password=x`, "application/x-www-form-urlencoded", "Content-Type", apperr.Invalid},
		{"array", `[]`, "application/json", "", apperr.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLogin(loginRequestOf([]byte(tc.body), tc.ct))
			if got := apperr.CodeOf(err); got != tc.wantCode {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.wantCode)
			}
			if e := apperr.As(err); e != nil && e.Field != tc.wantField {
				t.Errorf("field = %q, want %q", e.Field, tc.wantField)
			}
		})
	}
}

// FuzzParseLogin: whatever arrives, the decoder answers with a valid
// request or a client error, never a panic or an internal error.
func FuzzParseLogin(f *testing.F) {
	for _, s := range []string{
		`{"userId":"ABCDEFGHJK2","password":"Kusuri#Bako42"}`, `{}`, `{"userId":"\u0000","password":"\ud800"}`,
		`{"userId":"a","password":"b"}{"x":1}`, `{"userId":["a"]}`, `null`, `"str"`, ``, `{"userId":"a","password":"b",}`,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{"userId":"a"}`), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req, err := parseLogin(loginRequestOf(body, contentType))
		if err != nil {
			if code := apperr.CodeOf(err); code != apperr.Invalid && code != apperr.TooLarge {
				t.Fatalf("error code %q for %q: %v", code, body, err)
			}
			return
		}
		if req.UserID == "" || req.Password == "" || len(req.UserID) > 64 || len(req.Password) > 128 {
			t.Fatalf("accepted %+v from %q", req, body)
		}
	})
}
