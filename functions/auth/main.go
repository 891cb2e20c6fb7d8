// Command auth is the Lambda function behind /auth: login with a password
// and a one-time code, sessions, password change and reset, and the second
// factor.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
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
	"github.com/gmis-oss/gmis/shared/env"
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
	systemTable    string
	mastersTable   string
	secret         []byte
	mailFrom       string
	voiceOrigin    string
	appBaseURL     string
	allowedOrigins []string
	idle, absolute time.Duration
	cacheFor       time.Duration
}

func readSettings(getenv func(string) string) (settings, error) {
	e := env.New(getenv)
	s := settings{
		tables:         dynamo.AuthTables{Users: e.Need("USERS_TABLE"), Sessions: e.Need("SESSIONS_TABLE"), AuthState: e.Need("AUTH_STATE_TABLE")},
		auditTable:     e.Need("AUDIT_TABLE"),
		systemTable:    e.Need("SYSTEM_TABLE"),
		mastersTable:   e.Need("MASTERS_TABLE"),
		secret:         []byte(e.Need("AUTH_SECRET")),
		mailFrom:       e.Need("MAIL_FROM"),
		appBaseURL:     strings.TrimSuffix(e.Need("APP_BASE_URL"), "/"),
		voiceOrigin:    e.Get("VOICE_ORIGINATION_IDENTITY"),
		allowedOrigins: e.List("ALLOWED_ORIGINS"),
		idle:           e.Duration("SESSION_IDLE_TIMEOUT", 3*time.Hour),
		absolute:       e.Duration("SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour),
		cacheFor:       e.Seconds("MAINTENANCE_CACHE_SECONDS", 30*time.Second),
	}
	if err := e.Err(); err != nil {
		return settings{}, err
	}
	if len(s.secret) < 32 {
		return settings{}, fmt.Errorf("AUTH_SECRET must be at least 32 characters")
	}
	return s, nil
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
	auditLog := dynamo.NewAuditLog(db, s.auditTable)
	sessCfg := session.Config{Idle: s.idle, Absolute: s.absolute, Ended: auth.RecordExpiry(auditLog, time.Now)}
	svc, err := auth.NewService(store, auditLog, notifier, s.secret,
		auth.Config{ResetURL: s.appBaseURL + "/password-reset", Session: sessCfg})
	if err != nil {
		return nil, err
	}
	return &handler{svc: svc, sessions: session.NewManager(store, sessCfg), allowedOrigins: s.allowedOrigins, logger: logger,
		resetFloor: 1500 * time.Millisecond,
		gate:       maintenance.NewGate(dynamo.NewWindowStore(db, s.systemTable, nil), s.cacheFor, nil),
		names:      dynamo.NewMasterStore(db, s.mastersTable)}, nil
}
