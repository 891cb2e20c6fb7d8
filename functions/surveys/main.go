// Command surveys is the Lambda function behind /surveys: institutions'
// daily and weekly surveys (日次調査・週次調査) with their history, the
// latest status of each institution, the non-responders of an area, the
// downloads (CSV or JSON pages) and the export jobs for large ones.
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

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/invoke"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/seal"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
	"github.com/gmis-oss/gmis/shared/uploads"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(h.routes(), httpapi.Config{Logger: logger, MaxBodyBytes: survey.MaxBodyBytes})))
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*handler, error) {
	e := env.New(getenv)
	tables := dynamo.AuthTables{Users: e.Need("USERS_TABLE"), Sessions: e.Need("SESSIONS_TABLE"), AuthState: e.Need("AUTH_STATE_TABLE")}
	surveysTable, mastersTable, systemTable, auditTable := e.Need("SURVEYS_TABLE"), e.Need("MASTERS_TABLE"), e.Need("SYSTEM_TABLE"), e.Need("AUDIT_TABLE")
	mailFrom := e.Need("MAIL_FROM")
	jobsTable, bucket, jobsFunction := e.Need("JOBS_TABLE"), e.Need("UPLOADS_BUCKET"), e.Need("JOBS_FUNCTION")
	secret := []byte(e.Need("AUTH_SECRET"))
	expected := e.List("SURVEY_EXPECTED_CATEGORIES")
	origins := e.List("ALLOWED_ORIGINS")
	backfill := e.Int("SURVEY_BACKFILL_DAYS", survey.DefaultBackfillDays)
	sessCfg := session.Config{Idle: e.Duration("SESSION_IDLE_TIMEOUT", 3*time.Hour), Absolute: e.Duration("SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour)}
	cacheFor := e.Seconds("MAINTENANCE_CACHE_SECONDS", 30*time.Second)
	if err := e.Err(); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	store := dynamo.NewAuthStore(db, tables)
	auditLog := httpapi.Audited(dynamo.NewAuditLog(db, auditTable))
	sessCfg.Ended = auth.RecordExpiry(auditLog, time.Now)
	masters := dynamo.NewMasterStore(db, mastersTable)
	scfg := survey.Config{BackfillDays: backfill}
	statuses := dynamo.NewSurveyStatusStore(db, surveysTable)
	mailer := notify.New(ses.NewFromConfig(cfg), nil, nil, notify.Config{MailFrom: mailFrom})
	areaStore := dynamo.NewSurveyAreaStore(db, surveysTable, mastersTable)
	areas, err := survey.NewAreas(areaStore, statuses, store, mailer,
		survey.AreaConfig{ExpectedCategories: expected})
	if err != nil {
		return nil, err
	}
	windows := dynamo.NewWindowStore(db, systemTable, nil)
	files := uploads.New(s3.NewFromConfig(cfg), bucket)
	jobs := job.NewService(dynamo.NewJobStore(db, jobsTable), invoke.NewJobs(awslambda.NewFromConfig(cfg), jobsFunction), files,
		map[job.Kind]job.Check{job.Export: survey.CheckExportJob}, nil, logger)
	return &handler{
		daily:    survey.NewService(survey.DailyKind, dynamo.NewSurveyStore(db, surveysTable, survey.DailyKind), masters, scfg),
		weekly:   survey.NewService(survey.WeeklyKind, dynamo.NewSurveyStore(db, surveysTable, survey.WeeklyKind), masters, scfg),
		statuses: statuses, masters: masters, areas: areas,
		exports: survey.NewExports(areaStore, seal.DeriveKey(secret, "survey-cursor")), jobs: jobs, files: files,
		gate: maintenance.NewGate(windows, cacheFor, nil), audit: auditLog,
		sessions: session.NewManager(store, sessCfg), allowedOrigins: origins, logger: logger, now: time.Now,
	}, nil
}
