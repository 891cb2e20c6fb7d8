package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func buildTestFunction(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../testdata/testfn")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build test function: %v\n%s", err, out)
	}
	return bin
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestFunction(t *testing.T, bin string, timeout time.Duration, max int, env ...string) (*Function, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	f := New(Config{
		Name: "TestFunction", ARN: "arn:aws:lambda:ap-northeast-1:123456789012:function:test",
		Binary: bin, Dir: filepath.Dir(bin), Env: append([]string{"PATH=" + os.Getenv("PATH")}, env...),
		Timeout: timeout, MaxInstances: max, Output: out,
	})
	t.Cleanup(f.Close)
	return f, out
}

type echoReply struct {
	PID int               `json:"pid"`
	Env map[string]string `json:"env"`
	ARN string            `json:"arn"`
}

func invoke(t *testing.T, f *Function, payload string) Result {
	t.Helper()
	res, err := f.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

func pidOf(t *testing.T, res Result) int {
	t.Helper()
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil || r.PID == 0 {
		t.Fatalf("reply %s: no pid (%v)", res.Payload, err)
	}
	return r.PID
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestInvokeWarmAndCold(t *testing.T) {
	f, out := newTestFunction(t, buildTestFunction(t), 5*time.Second, 2, "GREETING=hello")

	first := invoke(t, f, `{"action":"echo"}`)
	if !first.Cold || first.FunctionError != "" {
		t.Fatalf("first invocation: cold=%v error=%q, want cold and no error", first.Cold, first.FunctionError)
	}
	var r echoReply
	if err := json.Unmarshal(first.Payload, &r); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Env["GREETING"], "hello"; got != want {
		t.Errorf("env GREETING = %q, want %q", got, want)
	}
	if !strings.HasPrefix(r.Env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a loopback address", r.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if got, want := r.ARN, "arn:aws:lambda:ap-northeast-1:123456789012:function:test"; got != want {
		t.Errorf("invoked ARN = %q, want %q", got, want)
	}

	second := invoke(t, f, `{"action":"echo"}`)
	if second.Cold {
		t.Error("second invocation was cold, want the warm instance reused")
	}
	if got, want := pidOf(t, second), r.PID; got != want {
		t.Errorf("second invocation ran in pid %d, want the warm pid %d", got, want)
	}
	if second.RequestID == first.RequestID {
		t.Errorf("request IDs repeat: %s", first.RequestID)
	}
	// stdout reaches the writer through a pipe, after Invoke may return.
	want := "[TestFunction] log line for " + first.RequestID
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), want) {
		t.Errorf("function output not prefixed with its name; got:\n%s", out.String())
	}
}

func TestHandlerErrorKeepsInstance(t *testing.T) {
	f, _ := newTestFunction(t, buildTestFunction(t), 5*time.Second, 1)
	pid := pidOf(t, invoke(t, f, `{"action":"echo"}`))

	res := invoke(t, f, `{"action":"error"}`)
	if res.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled", res.FunctionError)
	}
	if !strings.Contains(string(res.Payload), "requested failure") {
		t.Errorf("payload %s does not carry the handler's error", res.Payload)
	}
	if got := pidOf(t, invoke(t, f, `{"action":"echo"}`)); got != pid {
		t.Errorf("after a returned error the instance changed (%d → %d); Lambda keeps it", pid, got)
	}
}

func TestPanicAndCrashReplaceInstance(t *testing.T) {
	bin := buildTestFunction(t)
	for _, tc := range []struct {
		action, wantType, wantText string
	}{
		{"panic", "", "requested panic"},
		{"exit", "Runtime.ExitError", "Runtime exited with error: exit status 2"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			f, _ := newTestFunction(t, bin, 5*time.Second, 1)
			pid := pidOf(t, invoke(t, f, `{"action":"echo"}`))

			res := invoke(t, f, `{"action":"`+tc.action+`"}`)
			if res.FunctionError != "Unhandled" {
				t.Fatalf("FunctionError = %q, want Unhandled", res.FunctionError)
			}
			if tc.wantType != "" && res.ErrorType != tc.wantType {
				t.Errorf("ErrorType = %q, want %q", res.ErrorType, tc.wantType)
			}
			if !strings.Contains(string(res.Payload), tc.wantText) {
				t.Errorf("payload %s does not contain %q", res.Payload, tc.wantText)
			}

			next := invoke(t, f, `{"action":"echo"}`)
			if !next.Cold || next.FunctionError != "" {
				t.Errorf("invocation after %s: cold=%v error=%q, want a fresh instance", tc.action, next.Cold, next.FunctionError)
			}
			if pidOf(t, next) == pid {
				t.Errorf("invocation after %s ran in the dead pid %d", tc.action, pid)
			}
			if !processGone(pid) {
				t.Errorf("pid %d still runs after %s", pid, tc.action)
			}
		})
	}
}

func TestTimeoutKillsInstance(t *testing.T) {
	f, _ := newTestFunction(t, buildTestFunction(t), 500*time.Millisecond, 1)
	pid := pidOf(t, invoke(t, f, `{"action":"echo"}`))

	start := time.Now()
	res := invoke(t, f, `{"action":"sleep","ms":5000}`)
	elapsed := time.Since(start)
	if res.ErrorType != "Sandbox.Timedout" || res.FunctionError != "Unhandled" {
		t.Fatalf("result %+v, want an Unhandled Sandbox.Timedout", res)
	}
	if !strings.Contains(string(res.Payload), "Task timed out after 0.50 seconds") {
		t.Errorf("payload %s lacks Lambda's timeout message", res.Payload)
	}
	if elapsed > 2*time.Second {
		t.Errorf("timeout answered after %s, want about 0.5 s", elapsed)
	}
	if !processGone(pid) {
		t.Errorf("timed-out pid %d still runs", pid)
	}
	if next := invoke(t, f, `{"action":"sleep","ms":1}`); next.FunctionError != "" || !next.Cold {
		t.Errorf("invocation after timeout: %+v, want a cold success", next)
	}
}

func TestConcurrentInvocationsStartInstancesUpToLimit(t *testing.T) {
	bin := buildTestFunction(t)
	for _, tc := range []struct {
		name          string
		max, parallel int
		wantPIDs      int
	}{
		{"under the limit", 3, 3, 3},
		{"over the limit", 2, 4, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newTestFunction(t, bin, 10*time.Second, tc.max)
			var wg sync.WaitGroup
			results := make([]Result, tc.parallel)
			errs := make([]error, tc.parallel)
			for i := range tc.parallel {
				wg.Go(func() {
					results[i], errs[i] = f.Invoke(context.Background(), []byte(`{"action":"sleep","ms":400}`))
				})
			}
			wg.Wait()
			pids := map[int]bool{}
			for i, res := range results {
				if errs[i] != nil || res.FunctionError != "" {
					t.Fatalf("invocation %d: err=%v result=%s", i, errs[i], res.Payload)
				}
				pids[pidOf(t, res)] = true
			}
			if len(pids) != tc.wantPIDs {
				t.Errorf("%d invocations ran in %d processes, want %d", tc.parallel, len(pids), tc.wantPIDs)
			}
			if got := f.Instances(); got != tc.wantPIDs {
				t.Errorf("Instances() = %d, want %d warm", got, tc.wantPIDs)
			}
		})
	}
}

func TestInvokeReturnsWhenCallerGivesUp(t *testing.T) {
	f, _ := newTestFunction(t, buildTestFunction(t), 5*time.Second, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := f.Invoke(ctx, []byte(`{"action":"sleep","ms":1000}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke = %v, want DeadlineExceeded", err)
	}
	// The abandoned invocation still occupies the only instance until it ends;
	// the next caller waits for it rather than failing.
	res := invoke(t, f, `{"action":"sleep","ms":1}`)
	if res.FunctionError != "" || res.Cold {
		t.Errorf("next invocation %+v, want it to reuse the instance once free", res)
	}
}

func TestInitFailure(t *testing.T) {
	f, _ := newTestFunction(t, buildTestFunction(t), 5*time.Second, 1, "TESTFN_FAIL_INIT=1")
	_, err := f.Invoke(context.Background(), []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "exited during init") {
		t.Fatalf("Invoke = %v, want an init failure", err)
	}
	if got := f.Instances(); got != 0 {
		t.Errorf("Instances() = %d after a failed init, want 0", got)
	}
}

func TestCloseStopsEveryProcess(t *testing.T) {
	f, _ := newTestFunction(t, buildTestFunction(t), 10*time.Second, 3)
	var wg sync.WaitGroup
	pids := make(chan int, 3)
	for range 3 {
		wg.Go(func() {
			res, err := f.Invoke(context.Background(), []byte(`{"action":"sleep","ms":300}`))
			if err == nil && res.FunctionError == "" {
				pids <- pidOf(t, res)
			}
		})
	}
	wg.Wait()
	close(pids)
	busy := make(chan error, 1)
	go func() {
		_, err := f.Invoke(context.Background(), []byte(`{"action":"sleep","ms":5000}`))
		busy <- err
	}()
	time.Sleep(100 * time.Millisecond)

	f.Close()
	for pid := range pids {
		if !processGone(pid) {
			t.Errorf("pid %d still runs after Close", pid)
		}
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
	select {
	case <-busy:
	case <-time.After(3 * time.Second):
		t.Error("an invocation in flight at Close never returned")
	}
}
