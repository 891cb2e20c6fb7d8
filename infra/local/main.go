// Command local runs the system on one machine without Docker or an AWS
// account, driven by template.yaml: the local equivalent of `sam local
// start-api`, `start-lambda` and `invoke`.
//
//	local run [--fresh] [--in-memory] [--schedules] [--demo-masters=true|always|false] [--api-addr A] [--invoke-addr A] [--param K=V]...
//	local invoke <LogicalId> [--event FILE|-]
//	local fire <Function>/<Event>
//	local schedules
//	local admin --mail ADDRESS
//	local demo-users
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/infra/local/mailbox"
	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/stack"
)

const usage = `usage:
  local run [flags]                   run the whole system (HTTP API, Invoke API, DynamoDB Local, moto)
  local invoke <LogicalId> [--event FILE|-]
                                      run one function once on an event and print its answer
  local fire <Function>/<Event>       fire one of the template's schedules now (needs a running stack)
  local schedules                     list the template's schedules and their next times (needs a running stack)
  local admin --mail ADDRESS          create a national administrator; prints its ID and initial password
  local demo-users                    create one demo account per role; prints IDs and initial passwords

run 'local <command> -h' for the flags of a command`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "invoke":
		err = invokeCmd(os.Args[2:])
	case "fire":
		err = fireCmd(os.Args[2:])
	case "schedules":
		err = schedulesCmd(os.Args[2:])
	case "admin":
		err = adminCmd(os.Args[2:])
	case "demo-users":
		err = demoCmd(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
		fmt.Println(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", os.Args[1], usage)
	}
	var exit exitCode
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case err != nil:
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

type paramFlags map[string]string

func (p paramFlags) String() string { return "" }
func (p paramFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Name=Value, got %q", v)
	}
	p[k] = val
	return nil
}

type common struct {
	root     string
	stateDir string
	params   paramFlags
}

func (c *common) register(fs *flag.FlagSet) {
	c.params = paramFlags{}
	fs.StringVar(&c.root, "root", "", "repository root (default: the folder with go.mod above the current one)")
	fs.StringVar(&c.stateDir, "state-dir", "", "builds, DynamoDB data and stack.json (default: <root>/.local)")
	fs.Var(c.params, "param", "template parameter override Name=Value (repeatable)")
}

func (c *common) resolve() error {
	if c.root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if c.root, err = services.RepoRoot(wd); err != nil {
			return err
		}
	}
	if c.stateDir == "" {
		c.stateDir = filepath.Join(c.root, ".local")
	}
	return nil
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs)
	apiAddr := fs.String("api-addr", "127.0.0.1:3000", "HTTP API listen address")
	invokeAddr := fs.String("invoke-addr", "127.0.0.1:3001", "Lambda Invoke API listen address")
	fresh := fs.Bool("fresh", false, "delete the local DynamoDB data before starting")
	inMemory := fs.Bool("in-memory", false, "keep DynamoDB data in memory only")
	schedules := fs.Bool("schedules", false, "fire the template's schedules at their times")
	maxInstances := fs.Int("max-instances", 10, "concurrent instances per function")
	demo := demoAuto
	fs.Var(&demo, "demo-masters", "import the demo master data (infra/local/demo) through the maintenance function: "+
		"true (into an empty masters table only, so edits made through the API survive a restart), always, or false")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.resolve(); err != nil {
		return err
	}
	if !strings.HasPrefix(*apiAddr, "127.") || !strings.HasPrefix(*invokeAddr, "127.") {
		return errors.New("the local stack listens on loopback addresses only (127.x.x.x)")
	}
	// Pages, the Origin check and the links in mails follow the API's own
	// address unless told otherwise.
	if *apiAddr != "127.0.0.1:3000" {
		if _, ok := c.params["AllowedOrigins"]; !ok {
			c.params["AllowedOrigins"] = "http://" + *apiAddr
		}
		if _, ok := c.params["AppBaseUrl"]; !ok {
			c.params["AppBaseUrl"] = "http://" + *apiAddr
		}
	}
	if *fresh {
		if err := os.RemoveAll(filepath.Join(c.stateDir, "dynamodb")); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := os.Stdout
	fmt.Fprintln(out, "starting DynamoDB Local and moto, building functions ...")
	st, err := stack.Start(ctx, stack.Options{
		Root: c.root, StateDir: c.stateDir, Parameters: c.params, InMemory: *inMemory,
		APIAddr: *apiAddr, InvokeAddr: *invokeAddr, Schedules: *schedules, MaxInstances: *maxInstances, Out: out,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := importDemoMasters(ctx, st, filepath.Join(c.root, "infra", "local", "demo"), demo, out); err != nil {
		return err
	}
	statePath, err := st.WriteState()
	if err != nil {
		return err
	}
	defer os.Remove(statePath)

	fmt.Fprintf(out, "\nHTTP API    %s\nInvoke API  %s  (aws lambda invoke --endpoint-url %s --function-name <LogicalId> ...)\n", st.APIURL, st.InvokeURL, st.InvokeURL)
	fmt.Fprintf(out, "DynamoDB    %s\nSES, SNS    %s  (sent mail and SMS: %s/moto-api/data.json)\n", st.Endpoints.DynamoDB, st.Endpoints.Moto, st.Endpoints.Moto)
	if st.Endpoints.Voice != "" {
		fmt.Fprintf(out, "Voice calls %s  (calls placed: %s%s)\n", st.Endpoints.Voice, st.Endpoints.Voice, services.VoiceDataPath)
	}
	box, err := mailbox.Serve(ctx, mailbox.Sources{Moto: st.Endpoints.Moto, Voice: st.Endpoints.Voice})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Mailbox     %s  (the mails, SMS and voice calls sent, with their codes)\n", box)
	for _, rt := range st.Template.Routes {
		fmt.Fprintf(out, "  %-45s → %s\n", rt.Key(), rt.Function)
	}
	fmt.Fprintln(out, "\nready; Ctrl-C stops everything. First administrator: make admin MAIL=you@example.jp (in another terminal)")
	<-ctx.Done()
	fmt.Fprintln(out, "stopping ...")
	st.Close()
	fmt.Fprintln(out, "stopped: every process this stack started has ended")
	return nil
}

func invokeCmd(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: local invoke <LogicalId> [--event FILE|-]")
	}
	name := args[0]
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	var c common
	c.register(fs)
	eventPath := fs.String("event", "", "event JSON file, or - for standard input (default: {})")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := c.resolve(); err != nil {
		return err
	}
	payload := []byte("{}")
	if *eventPath != "" {
		var err error
		if *eventPath == "-" {
			payload, err = io.ReadAll(os.Stdin)
		} else {
			payload, err = os.ReadFile(*eventPath)
		}
		if err != nil {
			return err
		}
		if !json.Valid(payload) {
			return fmt.Errorf("%s is not valid JSON", *eventPath)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := stack.Options{Root: c.root, StateDir: c.stateDir, Parameters: c.params, Out: os.Stderr, MaxInstances: 1}
	// Against a running stack's DynamoDB and moto when there is one, like
	// `sam local invoke` against running services; otherwise on fresh,
	// in-memory ones that go away afterwards.
	if state, err := stack.ReadState(c.stateDir); err == nil {
		fmt.Fprintln(os.Stderr, "using the running local stack's DynamoDB and moto")
		opts.Endpoints = &state.Endpoints
	} else {
		fmt.Fprintln(os.Stderr, "no running local stack: starting DynamoDB Local (in memory) and moto for this invocation")
		opts.InMemory = true
		opts.StateDir = filepath.Join(c.stateDir, "invoke")
	}
	st, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.Invoke(ctx, name, payload)
	if err != nil {
		return err
	}
	fmt.Println(string(res.Payload))
	fmt.Fprintf(os.Stderr, "%s: %dms, %s\n", name, res.Duration.Milliseconds(), map[bool]string{true: "cold", false: "warm"}[res.Cold])
	if res.FunctionError != "" {
		fmt.Fprintf(os.Stderr, "function error (%s)\n", res.ErrorType)
		return exitCode(1)
	}
	return nil
}

func fireCmd(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: local fire <Function>/<Event>")
	}
	fs := flag.NewFlagSet("fire", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := c.resolve(); err != nil {
		return err
	}
	state, err := stack.ReadState(c.stateDir)
	if err != nil {
		return fmt.Errorf("no running local stack (start it with make local): %w", err)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Minute}).Post(state.InvokeURL+"/_local/schedules/"+args[0], "application/json", bytes.NewReader(nil))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return exitCode(1)
	}
	return nil
}

func schedulesCmd(args []string) error {
	fs := flag.NewFlagSet("schedules", flag.ContinueOnError)
	var c common
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.resolve(); err != nil {
		return err
	}
	state, err := stack.ReadState(c.stateDir)
	if err != nil {
		return fmt.Errorf("no running local stack (start it with make local): %w", err)
	}
	resp, err := http.Get(state.InvokeURL + "/_local/schedules")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var infos []struct {
		Name, Expression, Timezone string
		Enabled                    bool
		Next                       time.Time
	}
	if err := json.NewDecoder(resp.Body).Decode(&infos); err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Println("the template has no schedules")
		return nil
	}
	for _, in := range infos {
		next := "never again"
		if !in.Next.IsZero() {
			next = in.Next.Format(time.RFC3339)
		}
		state := "enabled"
		if !in.Enabled {
			state = "disabled"
		}
		fmt.Printf("%-40s %-30s %-12s %-8s next %s\n", in.Name, in.Expression, in.Timezone, state, next)
	}
	return nil
}

// demoMode says when run imports the demo masters.
type demoMode string

const (
	demoAuto   demoMode = "auto"   // into an empty masters table
	demoAlways demoMode = "always" // every start: reverts edits to demo records
	demoNever  demoMode = "never"
)

func (d *demoMode) String() string { return string(*d) }

// IsBoolFlag lets a bare --demo-masters, and the =true and =false of
// earlier versions, keep working.
func (d *demoMode) IsBoolFlag() bool { return true }

func (d *demoMode) Set(v string) error {
	switch v {
	case "true", "auto":
		*d = demoAuto
	case "always":
		*d = demoAlways
	case "false", "never":
		*d = demoNever
	default:
		return fmt.Errorf("want true, always or false, got %q", v)
	}
	return nil
}

// importDemoMasters loads the demo masters through the maintenance
// function, the way an operator would. Unless asked always to, it leaves a
// masters table that holds anything alone: importing again would revert
// edits made through the API to the demo records.
func importDemoMasters(ctx context.Context, st *stack.Stack, dir string, mode demoMode, out io.Writer) error {
	switch mode {
	case demoNever:
		return nil
	case demoAuto:
		table := st.FunctionEnv("MaintenanceFunction")["MASTERS_TABLE"]
		if table == "" {
			return errors.New("demo masters: the template's MaintenanceFunction has no MASTERS_TABLE")
		}
		// The local stack's own table, read once at start-up: not a request path.
		res, err := st.Endpoints.DynamoDBClient().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), Limit: aws.Int32(1)})
		if err != nil {
			return fmt.Errorf("demo masters: %w", err)
		}
		if len(res.Items) > 0 {
			fmt.Fprintf(out, "demo masters not imported: %s already holds data (--demo-masters=always imports them again)\n", table)
			return nil
		}
	}
	for _, kind := range []string{"prefectures", "health-centers", "institutions", "sentinels"} {
		data, err := os.ReadFile(filepath.Join(dir, kind+".csv"))
		if err != nil {
			return err
		}
		payload, _ := json.Marshal(map[string]string{"command": "import-master", "kind": kind, "csv": string(data)})
		res, err := st.Invoke(ctx, "MaintenanceFunction", payload)
		if err != nil {
			return fmt.Errorf("demo masters: %w", err)
		}
		if res.FunctionError != "" {
			return fmt.Errorf("demo masters %s: %s", kind, res.Payload)
		}
		var r struct {
			Result struct{ Created, Updated, Unchanged, Rejected int } `json:"result"`
		}
		_ = json.Unmarshal(res.Payload, &r)
		fmt.Fprintf(out, "demo master %-15s created %d, updated %d, unchanged %d, rejected %d\n", kind,
			r.Result.Created, r.Result.Updated, r.Result.Unchanged, r.Result.Rejected)
	}
	return nil
}
