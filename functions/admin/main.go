// Command admin is the Lambda function behind /admin: master data, bulk
// account issuance from the application form, account stop/resume/delete,
// and maintenance windows.
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/invoke"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/platform"
	"github.com/gmis-oss/gmis/shared/uploads"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(h.routes(), httpapi.Config{Logger: logger, MaxBodyBytes: MaxDirectBytes + 64<<10})))
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*handler, error) {
	e := env.New(getenv)
	mastersTable := e.Need("MASTERS_TABLE")
	surveysTable := e.Need("SURVEYS_TABLE") // the search's read model, kept with each institution write
	secret, mailFrom := []byte(e.Need("AUTH_SECRET")), e.Need("MAIL_FROM")
	voiceOrigin := e.Get("VOICE_ORIGINATION_IDENTITY")
	appURL := strings.TrimSuffix(e.Need("APP_BASE_URL"), "/")
	jobsTable, bucket, jobsFunction := e.Need("JOBS_TABLE"), e.Need("UPLOADS_BUCKET"), e.Need("JOBS_FUNCTION")
	b, err := platform.Load(ctx, e)
	if err != nil {
		return nil, err
	}
	cfg, db, store, log := b.AWS, b.DB, b.Users, b.Audit
	// The voice origin only tells issuance whether method 3 may be chosen;
	// this function places no calls.
	mailer := notify.New(ses.NewFromConfig(cfg), nil, nil, notify.Config{MailFrom: mailFrom, VoiceOrigin: voiceOrigin})
	accounts, err := auth.NewService(store, log, mailer, secret, auth.Config{Session: b.Session})
	if err != nil {
		return nil, err
	}
	masters := dynamo.NewMasterStore(db, mastersTable).WithSearch(surveysTable)
	movers := dynamo.NewAccountMover(db, store, dynamo.MoveTables{Users: b.Tables.Users, Masters: mastersTable, Audit: b.Tables.Audit}, nil)
	bulk, err := issuance.NewService(accounts, store, masters, log, mailer, secret, appURL+"/", nil)
	if err != nil {
		return nil, err
	}
	files := uploads.New(s3.NewFromConfig(cfg), bucket)
	jobStore := dynamo.NewJobStore(db, jobsTable)
	jobs := job.NewService(jobStore, invoke.NewJobs(awslambda.NewFromConfig(cfg), jobsFunction), files, map[job.Kind]job.Check{
		job.MasterImport: master.CheckImport, job.Issuance: issuance.CheckIssuance, job.Notify: issuance.NewNotifyCheck(jobStore)}, nil, logger)
	return &handler{
		jobs: jobs, files: files,
		accounts: accounts, users: store, masters: master.NewService(masters, movers, log, nil), bulk: bulk,
		windows: b.Windows, gate: b.Gate, audit: log,
		sessions: b.Sessions, allowedOrigins: b.Origins, logger: logger, now: time.Now,
	}, nil
}
