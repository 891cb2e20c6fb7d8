// Command jobs is the Lambda function that runs background jobs (master
// import, bulk issuance, notice mails, survey exports), invoked asynchronously with
// {"jobId": ...}, and, on the sweeper's schedule with {"sweep": true},
// restarts jobs whose lease expired.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/invoke"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/survey"
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
	usersTable, surveysTable := e.Need("USERS_TABLE"), e.Need("SURVEYS_TABLE")
	tables := dynamo.AuthTables{Users: usersTable, Sessions: e.Need("SESSIONS_TABLE"), AuthState: e.Need("AUTH_STATE_TABLE"), Audit: e.Need("AUDIT_TABLE")}
	bucket, self := e.Need("UPLOADS_BUCKET"), e.Need("AWS_LAMBDA_FUNCTION_NAME")
	secret, mailFrom := []byte(e.Need("AUTH_SECRET")), e.Need("MAIL_FROM")
	appURL := strings.TrimSuffix(e.Need("APP_BASE_URL"), "/")
	voiceOrigin := e.Get("VOICE_ORIGINATION_IDENTITY")
	rate, rateErr := strconv.Atoi(e.Need("MAIL_SEND_RATE"))
	slice := e.Seconds("JOB_SLICE_SECONDS", 13*time.Minute)
	if err := errors.Join(e.Err(), rateErr); err != nil {
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
	masters := master.NewService(dynamo.NewMasterStore(db, mastersTable).WithSearch(surveysTable), movers, log, nil)
	jobs := dynamo.NewJobStore(db, jobsTable)
	files := uploads.New(s3.NewFromConfig(cfg), bucket)
	// The voice origin only tells issuance whether method 3 may be chosen.
	// The SDK's own retries are off for mail: a request that timed out may
	// have been sent, and a notice mail holds a password. The notify job
	// retries throttling itself and leaves any other unclear failure marked
	// as unconfirmed rather than send twice.
	sesClient := ses.NewFromConfig(cfg, func(o *ses.Options) { o.RetryMaxAttempts = 1 })
	mailer := notify.New(sesClient, nil, nil, notify.Config{MailFrom: mailFrom, VoiceOrigin: voiceOrigin})
	accounts, err := auth.NewService(store, log, mailer, secret, auth.Config{})
	if err != nil {
		return nil, err
	}
	bulk, err := issuance.NewService(accounts, store, dynamo.NewMasterStore(db, mastersTable), log, mailer, secret, appURL+"/", nil)
	if err != nil {
		return nil, err
	}
	handlers := map[job.Kind]job.Handler{
		job.MasterImport: master.NewImportJob(masters, jobs, files),
		job.Issuance:     issuance.NewIssuanceJob(bulk, jobs, files),
		job.Notify:       issuance.NewNotifyJob(bulk, jobs, jobs, dynamo.NewMailBudget(db, jobsTable, rate, nil), rate, logger),
		job.Export: survey.NewExportJob(survey.NewExports(dynamo.NewSurveyAreaStore(db, surveysTable, mastersTable), nil), files,
			func(j job.Job) string { return uploads.ExportKey(j.Owner, j.ID) }, 0),
	}
	starter := invoke.NewJobs(awslambda.NewFromConfig(cfg), self)
	return &worker{runner: job.NewRunner(jobs, starter, handlers, job.Config{Slice: slice, Logger: logger}), logger: logger}, nil
}
