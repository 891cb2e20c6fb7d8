// Package sandbox runs Lambda functions locally the way the Lambda service
// does: each instance is a separate process of the function's bootstrap
// binary, fed through its own Lambda Runtime API endpoint, so the function
// runs the same lambda.Start code path as in AWS. A Function keeps warm
// instances, starts another when invocations overlap (up to a limit), kills
// an instance that exceeds the function's timeout and replaces one that
// crashed.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// MaxResponseBytes is Lambda's limit on a synchronous response payload.
const MaxResponseBytes = 6 * 1024 * 1024

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("function is shut down")

// Config describes one function.
type Config struct {
	Name         string        // logical ID, used in logs
	ARN          string        // Lambda-Runtime-Invoked-Function-Arn
	Binary       string        // path of the bootstrap executable
	Dir          string        // working directory (LAMBDA_TASK_ROOT)
	Env          []string      // the whole environment of the process, KEY=value
	Timeout      time.Duration // the function's timeout
	InitTimeout  time.Duration // how long start-up may take; 10 s when zero, as in Lambda
	MaxInstances int           // concurrent instances; 1 when zero
	Output       io.Writer     // receives the processes' stdout and stderr, a line at a time
}

// Result is the outcome of one invocation, as the Lambda Invoke API reports it.
type Result struct {
	RequestID string
	Payload   []byte
	// FunctionError is "Unhandled" when the invocation failed (an error the
	// handler returned, a panic, a crash or a timeout), else "".
	FunctionError string
	// ErrorType says what failed: the runtime's errorType, Sandbox.Timedout
	// or Runtime.ExitError.
	ErrorType string
	Cold      bool
	Duration  time.Duration
}

// Function runs instances of one function.
type Function struct {
	cfg   Config
	idle  chan *instance // warm instances waiting for work
	slots chan struct{}  // one token per live instance
	mu    sync.Mutex
	live  map[*instance]bool
	done  chan struct{}
	once  sync.Once
}

// New returns a Function; no process starts until the first invocation.
func New(cfg Config) *Function {
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = 1
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return &Function{
		cfg:   cfg,
		idle:  make(chan *instance, cfg.MaxInstances),
		slots: make(chan struct{}, cfg.MaxInstances),
		live:  map[*instance]bool{},
		done:  make(chan struct{}),
	}
}

// Name returns the function's logical ID.
func (f *Function) Name() string { return f.cfg.Name }

// Timeout returns the function's configured timeout.
func (f *Function) Timeout() time.Duration { return f.cfg.Timeout }

// Invoke runs the function once on payload. It waits for a free instance
// while all are busy. If ctx ends first, Invoke returns ctx's error, but an
// invocation already handed to an instance runs to its end, as in Lambda.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	in, cold, err := f.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		for {
			res, taken := in.invoke(payload, f.cfg.Timeout)
			if taken {
				res.Cold = cold
				f.release(in)
				done <- outcome{res: res}
				return
			}
			f.discard(in)
			if in, cold, err = f.acquire(ctx); err != nil {
				done <- outcome{err: err}
				return
			}
		}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (f *Function) acquire(ctx context.Context) (*instance, bool, error) {
	for {
		select {
		case <-f.done:
			return nil, false, ErrClosed
		default:
		}
		// A warm instance is always preferred to starting a new one.
		select {
		case in := <-f.idle:
			if in.alive() {
				return in, false, nil
			}
			f.discard(in)
			continue
		default:
		}
		select {
		case in := <-f.idle:
			if in.alive() {
				return in, false, nil
			}
			f.discard(in)
		case f.slots <- struct{}{}:
			in, err := f.start()
			if err != nil {
				<-f.slots
				return nil, false, err
			}
			return in, true, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-f.done:
			return nil, false, ErrClosed
		}
	}
}

func (f *Function) start() (*instance, error) {
	f.mu.Lock()
	closed := f.isClosed()
	f.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	in, err := startInstance(f.cfg)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.isClosed() {
		f.mu.Unlock()
		in.stop()
		return nil, ErrClosed
	}
	f.live[in] = true
	f.mu.Unlock()
	return in, nil
}

func (f *Function) release(in *instance) {
	if !in.alive() || f.isClosed() {
		f.discard(in)
		return
	}
	f.idle <- in // never blocks: the buffer holds MaxInstances
}

// discard stops an instance and frees its slot; a crashed or timed-out
// instance is replaced by a fresh one at the next invocation.
func (f *Function) discard(in *instance) {
	in.stop()
	f.mu.Lock()
	wasLive := f.live[in]
	delete(f.live, in)
	f.mu.Unlock()
	if wasLive {
		<-f.slots
	}
}

func (f *Function) isClosed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// Instances returns how many instances are running now.
func (f *Function) Instances() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live)
}

// PIDs returns the process IDs of the running instances.
func (f *Function) PIDs() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	pids := make([]int, 0, len(f.live))
	for in := range f.live {
		pids = append(pids, in.cmd.Process.Pid)
	}
	return pids
}

// Close stops every instance and waits for their processes to end.
func (f *Function) Close() {
	f.once.Do(func() { close(f.done) })
	f.mu.Lock()
	all := make([]*instance, 0, len(f.live))
	for in := range f.live {
		all = append(all, in)
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Go(in.stop)
	}
	wg.Wait()
}

// errorPayload is the body Lambda returns for a failed invocation.
type errorPayload struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType,omitempty"`
}

func errorResult(id, errType, msg string) Result {
	body, _ := json.Marshal(errorPayload{ErrorMessage: msg, ErrorType: errType})
	return Result{RequestID: id, Payload: body, FunctionError: "Unhandled", ErrorType: errType}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
