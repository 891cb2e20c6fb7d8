// Package session resolves the browser's session cookie into the caller's
// authz.Principal for every HTTP function, and routes requests so that a
// route is closed unless it is declared public. Sessions end after a period
// without activity (3 hours by default, seed 000) and after an absolute
// lifetime, whichever comes first.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
)

// CookieName is the session cookie. The __Host- prefix makes browsers insist
// on Secure, Path=/ and no Domain, so no sibling host can set or read it.
const CookieName = "__Host-gmis_session"

// Session is a logged-in browser. Only a hash of its token is stored.
type Session struct {
	ID                 string // hex SHA-256 of the token
	UserID             string
	Role               authz.Role
	InstitutionCode    string
	PrefectureCode     string
	HealthCenterCode   string
	MustChangePassword bool // issued or reset password: only the password may be changed
	CanDownload        bool // the account's 個票・CSVダウンロードフラグ when the session began
	CreatedAt          time.Time
	LastSeenAt         time.Time
	ExpiresAt          time.Time // absolute end
}

// Principal is the caller the session stands for.
func (s Session) Principal() authz.Principal {
	return authz.Principal{UserID: s.UserID, Role: s.Role, InstitutionCode: s.InstitutionCode,
		PrefectureCode: s.PrefectureCode, HealthCenterCode: s.HealthCenterCode, CanDownload: s.CanDownload}
}

// Store is what resolving a session needs from storage.
type Store interface {
	GetSession(ctx context.Context, id string) (Session, error) // apperr.NotFound when absent
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
}

// Config sets the lifetimes.
type Config struct {
	Idle       time.Duration // default 3 h (seed 000)
	Absolute   time.Duration // default 12 h
	TouchEvery time.Duration // how stale LastSeenAt may get before a write; default min(5 min, Idle/10)
	Now        func() time.Time
	// Ended, when set, is told of every session found expired on use and
	// ended here ("idle_timeout" or "absolute_timeout"), for the audit log.
	Ended func(ctx context.Context, s Session, reason string) error
}

// WithDefaults fills in the defaults of the fields left zero.
func (c Config) WithDefaults() Config {
	if c.Idle <= 0 {
		c.Idle = 3 * time.Hour
	}
	if c.Absolute <= 0 {
		c.Absolute = 12 * time.Hour
	}
	if c.TouchEvery <= 0 {
		c.TouchEvery = min(5*time.Minute, c.Idle/10)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Manager creates and resolves sessions.
type Manager struct {
	store Store
	cfg   Config
}

// NewManager returns a Manager over store.
func NewManager(store Store, cfg Config) *Manager {
	return &Manager{store: store, cfg: cfg.WithDefaults()}
}

// Config returns the lifetimes in force.
func (m *Manager) Config() Config { return m.cfg }

// NewToken returns a fresh session token (256 random bits) and its ID.
func NewToken() (token, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, IDOf(token), nil
}

// IDOf is the stored ID of a token: its SHA-256. A 256-bit random token
// needs no salt or key; the hash keeps a database reader from using it.
func IDOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var errNoSession = apperr.New(apperr.Unauthenticated, "ログインしてください。", "log in first")

// Resolve returns the live session the request's cookie names. Activity
// moves the idle clock, but LastSeenAt is written only when it is older than
// TouchEvery, so most requests cost one read.
func (m *Manager) Resolve(r *http.Request) (Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return Session{}, errNoSession
	}
	ctx := r.Context()
	id := IDOf(c.Value)
	s, err := m.store.GetSession(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return Session{}, errNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	now := m.cfg.Now()
	if !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(m.cfg.Idle)) {
		if err := m.store.DeleteSession(ctx, id); err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return Session{}, fmt.Errorf("end expired session: %w", err)
		}
		if m.cfg.Ended != nil {
			reason := "idle_timeout"
			if !now.Before(s.ExpiresAt) {
				reason = "absolute_timeout"
			}
			if err := m.cfg.Ended(ctx, s, reason); err != nil {
				return Session{}, fmt.Errorf("record expired session: %w", err)
			}
		}
		return Session{}, apperr.New(apperr.Unauthenticated,
			"一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。", "the session has expired; log in again")
	}
	if now.Sub(s.LastSeenAt) >= m.cfg.TouchEvery {
		err := m.store.TouchSession(ctx, id, now)
		if apperr.CodeOf(err) == apperr.NotFound {
			return Session{}, errNoSession // ended by a logout in between
		}
		if err != nil {
			return Session{}, fmt.Errorf("touch session: %w", err)
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// Cookie is the Set-Cookie for a new session token.
func Cookie(token string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: token, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

// ClearCookie is the Set-Cookie that makes the browser forget the session.
func ClearCookie() *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}

type ctxKey struct{}

// With returns ctx carrying s.
func With(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// From returns the session of the request being served.
func From(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(Session)
	return s, ok
}

// MustFrom returns the session of a request that passed a private route; it
// is a programming error to call it on a public one.
func MustFrom(ctx context.Context) Session {
	s, ok := From(ctx)
	if !ok {
		panic(errors.New("session.MustFrom on a route without a session"))
	}
	return s
}
