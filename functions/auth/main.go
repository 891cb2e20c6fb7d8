// Command auth is the Lambda function behind /auth: login with a password
// and a one-time code, sessions, password change and reset, and the second
// factor.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/session"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(httpapi.Lambda(httpapi.New(h.gate.Wrap(h.routes(), nil), httpapi.Config{Logger: logger})))
}

// settings is the function's configuration, read from its environment.
type settings struct {
	tables         dynamo.AuthTables
	auditTable     string
	secret         []byte
	mailFrom       string
	voiceOrigin    string
	appBaseURL     string
	allowedOrigins []string
	idle, absolute time.Duration
	systemTable    string
	cacheFor       time.Duration
}

func readSettings(getenv func(string) string) (settings, error) {
	var missing []string
	need := func(name string) string {
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	s := settings{
		tables: dynamo.AuthTables{Users: need("USERS_TABLE"), Sessions: need("SESSIONS_TABLE"),
			AuthState: need("AUTH_STATE_TABLE")},
		auditTable:     need("AUDIT_TABLE"),
		systemTable:    need("SYSTEM_TABLE"),
		secret:         []byte(need("AUTH_SECRET")),
		mailFrom:       need("MAIL_FROM"),
		appBaseURL:     strings.TrimSuffix(need("APP_BASE_URL"), "/"),
		voiceOrigin:    getenv("VOICE_ORIGINATION_IDENTITY"),
		allowedOrigins: strings.Split(getenv("ALLOWED_ORIGINS"), ","),
	}
	if len(missing) > 0 {
		return settings{}, fmt.Errorf("missing environment variables: %s", strings.Join(missing, ", "))
	}
	if len(s.secret) < 32 {
		return settings{}, fmt.Errorf("AUTH_SECRET must be at least 32 characters")
	}
	var err error
	if s.idle, err = durationEnv(getenv, "SESSION_IDLE_TIMEOUT", 3*time.Hour); err != nil {
		return settings{}, err
	}
	if s.absolute, err = durationEnv(getenv, "SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour); err != nil {
		return settings{}, err
	}
	if v := getenv("MAINTENANCE_CACHE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return settings{}, fmt.Errorf("MAINTENANCE_CACHE_SECONDS=%q: want a whole number", v)
		}
		s.cacheFor = time.Duration(n) * time.Second
	} else {
		s.cacheFor = 30 * time.Second
	}
	return s, nil
}

func durationEnv(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 3h or 30m", name, v)
	}
	return d, nil
}

func build(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*handler, error) {
	s, err := readSettings(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	store := dynamo.NewAuthStore(db, s.tables)
	notifier := notify.New(ses.NewFromConfig(cfg), sns.NewFromConfig(cfg), pinpointsmsvoicev2.NewFromConfig(cfg),
		notify.Config{MailFrom: s.mailFrom, VoiceOrigin: s.voiceOrigin})
	sessCfg := session.Config{Idle: s.idle, Absolute: s.absolute}
	svc, err := auth.NewService(store, dynamo.NewAuditLog(db, s.auditTable), notifier, s.secret,
		auth.Config{ResetURL: s.appBaseURL + "/password-reset", Session: sessCfg})
	if err != nil {
		return nil, err
	}
	return &handler{svc: svc, sessions: session.NewManager(store, sessCfg), allowedOrigins: s.allowedOrigins, logger: logger,
		resetFloor: 1500 * time.Millisecond,
		gate:       maintenance.NewGate(dynamo.NewWindowStore(db, s.systemTable, nil), s.cacheFor, nil)}, nil
}
