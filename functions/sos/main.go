// Command sos is the Lambda function behind /sos: institutions' SOS
// emergency supply requests (緊急配布要請), their check and apply into the
// 13:00 JST window, the open window's deadline, and the review by
// prefecture and national administrators.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/platform"
	"github.com/gmis-oss/gmis/shared/sos"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), os.Getenv, logger, time.Now)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(h.routes(), httpapi.Config{Logger: logger, MaxBodyBytes: sos.MaxBodyBytes})))
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger, now func() time.Time) (*handler, error) {
	e := env.New(getenv)
	sosTable, surveysTable, mastersTable := e.Need("SOS_TABLE"), e.Need("SURVEYS_TABLE"), e.Need("MASTERS_TABLE")
	mailFrom := e.Need("MAIL_FROM")
	b, err := platform.Load(ctx, e)
	if err != nil {
		return nil, err
	}
	db, store := b.DB, b.Users
	// An apply reads the institution, the request and its surveys in one
	// BatchGetItem and joins the window in one transaction with its audit
	// record.
	sosStore := dynamo.NewSOSStore(db, sosTable).WithApply(b.Tables.Audit, mastersTable, surveysTable)
	svc := sos.NewService(sos.Deps{Store: sosStore, Reader: sosStore, Surveys: dynamo.NewSurveyStatusStore(db, surveysTable),
		Insts: dynamo.NewMasterStore(db, mastersTable), Audit: b.Audit,
		Mail:     notify.New(ses.NewFromConfig(b.AWS), nil, nil, notify.Config{MailFrom: mailFrom}),
		Accounts: store, Directory: store, Now: now})
	return &handler{svc: svc, gate: b.Gate, audit: b.Audit,
		sessions: b.Sessions, allowedOrigins: b.Origins, logger: logger, now: now}, nil
}
