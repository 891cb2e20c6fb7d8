// Command sosrollover is the scheduled function that closes the SOS
// windows at 13:00 JST (sos.Rollover): it fixes each prefecture's requests
// of the day, writes a summary per prefecture and mails the prefecture's
// administrators once.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/sos"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	r, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(handler{rollover: r, logger: logger}.Handle)
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*sos.Rollover, error) {
	e := env.New(getenv)
	sosTable, usersTable, mailFrom, baseURL := e.Need("SOS_TABLE"), e.Need("USERS_TABLE"), e.Need("MAIL_FROM"), e.Need("APP_BASE_URL")
	if err := e.Err(); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	users := dynamo.NewAuthStore(db, dynamo.AuthTables{Users: usersTable})
	return sos.NewRollover(dynamo.NewSOSStore(db, sosTable),
		notify.New(ses.NewFromConfig(cfg), nil, nil, notify.Config{MailFrom: mailFrom}),
		users, baseURL, logger), nil
}
