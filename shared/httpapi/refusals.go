package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/audit"
)

// AuditRefusals records every call a logged-in caller was refused (403) as
// an access_denied audit event with the method, route and path: probing
// for what one may not do leaves a trace. The record is written after the
// answer, so a failing audit write costs the caller nothing and goes to
// the log.
func AuditRefusals(next http.Handler, log audit.Log, logger *slog.Logger, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		user := UserID(r.Context())
		if rec.status != http.StatusForbidden || user == "" {
			return
		}
		path := r.URL.Path
		if len(path) > 200 {
			path = path[:200]
			for !utf8.ValidString(path) {
				path = path[:len(path)-1]
			}
		}
		// The request context may be cancelled once the answer is out.
		ctx := context.WithoutCancel(r.Context())
		err := log.Record(ctx, audit.Event{At: now(), UserID: user, Actor: user, Action: audit.AccessDenied,
			Detail: map[string]string{"method": r.Method, "route": r.Pattern, "path": path}})
		if err != nil {
			logger.ErrorContext(ctx, "audit refusal", slog.String("request_id", RequestID(ctx)),
				slog.String("user_id", user), slog.String("error", err.Error()))
		}
	})
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
