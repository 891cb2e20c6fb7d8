// Command jobs is the Lambda function that runs background jobs (master
// import, bulk issuance, notice mails), invoked asynchronously with
// {"jobId": ...}, and, on the sweeper's schedule with {"sweep": true},
// restarts jobs whose lease expired.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/invoke"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/uploads"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	w, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(w.handle)
}

// worker answers the function's events.
type worker struct {
	runner *job.Runner
	logger *slog.Logger
}

func (w *worker) handle(ctx context.Context, ev invoke.Event) (map[string]any, error) {
	if ev.Sweep {
		n, err := w.runner.Sweep(ctx)
		w.logger.Info("sweep", slog.Int("started", n))
		return map[string]any{"started": n}, err
	}
	if ev.JobID == "" {
		return nil, fmt.Errorf("the event names no job")
	}
	invocation := fmt.Sprintf("local-%d", time.Now().UnixNano())
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		invocation = lc.AwsRequestID
	}
	return map[string]any{"jobId": ev.JobID}, w.runner.Run(ctx, ev.JobID, invocation)
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*worker, error) {
	e := env.New(getenv)
	auditTable, mastersTable, jobsTable := e.Need("AUDIT_TABLE"), e.Need("MASTERS_TABLE"), e.Need("JOBS_TABLE")
	usersTable := e.Need("USERS_TABLE")
	tables := dynamo.AuthTables{Users: usersTable, Sessions: e.Need("SESSIONS_TABLE"), AuthState: e.Need("AUTH_STATE_TABLE")}
	bucket, self := e.Need("UPLOADS_BUCKET"), e.Need("AWS_LAMBDA_FUNCTION_NAME")
	slice := e.Seconds("JOB_SLICE_SECONDS", 13*time.Minute)
	if err := e.Err(); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	log := dynamo.NewAuditLog(db, auditTable)
	store := dynamo.NewAuthStore(db, tables)
	movers := dynamo.NewAccountMover(db, store, dynamo.MoveTables{Users: usersTable, Masters: mastersTable, Audit: auditTable}, nil)
	masters := master.NewService(dynamo.NewMasterStore(db, mastersTable), movers, log, nil)
	jobs := dynamo.NewJobStore(db, jobsTable)
	files := uploads.New(s3.NewFromConfig(cfg), bucket)
	handlers := map[job.Kind]job.Handler{
		job.MasterImport: master.NewImportJob(masters, jobs, files),
	}
	starter := invoke.NewJobs(awslambda.NewFromConfig(cfg), self)
	return &worker{runner: job.NewRunner(jobs, starter, handlers, job.Config{Slice: slice, Logger: logger}), logger: logger}, nil
}
