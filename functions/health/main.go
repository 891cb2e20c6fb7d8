// Command health is the Lambda function behind GET /health: it reports the
// build version and whether DynamoDB answers. Maintenance windows never close
// it, so operators and load balancers can always ask.
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

	"github.com/gmis-oss/gmis/shared/httpapi"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	table := os.Getenv("SYSTEM_TABLE")
	if table == "" {
		return fmt.Errorf("SYSTEM_TABLE is not set")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	h := &handler{
		db:      dynamodb.NewFromConfig(cfg),
		tables:  []string{table},
		timeout: 2 * time.Second,
		logger:  logger,
	}
	lambda.Start(httpapi.Lambda(httpapi.New(h.routes(), httpapi.Config{Logger: logger})))
	return nil
}
