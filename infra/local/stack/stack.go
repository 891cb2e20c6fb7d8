// Package stack assembles the local stack from the template: DynamoDB Local
// and moto, the tables, every function built as deployed and run as its own
// processes, the HTTP API, the Lambda Invoke API and the schedules.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gmis-oss/gmis/infra/local/gateway"
	"github.com/gmis-oss/gmis/infra/local/invokeapi"
	"github.com/gmis-oss/gmis/infra/local/prefix"
	"github.com/gmis-oss/gmis/infra/local/sandbox"
	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/template"
)

// Options configure a local stack.
type Options struct {
	Root       string            // repository root (go.mod, Makefile, node_modules)
	Template   string            // template path; default Root/template.yaml
	Parameters map[string]string // template parameter overrides
	StateDir   string            // builds, DynamoDB data, stack.json; default Root/.local
	InMemory   bool              // keep DynamoDB data in memory only
	APIAddr    string            // HTTP API listen address; "" serves none
	InvokeAddr string            // Invoke API listen address; "" serves none
	// Endpoints, when set, are services already running (another stack's):
	// nothing is started and no table is created.
	Endpoints *services.Endpoints
	Schedules bool // fire schedules at their time
	// Now and After are the scheduler's clock; time.Now and time.After when nil.
	Now          func() time.Time
	After        func(time.Duration) <-chan time.Time
	MaxInstances int // per function, unless the template reserves concurrency; default 10
	Out          io.Writer
}

// Stack is a running local stack.
type Stack struct {
	opts      Options
	Template  *template.Template
	Endpoints services.Endpoints
	APIURL    string // http://127.0.0.1:PORT, when served
	InvokeURL string

	procs     []*services.Process
	voice     *services.Voice
	functions map[string]*sandbox.Function // by logical ID
	names     map[string]string            // function name → logical ID
	servers   []*http.Server
	stopSched context.CancelFunc
	schedWG   sync.WaitGroup
	closeOnce sync.Once
}

// Start brings the stack up. On error everything already started is stopped.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	if opts.Template == "" {
		opts.Template = filepath.Join(opts.Root, "template.yaml")
	}
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(opts.Root, ".local")
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 10
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if err := services.PrivateDir(opts.StateDir); err != nil {
		return nil, err
	}
	tmpl, err := LoadTemplate(opts.Root, opts.Template, opts.StateDir, opts.Parameters)
	if err != nil {
		return nil, err
	}
	st = &Stack{opts: opts, Template: tmpl, functions: map[string]*sandbox.Function{}, names: map[string]string{}}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()

	if opts.Endpoints != nil {
		st.Endpoints = *opts.Endpoints
	} else if err := st.startServices(ctx); err != nil {
		return st, err
	}
	// The Invoke API listens before the functions are set up: its address
	// is their AWS_ENDPOINT_URL_LAMBDA (jobs invoke functions).
	var invokeLn net.Listener
	if opts.InvokeAddr != "" {
		if invokeLn, err = net.Listen("tcp", opts.InvokeAddr); err != nil {
			return st, fmt.Errorf("invoke API: %w", err)
		}
		st.InvokeURL = "http://" + invokeLn.Addr().String()
		st.Endpoints.Lambda = st.InvokeURL
	}
	for _, f := range tmpl.Functions {
		if err := st.addFunction(ctx, f); err != nil {
			if invokeLn != nil {
				invokeLn.Close()
			}
			return st, err
		}
	}
	if invokeLn != nil {
		st.serveOn(invokeLn, invokeapi.Handler(st, st.Endpoints.Region, "123456789012", opts.Out))
	}
	if opts.APIAddr != "" {
		if err := st.serveAPI(); err != nil {
			return st, err
		}
	}
	if opts.Schedules {
		st.startScheduler()
	}
	return st, nil
}

func (st *Stack) startServices(ctx context.Context) error {
	out := st.opts.Out
	dataDir := ""
	if !st.opts.InMemory {
		dataDir = filepath.Join(st.opts.StateDir, "dynamodb")
	}
	var (
		wg             sync.WaitGroup
		ddb, moto      *services.Process
		ddbErr, motErr error
	)
	wg.Go(func() {
		ddb, ddbErr = services.StartDynamoDB(ctx, services.DynamoDBOptions{Root: st.opts.Root, DataDir: dataDir, Log: prefix.NewWriter(out, "dynamodb")})
	})
	wg.Go(func() {
		moto, motErr = services.StartMoto(ctx, services.MotoOptions{Log: prefix.NewWriter(out, "moto").Skipping(services.MotoDataRead)})
	})
	wg.Wait()
	voice, voiceErr := services.StartVoice()
	st.voice = voice
	for _, p := range []*services.Process{ddb, moto} {
		if p != nil {
			st.procs = append(st.procs, p)
		}
	}
	if err := errors.Join(ddbErr, motErr, voiceErr); err != nil {
		return err
	}
	st.Endpoints = services.Endpoints{DynamoDB: ddb.Endpoint, Moto: moto.Endpoint, Voice: voice.Endpoint, Region: "ap-northeast-1"}

	created, err := services.CreateTables(ctx, st.Endpoints.DynamoDBClient(), st.Template.Tables)
	if err != nil {
		return err
	}
	for _, name := range created {
		fmt.Fprintf(out, "created table %s\n", name)
	}
	buckets, err := services.CreateBuckets(ctx, st.Endpoints.S3Client(), st.Endpoints.Region, st.Template.Buckets)
	if err != nil {
		return err
	}
	for _, name := range buckets {
		fmt.Fprintf(out, "created bucket %s\n", name)
	}
	if from := st.Template.Parameters["MailFrom"]; from != "" {
		if err := services.VerifySender(ctx, st.Endpoints.SESClient(), from); err != nil {
			return err
		}
	}
	return nil
}

// LoadTemplate reads the template as the stack does: NoEcho parameters
// without a default take this machine's generated secrets, and
// localDefaults apply.
func LoadTemplate(root, path, stateDir string, params map[string]string) (*template.Template, error) {
	if path == "" {
		path = filepath.Join(root, "template.yaml")
	}
	if stateDir == "" {
		stateDir = filepath.Join(root, ".local")
	}
	return template.Load(path, template.Options{Parameters: params, Defaults: localDefaults(),
		Secret: func(name string) (string, error) { return localSecret(stateDir, name) }})
}

// localDefaults are the parameter values the local stack uses where the
// template's default means "not configured": voice calls go to the stack's
// voice stand-in, so that voice codes work end to end on this machine.
// `--param VoiceOriginationIdentity=` runs the stack without voice, as a
// deployment without an origination identity.
func localDefaults() map[string]string {
	return map[string]string{
		"VoiceOriginationIdentity": "+815000000000", // fictional; only the stand-in ever sees it
	}
}

// Build builds one function with the Makefile's build-<LogicalId> target,
// the same one `sam build` runs, for this machine's OS and architecture.
// Like SAM, it resolves CodeUri against the template's folder.
func Build(ctx context.Context, templateDir, outDir string, f *template.Function) (string, error) {
	if f.BuildMethod != "makefile" {
		return "", fmt.Errorf("function %s: the local stack builds with BuildMethod makefile only (Metadata.BuildMethod)", f.LogicalID)
	}
	dir := filepath.Join(outDir, f.LogicalID)
	for _, d := range []string{outDir, dir} {
		if err := services.PrivateDir(d); err != nil {
			return "", err
		}
	}
	codeDir := f.CodeURI
	if !filepath.IsAbs(codeDir) {
		codeDir = filepath.Join(templateDir, codeDir)
	}
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", codeDir, "build-"+f.LogicalID,
		"ARTIFACTS_DIR="+dir, "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", f.LogicalID, err, out)
	}
	bin := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("build %s: make build-%s wrote no bootstrap: %w", f.LogicalID, f.LogicalID, err)
	}
	if err := os.Chmod(bin, 0o700); err != nil {
		return "", err
	}
	return bin, nil
}

func (st *Stack) addFunction(ctx context.Context, f *template.Function) error {
	bin, err := Build(ctx, filepath.Dir(st.opts.Template), filepath.Join(st.opts.StateDir, "build"), f)
	if err != nil {
		return err
	}
	limit := st.opts.MaxInstances
	if f.ReservedConcurrency > 0 {
		limit = f.ReservedConcurrency
	}
	st.functions[f.LogicalID] = sandbox.New(sandbox.Config{
		Name:         f.LogicalID,
		ARN:          fmt.Sprintf("arn:aws:lambda:%s:123456789012:function:%s", st.Endpoints.Region, f.Name),
		Binary:       bin,
		Dir:          filepath.Dir(bin),
		Env:          FunctionEnv(f, filepath.Dir(bin), st.Endpoints),
		Timeout:      f.Timeout,
		MaxInstances: limit,
		Output:       st.opts.Out,
	})
	st.names[f.Name] = f.LogicalID
	return nil
}

// FunctionEnv is a function's whole environment, as Lambda would give it
// plus the local endpoints. Nothing of the host's environment leaks in.
func FunctionEnv(f *template.Function, taskRoot string, ep services.Endpoints) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"_HANDLER=" + f.Handler,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_LAMBDA_FUNCTION_NAME=" + f.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(f.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + f.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=local",
	}
	if f.LogFormat != "" {
		env = append(env, "AWS_LAMBDA_LOG_FORMAT="+f.LogFormat)
	}
	if f.LogLevel != "" {
		env = append(env, "AWS_LAMBDA_LOG_LEVEL="+f.LogLevel)
	}
	env = append(env, ep.Env()...)
	for _, k := range sortedKeys(f.Env) {
		env = append(env, k+"="+f.Env[k])
	}
	return env
}

func (st *Stack) serveAPI() error {
	apis := map[string][]template.Route{}
	for _, rt := range st.Template.Routes {
		apis[rt.API] = append(apis[rt.API], rt)
	}
	if len(apis) > 1 {
		return fmt.Errorf("the template has %d HTTP APIs; the local stack serves one", len(apis))
	}
	var (
		api    *template.HTTPAPI
		routes []template.Route
	)
	for id, rs := range apis {
		api, routes = st.Template.APIs[id], rs
	}
	fns := map[string]gateway.Invoker{}
	for id, f := range st.functions {
		fns[id] = f
	}
	gw, err := gateway.New(gateway.Config{API: api, Routes: routes, Functions: fns, Log: st.opts.Out})
	if err != nil {
		return err
	}
	url, err := st.serve(st.opts.APIAddr, gw)
	if err != nil {
		return fmt.Errorf("HTTP API: %w", err)
	}
	st.APIURL = url
	return nil
}

func (st *Stack) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	st.serveOn(ln, h)
	return "http://" + ln.Addr().String(), nil
}

func (st *Stack) serveOn(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st.servers = append(st.servers, srv)
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed
}

// FunctionEnv returns the template environment of a function (nil if the
// template has no such function).
func (st *Stack) FunctionEnv(logicalID string) map[string]string {
	for _, f := range st.Template.Functions {
		if f.LogicalID == logicalID {
			return f.Env
		}
	}
	return nil
}

// Function finds a function by logical ID or function name.
func (st *Stack) Function(name string) (invokeapi.Invoker, bool) {
	if f, ok := st.functions[name]; ok {
		return f, true
	}
	if id, ok := st.names[name]; ok {
		return st.functions[id], true
	}
	return nil, false
}

// Invoke runs a function once on payload.
func (st *Stack) Invoke(ctx context.Context, name string, payload []byte) (sandbox.Result, error) {
	f, ok := st.Function(name)
	if !ok {
		return sandbox.Result{}, fmt.Errorf("no function %s in the template", name)
	}
	return f.Invoke(ctx, payload)
}

// Close stops the servers, then the functions, then the services, and
// waits for every process to end.
func (st *Stack) Close() {
	st.closeOnce.Do(func() {
		if st.stopSched != nil {
			st.stopSched()
			st.schedWG.Wait()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, srv := range st.servers {
			_ = srv.Shutdown(ctx)
		}
		var wg sync.WaitGroup
		for _, f := range st.functions {
			wg.Go(f.Close)
		}
		wg.Wait()
		for _, p := range st.procs {
			wg.Go(p.Stop)
		}
		if st.voice != nil {
			wg.Go(st.voice.Close)
		}
		wg.Wait()
	})
}

// PIDs lists the processes the stack runs now: services and function instances.
func (st *Stack) PIDs() []int {
	var pids []int
	for _, p := range st.procs {
		pids = append(pids, p.PID())
	}
	for _, f := range st.functions {
		pids = append(pids, f.PIDs()...)
	}
	return pids
}

// State is what stack.json records for other commands (invoke, fire) and tests.
type State struct {
	PID       int                `json:"pid"`
	APIURL    string             `json:"apiUrl"`
	InvokeURL string             `json:"invokeUrl"`
	Endpoints services.Endpoints `json:"endpoints"`
}

// WriteState records the running stack in StateDir/stack.json.
func (st *Stack) WriteState() (string, error) {
	path := StatePath(st.opts.StateDir)
	data, err := json.MarshalIndent(State{PID: os.Getpid(), APIURL: st.APIURL, InvokeURL: st.InvokeURL, Endpoints: st.Endpoints}, "", "  ")
	if err != nil {
		return "", err
	}
	if err := services.PrivateDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return path, writePrivate(path, data)
}

// StatePath is where a stack with this state folder records itself.
func StatePath(stateDir string) string { return filepath.Join(stateDir, "stack.json") }

// ReadState reads stack.json and checks that its stack still answers.
func ReadState(stateDir string) (*State, error) {
	data, err := os.ReadFile(StatePath(stateDir))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	client := http.Client{Timeout: time.Second}
	resp, err := client.Get(s.InvokeURL + "/_local/schedules")
	if err != nil {
		return nil, fmt.Errorf("the stack recorded in %s does not answer: %w", StatePath(stateDir), err)
	}
	resp.Body.Close()
	return &s, nil
}

// writePrivate writes a file only its owner can read, narrowing one that
// an earlier version left readable by others.
func writePrivate(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// localSecret returns the value of a NoEcho parameter for this machine:
// generated once, kept in StateDir/secrets.json (mode 0600) so that codes,
// sealed secrets and sessions survive a restart of the stack.
func localSecret(stateDir, name string) (string, error) {
	path := filepath.Join(stateDir, "secrets.json")
	secrets := map[string]string{}
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &secrets); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		// Narrow a file that an earlier version left readable by others.
		if err := os.Chmod(path, 0o600); err != nil {
			return "", err
		}
	}
	if v, ok := secrets[name]; ok {
		return v, nil
	}
	b := make([]byte, 36)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secrets[name] = base64.RawURLEncoding.EncodeToString(b)
	data, err := json.MarshalIndent(secrets, "", "  ")
	if err != nil {
		return "", err
	}
	if err := services.PrivateDir(stateDir); err != nil {
		return "", err
	}
	if err := writePrivate(path, data); err != nil {
		return "", err
	}
	return secrets[name], nil
}
