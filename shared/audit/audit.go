// Package audit records who did what, when and from where: every login,
// failure, lock, code sent, password change and reset, session end, account
// change and status change. Records are append-only and kept at least five
// years (the MHLW security guideline asks for access logs that cannot be
// altered); they never hold a password, code or token.
package audit

import (
	"context"
	"time"
)

// The actions recorded.
const (
	LoginPasswordOK      = "login_password_ok"
	LoginFailed          = "login_failed"
	LoginThrottled       = "login_throttled"
	AccountLocked        = "account_locked"
	CodeSent             = "code_sent"
	CodeFailed           = "code_failed"
	LoginSucceeded       = "login_succeeded"
	SessionEnded         = "session_ended"
	PasswordChanged      = "password_changed"
	PasswordResetAsked   = "password_reset_requested"
	PasswordReset        = "password_reset"
	PasswordResetRefused = "password_reset_refused"
	SecondFactorChanged  = "second_factor_changed"
	TOTPEnrolled         = "totp_enrolled"
	AccountCreated       = "account_created"
	AccountStopped       = "account_stopped"
	AccountResumed       = "account_resumed"
	AccountDeleted       = "account_deleted"
	AccountUnlocked      = "account_unlocked"
	MaintenanceSet       = "maintenance_scheduled"
	MaintenanceEnded     = "maintenance_ended"
	// InitialPasswordsReturned is a bulk issuance answering with its CSV of
	// initial passwords (the first upload or the same one again).
	InitialPasswordsReturned = "initial_passwords_returned"
	// InitialPasswordMailed is one notice mail with an initial password.
	InitialPasswordMailed = "initial_password_mailed"
	// AccessDenied is a logged-in caller refused (403) by an administration route.
	AccessDenied = "access_denied"
	AccountMoved = "account_moved" // given its institution's new prefecture or health centre
)

// Event is one audit record.
type Event struct {
	At        time.Time
	UserID    string // whose account; for an unknown ID, the ID as typed
	Actor     string // who acted, when not the user (an administrator, "system")
	Action    string
	SourceIP  string
	UserAgent string
	Detail    map[string]string // never a secret
}

// Log stores events.
type Log interface {
	Record(ctx context.Context, e Event) error
}

type clientKey struct{}

// Client is where a request came from.
type Client struct {
	SourceIP  string
	UserAgent string
}

// WithClient returns ctx carrying where its request came from, so that
// records written on its behalf anywhere below (inside transactions too)
// carry the source IP and user agent.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// Complete fills in e's source IP and user agent from ctx where e has none.
func Complete(ctx context.Context, e Event) Event {
	if c, ok := ctx.Value(clientKey{}).(Client); ok {
		if e.SourceIP == "" {
			e.SourceIP = c.SourceIP
		}
		if e.UserAgent == "" {
			e.UserAgent = c.UserAgent
		}
	}
	return e
}

// SessionRef is how the audit log names a session: enough of its ID to
// match the records of one session, not the ID itself.
func SessionRef(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
