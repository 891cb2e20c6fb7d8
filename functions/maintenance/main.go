// Command maintenance takes operators' commands by direct invocation
// (`aws lambda invoke`), JSON in and JSON out: import a master from inline
// CSV (as a job of the jobs function), finish institution moves left
// pending, schedule, list and end maintenance windows, unlock a user, count
// the items of the tables, and re-run the SOS rollover for a business day.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/invoke"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/uploads"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	o, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(o.handle)
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*operator, error) {
	e := env.New(getenv)
	tables := map[string]string{}
	for _, name := range []string{"USERS_TABLE", "SESSIONS_TABLE", "AUTH_STATE_TABLE", "AUDIT_TABLE", "MASTERS_TABLE", "SYSTEM_TABLE"} {
		tables[name] = e.Need(name)
	}
	surveysTable := e.Need("SURVEYS_TABLE")                                                         // the search's read model, kept with each institution write
	sosTable, mailFrom, baseURL := e.Need("SOS_TABLE"), e.Need("MAIL_FROM"), e.Need("APP_BASE_URL") // sos-rollover
	jobsTable, bucket, jobsFunction := e.Need("JOBS_TABLE"), e.Need("UPLOADS_BUCKET"), e.Need("JOBS_FUNCTION")
	if err := e.Err(); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	log := dynamo.NewAuditLog(db, tables["AUDIT_TABLE"])
	users := dynamo.NewAuthStore(db, dynamo.AuthTables{Users: tables["USERS_TABLE"], Sessions: tables["SESSIONS_TABLE"], AuthState: tables["AUTH_STATE_TABLE"], Audit: tables["AUDIT_TABLE"]})
	movers := dynamo.NewAccountMover(db, users, dynamo.MoveTables{Users: tables["USERS_TABLE"], Masters: tables["MASTERS_TABLE"], Audit: tables["AUDIT_TABLE"]}, nil)
	files := uploads.New(s3.NewFromConfig(cfg), bucket)
	jobs := job.NewService(dynamo.NewJobStore(db, jobsTable), invoke.NewJobs(awslambda.NewFromConfig(cfg), jobsFunction), files,
		map[job.Kind]job.Check{job.MasterImport: master.CheckImport}, nil, logger)
	return &operator{
		jobs:    jobs,
		files:   files,
		db:      db,
		tables:  tables,
		surveys: surveysTable,
		masters: master.NewService(dynamo.NewMasterStore(db, tables["MASTERS_TABLE"]).WithSearch(surveysTable), movers, log, nil),
		windows: dynamo.NewWindowStore(db, tables["SYSTEM_TABLE"], nil),
		users:   users,
		sosRollover: sos.NewRollover(dynamo.NewSOSStore(db, sosTable),
			notify.New(ses.NewFromConfig(cfg), nil, nil, notify.Config{MailFrom: mailFrom}), users, baseURL, logger),
		audit:  log,
		logger: logger,
		now:    time.Now,
	}, nil
}
