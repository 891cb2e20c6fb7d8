package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gmis-oss/gmis/infra/local/services"
)

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

func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := services.RepoRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func startStack(t *testing.T, opts Options) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, body)
		}
	}
	return resp.StatusCode
}

type healthReport struct {
	Status   string `json:"status"`
	DynamoDB struct {
		Reachable bool              `json:"reachable"`
		Tables    map[string]string `json:"tables"`
	} `json:"dynamodb"`
}

func lambdaClient(endpoint string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       "ap-northeast-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TestProjectTemplate runs the project's own template.yaml the way `make
// local` does and checks the acceptance of the foundation: /health over the
// HTTP API and through the Invoke API, 404 off the template's routes, a
// route removed from the template gone, and nothing left after Close.
func TestProjectTemplate(t *testing.T) {
	root := repoRoot(t)
	out := &syncBuffer{}
	st := startStack(t, Options{Root: root, StateDir: t.TempDir(), InMemory: true,
		APIAddr: "127.0.0.1:0", InvokeAddr: "127.0.0.1:0", Out: out})

	t.Run("health over the HTTP API", func(t *testing.T) {
		var got healthReport
		if code := getJSON(t, st.APIURL+"/health", &got); code != http.StatusOK {
			t.Fatalf("GET /health = %d, want 200", code)
		}
		if got.Status != "ok" || !got.DynamoDB.Reachable || got.DynamoDB.Tables["gmis-local-system"] != "ACTIVE" {
			t.Errorf("GET /health = %+v, want ok with gmis-local-system ACTIVE", got)
		}
	})

	t.Run("health through the Invoke API", func(t *testing.T) {
		event, err := os.ReadFile(filepath.Join(root, "events", "health", "get-health.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"HealthFunction", "gmis-local-health"} {
			out, err := lambdaClient(st.InvokeURL).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: event})
			if err != nil {
				t.Fatalf("Invoke %s: %v", name, err)
			}
			if out.FunctionError != nil {
				t.Fatalf("Invoke %s: function error %s: %s", name, *out.FunctionError, out.Payload)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out.Payload, &resp); err != nil {
				t.Fatal(err)
			}
			var got healthReport
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !got.DynamoDB.Reachable {
				t.Errorf("Invoke %s = %d %s, want 200 with DynamoDB reachable", name, resp.StatusCode, resp.Body)
			}
		}
	})

	t.Run("paths and methods not in the template are 404", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{{"GET", "/nope"}, {"POST", "/health"}, {"GET", "/health/extra"}} {
			req, _ := http.NewRequest(tc.method, st.APIURL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || string(body) != `{"message":"Not Found"}` {
				t.Errorf("%s %s = %d %s, want 404 Not Found", tc.method, tc.path, resp.StatusCode, body)
			}
		}
	})

	t.Run("a route removed from the template is unreachable", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		start := strings.Index(text, "      Events:\n        Health:\n")
		end := strings.Index(text, "\nOutputs:")
		if start < 0 || end < start {
			t.Fatal("template.yaml no longer has the HealthFunction Events block this test removes")
		}
		text = text[:start] + text[end:]
		// The copy lives elsewhere, so point CodeUri back at the repository.
		text = strings.ReplaceAll(text, "CodeUri: .\n", "CodeUri: "+root+"\n")
		path := filepath.Join(t.TempDir(), "template.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		ep := st.Endpoints
		other := startStack(t, Options{Root: root, Template: path, StateDir: t.TempDir(), Endpoints: &ep, APIAddr: "127.0.0.1:0"})
		if code := getJSON(t, other.APIURL+"/health", nil); code != http.StatusNotFound {
			t.Errorf("GET /health without its route = %d, want 404", code)
		}
		if _, ok := other.Function("HealthFunction"); !ok {
			t.Error("the function itself should still run; only its route is gone")
		}
	})

	t.Run("close stops every process", func(t *testing.T) {
		pids := st.PIDs()
		if len(pids) < 3 {
			t.Fatalf("PIDs() = %v, want DynamoDB Local, moto and a function instance", pids)
		}
		st.Close()
		for _, pid := range pids {
			if !processGone(pid) {
				t.Errorf("pid %d still runs after Close", pid)
			}
		}
		if !strings.Contains(out.String(), "[HealthFunction] ") {
			t.Errorf("the function's log lines are not in the stack's output:\n%s", out.String())
		}
	})
}

// fakeClock fires the scheduler's first wait at once and no other.
type fakeClock struct {
	now   time.Time
	mu    sync.Mutex
	fired bool
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fired {
		return nil
	}
	c.fired = true
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func TestTestTemplate(t *testing.T) {
	root := repoRoot(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 2026-11-20 13:30 JST: the next weekday 13:00 is Monday.
	clock := &fakeClock{now: time.Date(2026, 11, 20, 13, 30, 0, 0, tokyo)}
	out := &syncBuffer{}
	st := startStack(t, Options{Root: root, Template: filepath.Join("testdata", "template.yaml"), StateDir: t.TempDir(),
		InMemory: true, APIAddr: "127.0.0.1:0", Schedules: true, Now: clock.Now, After: clock.After, Out: out})

	t.Run("tables follow the template", func(t *testing.T) {
		db := st.Endpoints.DynamoDBClient()
		desc, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("stacktest-test-items")})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(desc.Table.GlobalSecondaryIndexes); n != 1 || aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName) != "gsi1" {
			t.Errorf("indexes = %+v, want gsi1", desc.Table.GlobalSecondaryIndexes)
		}
		ttl, err := db.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("stacktest-test-items")})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != "expiresAt" {
			t.Errorf("TTL attribute = %q, want expiresAt", got)
		}
	})

	t.Run("function environment", func(t *testing.T) {
		res, err := st.Invoke(context.Background(), "EchoFunction", []byte(`{"action":"echo"}`))
		if err != nil || res.FunctionError != "" {
			t.Fatalf("Invoke: %v %s", err, res.Payload)
		}
		var got struct{ Env map[string]string }
		if err := json.Unmarshal(res.Payload, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"ITEMS_TABLE":                            "stacktest-test-items",
			"STAGE":                                  "test",
			"AWS_ENDPOINT_URL_DYNAMODB":              st.Endpoints.DynamoDB,
			"AWS_ENDPOINT_URL_SES":                   st.Endpoints.Moto,
			"AWS_ENDPOINT_URL_SNS":                   st.Endpoints.Moto,
			"AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2": st.Endpoints.Voice,
			"AWS_REGION":                             "ap-northeast-1",
			"AWS_LAMBDA_FUNCTION_NAME":               "gmis-local-EchoFunction",
			"TZ":                                     ":UTC",
		}
		for k, v := range want {
			if got.Env[k] != v {
				t.Errorf("env %s = %q, want %q", k, got.Env[k], v)
			}
		}
		for _, k := range []string{"HOME", "GOPATH", "AWS_PROFILE"} {
			if v, ok := got.Env[k]; ok {
				t.Errorf("env %s = %q leaked from the host", k, v)
			}
		}
	})

	t.Run("the schedule fires at its cron time in its time zone", func(t *testing.T) {
		want := `"scheduledTime":"2026-11-23T04:00:00Z"` // Monday 13:00 JST
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no invocation with %s; output:\n%s", want, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		infos := st.Schedules()
		if len(infos) != 1 || !infos[0].Next.Equal(time.Date(2026, 11, 23, 13, 0, 0, 0, tokyo)) {
			t.Errorf("Schedules() = %+v, want EchoFunction/Rollover next on Monday 13:00 JST", infos)
		}
	})

	t.Run("fire on request", func(t *testing.T) {
		res, err := st.FireSchedule(context.Background(), "EchoFunction/Rollover")
		if err != nil || res.FunctionError != "" {
			t.Fatalf("FireSchedule: %v %s", err, res.Payload)
		}
		if !bytes.Contains(res.Payload, []byte(`"scheduledTime":"2026-11-20T04:30:00Z"`)) {
			t.Errorf("payload %s, want the input with the firing time filled in", res.Payload)
		}
		if _, err := st.FireSchedule(context.Background(), "EchoFunction/Nope"); err == nil {
			t.Error("FireSchedule of an unknown schedule succeeded")
		}
	})

	t.Run("ANY route takes every method", func(t *testing.T) {
		resp, err := http.Post(st.APIURL+"/echo", "application/json", strings.NewReader(`{"x":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("POST /echo = %d, want 200", resp.StatusCode)
		}
	})
}

// TestStateIsPrivate checks that everything the stack keeps under its state
// folder (secrets, DynamoDB data with password hashes, builds, stack.json)
// is for its owner only, including a folder an earlier version created
// readable by everyone.
func TestStateIsPrivate(t *testing.T) {
	root := repoRoot(t)
	stateDir := filepath.Join(t.TempDir(), ".local")
	if err := os.MkdirAll(filepath.Join(stateDir, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, "secrets.json"), []byte(`{"Old":"0123456789"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st := startStack(t, Options{Root: root, Template: filepath.Join("testdata", "template.yaml"), StateDir: stateDir, InvokeAddr: "127.0.0.1:0"})
	if _, err := localSecret(stateDir, "AuthSecret"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteState(); err != nil {
		t.Fatal(err)
	}
	db := st.Endpoints.DynamoDBClient()
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("stacktest-test-items"),
		Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	files := 0
	err := filepath.WalkDir(stateDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", path, perm)
		}
		if !d.IsDir() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"secrets.json", "stack.json", "build/EchoFunction/bootstrap", "dynamodb"} {
		if _, err := os.Stat(filepath.Join(stateDir, want)); err != nil {
			t.Errorf("%s: %v", want, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(stateDir, "dynamodb"))
	if len(entries) == 0 {
		t.Error("DynamoDB Local wrote no data file; the check of its mode proved nothing")
	}
	t.Logf("%d files checked", files)
}
