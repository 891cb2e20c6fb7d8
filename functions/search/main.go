// Command search is the Lambda function behind /search: the hospital
// search (受入可能医療機関検索) of any logged-in user, over the read model
// the institution and survey writes keep (the surveys table's status
// items, by prefecture). It only reads.
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

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/seal"
	"github.com/gmis-oss/gmis/shared/search"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(h.routes(), httpapi.Config{Logger: logger})))
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*handler, error) {
	e := env.New(getenv)
	tables := dynamo.AuthTables{Users: e.Need("USERS_TABLE"), Sessions: e.Need("SESSIONS_TABLE"), AuthState: e.Need("AUTH_STATE_TABLE")}
	surveysTable, systemTable, auditTable := e.Need("SURVEYS_TABLE"), e.Need("SYSTEM_TABLE"), e.Need("AUDIT_TABLE")
	secret := []byte(e.Need("AUTH_SECRET"))
	origins := e.List("ALLOWED_ORIGINS")
	staleDays := e.Int("SEARCH_STALE_DAYS", search.DefaultStaleDays)
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
	svc := search.NewService(dynamo.NewSearchStore(db, surveysTable), dynamo.NewSurveyStore(db, surveysTable, survey.DailyKind),
		search.Config{StaleDays: staleDays, CursorKey: seal.DeriveKey(secret, "search-cursor")})
	return &handler{
		search: svc, gate: maintenance.NewGate(dynamo.NewWindowStore(db, systemTable, nil), cacheFor, nil), audit: auditLog,
		sessions: session.NewManager(store, sessCfg), allowedOrigins: origins, logger: logger, now: time.Now,
	}, nil
}
