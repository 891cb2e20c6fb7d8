// Package auth is login with a password and a one-time code, sessions,
// password change and reset, and the second factor (mail, SMS, voice call or
// an authenticator app), with the rules of seeds 000, 001 and 004 and the
// defences an account system needs: growing delays and a lock against
// guessing, rate limits on codes, and an audit record of everything.
package auth

import (
	"context"
	"time"

	"github.com/gmis-oss/gmis/shared/audit"
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

	// Sessions are the account's sessions and their absolute ends, kept on
	// the account itself: a new session is added in the same transaction
	// that checks the account is active and unlocked, so whoever stops,
	// locks or deletes the account afterwards reads every session it must
	// end, without relying on the eventually consistent session index.
	Sessions   map[string]time.Time
	SessionSeq int64 // bumped by every new session: a delete conditions on it

	CreatedAt time.Time
	Version   int64 // optimistic locking: every update must match
}

// Principal is the user as authz sees them.
func (u User) Principal() authz.Principal {
	return authz.Principal{UserID: u.ID, Role: u.Role, InstitutionCode: u.InstitutionCode,
		PrefectureCode: u.PrefectureCode, HealthCenterCode: u.HealthCenterCode, CanDownload: u.CanDownload}
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
	// CreateUser stores a new account and appends e, its audit record, in
	// one transaction: neither is stored without the other.
	CreateUser(ctx context.Context, u User, e audit.Event) error
	// DeleteUser removes the account and every session it has; a session
	// added while it works makes it start again rather than survive.
	DeleteUser(ctx context.Context, userID string) error
	// UpdateUser writes u if its Version still matches, and bumps Version.
	UpdateUser(ctx context.Context, u User) (User, error)
	// RecordFailure adds one consecutive failure atomically and locks the
	// account when the count reaches lockAfter; it returns the new count.
	RecordFailure(ctx context.Context, userID string, at time.Time, lockAfter int) (int, error)
	ClearFailures(ctx context.Context, userID string) error
	// ReserveAttempt counts a password attempt before it is checked, if the
	// failure count is still seen (Conflict otherwise), and returns the new
	// count. It never locks: only a failure that is confirmed does.
	// It also counts the attempt against its source (r.SourceKey), dated
	// at, so that other attempts from there wait meanwhile.
	ReserveAttempt(ctx context.Context, r Reservation, at time.Time) (int, error)
	// ReleaseAttempt takes back a reservation whose password was right,
	// with the failure time it replaced.
	ReleaseAttempt(ctx context.Context, r Reservation) error
	// Lock locks the account (after LockAfter confirmed failures).
	Lock(ctx context.Context, userID string) error

	// Load reads, in one round trip, the user (when userID is not empty),
	// the challenge (when challengeID is not empty) and the counters named
	// by counterKeys (0 when absent).
	Load(ctx context.Context, userID, challengeID string, counterKeys []string) (Snapshot, error)
	// Count adds one to the counter key, dated at and kept until expires;
	// with max > 0 it refuses (TooManyRequests, nothing counted) when the
	// counter has reached max. It returns the new count.
	Count(ctx context.Context, key string, at, expires time.Time, max int64) (int64, error)
	// ForgetCount removes the counter key.
	ForgetCount(ctx context.Context, key string) error

	// PutChallenge stores a challenge, replacing one with the same ID.
	PutChallenge(ctx context.Context, c Challenge) error
	// IssueChallenge stores c after a right password in one transaction
	// with counting the code sent under send (refused with TooManyRequests
	// at its max) and, when release is not nil, giving back the attempt the
	// password check reserved (which happens even when the send is refused).
	IssueChallenge(ctx context.Context, c Challenge, send Limit, release *Reservation) error
	GetChallenge(ctx context.Context, id string) (Challenge, error)
	// FailChallenge counts a try; Conflict once maxAttempts are used or the
	// challenge is consumed.
	FailChallenge(ctx context.Context, id string, maxAttempts int) (int, error)
	// ConsumeChallenge marks it used; Conflict if it already was.
	ConsumeChallenge(ctx context.Context, id string) error
	// ResendChallenge replaces the code; attempts are kept.
	ResendChallenge(ctx context.Context, id, codeHash string, expiresAt time.Time) error

	// StartSession stores s in one transaction with consuming the login
	// challenge, clearing the account's failures, spending totpStep (when
	// not zero) and adding s to the account's sessions; it fails with
	// Conflict when the challenge was used, the account is no longer
	// active or is locked, or the TOTP step was spent. Sessions of u that
	// have ended by now are dropped from the account.
	// The failures counted against sourceKey are forgotten with it.
	StartSession(ctx context.Context, u User, s session.Session, challengeID string, totpStep int64, sourceKey string) error
	// CreateSession stores a session of an account without a challenge
	// (after a password change), with the same guarantees.
	CreateSession(ctx context.Context, u User, s session.Session) error
	// EndUserSessions ends every session of the account and returns their
	// IDs.
	EndUserSessions(ctx context.Context, userID string) ([]string, error)

	// CancelResetLinks makes every outstanding reset link of the account
	// stop working.
	CancelResetLinks(ctx context.Context, userID string) error
	// PutResetToken stores t as the account's one outstanding link: the
	// links issued before it stop working.
	PutResetToken(ctx context.Context, t ResetToken) error
	// GetResetToken returns a live token; NotFound if absent, used or expired.
	GetResetToken(ctx context.Context, id string, now time.Time) (ResetToken, error)
	// ConsumeResetToken removes the token and returns it; NotFound if it is
	// absent, used, expired or not the account's newest link.
	ConsumeResetToken(ctx context.Context, id string, now time.Time) (ResetToken, error)
}

// Snapshot is what Load read.
type Snapshot struct {
	User         User
	HasUser      bool
	Challenge    Challenge
	HasChallenge bool
	Counts       []int64     // in the order of the keys asked for
	Lasts        []time.Time // when each counter was last counted
}

// Reservation is a password attempt counted before its check: the
// account's consecutive failures it found, and the failures of the same
// source against the account (which start the delays) with their time.
type Reservation struct {
	UserID     string
	Seen       int
	SourceKey  string
	SourceSeen int64
	SourceLast time.Time
	Expires    time.Time // when the source's count may be forgotten
}

// Limit is a counter with a ceiling.
type Limit struct {
	Key     string
	Max     int64
	Expires time.Time
}

// Notifier delivers codes and links.
type Notifier interface {
	SendCode(ctx context.Context, method Method, destination, code string) error
	SendResetLink(ctx context.Context, mail, link string) error
}
