// Package auth is login with a password and a one-time code, sessions,
// password change and reset, and the second factor (mail, SMS, voice call or
// an authenticator app), with the rules of seeds 000, 001 and 004 and the
// defences an account system needs: growing delays and a lock against
// guessing, rate limits on codes, and an audit record of everything.
package auth

import (
	"context"
	"time"

	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/session"
)

// Method is a second-factor method. Seed 001 numbers them 1 mail, 2 SMS,
// 3 voice call; an authenticator app (TOTP) is the stronger method users
// may enrol.
type Method string

// The methods.
const (
	MethodMail  Method = "mail"
	MethodSMS   Method = "sms"
	MethodVoice Method = "voice"
	MethodTOTP  Method = "totp"
)

// MethodFromCode maps seed 001's 二要素認証手段コード to a Method.
func MethodFromCode(code string) (Method, bool) {
	switch code {
	case "1":
		return MethodMail, true
	case "2":
		return MethodSMS, true
	case "3":
		return MethodVoice, true
	}
	return "", false
}

// Status is an account's state.
type Status string

// The statuses.
const (
	StatusActive  Status = "active"
	StatusStopped Status = "stopped" // 停止: an administrator stopped it
)

// User is an account.
type User struct {
	ID               string // 11 half-width alphanumerics (seed 000)
	Name             string
	Role             authz.Role
	InstitutionCode  string
	PrefectureCode   string
	HealthCenterCode string
	Mail             string
	Phone            string // E.164
	CanDownload      bool   // may download surveys as CSV (the form's column AG)

	PasswordHash       string
	MustChangePassword bool
	PasswordChangedAt  time.Time

	Method       Method
	Destination  string // mail address or E.164 number of the method; empty for TOTP
	TOTPSecret   string // sealed; empty unless enrolled
	TOTPLastStep int64  // last accepted TOTP step: a code works once

	Status         Status
	FailedAttempts int // consecutive failures, password or code
	LastFailureAt  time.Time
	Locked         bool // after LockAfter failures, until an administrator unlocks

	CreatedAt time.Time
	Version   int64 // optimistic locking: every update must match
}

// Principal is the user as authz sees them.
func (u User) Principal() authz.Principal {
	return authz.Principal{UserID: u.ID, Role: u.Role, InstitutionCode: u.InstitutionCode,
		PrefectureCode: u.PrefectureCode, HealthCenterCode: u.HealthCenterCode}
}

// Scope is where the account belongs, for decisions about it.
func (u User) Scope() authz.Scope {
	return authz.Scope{InstitutionCode: u.InstitutionCode, PrefectureCode: u.PrefectureCode, HealthCenterCode: u.HealthCenterCode}
}

// Purpose says what a challenge is for.
type Purpose string

// The purposes.
const (
	PurposeLogin        Purpose = "login"
	PurposeFactorChange Purpose = "factor_change"
	PurposeTOTPEnroll   Purpose = "totp_enroll"
)

// Challenge is a one-time code on its way to the user, bound to one login
// attempt (or one change of the second factor).
type Challenge struct {
	ID          string
	UserID      string
	Purpose     Purpose
	Method      Method
	Destination string // where the code went (for a change: the new destination)
	CodeHash    string // keyed hash; empty for TOTP
	TOTPSecret  string // sealed; enrolment only
	SessionID   string // the session a change belongs to
	Attempts    int
	Sends       int
	Consumed    bool
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// ResetToken is a single-use password reset link, stored by the hash of its
// token.
type ResetToken struct {
	ID        string
	UserID    string
	ExpiresAt time.Time
}

// Store is the storage the service needs.
type Store interface {
	session.Store
	GetUser(ctx context.Context, id string) (User, error)
	CreateUser(ctx context.Context, u User) error
	// UpdateUser writes u if its Version still matches, and bumps Version.
	UpdateUser(ctx context.Context, u User) (User, error)
	// RecordFailure adds one consecutive failure atomically and locks the
	// account when the count reaches lockAfter; it returns the new count.
	RecordFailure(ctx context.Context, userID string, at time.Time, lockAfter int) (int, error)
	ClearFailures(ctx context.Context, userID string) error
	// ReserveAttempt counts a password attempt before it is checked, if the
	// failure count is still seen (Conflict otherwise); it locks the account
	// at lockAfter and returns the new count.
	ReserveAttempt(ctx context.Context, userID string, seen int, at time.Time, lockAfter int) (int, error)
	// ReleaseAttempt takes back a reservation whose password was right.
	ReleaseAttempt(ctx context.Context, userID string) error

	PutChallenge(ctx context.Context, c Challenge) error
	GetChallenge(ctx context.Context, id string) (Challenge, error)
	// FailChallenge counts a try; Conflict once maxAttempts are used or the
	// challenge is consumed.
	FailChallenge(ctx context.Context, id string, maxAttempts int) (int, error)
	// ConsumeChallenge marks it used; Conflict if it already was.
	ConsumeChallenge(ctx context.Context, id string) error
	// ResendChallenge replaces the code; attempts are kept.
	ResendChallenge(ctx context.Context, id, codeHash string, expiresAt time.Time) error

	// Allow counts one event under key in a sliding window and refuses
	// (TooManyRequests) when max are already in the window.
	Allow(ctx context.Context, key string, now time.Time, window time.Duration, max int) error

	CreateSession(ctx context.Context, s session.Session) error
	DeleteUserSessions(ctx context.Context, userID string) error

	PutResetToken(ctx context.Context, t ResetToken) error
	// GetResetToken returns a live token; NotFound if absent, used or expired.
	GetResetToken(ctx context.Context, id string, now time.Time) (ResetToken, error)
	// ConsumeResetToken removes the token and returns it; NotFound if it is
	// absent, used or expired.
	ConsumeResetToken(ctx context.Context, id string, now time.Time) (ResetToken, error)
}

// Notifier delivers codes and links.
type Notifier interface {
	SendCode(ctx context.Context, method Method, destination, code string) error
	SendResetLink(ctx context.Context, mail, link string) error
}
