// Command surveys is the Lambda function behind /surveys: institutions'
// daily and weekly surveys (日次調査・週次調査) with their history, the
// latest status of each institution, the non-responders of an area, the
// downloads (CSV or JSON pages) and the export jobs for large ones.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/invoke"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/platform"
	"github.com/gmis-oss/gmis/shared/seal"
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
	surveysTable, mastersTable := e.Need("SURVEYS_TABLE"), e.Need("MASTERS_TABLE")
	mailFrom := e.Need("MAIL_FROM")
	jobsTable, bucket, jobsFunction := e.Need("JOBS_TABLE"), e.Need("UPLOADS_BUCKET"), e.Need("JOBS_FUNCTION")
	secret := []byte(e.Need("AUTH_SECRET"))
	expected := e.List("SURVEY_EXPECTED_CATEGORIES")
	backfill := e.Int("SURVEY_BACKFILL_DAYS", survey.DefaultBackfillDays)
	b, err := platform.Load(ctx, e)
	if err != nil {
		return nil, err
	}
	db, cfg := b.DB, b.AWS
	masters := dynamo.NewMasterStore(db, mastersTable)
	scfg := survey.Config{BackfillDays: backfill}
	statuses := dynamo.NewSurveyStatusStore(db, surveysTable)
	mailer := notify.New(ses.NewFromConfig(cfg), nil, nil, notify.Config{MailFrom: mailFrom})
	areaStore := dynamo.NewSurveyAreaStore(db, surveysTable, mastersTable)
	areas, err := survey.NewAreas(areaStore, statuses, b.Users, mailer,
		survey.AreaConfig{ExpectedCategories: expected})
	if err != nil {
		return nil, err
	}
	files := uploads.New(s3.NewFromConfig(cfg), bucket)
	jobs := job.NewService(dynamo.NewJobStore(db, jobsTable), invoke.NewJobs(awslambda.NewFromConfig(cfg), jobsFunction), files,
		map[job.Kind]job.Check{job.Export: survey.CheckExportJob}, nil, logger)
	return &handler{
		daily:    survey.NewService(survey.DailyKind, dynamo.NewSurveyStore(db, surveysTable, survey.DailyKind), masters, scfg),
		weekly:   survey.NewService(survey.WeeklyKind, dynamo.NewSurveyStore(db, surveysTable, survey.WeeklyKind), masters, scfg),
		statuses: statuses, masters: masters, areas: areas,
		exports: survey.NewExports(areaStore, seal.DeriveKey(secret, "survey-cursor")), jobs: jobs, files: files,
		gate: b.Gate, audit: b.Audit,
		sessions: b.Sessions, allowedOrigins: b.Origins, logger: logger, now: time.Now,
	}, nil
}
