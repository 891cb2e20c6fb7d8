// Package httpapi is how every HTTP function is built: a standard net/http
// handler (usually an http.ServeMux with Go 1.22 patterns) wrapped in the
// middleware all functions share, and adapted to API Gateway HTTP API events
// (payload format 2.0) by aws-lambda-go-api-proxy.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/gmis-oss/gmis/shared/audit"
)

// DefaultMaxBodyBytes is the request body limit when Config leaves it zero.
// API Gateway itself refuses payloads over 10 MB; our JSON requests are far
// smaller, and CSV uploads set their own limit.
const DefaultMaxBodyBytes = 1 << 20

// Config configures the shared middleware.
type Config struct {
	Logger       *slog.Logger
	MaxBodyBytes int64            // 0 means DefaultMaxBodyBytes
	Now          func() time.Time // nil means time.Now
}

// LambdaHandler is the signature lambda.Start accepts for HTTP API events.
type LambdaHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Lambda adapts h to API Gateway HTTP API events (payload format 2.0).
func Lambda(h http.Handler) LambdaHandler {
	return httpadapter.NewV2(h).ProxyWithContext
}

// New wraps h in the shared middleware: a request ID on every request and
// response, a structured access log line, recovery from panics, and a body
// size limit.
func New(h http.Handler, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &middleware{next: h, cfg: cfg}
}

type middleware struct {
	next http.Handler
	cfg  Config
}

// requestState travels in the request context so that handlers deep inside
// can hand an internal error to the one place that logs it.
type requestState struct {
	id        string
	err       error
	userID    string
	sourceIP  string
	userAgent string
}

type stateKey struct{}

// SetUserID records the authenticated caller for the access log.
func SetUserID(ctx context.Context, userID string) {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		st.userID = userID
	}
}

// RequestID returns the ID of the request being served: API Gateway's
// request ID when there is one, otherwise one made up at the edge.
func RequestID(ctx context.Context) string {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.id
	}
	return ""
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := m.cfg.Now()
	st := &requestState{id: requestIDFrom(r), sourceIP: sourceIP(r), userAgent: r.UserAgent()}
	// One WithContext here and none further down, so that the *http.Request
	// the mux fills in (r.Pattern) is the one logged below.
	ctx := audit.WithClient(context.WithValue(r.Context(), stateKey{}, st), audit.Client{SourceIP: st.sourceIP, UserAgent: st.userAgent})
	r = r.WithContext(ctx)
	rec := &statusRecorder{ResponseWriter: w}
	rec.Header().Set("X-Request-Id", st.id)

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			st.err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			if !rec.wroteHeader {
				writeError(rec, st, internalError())
			}
		}
		m.logAccess(r, rec, st, m.cfg.Now().Sub(start))
	}()

	if r.ContentLength > m.cfg.MaxBodyBytes {
		WriteError(rec, r, tooLarge(m.cfg.MaxBodyBytes))
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, m.cfg.MaxBodyBytes)
	m.next.ServeHTTP(rec, r)
}

func (m *middleware) logAccess(r *http.Request, rec *statusRecorder, st *requestState, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("request_id", st.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", r.Pattern),
		slog.Int("status", status),
		slog.Int64("duration_ms", d.Milliseconds()),
	}
	if st.userID != "" {
		attrs = append(attrs, slog.String("user_id", st.userID))
	}
	level := slog.LevelInfo
	if st.err != nil {
		attrs = append(attrs, slog.String("error", st.err.Error()))
		level = slog.LevelError
	}
	m.cfg.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

// sourceIP is the caller's address: API Gateway's source IP, which the
// adapter puts in RemoteAddr (with a port when served directly).
func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Audited returns log filling in, for events recorded while a request is
// served, the request's source IP and user agent where the event has none:
// every administrator action is then traceable to where it came from
// without each call site passing them along.
func Audited(log audit.Log) audit.Log { return auditedLog{next: log} }

type auditedLog struct{ next audit.Log }

func (l auditedLog) Record(ctx context.Context, e audit.Event) error {
	return l.next.Record(ctx, audit.Complete(ctx, e))
}

// UserID returns the authenticated caller recorded by SetUserID, if any.
func UserID(ctx context.Context) string {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.userID
	}
	return ""
}

func requestIDFrom(r *http.Request) string {
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && gw.RequestID != "" {
		return gw.RequestID
	}
	var b [10]byte
	_, _ = rand.Read(b[:])
	return base32.StdEncoding.EncodeToString(b[:])
}

// statusRecorder remembers the status for the access log and whether the
// header went out, so a panic after a partial write is not answered twice.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.wroteHeader {
		return
	}
	s.status, s.wroteHeader = code, true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
