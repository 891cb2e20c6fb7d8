package invokeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/gmis-oss/gmis/infra/local/sandbox"
)

const (
	region  = "ap-northeast-1"
	account = "123456789012"
)

// invokerFunc adapts a function to Invoker.
type invokerFunc func(ctx context.Context, payload []byte) (sandbox.Result, error)

func (f invokerFunc) Invoke(ctx context.Context, payload []byte) (sandbox.Result, error) {
	return f(ctx, payload)
}

// fakeBackend is a Backend whose methods are its fields; a nil field fails
// the test when it is called.
type fakeBackend struct {
	t            *testing.T
	function     func(name string) (Invoker, bool)
	fireSchedule func(ctx context.Context, name string) (sandbox.Result, error)
	schedules    func() []ScheduleInfo
}

func (b *fakeBackend) Function(name string) (Invoker, bool) {
	if b.function == nil {
		b.t.Errorf("unexpected Function(%q)", name)
		return nil, false
	}
	return b.function(name)
}

func (b *fakeBackend) FireSchedule(ctx context.Context, name string) (sandbox.Result, error) {
	if b.fireSchedule == nil {
		b.t.Errorf("unexpected FireSchedule(%q)", name)
		return sandbox.Result{}, errors.New("unexpected")
	}
	return b.fireSchedule(ctx, name)
}

func (b *fakeBackend) Schedules() []ScheduleInfo {
	if b.schedules == nil {
		b.t.Errorf("unexpected Schedules()")
		return nil
	}
	return b.schedules()
}

// syncBuffer is a log writer safe for the handler's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// call records one invocation of a fake function.
type call struct {
	payload []byte
}

// healthBackend serves one function, HealthFunction, that records each
// payload on calls and answers with result (or err).
func healthBackend(t *testing.T, result sandbox.Result, err error) (*fakeBackend, chan call) {
	t.Helper()
	calls := make(chan call, 16)
	fn := invokerFunc(func(_ context.Context, payload []byte) (sandbox.Result, error) {
		calls <- call{payload: bytes.Clone(payload)}
		return result, err
	})
	b := &fakeBackend{t: t, function: func(name string) (Invoker, bool) {
		if name == "HealthFunction" {
			return fn, true
		}
		return nil, false
	}}
	return b, calls
}

// startServer serves h on 127.0.0.1 until the test ends.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func newServer(t *testing.T, b Backend, log io.Writer) *httptest.Server {
	t.Helper()
	return startServer(t, Handler(b, region, account, log))
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body []byte, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func invokeURL(srv *httptest.Server, name string) string {
	return srv.URL + "/2015-03-31/functions/" + name + "/invocations"
}

// awsError checks an error response's status, X-Amzn-Errortype and message.
func awsError(t *testing.T, r response, status int, typ, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if got := r.header.Get("X-Amzn-Errortype"); got != typ {
		t.Errorf("X-Amzn-Errortype = %q, want %q", got, typ)
	}
	var body struct {
		Message string `json:"message"`
		Type    string `json:"__type"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	if body.Type != typ {
		t.Errorf("__type = %q, want %q", body.Type, typ)
	}
	if !strings.Contains(body.Message, msgPart) {
		t.Errorf("message %q does not contain %q", body.Message, msgPart)
	}
}

// received waits for one call of the fake function.
func received(t *testing.T, calls <-chan call) call {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the function was not called within 5s")
		return call{}
	}
}

func notCalled(t *testing.T, calls <-chan call) {
	t.Helper()
	select {
	case c := <-calls:
		t.Errorf("the function was called with %s, want no call", c.payload)
	default:
	}
}

func TestInvokeFunctionNames(t *testing.T) {
	result := sandbox.Result{RequestID: "req-1", Payload: []byte(`{"status":"ok"}`)}
	b, calls := healthBackend(t, result, nil)
	var names []string
	var mu sync.Mutex
	lookup := b.function
	b.function = func(name string) (Invoker, bool) {
		mu.Lock()
		names = append(names, name)
		mu.Unlock()
		return lookup(name)
	}
	srv := newServer(t, b, nil)

	tests := []struct {
		name string
		path string
	}{
		{"logical ID", "HealthFunction"},
		{"full ARN", "arn:aws:lambda:ap-northeast-1:123456789012:function:HealthFunction"},
		{"escaped ARN", "arn%3Aaws%3Alambda%3Aap-northeast-1%3A123456789012%3Afunction%3AHealthFunction"},
		{"qualified ARN", "arn:aws:lambda:ap-northeast-1:123456789012:function:HealthFunction:$LATEST"},
		{"partial ARN", "123456789012:function:HealthFunction"},
		{"name:$LATEST", "HealthFunction:$LATEST"},
		{"escaped name:$LATEST", "HealthFunction%3A%24LATEST"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte(`{"case": "` + tt.name + `", "n": [1, 2.5, null], "nested": {"k": "v"}}`)
			r := do(t, http.MethodPost, invokeURL(srv, tt.path), payload, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", r.status, r.body)
			}
			c := received(t, calls)
			if !bytes.Equal(c.payload, payload) {
				t.Errorf("the function received %s, want exactly %s", c.payload, payload)
			}
			if !bytes.Equal(r.body, result.Payload) {
				t.Errorf("body = %s, want %s", r.body, result.Payload)
			}
			wantHeaders := map[string]string{
				"X-Amz-Executed-Version": "$LATEST",
				"X-Amzn-Requestid":       "req-1",
				"Content-Type":           "application/json",
				"X-Amz-Function-Error":   "",
			}
			for k, want := range wantHeaders {
				if got := r.header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			mu.Lock()
			last := names[len(names)-1]
			count := len(names)
			mu.Unlock()
			if last != "HealthFunction" || count != i+1 {
				t.Errorf("Backend.Function got %q (call %d), want HealthFunction (call %d)", last, count, i+1)
			}
		})
	}
}

func TestInvokeFunctionError(t *testing.T) {
	result := sandbox.Result{
		RequestID:     "req-err",
		Payload:       []byte(`{"errorMessage":"boom","errorType":"errorString"}`),
		FunctionError: "Unhandled",
		ErrorType:     "errorString",
	}
	b, calls := healthBackend(t, result, nil)
	log := &syncBuffer{}
	srv := newServer(t, b, log)

	r := do(t, http.MethodPost, invokeURL(srv, "HealthFunction"), []byte(`{}`), nil)
	received(t, calls)
	if r.status != http.StatusOK {
		t.Errorf("status = %d, want 200: Lambda reports function errors in a header", r.status)
	}
	if got := r.header.Get("X-Amz-Function-Error"); got != "Unhandled" {
		t.Errorf("X-Amz-Function-Error = %q, want Unhandled", got)
	}
	if got := r.header.Get("X-Amz-Executed-Version"); got != "$LATEST" {
		t.Errorf("X-Amz-Executed-Version = %q, want $LATEST", got)
	}
	if !bytes.Equal(r.body, result.Payload) {
		t.Errorf("body = %s, want %s", r.body, result.Payload)
	}
	if got := log.String(); !strings.Contains(got, "HealthFunction") || !strings.Contains(got, "function error errorString") {
		t.Errorf("log = %q, want a line naming HealthFunction and its error type", got)
	}
}

func TestInvokeErrors(t *testing.T) {
	tests := []struct {
		name      string
		function  string
		body      []byte
		header    map[string]string
		status    int
		errorType string
		message   string
	}{
		{
			name:      "unknown function",
			function:  "NoSuchFunction",
			body:      []byte(`{}`),
			status:    http.StatusNotFound,
			errorType: "ResourceNotFoundException",
			message:   "Function not found: arn:aws:lambda:ap-northeast-1:123456789012:function:NoSuchFunction",
		},
		{
			name:      "unknown function by ARN",
			function:  "arn:aws:lambda:ap-northeast-1:123456789012:function:Other:$LATEST",
			body:      []byte(`{}`),
			status:    http.StatusNotFound,
			errorType: "ResourceNotFoundException",
			message:   "arn:aws:lambda:ap-northeast-1:123456789012:function:Other",
		},
		{
			name:      "invalid JSON payload",
			function:  "HealthFunction",
			body:      []byte(`{"unterminated": `),
			status:    http.StatusBadRequest,
			errorType: "InvalidRequestContentException",
			message:   "Could not parse request body into json",
		},
		{
			name:      "payload that is not JSON at all",
			function:  "HealthFunction",
			body:      []byte(`hello`),
			status:    http.StatusBadRequest,
			errorType: "InvalidRequestContentException",
			message:   "json",
		},
		{
			name:      "payload over MaxPayloadBytes",
			function:  "HealthFunction",
			body:      jsonString(MaxPayloadBytes + 1),
			status:    http.StatusRequestEntityTooLarge,
			errorType: "RequestTooLargeException",
			message:   "Request must be smaller than 6291456 bytes",
		},
		{
			name:      "unknown invocation type",
			function:  "HealthFunction",
			body:      []byte(`{}`),
			header:    map[string]string{"X-Amz-Invocation-Type": "Sometimes"},
			status:    http.StatusBadRequest,
			errorType: "InvalidParameterValueException",
			message:   "Sometimes",
		},
		{
			name:      "invalid JSON with invocation type Event",
			function:  "HealthFunction",
			body:      []byte(`nope`),
			header:    map[string]string{"X-Amz-Invocation-Type": "Event"},
			status:    http.StatusBadRequest,
			errorType: "InvalidRequestContentException",
			message:   "json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, calls := healthBackend(t, sandbox.Result{Payload: []byte(`{}`)}, nil)
			srv := newServer(t, b, nil)
			r := do(t, http.MethodPost, invokeURL(srv, tt.function), tt.body, tt.header)
			awsError(t, r, tt.status, tt.errorType, tt.message)
			notCalled(t, calls)
		})
	}
}

// jsonString is a valid JSON document (a string) of exactly n bytes.
func jsonString(n int) []byte {
	b := bytes.Repeat([]byte("a"), n)
	b[0], b[n-1] = '"', '"'
	return b
}

func TestInvokePayloadAtLimit(t *testing.T) {
	b, calls := healthBackend(t, sandbox.Result{Payload: []byte(`null`)}, nil)
	srv := newServer(t, b, nil)
	payload := jsonString(MaxPayloadBytes)
	r := do(t, http.MethodPost, invokeURL(srv, "HealthFunction"), payload, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 for a payload of exactly MaxPayloadBytes (body %.200s)", r.status, r.body)
	}
	if c := received(t, calls); len(c.payload) != MaxPayloadBytes {
		t.Errorf("the function received %d bytes, want %d", len(c.payload), MaxPayloadBytes)
	}
}

func TestInvokeEmptyBody(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"no body", nil},
		{"zero-length body", []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, calls := healthBackend(t, sandbox.Result{Payload: []byte(`"done"`)}, nil)
			srv := newServer(t, b, nil)
			r := do(t, http.MethodPost, invokeURL(srv, "HealthFunction"), tt.body, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", r.status, r.body)
			}
			if c := received(t, calls); string(c.payload) != "{}" {
				t.Errorf("the function received %q, want {}", c.payload)
			}
		})
	}
}

func TestInvokeBackendError(t *testing.T) {
	b, calls := healthBackend(t, sandbox.Result{}, errors.New("instance failed to start"))
	srv := newServer(t, b, &syncBuffer{})
	r := do(t, http.MethodPost, invokeURL(srv, "HealthFunction"), []byte(`{}`), nil)
	received(t, calls)
	awsError(t, r, http.StatusInternalServerError, "ServiceException", "instance failed to start")
}

func TestInvocationTypes(t *testing.T) {
	tests := []struct {
		name       string
		typ        string
		wantStatus int
		wantCall   bool
		wantBody   string
	}{
		{"default is RequestResponse", "", http.StatusOK, true, `{"r":1}`},
		{"RequestResponse", "RequestResponse", http.StatusOK, true, `{"r":1}`},
		{"Event", "Event", http.StatusAccepted, true, ""},
		{"DryRun", "DryRun", http.StatusNoContent, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, calls := healthBackend(t, sandbox.Result{Payload: []byte(`{"r":1}`)}, nil)
			log := &syncBuffer{}
			srv := newServer(t, b, log)
			payload := []byte(`{"type":"` + tt.typ + `"}`)
			r := do(t, http.MethodPost, invokeURL(srv, "HealthFunction"), payload, map[string]string{"X-Amz-Invocation-Type": tt.typ})
			if r.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", r.status, tt.wantStatus, r.body)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body = %q, want %q", r.body, tt.wantBody)
			}
			if !tt.wantCall {
				// Give a wrongly started asynchronous call a moment to show.
				time.Sleep(50 * time.Millisecond)
				notCalled(t, calls)
				return
			}
			// An Event invocation runs after the 202; wait for it.
			if c := received(t, calls); !bytes.Equal(c.payload, payload) {
				t.Errorf("the function received %s, want %s", c.payload, payload)
			}
		})
	}
}

// An Event invocation must not be tied to the HTTP request: the function
// runs to completion even after the client is gone.
func TestEventInvocationOutlivesRequest(t *testing.T) {
	release := make(chan struct{})
	done := make(chan error, 1)
	fn := invokerFunc(func(ctx context.Context, _ []byte) (sandbox.Result, error) {
		<-release
		done <- ctx.Err()
		return sandbox.Result{}, nil
	})
	b := &fakeBackend{t: t, function: func(string) (Invoker, bool) { return fn, true }}
	srv := newServer(t, b, nil)
	r := do(t, http.MethodPost, invokeURL(srv, "Slow"), []byte(`{}`), map[string]string{"X-Amz-Invocation-Type": "Event"})
	if r.status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202", r.status)
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the Event invocation's context ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the Event invocation did not finish within 5s")
	}
}

func TestListSchedules(t *testing.T) {
	next := time.Date(2025, 1, 13, 4, 0, 0, 0, time.UTC)
	list := []ScheduleInfo{
		{Name: "ReportFunction/Nightly", Expression: "cron(0 13 ? * MON-FRI *)", Timezone: "Asia/Tokyo", Enabled: true, Next: next},
		{Name: "ReportFunction/Paused", Expression: "rate(1 hour)", Timezone: "UTC", Enabled: false},
	}
	b := &fakeBackend{t: t, schedules: func() []ScheduleInfo { return list }}
	srv := newServer(t, b, nil)

	r := do(t, http.MethodGet, srv.URL+"/_local/schedules", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var got []ScheduleInfo
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if len(got) != len(list) {
		t.Fatalf("got %d schedules, want %d: %s", len(got), len(list), r.body)
	}
	for i := range list {
		if !got[i].Next.Equal(list[i].Next) {
			t.Errorf("schedule %d Next = %v, want %v", i, got[i].Next, list[i].Next)
		}
		got[i].Next, list[i].Next = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(got, list) {
		t.Errorf("schedules = %+v, want %+v", got, list)
	}

	// The JSON names are the API's; a schedule with no next time omits "next".
	var raw []map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	wantKeys := [][]string{
		{"enabled", "expression", "name", "next", "timezone"},
		{"enabled", "expression", "name", "timezone"},
	}
	for i, m := range raw {
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !reflect.DeepEqual(keys, wantKeys[i]) {
			t.Errorf("schedule %d keys = %v, want %v", i, keys, wantKeys[i])
		}
	}
	if raw[0]["next"] != "2025-01-13T04:00:00Z" {
		t.Errorf("next = %v, want 2025-01-13T04:00:00Z", raw[0]["next"])
	}
}

func TestFireSchedule(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		result     sandbox.Result
		err        error
		wantName   string
		wantStatus int
		wantBody   string
		wantError  string // X-Amzn-Errortype
		wantFnErr  string
	}{
		{
			name:       "fires",
			path:       "/_local/schedules/Fn/Ev",
			result:     sandbox.Result{RequestID: "req-s", Payload: []byte(`{"fired":true}`)},
			wantName:   "Fn/Ev",
			wantStatus: http.StatusOK,
			wantBody:   `{"fired":true}`,
		},
		{
			name:       "function error",
			path:       "/_local/schedules/ReportFunction/Nightly",
			result:     sandbox.Result{Payload: []byte(`{"errorMessage":"x"}`), FunctionError: "Unhandled"},
			wantName:   "ReportFunction/Nightly",
			wantStatus: http.StatusOK,
			wantBody:   `{"errorMessage":"x"}`,
			wantFnErr:  "Unhandled",
		},
		{
			name:       "unknown schedule",
			path:       "/_local/schedules/Fn/Missing",
			err:        errors.New("no schedule Fn/Missing in the template"),
			wantName:   "Fn/Missing",
			wantStatus: http.StatusNotFound,
			wantError:  "ResourceNotFoundException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := make(chan string, 1)
			b := &fakeBackend{t: t, fireSchedule: func(_ context.Context, name string) (sandbox.Result, error) {
				names <- name
				return tt.result, tt.err
			}}
			srv := newServer(t, b, &syncBuffer{})
			r := do(t, http.MethodPost, srv.URL+tt.path, nil, nil)
			select {
			case got := <-names:
				if got != tt.wantName {
					t.Errorf("FireSchedule(%q), want %q", got, tt.wantName)
				}
			default:
				t.Fatal("FireSchedule was not called")
			}
			if tt.wantError != "" {
				awsError(t, r, tt.wantStatus, tt.wantError, tt.err.Error())
				return
			}
			if r.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", r.status, tt.wantStatus, r.body)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body = %s, want %s", r.body, tt.wantBody)
			}
			if got := r.header.Get("X-Amz-Function-Error"); got != tt.wantFnErr {
				t.Errorf("X-Amz-Function-Error = %q, want %q", got, tt.wantFnErr)
			}
		})
	}
}

func TestOtherRequests(t *testing.T) {
	tests := []struct {
		name, method, path string
	}{
		{"GET on invocations", http.MethodGet, "/2015-03-31/functions/HealthFunction/invocations"},
		{"other Lambda operation", http.MethodGet, "/2015-03-31/functions/HealthFunction"},
		{"GET on a schedule", http.MethodGet, "/_local/schedules/Fn/Ev"},
		{"root", http.MethodGet, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, &fakeBackend{t: t}, nil)
			r := do(t, tt.method, srv.URL+tt.path, nil, nil)
			if r.status == http.StatusOK {
				t.Errorf("status = 200 for %s %s, want an error", tt.method, tt.path)
			}
		})
	}
	t.Run("unknown operation", func(t *testing.T) {
		srv := newServer(t, &fakeBackend{t: t}, nil)
		r := do(t, http.MethodGet, srv.URL+"/2015-03-31/functions/HealthFunction", nil, nil)
		awsError(t, r, http.StatusNotFound, "UnknownOperationException", "Invoke")
	})
}

// newLambdaClient is the real AWS SDK client pointed at srv.
func newLambdaClient(srv *httptest.Server) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func TestAWSSDKInvoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("payload round trip", func(t *testing.T) {
		echo := invokerFunc(func(_ context.Context, payload []byte) (sandbox.Result, error) {
			return sandbox.Result{RequestID: "req-sdk", Payload: bytes.Clone(payload)}, nil
		})
		var got []string
		var mu sync.Mutex
		b := &fakeBackend{t: t, function: func(name string) (Invoker, bool) {
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
			return echo, name == "HealthFunction"
		}}
		client := newLambdaClient(newServer(t, b, nil))
		for _, name := range []string{
			"HealthFunction",
			"arn:aws:lambda:ap-northeast-1:123456789012:function:HealthFunction",
			"HealthFunction:$LATEST",
		} {
			payload := []byte(`{"name":"` + name + `","日本語":"こんにちは"}`)
			out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
			if err != nil {
				t.Fatalf("Invoke(%s): %v", name, err)
			}
			if !bytes.Equal(out.Payload, payload) {
				t.Errorf("Invoke(%s) payload = %s, want %s", name, out.Payload, payload)
			}
			if out.StatusCode != http.StatusOK {
				t.Errorf("Invoke(%s) StatusCode = %d, want 200", name, out.StatusCode)
			}
			if v := aws.ToString(out.ExecutedVersion); v != "$LATEST" {
				t.Errorf("Invoke(%s) ExecutedVersion = %q, want $LATEST", name, v)
			}
			if out.FunctionError != nil {
				t.Errorf("Invoke(%s) FunctionError = %q, want nil", name, *out.FunctionError)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		want := []string{"HealthFunction", "HealthFunction", "HealthFunction"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Backend.Function got %q, want %q", got, want)
		}
	})

	t.Run("function error", func(t *testing.T) {
		b, _ := healthBackend(t, sandbox.Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled"}, nil)
		client := newLambdaClient(newServer(t, b, nil))
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("HealthFunction"), Payload: []byte(`{}`)})
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if out.FunctionError == nil || *out.FunctionError != "Unhandled" {
			t.Errorf("FunctionError = %v, want *string Unhandled", out.FunctionError)
		}
		if string(out.Payload) != `{"errorMessage":"boom"}` {
			t.Errorf("Payload = %s", out.Payload)
		}
	})

	t.Run("unknown function", func(t *testing.T) {
		b, calls := healthBackend(t, sandbox.Result{}, nil)
		client := newLambdaClient(newServer(t, b, nil))
		_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("NoSuchFunction"), Payload: []byte(`{}`)})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Fatalf("error = %v (%T), want *types.ResourceNotFoundException", err, err)
		}
		want := "arn:aws:lambda:ap-northeast-1:123456789012:function:NoSuchFunction"
		if !strings.Contains(notFound.ErrorMessage(), want) {
			t.Errorf("message = %q, want it to name %s", notFound.ErrorMessage(), want)
		}
		notCalled(t, calls)
	})

	t.Run("invalid payload", func(t *testing.T) {
		b, calls := healthBackend(t, sandbox.Result{}, nil)
		client := newLambdaClient(newServer(t, b, nil))
		_, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("HealthFunction"), Payload: []byte(`{`)})
		var invalid *types.InvalidRequestContentException
		if !errors.As(err, &invalid) {
			t.Fatalf("error = %v (%T), want *types.InvalidRequestContentException", err, err)
		}
		notCalled(t, calls)
	})

	t.Run("invocation types", func(t *testing.T) {
		b, calls := healthBackend(t, sandbox.Result{Payload: []byte(`{}`)}, nil)
		client := newLambdaClient(newServer(t, b, nil))

		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("HealthFunction"), InvocationType: types.InvocationTypeDryRun})
		if err != nil {
			t.Fatalf("DryRun: %v", err)
		}
		if out.StatusCode != http.StatusNoContent {
			t.Errorf("DryRun StatusCode = %d, want 204", out.StatusCode)
		}
		notCalled(t, calls)

		out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("HealthFunction"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"async":true}`)})
		if err != nil {
			t.Fatalf("Event: %v", err)
		}
		if out.StatusCode != http.StatusAccepted {
			t.Errorf("Event StatusCode = %d, want 202", out.StatusCode)
		}
		if c := received(t, calls); string(c.payload) != `{"async":true}` {
			t.Errorf("Event payload = %s", c.payload)
		}
	})
}
