// Command web is the Lambda function serving the browser application: its
// pages and assets, embedded in the binary, from the same origin as the
// API, so the session cookie and the Origin check work unchanged. It holds
// no data and calls nothing: the pages call the JSON routes themselves.
// Maintenance windows do not close it, so the pages can show the window's
// message the API answers with.
package main

import (
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gmis-oss/gmis/shared/httpapi"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	s, err := newSite(connectOrigins(os.Getenv))
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(s.routes(), httpapi.Config{Logger: logger})))
}

// connectOrigins are the origins the pages may send to besides their own:
// the upload bucket's, and S3's own endpoint where one is configured with
// the SDK's standard variable (as the local stack does), since that is
// where presigned URLs point.
func connectOrigins(getenv func(string) string) string {
	origins := strings.Fields(getenv("CONNECT_ORIGINS"))
	if u, err := url.Parse(getenv("AWS_ENDPOINT_URL_S3")); err == nil && u.Scheme != "" && u.Host != "" {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return strings.Join(origins, " ")
}
