// Command sos is the Lambda function behind /sos: institutions' SOS
// emergency supply requests (緊急配布要請), their check and apply into the
// 13:00 JST window, the open window's deadline, and the review by
// prefecture and national administrators.
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
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/session"
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
	tables := dynamo.AuthTables{Users: e.Need("USERS_TABLE"), Sessions: e.Need("SESSIONS_TABLE"), AuthState: e.Need("AUTH_STATE_TABLE")}
	sosTable, surveysTable, mastersTable, systemTable, auditTable := e.Need("SOS_TABLE"), e.Need("SURVEYS_TABLE"), e.Need("MASTERS_TABLE"), e.Need("SYSTEM_TABLE"), e.Need("AUDIT_TABLE")
	mailFrom := e.Need("MAIL_FROM")
	origins := e.List("ALLOWED_ORIGINS")
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
	// An apply reads the institution, the request and its surveys in one
	// BatchGetItem and joins the window in one transaction with its audit
	// record.
	sosStore := dynamo.NewSOSStore(db, sosTable).WithApply(auditTable, mastersTable, surveysTable)
	svc := sos.NewService(sos.Deps{Store: sosStore, Reader: sosStore, Surveys: dynamo.NewSurveyStatusStore(db, surveysTable),
		Insts: dynamo.NewMasterStore(db, mastersTable), Audit: auditLog,
		Mail:     notify.New(ses.NewFromConfig(cfg), nil, nil, notify.Config{MailFrom: mailFrom}),
		Accounts: store, Directory: store, Now: now})
	return &handler{svc: svc, gate: maintenance.NewGate(dynamo.NewWindowStore(db, systemTable, nil), cacheFor, nil), audit: auditLog,
		sessions: session.NewManager(store, sessCfg), allowedOrigins: origins, logger: logger, now: now}, nil
}
