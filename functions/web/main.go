// Command web is the Lambda function serving the browser application: its
// pages and assets, embedded in the binary, from the same origin as the
// API, so the session cookie and the Origin check work unchanged. It holds
// no data and calls nothing: the pages call the JSON routes themselves.
// Maintenance windows do not close it, so the pages can show the window's
// message the API answers with.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gmis-oss/gmis/shared/httpapi"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	s, err := newSite(os.Getenv("CONNECT_ORIGINS"))
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(s.routes(), httpapi.Config{Logger: logger})))
}
