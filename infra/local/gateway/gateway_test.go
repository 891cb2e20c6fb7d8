package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gmis-oss/gmis/infra/local/sandbox"
	"github.com/gmis-oss/gmis/infra/local/template"
)

// buildTestFunction builds the test Lambda function (testdata/testfn) into
// a temporary directory and returns the path of its bootstrap binary.
func buildTestFunction(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../testdata/testfn")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build test function: %v\n%s", err, out)
	}
	return bin
}

// newFunction runs bin as a sandboxed function that is closed with the test.
func newFunction(t *testing.T, bin string, timeout time.Duration, maxInstances int) *sandbox.Function {
	t.Helper()
	f := sandbox.New(sandbox.Config{
		Name: "Fn", ARN: "arn:aws:lambda:ap-northeast-1:123456789012:function:fn",
		Binary: bin, Dir: filepath.Dir(bin), Env: []string{"PATH=" + os.Getenv("PATH")},
		Timeout: timeout, MaxInstances: maxInstances,
	})
	t.Cleanup(f.Close)
	return f
}

// route is a route of function Fn with API Gateway's default integration timeout.
func route(method, path string) template.Route {
	return template.Route{
		API: template.ImplicitAPI, Function: "Fn", EventName: method + path,
		Method: method, Path: path, IntegrationTimeout: 30 * time.Second,
	}
}

// serve starts a Gateway for cfg on 127.0.0.1; the server is closed with
// the test (before the functions registered earlier).
func serve(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

// stubInvoker is an Invoker that answers every invocation with the same
// result and counts the calls.
type stubInvoker struct {
	result sandbox.Result
	err    error
	calls  atomic.Int32
}

func (s *stubInvoker) Invoke(_ context.Context, _ []byte) (sandbox.Result, error) {
	s.calls.Add(1)
	return s.result, s.err
}

func newStub(payload string) *stubInvoker {
	return &stubInvoker{result: sandbox.Result{Payload: []byte(payload)}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func newRequest(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t *testing.T, srv *httptest.Server, req *http.Request) response {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func get(t *testing.T, srv *httptest.Server, path string) response {
	t.Helper()
	return do(t, srv, newRequest(t, http.MethodGet, srv.URL+path, nil))
}

// echoReply is what testfn answers on any path it has no special meaning
// for: the event it received and its pid.
type echoReply struct {
	Event events.APIGatewayV2HTTPRequest `json:"event"`
	PID   int                            `json:"pid"`
}

func decodeEcho(t *testing.T, resp response) echoReply {
	t.Helper()
	if resp.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", resp.status, resp.body)
	}
	var r echoReply
	if err := json.Unmarshal(resp.body, &r); err != nil {
		t.Fatalf("decode echo reply %s: %v", resp.body, err)
	}
	if r.PID == 0 {
		t.Fatalf("echo reply %s has no pid", resp.body)
	}
	return r
}

func checkMessage(t *testing.T, resp response, wantStatus int, wantBody string) {
	t.Helper()
	if resp.status != wantStatus {
		t.Errorf("status = %d, want %d", resp.status, wantStatus)
	}
	if got := string(resp.body); got != wantBody {
		t.Errorf("body = %s, want %s", got, wantBody)
	}
	if got, want := resp.header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
}

func TestNewNeedsEveryRoutesFunction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fns     map[string]Invoker
		wantErr bool
	}{
		{"function present", map[string]Invoker{"Fn": newStub(`{}`)}, false},
		{"function missing", map[string]Invoker{"Other": newStub(`{}`)}, true},
		{"no functions", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Routes: []template.Route{route("GET", "/x")}, Functions: tc.fns})
			if got := err != nil; got != tc.wantErr {
				t.Errorf("New error = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

func TestEventConversion(t *testing.T) {
	f := newFunction(t, buildTestFunction(t), 5*time.Second, 2)
	srv := serve(t, Config{
		Routes: []template.Route{
			route("GET", "/echo"), route("POST", "/echo"),
			route("ANY", "/items/{id}"), route("GET", "/files/{proxy+}"),
		},
		Functions: map[string]Invoker{"Fn": f},
	})

	t.Run("query, cookies and headers", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, srv.URL+"/echo?a=1&a=2&b=x", nil)
		req.Header.Set("Cookie", "session=abc; theme=dark")
		req.Header["X-MiXeD-CaSe"] = []string{"Value"} // sent as written, not canonicalised
		req.Header.Add("X-Repeated", "one")
		req.Header.Add("X-Repeated", "two")
		ev := decodeEcho(t, do(t, srv, req)).Event

		if got, want := ev.QueryStringParameters, map[string]string{"a": "1,2", "b": "x"}; !maps.Equal(got, want) {
			t.Errorf("queryStringParameters = %v, want %v", got, want)
		}
		if got, want := ev.RawQueryString, "a=1&a=2&b=x"; got != want {
			t.Errorf("rawQueryString = %q, want %q", got, want)
		}
		if got, want := ev.Cookies, []string{"session=abc", "theme=dark"}; !slices.Equal(got, want) {
			t.Errorf("cookies = %q, want %q", got, want)
		}
		for name := range ev.Headers {
			if name != strings.ToLower(name) {
				t.Errorf("header key %q is not lower case", name)
			}
		}
		if v, ok := ev.Headers["cookie"]; ok {
			t.Errorf("headers carry cookie %q; cookies belong in the cookies list only", v)
		}
		for _, tc := range []struct{ header, want string }{
			{"x-mixed-case", "Value"},
			{"x-repeated", "one,two"},
			{"host", strings.TrimPrefix(srv.URL, "http://")},
		} {
			if got := ev.Headers[tc.header]; got != tc.want {
				t.Errorf("headers[%q] = %q, want %q", tc.header, got, tc.want)
			}
		}
	})

	t.Run("no query string", func(t *testing.T) {
		ev := decodeEcho(t, get(t, srv, "/echo")).Event
		if ev.QueryStringParameters != nil || ev.RawQueryString != "" {
			t.Errorf("queryStringParameters = %v, rawQueryString = %q; want none", ev.QueryStringParameters, ev.RawQueryString)
		}
		if ev.Cookies != nil {
			t.Errorf("cookies = %q, want none", ev.Cookies)
		}
	})

	t.Run("routes and path parameters", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			wantRouteKey string
			wantParams   map[string]string
		}{
			{"GET", "/echo", "GET /echo", nil},
			{"POST", "/echo", "POST /echo", nil},
			{"GET", "/items/42", "ANY /items/{id}", map[string]string{"id": "42"}},
			{"DELETE", "/items/item-7", "ANY /items/{id}", map[string]string{"id": "item-7"}},
			{"GET", "/files/a/b/c", "GET /files/{proxy+}", map[string]string{"proxy": "a/b/c"}},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				ev := decodeEcho(t, do(t, srv, newRequest(t, tc.method, srv.URL+tc.path, nil))).Event
				for _, c := range []struct{ field, got, want string }{
					{"routeKey", ev.RouteKey, tc.wantRouteKey},
					{"requestContext.routeKey", ev.RequestContext.RouteKey, tc.wantRouteKey},
					{"rawPath", ev.RawPath, tc.path},
					{"requestContext.http.method", ev.RequestContext.HTTP.Method, tc.method},
					{"requestContext.http.path", ev.RequestContext.HTTP.Path, tc.path},
				} {
					if c.got != c.want {
						t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
					}
				}
				if !maps.Equal(ev.PathParameters, tc.wantParams) {
					t.Errorf("pathParameters = %v, want %v", ev.PathParameters, tc.wantParams)
				}
			})
		}
	})

	t.Run("request context", func(t *testing.T) {
		resp := get(t, srv, "/echo")
		ev := decodeEcho(t, resp).Event
		requestID := resp.header.Get("Apigw-Requestid")
		if requestID == "" {
			t.Fatal("no Apigw-Requestid response header")
		}
		for _, c := range []struct{ field, got, want string }{
			{"version", ev.Version, "2.0"},
			{"requestContext.stage", ev.RequestContext.Stage, "$default"},
			{"requestContext.requestId", ev.RequestContext.RequestID, requestID},
			{"requestContext.http.sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
			{"requestContext.accountId", ev.RequestContext.AccountID, "123456789012"},
			{"requestContext.apiId", ev.RequestContext.APIID, strings.ToLower(template.ImplicitAPI)},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
			}
		}
		if again := get(t, srv, "/echo").header.Get("Apigw-Requestid"); again == requestID {
			t.Errorf("two requests share the request ID %q", requestID)
		}
	})

	t.Run("body", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			contentType string
			body        []byte
			wantBase64  bool
		}{
			{"json", "application/json", []byte(`{"name":"テスト","n":1}`), false},
			{"json with charset", "application/json; charset=utf-8", []byte(`[1,2]`), false},
			{"plain text", "text/plain", []byte("hello"), false},
			{"form", "application/x-www-form-urlencoded", []byte("a=1&b=2"), false},
			{"octet-stream of ASCII", "application/octet-stream", []byte("abc"), true},
			{"octet-stream of binary", "application/octet-stream", []byte{0x00, 0x01, 0x02, 0xff}, true},
			{"Shift_JIS CSV", "text/csv; charset=Shift_JIS", []byte{0x82, 0xa0, ',', 0x82, 0xa2, '\n'}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := newRequest(t, http.MethodPost, srv.URL+"/echo", tc.body)
				req.Header.Set("Content-Type", tc.contentType)
				ev := decodeEcho(t, do(t, srv, req)).Event
				if ev.IsBase64Encoded != tc.wantBase64 {
					t.Errorf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tc.wantBase64)
				}
				got := []byte(ev.Body)
				if ev.IsBase64Encoded {
					var err error
					if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
						t.Fatalf("body %q is not base64: %v", ev.Body, err)
					}
				}
				if !bytes.Equal(got, tc.body) {
					t.Errorf("body = % x, want % x", got, tc.body)
				}
				if got, want := ev.Headers["content-type"], tc.contentType; got != want {
					t.Errorf("headers[content-type] = %q, want %q", got, want)
				}
			})
		}
	})
}

func TestResponseConversion(t *testing.T) {
	f := newFunction(t, buildTestFunction(t), 5*time.Second, 1)
	srv := serve(t, Config{
		Routes:    []template.Route{route("GET", "/cookies"), route("GET", "/binary"), route("GET", "/raw")},
		Functions: map[string]Invoker{"Fn": f},
	})

	t.Run("cookies and headers", func(t *testing.T) {
		resp := get(t, srv, "/cookies")
		if got, want := resp.status, http.StatusCreated; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		if got, want := resp.header.Values("Set-Cookie"), []string{"a=1; Path=/", "b=2; HttpOnly"}; !slices.Equal(got, want) {
			t.Errorf("Set-Cookie = %q, want %q", got, want)
		}
		if got, want := resp.header.Get("X-Test"), "yes"; got != want {
			t.Errorf("X-Test = %q, want %q", got, want)
		}
		if got, want := string(resp.body), "ok"; got != want {
			t.Errorf("body = %q, want %q", got, want)
		}
		if resp.header.Get("Apigw-Requestid") == "" {
			t.Error("no Apigw-Requestid header")
		}
	})

	t.Run("base64 body", func(t *testing.T) {
		resp := get(t, srv, "/binary")
		if resp.status != http.StatusOK {
			t.Errorf("status = %d, want 200", resp.status)
		}
		if got, want := resp.body, []byte{0x00, 0x01, 0x02, 0xff}; !bytes.Equal(got, want) {
			t.Errorf("body = % x, want % x", got, want)
		}
		if got, want := resp.header.Get("Content-Type"), "application/octet-stream"; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
	})

	t.Run("bare JSON answer", func(t *testing.T) {
		resp := get(t, srv, "/raw")
		if resp.status != http.StatusOK {
			t.Errorf("status = %d, want 200", resp.status)
		}
		if got, want := resp.header.Get("Content-Type"), "application/json"; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
		if got, want := string(resp.body), `{"hello":"world"}`; got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
	})
}

func TestParseResponse(t *testing.T) {
	for _, tc := range []struct {
		name            string
		payload         string
		wantErr         bool
		wantStatus      int
		wantContentType string
		wantBody        string
	}{
		{name: "not JSON", payload: `hello`, wantErr: true},
		{name: "truncated JSON", payload: `{"statusCode":200`, wantErr: true},
		{name: "empty", payload: ``, wantErr: true},
		{name: "statusCode too high", payload: `{"statusCode":600,"body":"x"}`, wantErr: true},
		{name: "statusCode too low", payload: `{"statusCode":99}`, wantErr: true},
		{name: "statusCode zero", payload: `{"statusCode":0}`, wantErr: true},
		{name: "statusCode not a number", payload: `{"statusCode":"200"}`, wantErr: true},
		{name: "full response", payload: `{"statusCode":404,"headers":{"Content-Type":"text/plain"},"body":"gone"}`,
			wantStatus: 404, wantContentType: "text/plain", wantBody: "gone"},
		{name: "lowest status", payload: `{"statusCode":100}`, wantStatus: 100},
		{name: "highest status", payload: `{"statusCode":599}`, wantStatus: 599},
		{name: "object without statusCode", payload: `{"hello":"world"}`,
			wantStatus: 200, wantContentType: "application/json", wantBody: `{"hello":"world"}`},
		{name: "array", payload: `[1,2,3]`,
			wantStatus: 200, wantContentType: "application/json", wantBody: `[1,2,3]`},
		{name: "number", payload: `42`,
			wantStatus: 200, wantContentType: "application/json", wantBody: `42`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseResponse([]byte(tc.payload))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseResponse(%s) = %+v, want an error", tc.payload, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseResponse(%s): %v", tc.payload, err)
			}
			if got.StatusCode != tc.wantStatus {
				t.Errorf("statusCode = %d, want %d", got.StatusCode, tc.wantStatus)
			}
			if ct := got.Headers["Content-Type"]; ct != tc.wantContentType {
				t.Errorf("Content-Type = %q, want %q", ct, tc.wantContentType)
			}
			if got.Body != tc.wantBody {
				t.Errorf("body = %q, want %q", got.Body, tc.wantBody)
			}
		})
	}

	// A bare JSON string is valid JSON without statusCode: a 200
	// application/json answer whose body is the string without its quotes,
	// as in AWS's example ("Hello from Lambda!").
	t.Run("bare JSON string", func(t *testing.T) {
		got, err := parseResponse([]byte(`"hello"`))
		if err != nil {
			t.Fatalf("parseResponse: %v", err)
		}
		if got.StatusCode != http.StatusOK || got.Headers["Content-Type"] != "application/json" || got.IsBase64Encoded {
			t.Errorf("got %+v, want a 200 application/json text answer", got)
		}
		if got.Body != "hello" {
			t.Errorf("body = %q, want hello", got.Body)
		}
	})
}

func TestAPIGatewayAnswers(t *testing.T) {
	t.Run("no route", func(t *testing.T) {
		stub := newStub(`{"statusCode":200,"body":"ok"}`)
		srv := serve(t, Config{
			Routes:    []template.Route{route("GET", "/echo"), route("GET", "/items/{id}")},
			Functions: map[string]Invoker{"Fn": stub},
		})
		for _, tc := range []struct{ method, path string }{
			{"GET", "/unknown"},
			{"POST", "/echo"},
			{"GET", "/echo/"},
			{"GET", "/items"},
			{"GET", "/items/1/2"},
			{"GET", "/"},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				resp := do(t, srv, newRequest(t, tc.method, srv.URL+tc.path, nil))
				checkMessage(t, resp, http.StatusNotFound, `{"message":"Not Found"}`)
			})
		}
		if got := stub.calls.Load(); got != 0 {
			t.Errorf("function invoked %d times for unknown routes, want 0", got)
		}
	})

	t.Run("invoke error", func(t *testing.T) {
		stub := newStub("")
		stub.err = sandbox.ErrClosed
		srv := serve(t, Config{Routes: []template.Route{route("GET", "/x")}, Functions: map[string]Invoker{"Fn": stub}})
		checkMessage(t, get(t, srv, "/x"), http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
	})

	t.Run("malformed answer", func(t *testing.T) {
		for _, tc := range []struct{ name, payload string }{
			{"not JSON", `not json`},
			{"statusCode out of range", `{"statusCode":700}`},
			{"bad base64 body", `{"statusCode":200,"cookies":["sid=1"],"headers":{"X-Test":"yes"},"body":"!!","isBase64Encoded":true}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := serve(t, Config{Routes: []template.Route{route("GET", "/x")}, Functions: map[string]Invoker{"Fn": newStub(tc.payload)}})
				resp := get(t, srv, "/x")
				checkMessage(t, resp, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
				// The failed answer is API Gateway's own: nothing of the
				// function's response reaches the client.
				for _, name := range []string{"Set-Cookie", "X-Test"} {
					if got := resp.header.Values(name); len(got) > 0 {
						t.Errorf("%s = %q on API Gateway's 500, want none", name, got)
					}
				}
			})
		}
	})

	t.Run("request too large", func(t *testing.T) {
		stub := newStub(`{"statusCode":200,"body":"ok"}`)
		srv := serve(t, Config{Routes: []template.Route{route("POST", "/upload")}, Functions: map[string]Invoker{"Fn": stub}})
		for _, tc := range []struct {
			name       string
			size       int
			wantStatus int
			wantCalls  int32
		}{
			{"at the limit", MaxRequestBytes, http.StatusOK, 1},
			{"one byte over", MaxRequestBytes + 1, http.StatusRequestEntityTooLarge, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := stub.calls.Load()
				req := newRequest(t, http.MethodPost, srv.URL+"/upload", bytes.Repeat([]byte("a"), tc.size))
				req.Header.Set("Content-Type", "text/plain")
				resp := do(t, srv, req)
				if resp.status != tc.wantStatus {
					t.Errorf("status = %d, want %d; body %s", resp.status, tc.wantStatus, resp.body)
				}
				if tc.wantStatus == http.StatusRequestEntityTooLarge {
					checkMessage(t, resp, tc.wantStatus, `{"message":"Request Entity Too Large"}`)
				}
				if got := stub.calls.Load() - before; got != tc.wantCalls {
					t.Errorf("function invoked %d times, want %d", got, tc.wantCalls)
				}
			})
		}
	})
}

func TestFunctionFailures(t *testing.T) {
	bin := buildTestFunction(t)

	t.Run("panic replaces the instance", func(t *testing.T) {
		f := newFunction(t, bin, 5*time.Second, 1)
		srv := serve(t, Config{
			Routes:    []template.Route{route("GET", "/echo"), route("GET", "/panic")},
			Functions: map[string]Invoker{"Fn": f},
		})
		before := decodeEcho(t, get(t, srv, "/echo")).PID
		checkMessage(t, get(t, srv, "/panic"), http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		after := decodeEcho(t, get(t, srv, "/echo")).PID
		if after == before {
			t.Errorf("request after the panic ran in the same pid %d, want a new instance", before)
		}
	})

	t.Run("function timeout", func(t *testing.T) {
		f := newFunction(t, bin, 500*time.Millisecond, 1)
		rt := route("GET", "/sleep/{ms}")
		rt.IntegrationTimeout = 5 * time.Second
		srv := serve(t, Config{Routes: []template.Route{rt}, Functions: map[string]Invoker{"Fn": f}})
		start := time.Now()
		resp := get(t, srv, "/sleep/3000")
		elapsed := time.Since(start)
		checkMessage(t, resp, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
		t.Logf("answered after %s", elapsed)
		if elapsed < 500*time.Millisecond || elapsed > 2500*time.Millisecond {
			t.Errorf("answered after %s, want about the function's 500ms timeout (plus its cold start)", elapsed)
		}
	})

	t.Run("integration timeout", func(t *testing.T) {
		f := newFunction(t, bin, 5*time.Second, 1)
		rt := route("GET", "/sleep/{ms}")
		rt.IntegrationTimeout = 300 * time.Millisecond
		srv := serve(t, Config{Routes: []template.Route{rt}, Functions: map[string]Invoker{"Fn": f}})
		start := time.Now()
		resp := get(t, srv, "/sleep/1500")
		elapsed := time.Since(start)
		checkMessage(t, resp, http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`)
		t.Logf("answered after %s", elapsed)
		if elapsed < 300*time.Millisecond || elapsed > 1200*time.Millisecond {
			t.Errorf("answered after %s, want about the 300ms integration timeout", elapsed)
		}
	})
}

func TestConcurrentRequests(t *testing.T) {
	const (
		parallel = 4
		sleep    = 400 * time.Millisecond
	)
	f := newFunction(t, buildTestFunction(t), 10*time.Second, parallel)
	srv := serve(t, Config{Routes: []template.Route{route("GET", "/sleep/{ms}")}, Functions: map[string]Invoker{"Fn": f}})

	type result struct {
		status int
		pid    int
		err    error
	}
	results := make([]result, parallel)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range parallel {
		wg.Go(func() {
			resp, err := srv.Client().Get(srv.URL + "/sleep/400")
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			var r echoReply
			results[i].status = resp.StatusCode
			results[i].err = json.NewDecoder(resp.Body).Decode(&r)
			results[i].pid = r.PID
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d requests took %s", parallel, elapsed)

	pids := map[int]bool{}
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK || r.pid == 0 {
			t.Fatalf("request %d: status %d, pid %d, err %v", i, r.status, r.pid, r.err)
		}
		pids[r.pid] = true
	}
	if len(pids) < 2 {
		t.Errorf("%d requests ran in %d process(es), want at least 2", parallel, len(pids))
	}
	// One instance at a time would take at least parallel×sleep;
	// overlapping instances take about one sleep plus their cold starts,
	// which a loaded machine (the suite runs packages side by side) makes
	// slow: anything under the serial time shows they overlapped.
	if limit := parallel * sleep; elapsed >= limit {
		t.Errorf("%d requests of %s took %s, want under %s", parallel, sleep, elapsed, limit)
	}
}

func TestCORS(t *testing.T) {
	const allowed = "http://localhost:3000"
	api := &template.HTTPAPI{LogicalID: "Api", CORS: &template.CORS{
		AllowOrigins:     []string{allowed},
		AllowMethods:     []string{"GET", "POST"},
		AllowHeaders:     []string{"Content-Type"},
		AllowCredentials: true,
		MaxAge:           600,
		ExposeHeaders:    []string{"X-Request-Id"},
	}}

	t.Run("preflight", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			origin      string
			wantHeaders map[string]string // "" means absent
		}{
			{"allowed origin", allowed, map[string]string{
				"Access-Control-Allow-Origin":      allowed,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "GET,POST",
				"Access-Control-Allow-Headers":     "Content-Type",
				"Access-Control-Max-Age":           "600",
			}},
			{"other origin", "http://evil.example", map[string]string{
				"Access-Control-Allow-Origin":      "",
				"Access-Control-Allow-Credentials": "",
				"Access-Control-Allow-Methods":     "",
				"Access-Control-Max-Age":           "",
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				stub := newStub(`{"statusCode":200,"body":"ok"}`)
				srv := serve(t, Config{API: api, Routes: []template.Route{route("GET", "/items")}, Functions: map[string]Invoker{"Fn": stub}})
				req := newRequest(t, http.MethodOptions, srv.URL+"/items", nil)
				req.Header.Set("Origin", tc.origin)
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type")
				resp := do(t, srv, req)
				if resp.status != http.StatusNoContent {
					t.Errorf("status = %d, want 204", resp.status)
				}
				if len(resp.body) != 0 {
					t.Errorf("body = %q, want none", resp.body)
				}
				for name, want := range tc.wantHeaders {
					if got := resp.header.Get(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				if got := stub.calls.Load(); got != 0 {
					t.Errorf("function invoked %d times for a preflight, want 0", got)
				}
			})
		}
	})

	t.Run("request", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			origin      string
			wantHeaders map[string]string // "" means absent
		}{
			{"allowed origin", allowed, map[string]string{
				"Access-Control-Allow-Origin":      allowed,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers":    "X-Request-Id",
			}},
			{"other origin", "http://evil.example", map[string]string{
				"Access-Control-Allow-Origin":   "",
				"Access-Control-Expose-Headers": "",
			}},
			{"no origin", "", map[string]string{
				"Access-Control-Allow-Origin":   "",
				"Access-Control-Expose-Headers": "",
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				stub := newStub(`{"statusCode":200,"body":"ok"}`)
				srv := serve(t, Config{API: api, Routes: []template.Route{route("GET", "/items")}, Functions: map[string]Invoker{"Fn": stub}})
				req := newRequest(t, http.MethodGet, srv.URL+"/items", nil)
				if tc.origin != "" {
					req.Header.Set("Origin", tc.origin)
				}
				resp := do(t, srv, req)
				if resp.status != http.StatusOK || string(resp.body) != "ok" {
					t.Errorf("got %d %q, want 200 \"ok\"", resp.status, resp.body)
				}
				for name, want := range tc.wantHeaders {
					if got := resp.header.Get(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				if got := stub.calls.Load(); got != 1 {
					t.Errorf("function invoked %d times, want 1", got)
				}
			})
		}
	})

	t.Run("OPTIONS without CORS configuration is routed", func(t *testing.T) {
		stub := newStub(`{"statusCode":200,"body":"ok"}`)
		srv := serve(t, Config{Routes: []template.Route{route("GET", "/items")}, Functions: map[string]Invoker{"Fn": stub}})
		req := newRequest(t, http.MethodOptions, srv.URL+"/items", nil)
		req.Header.Set("Origin", allowed)
		req.Header.Set("Access-Control-Request-Method", "GET")
		checkMessage(t, do(t, srv, req), http.StatusNotFound, `{"message":"Not Found"}`)
	})
}

// TestCORSIgnoresFunctionCORSHeaders: "If you configure CORS for an API, API
// Gateway ignores CORS headers returned from your backend integration."
func TestCORSIgnoresFunctionCORSHeaders(t *testing.T) {
	const allowed = "http://localhost:3000"
	api := &template.HTTPAPI{LogicalID: "Api", CORS: &template.CORS{AllowOrigins: []string{allowed}, AllowMethods: []string{"GET"}}}
	stub := newStub(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*","Access-Control-Allow-Credentials":"true"},"body":"ok"}`)
	srv := serve(t, Config{API: api, Routes: []template.Route{route("GET", "/items")}, Functions: map[string]Invoker{"Fn": stub}})
	for _, tc := range []struct {
		name, origin, wantAllowOrigin string
	}{
		{"allowed origin", allowed, allowed},
		{"other origin", "http://evil.example", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, http.MethodGet, srv.URL+"/items", nil)
			req.Header.Set("Origin", tc.origin)
			resp := do(t, srv, req)
			if got := resp.header.Get("Access-Control-Allow-Origin"); got != tc.wantAllowOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q (the API's CORS configuration, not the function's header)", got, tc.wantAllowOrigin)
			}
			if got := resp.header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want none: the API does not allow credentials", got)
			}
		})
	}
}
