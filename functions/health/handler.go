package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/buildinfo"
	"github.com/gmis-oss/gmis/shared/httpapi"
)

// tableDescriber is the one DynamoDB call the health check makes.
type tableDescriber interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

type handler struct {
	db      tableDescriber
	tables  []string
	timeout time.Duration
	logger  *slog.Logger
}

// healthReport is the body of GET /health.
type healthReport struct {
	Status   string         `json:"status"` // "ok" or "degraded"
	Version  string         `json:"version"`
	DynamoDB dynamoDBReport `json:"dynamodb"`
}

type dynamoDBReport struct {
	Reachable bool              `json:"reachable"`
	Tables    map[string]string `json:"tables"` // table name → table status, "missing" or "unreachable"
}

// tableMissing is a table's status when DynamoDB answers that there is no
// such table: the service is up but the deployment is incomplete, which
// calls for another fix than an outage does.
const tableMissing = "missing"

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", h.health)
	return mux
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()

	report := healthReport{Status: "ok", Version: buildinfo.Version,
		DynamoDB: dynamoDBReport{Reachable: true, Tables: make(map[string]string, len(h.tables))}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, table := range h.tables {
		wg.Go(func() {
			status := "unreachable"
			out, err := h.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
			var missing *types.ResourceNotFoundException
			if errors.As(err, &missing) {
				status = tableMissing
			}
			if err != nil {
				// The detail may name hosts; it belongs in the log, not in a public answer.
				h.logger.WarnContext(ctx, "health: describe table",
					slog.String("request_id", httpapi.RequestID(ctx)),
					slog.String("table", table), slog.String("error", err.Error()))
			} else {
				status = string(out.Table.TableStatus)
			}
			mu.Lock()
			defer mu.Unlock()
			report.DynamoDB.Tables[table] = status
			if status == "unreachable" {
				report.DynamoDB.Reachable = false
			}
		})
	}
	wg.Wait()

	code := http.StatusOK
	healthy := report.DynamoDB.Reachable
	for _, status := range report.DynamoDB.Tables {
		healthy = healthy && status == string(types.TableStatusActive)
	}
	if !healthy {
		report.Status = "degraded"
		code = http.StatusServiceUnavailable
	}
	httpapi.WriteJSON(w, code, report)
}
