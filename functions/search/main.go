// Command search is the Lambda function behind /search: the hospital
// search (受入可能医療機関検索) of any logged-in user, over the read model
// the institution and survey writes keep (the surveys table's status
// items, by prefecture). It only reads.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/platform"
	"github.com/gmis-oss/gmis/shared/seal"
	"github.com/gmis-oss/gmis/shared/search"
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
	surveysTable := e.Need("SURVEYS_TABLE")
	secret := []byte(e.Need("AUTH_SECRET"))
	staleDays := e.Int("SEARCH_STALE_DAYS", search.DefaultStaleDays)
	b, err := platform.Load(ctx, e)
	if err != nil {
		return nil, err
	}
	svc := search.NewService(dynamo.NewSearchStore(b.DB, surveysTable), dynamo.NewSurveyStore(b.DB, surveysTable, survey.DailyKind),
		search.Config{StaleDays: staleDays, CursorKey: seal.DeriveKey(secret, "search-cursor")})
	return &handler{
		search: svc, gate: b.Gate, audit: b.Audit,
		sessions: b.Sessions, allowedOrigins: b.Origins, logger: logger, now: time.Now,
	}, nil
}
