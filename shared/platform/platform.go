// Package platform wires what every HTTP function behind the session
// router stands on, from the function's environment: the AWS
// configuration, DynamoDB, the accounts store, the audit log, sessions
// (their expiry audited), the maintenance gate and the allowed origins.
package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/env"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/session"
)

// Base is a function's share of the platform.
type Base struct {
	AWS      aws.Config
	DB       *dynamodb.Client
	Tables   dynamo.AuthTables
	Users    *dynamo.AuthStore
	Audit    audit.Log // with each request's source IP and user agent (httpapi.Audited)
	Session  session.Config
	Sessions *session.Manager
	Windows  *dynamo.WindowStore
	Gate     *maintenance.Gate
	Origins  []string
}

// Load reads the base's settings into e and, once every setting read into
// e so far (the caller's own first) is sound, loads the AWS configuration
// and wires the base.
func Load(ctx context.Context, e *env.Reader) (*Base, error) {
	b := &Base{
		Tables: dynamo.AuthTables{Users: e.Need("USERS_TABLE"), Sessions: e.Need("SESSIONS_TABLE"),
			AuthState: e.Need("AUTH_STATE_TABLE"), Audit: e.Need("AUDIT_TABLE")},
		Session: session.Config{Idle: e.Duration("SESSION_IDLE_TIMEOUT", 3*time.Hour), Absolute: e.Duration("SESSION_ABSOLUTE_TIMEOUT", 12*time.Hour)},
		Origins: e.List("ALLOWED_ORIGINS"),
	}
	systemTable := e.Need("SYSTEM_TABLE")
	cacheFor := e.Seconds("MAINTENANCE_CACHE_SECONDS", 30*time.Second)
	if err := e.Err(); err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	b.AWS, b.DB = cfg, dynamodb.NewFromConfig(cfg)
	b.Users = dynamo.NewAuthStore(b.DB, b.Tables)
	b.Audit = httpapi.Audited(dynamo.NewAuditLog(b.DB, b.Tables.Audit))
	b.Session.Ended = auth.RecordExpiry(b.Audit, time.Now)
	b.Sessions = session.NewManager(b.Users, b.Session)
	b.Windows = dynamo.NewWindowStore(b.DB, systemTable, nil)
	b.Gate = maintenance.NewGate(b.Windows, cacheFor, nil)
	return b, nil
}
