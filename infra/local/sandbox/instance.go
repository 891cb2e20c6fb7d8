package sandbox

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/gmis-oss/gmis/infra/local/prefix"
)

// instance is one process of a function and the Runtime API endpoint it
// polls. It serves one invocation at a time.
type instance struct {
	cfg    Config
	cmd    *exec.Cmd
	srv    *http.Server
	next   chan *invocation // handed to the process's GET /next
	ready  chan struct{}    // closed at the first GET /next: init is over
	exited chan struct{}    // closed when the process has ended

	mu        sync.Mutex
	current   *invocation
	initError []byte // what the runtime reported to /init/error
	exitErr   error
	readyOnce sync.Once
	stopOnce  sync.Once
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan Result // buffered; the first answer wins
}

func startInstance(cfg Config) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: runtime API listener: %w", cfg.Name, err)
	}
	in := &instance{
		cfg:    cfg,
		next:   make(chan *invocation),
		ready:  make(chan struct{}),
		exited: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", in.handleInitError)
	in.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go in.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed

	out := prefix.NewWriter(cfg.Output, cfg.Name)
	cmd := exec.Command(cfg.Binary)
	cmd.Dir = cfg.Dir
	cmd.Env = append(append([]string{}, cfg.Env...), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		in.srv.Close()
		return nil, fmt.Errorf("%s: start %s: %w", cfg.Name, cfg.Binary, err)
	}
	in.cmd = cmd
	go func() {
		err := cmd.Wait()
		out.Flush()
		in.mu.Lock()
		in.exitErr = err
		in.mu.Unlock()
		close(in.exited)
		in.srv.Close()
	}()

	timer := time.NewTimer(cfg.InitTimeout)
	defer timer.Stop()
	select {
	case <-in.ready:
		return in, nil
	case <-in.exited:
		in.mu.Lock()
		defer in.mu.Unlock()
		if len(in.initError) > 0 {
			return nil, fmt.Errorf("%s: init failed: %s", cfg.Name, in.initError)
		}
		return nil, fmt.Errorf("%s: exited during init: %v", cfg.Name, in.exitErr)
	case <-timer.C:
		in.stop()
		return nil, fmt.Errorf("%s: init did not finish within %s", cfg.Name, cfg.InitTimeout)
	}
}

func (in *instance) alive() bool {
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// stop kills the process group (the function and anything it started) and
// waits for it to end.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		if in.cmd != nil && in.alive() {
			killGroup(in.cmd)
		}
	})
	<-in.exited
}

// invoke hands payload to the process and waits for its answer, its death or
// the timeout, whichever comes first. taken is false when the process ended
// before it took the invocation (a runtime exits right after reporting a
// panic): the invocation never started and may go to another instance.
func (in *instance) invoke(payload []byte, timeout time.Duration) (res Result, taken bool) {
	start := time.Now()
	inv := &invocation{id: newRequestID(), payload: payload, deadline: start.Add(timeout), done: make(chan Result, 1)}
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	taken = true
	res = func() Result {
		select {
		case in.next <- inv:
		case <-in.exited:
			taken = false
			return in.exitResult(inv.id)
		case <-timer.C:
			in.stop()
			return timeoutResult(inv.id, start, timeout)
		}
		select {
		case res := <-inv.done:
			return res
		case <-in.exited:
			// The answer may have arrived just before the process ended.
			select {
			case res := <-inv.done:
				return res
			default:
				return in.exitResult(inv.id)
			}
		case <-timer.C:
			in.stop()
			return timeoutResult(inv.id, start, timeout)
		}
	}()
	in.mu.Lock()
	in.current = nil
	in.mu.Unlock()
	res.RequestID = inv.id
	res.Duration = time.Since(start)
	return res, taken
}

func (in *instance) exitResult(id string) Result {
	in.mu.Lock()
	err := in.exitErr
	in.mu.Unlock()
	reason := "exit status 0"
	if err != nil {
		reason = err.Error()
	}
	return errorResult(id, "Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", id, reason))
}

func timeoutResult(id string, start time.Time, timeout time.Duration) Result {
	return errorResult(id, "Sandbox.Timedout", fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		start.UTC().Format(time.RFC3339Nano), id, timeout.Seconds()))
}

func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.readyOnce.Do(func() { close(in.ready) })
	var inv *invocation
	select {
	case inv = <-in.next:
	case <-in.exited:
		return
	case <-r.Context().Done():
		return
	}
	in.mu.Lock()
	in.current = inv
	in.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", in.cfg.ARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+inv.id[:8]+";Sampled=0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// currentFor returns the invocation with the given ID if it is the one the
// process is working on.
func (in *instance) currentFor(id string) *invocation {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.current != nil && in.current.id == id {
		return in.current
	}
	return nil
}

func (in *instance) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := in.currentFor(r.PathValue("id"))
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request ID")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes+1))
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > MaxResponseBytes {
		deliver(inv, errorResult(inv.id, "Function.ResponseSizeTooLarge",
			fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)))
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response too large")
		return
	}
	deliver(inv, Result{Payload: body})
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (in *instance) handleError(w http.ResponseWriter, r *http.Request) {
	inv := in.currentFor(r.PathValue("id"))
	if inv == nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request ID")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes))
	errType := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	if errType == "" {
		errType = "Unhandled"
	}
	deliver(inv, Result{Payload: body, FunctionError: "Unhandled", ErrorType: errType})
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64*1024))
	in.mu.Lock()
	in.initError = body
	in.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func deliver(inv *invocation, res Result) {
	select {
	case inv.done <- res:
	default: // already answered
	}
}

func writeRuntimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errorType":%q,"errorMessage":%q}`, typ, msg)
}
