package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/template"
	"github.com/gmis-oss/gmis/shared/httpapi"
)

// fakeDescriber answers DescribeTable with a function of the test's choosing.
type fakeDescriber struct {
	describe func(name string) (*dynamodb.DescribeTableOutput, error)
}

func (f fakeDescriber) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return f.describe(*in.TableName)
}

type report struct {
	Status   string `json:"status"`
	Version  string `json:"version"`
	DynamoDB struct {
		Reachable bool              `json:"reachable"`
		Tables    map[string]string `json:"tables"`
	} `json:"dynamodb"`
}

func serve(t *testing.T, h *handler) (int, report) {
	t.Helper()
	srv := httptest.NewServer(httpapi.New(h.routes(), httpapi.Config{}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got report
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, got
}

func TestHealthUnreachable(t *testing.T) {
	h := &handler{
		db: fakeDescriber{describe: func(string) (*dynamodb.DescribeTableOutput, error) {
			return nil, errors.New("dial tcp 10.0.0.1:443: connect: connection refused")
		}},
		tables: []string{"t1"}, timeout: time.Second, logger: slog.New(slog.DiscardHandler),
	}
	code, got := serve(t, h)
	if code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", code)
	}
	if got.Status != "degraded" || got.DynamoDB.Reachable || got.DynamoDB.Tables["t1"] != "unreachable" {
		t.Errorf("report = %+v, want degraded with t1 unreachable", got)
	}
}

// TestHealthAgainstDynamoDBLocal checks the function against a real
// DynamoDB Local with the template's tables, over HTTP and through every
// sample event in events/health.
func TestHealthAgainstDynamoDBLocal(t *testing.T) {
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ddb, err := services.StartDynamoDB(ctx, services.DynamoDBOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ddb.Stop)
	tmpl, err := template.Load(filepath.Join(root, "template.yaml"), template.Options{
		Parameters: map[string]string{"AuthSecret": "a-test-secret-of-at-least-32-characters"}})
	if err != nil {
		t.Fatal(err)
	}
	ep := services.Endpoints{DynamoDB: ddb.Endpoint, Region: "ap-northeast-1"}
	if _, err := services.CreateTables(ctx, ep.DynamoDBClient(), tmpl.Tables); err != nil {
		t.Fatal(err)
	}
	var table string
	for _, f := range tmpl.Functions {
		if f.LogicalID == "HealthFunction" {
			table = f.Env["SYSTEM_TABLE"]
		}
	}
	if table == "" {
		t.Fatal("HealthFunction has no SYSTEM_TABLE in the template")
	}

	t.Run("a table that exists", func(t *testing.T) {
		h := &handler{db: ep.DynamoDBClient(), tables: []string{table}, timeout: 2 * time.Second, logger: slog.New(slog.DiscardHandler)}
		code, got := serve(t, h)
		if code != http.StatusOK || got.Status != "ok" || got.DynamoDB.Tables[table] != "ACTIVE" {
			t.Errorf("GET /health = %d %+v, want 200 ok with %s ACTIVE", code, got, table)
		}
	})

	t.Run("a table that does not", func(t *testing.T) {
		h := &handler{db: ep.DynamoDBClient(), tables: []string{table, "no-such-table"}, timeout: 2 * time.Second, logger: slog.New(slog.DiscardHandler)}
		code, got := serve(t, h)
		if code != http.StatusServiceUnavailable || got.Status != "degraded" || !got.DynamoDB.Reachable ||
			got.DynamoDB.Tables["no-such-table"] != "missing" || got.DynamoDB.Tables[table] != "ACTIVE" {
			t.Errorf("GET /health = %d %+v, want 503 degraded, reachable, the table missing", code, got)
		}
	})

	t.Run("DynamoDB not listening", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		down := services.Endpoints{DynamoDB: "http://" + addr, Region: "ap-northeast-1"}
		h := &handler{db: down.DynamoDBClient(), tables: []string{table}, timeout: 2 * time.Second, logger: slog.New(slog.DiscardHandler)}
		code, got := serve(t, h)
		if code != http.StatusServiceUnavailable || got.DynamoDB.Reachable || got.DynamoDB.Tables[table] != "unreachable" {
			t.Errorf("GET /health = %d %+v, want 503 with %s unreachable", code, got, table)
		}
	})

	t.Run("sample events", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(root, "events", "health", "*.json"))
		if len(files) == 0 {
			t.Fatal("no sample events in events/health")
		}
		h := &handler{db: ep.DynamoDBClient(), tables: []string{table}, timeout: 2 * time.Second, logger: slog.New(slog.DiscardHandler)}
		lambdaHandler := httpapi.Lambda(httpapi.New(h.routes(), httpapi.Config{}))
		for _, file := range files {
			t.Run(filepath.Base(file), func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				var ev events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal(data, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Version != "2.0" || ev.RequestContext.RequestID == "" {
					t.Fatalf("%s is not a payload format 2.0 event", file)
				}
				resp, err := lambdaHandler(ctx, ev)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status = %d, want 200; body %s", resp.StatusCode, resp.Body)
				}
				if got := resp.Headers["X-Request-Id"]; got != ev.RequestContext.RequestID {
					t.Errorf("X-Request-Id = %q, want API Gateway's request ID %q", got, ev.RequestContext.RequestID)
				}
			})
		}
	})
}
