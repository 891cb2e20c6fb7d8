package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/mailaddr"
	"github.com/gmis-oss/gmis/shared/otp"
	"github.com/gmis-oss/gmis/shared/password"
	"github.com/gmis-oss/gmis/shared/phone"
	"github.com/gmis-oss/gmis/shared/seal"
	"github.com/gmis-oss/gmis/shared/session"
)

// Config holds the service's limits. Zero values take the defaults noted.
type Config struct {
	Now             func() time.Time
	CodeTTL         time.Duration // 5 min
	MaxCodeAttempts int           // 5 per challenge
	MaxSends        int           // 5 codes per user ...
	SendWindow      time.Duration // ... per 15 min
	DelayAfter      int           // failures before delays start: 5
	MaxDelay        time.Duration // 15 min (Amazon Cognito's ceiling)
	LockAfter       int           // 100 consecutive failures lock (NIST SP 800-63B's ceiling)
	ResetTTL        time.Duration // 30 min
	MaxResetMails   int           // reset mails per account per SendWindow, apart from codes: 5
	ResetURL        string        // the page that takes ?token=
	IPLimit         int           // failed logins, and reset requests, per source IP (a hospital shares one) ...
	IPWindow        time.Duration // ... per 5 min: 300
	TOTPIssuer      string
	Session         session.Config
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	seti := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	set(&c.CodeTTL, 5*time.Minute)
	set(&c.SendWindow, 15*time.Minute)
	set(&c.MaxDelay, 15*time.Minute)
	set(&c.ResetTTL, 30*time.Minute)
	set(&c.IPWindow, 5*time.Minute)
	seti(&c.MaxCodeAttempts, 5)
	seti(&c.MaxSends, 5)
	seti(&c.MaxResetMails, 5)
	seti(&c.DelayAfter, 5)
	seti(&c.LockAfter, 100)
	seti(&c.IPLimit, 300)
	if c.TOTPIssuer == "" {
		c.TOTPIssuer = "G-MIS"
	}
	c.Session.Now = c.Now
	c.Session = c.Session.WithDefaults()
	return c
}

// Service carries out the account operations.
type Service struct {
	store  Store
	audit  audit.Log
	notify Notifier
	hasher *otp.Hasher
	sealer *seal.Box
	cfg    Config
}

// NewService returns a Service. secret (at least 32 bytes) keys the code
// hashes and seals TOTP secrets.
func NewService(store Store, log audit.Log, notify Notifier, secret []byte, cfg Config) (*Service, error) {
	hasher, err := otp.NewHasher(seal.DeriveKey(secret, "code-hash"))
	if err != nil {
		return nil, err
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("auth secret must be at least 32 bytes")
	}
	box, err := seal.New(seal.DeriveKey(secret, "totp-seal"))
	if err != nil {
		return nil, err
	}
	return &Service{store: store, audit: log, notify: notify, hasher: hasher, sealer: box, cfg: cfg.withDefaults()}, nil
}

// Config returns the limits in force.
func (s *Service) Config() Config { return s.cfg }

// Client is where a request came from, for the audit log and IP limits.
type Client struct {
	IP        string
	UserAgent string
}

var errBadCredentials = apperr.New(apperr.Unauthenticated,
	"利用者IDまたはパスワードが正しくありません。", "wrong user ID or password")

// errBadCode refuses a code whose challenge cannot be answered any more
// (expired, used, out of attempts, or the account may not log in now):
// the user must start again. Its detail "challenge" is "closed".
var errBadCode = &apperr.Error{Code: apperr.Unauthenticated,
	Message:   "確認コードの有効期限が切れたか、入力できる回数を超えました。もう一度ログインしてください。",
	MessageEn: "the code expired or was tried too often: log in again", Detail: map[string]string{"challenge": "closed"}}

// errWrongCode refuses a wrong code while its challenge can still be
// answered: the user types the code again on the same page. It names the
// field "code"; its detail "challenge" is "open", with "attemptsLeft".
func errWrongCode(left int) error {
	return &apperr.Error{Code: apperr.Unauthenticated, Field: "code",
		Message: "確認コードが正しくありません。もう一度入力してください。", MessageEn: "wrong code: enter it again",
		Detail: map[string]string{"challenge": "open", "attemptsLeft": strconv.Itoa(left)}}
}

// wrongCode counts a wrong code (attempts of the challenge already spent)
// against the account and its source, as every failure, and answers
// errWrongCode while the challenge can still be answered, errBadCode once
// it cannot (its last attempt, its expiry, or the lock this failure
// brought).
func (s *Service) wrongCode(ctx context.Context, c Client, u User, ch Challenge, attempts int) error {
	n, err := s.failures(ctx, c, u, audit.CodeFailed)
	if err != nil {
		return err
	}
	if left := s.cfg.MaxCodeAttempts - attempts; left > 0 && n < s.cfg.LockAfter && s.cfg.Now().Before(ch.ExpiresAt) {
		return errWrongCode(left)
	}
	return errBadCode
}

func (s *Service) record(ctx context.Context, c Client, userID, action string, detail map[string]string) error {
	err := s.audit.Record(ctx, audit.Event{At: s.cfg.Now(), UserID: userID, Action: action,
		SourceIP: c.IP, UserAgent: c.UserAgent, Detail: detail})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// delay is how long an account with n consecutive failures must wait after
// the last one: 2^(n-5) seconds from the fifth on, at most MaxDelay.
func (s *Service) delay(n int) time.Duration {
	if n < s.cfg.DelayAfter {
		return 0
	}
	exp := n - s.cfg.DelayAfter
	if exp > 20 {
		return s.cfg.MaxDelay
	}
	return min(time.Duration(1<<exp)*time.Second, s.cfg.MaxDelay)
}

// source is the failures of one source address against one account: the
// delays run on these, so that failures from elsewhere (someone guessing)
// never make the account's owner wait; the lock runs on the account's
// consecutive failures wherever they came from.
type source struct {
	key  string
	n    int64
	last time.Time
}

func (s *Service) sourceKey(userID string, c Client) string { return SourceKey(userID, c.IP) }

// SourceKey names the counter of the failures from address ip against
// the account userID.
func SourceKey(userID, ip string) string {
	if ip == "" {
		ip = "-"
	}
	return "srcfail#" + userID + "#" + ip
}

// sourceOf reads the failures of c's address against the account.
func (s *Service) sourceOf(ctx context.Context, userID string, c Client) (source, error) {
	key := s.sourceKey(userID, c)
	snap, err := s.store.Load(ctx, "", "", []string{key})
	if err != nil {
		return source{}, err
	}
	return source{key: key, n: snap.Counts[0], last: snap.Lasts[0]}, nil
}

// sourceExpiry is how long a source's failures are remembered.
const sourceExpiry = 24 * time.Hour

// blocked says whether u may not try now from src: stopped, locked, or
// inside the wait the source's failures earned. Callers answer every case
// alike.
func (s *Service) blocked(u User, src source) (string, bool) {
	switch {
	case u.Status != StatusActive:
		return "stopped", true
	case u.Locked:
		return "locked", true
	case s.cfg.Now().Before(src.last.Add(s.delay(int(src.n)))):
		return "delayed", true
	}
	return "", false
}

// fail counts a confirmed failure against the account and its source, and
// records it.
func (s *Service) fail(ctx context.Context, c Client, u User, action string) error {
	_, err := s.failures(ctx, c, u, action)
	return err
}

// failures is fail that also returns the account's consecutive failures.
func (s *Service) failures(ctx context.Context, c Client, u User, action string) (int, error) {
	now := s.cfg.Now()
	n, err := s.store.RecordFailure(ctx, u.ID, now, s.cfg.LockAfter)
	if err != nil {
		return 0, err
	}
	if _, err := s.store.Count(ctx, s.sourceKey(u.ID, c), now, now.Add(sourceExpiry), 0); err != nil {
		return 0, err
	}
	if err := s.record(ctx, c, u.ID, action, map[string]string{"failures": fmt.Sprint(n)}); err != nil {
		return 0, err
	}
	return n, s.lockedNow(ctx, c, u.ID, n)
}

// lockedNow, when n confirmed failures have reached the lock (already
// stored), records the lock and ends the account's sessions: a locked account is
// locked everywhere, whichever path the last failure came by.
func (s *Service) lockedNow(ctx context.Context, c Client, userID string, n int) error {
	if n < s.cfg.LockAfter {
		return nil
	}
	if n == s.cfg.LockAfter {
		if err := s.record(ctx, c, userID, audit.AccountLocked, map[string]string{"failures": fmt.Sprint(n)}); err != nil {
			return err
		}
	}
	if err := s.store.CancelResetLinks(ctx, userID); err != nil {
		return err
	}
	return s.endSessions(ctx, c, "", userID, "account_locked")
}

// checkPassword checks pw under the failure rules, from src. why is
// non-empty when the account may not try now (stopped, locked, waiting, or
// another attempt raced this one); the hash is computed anyway so every
// answer costs the same. The attempt is reserved before the check with a
// conditional write on the failure count read with u, so a burst of
// parallel guesses gets one try, not one each; it is counted and dated
// against the source too, so the source's next attempts wait. A right
// password keeps the reservation: the caller gives it back, with its next
// write where it can.
func (s *Service) checkPassword(ctx context.Context, c Client, u User, src source, pw, failAction string) (ok bool, why string, r Reservation, err error) {
	if why, no := s.blocked(u, src); no {
		password.DummyVerify(pw)
		return false, why, Reservation{}, nil
	}
	now := s.cfg.Now()
	r = Reservation{UserID: u.ID, Seen: u.FailedAttempts, SourceKey: src.key, SourceSeen: src.n, SourceLast: src.last,
		Expires: now.Add(sourceExpiry)}
	n, err := s.store.ReserveAttempt(ctx, r, now)
	if apperr.CodeOf(err) == apperr.Conflict {
		password.DummyVerify(pw)
		return false, "concurrent", Reservation{}, nil
	}
	if err != nil {
		return false, "", Reservation{}, err
	}
	ok, err = password.Verify(u.PasswordHash, pw)
	if err != nil {
		return false, "", Reservation{}, fmt.Errorf("verify password of %s: %w", u.ID, err)
	}
	if ok {
		return true, "", r, nil
	}
	if n >= s.cfg.LockAfter {
		if err := s.store.Lock(ctx, u.ID); err != nil {
			return false, "", Reservation{}, err
		}
	}
	if err := s.record(ctx, c, u.ID, failAction, map[string]string{"failures": fmt.Sprint(n)}); err != nil {
		return false, "", Reservation{}, err
	}
	return false, "", Reservation{}, s.lockedNow(ctx, c, u.ID, n)
}

var errNoVoice = apperr.New(apperr.Unavailable,
	"音声通話による認証コードは現在利用できません。システム管理者に二要素認証の方法の変更を依頼してください。",
	"voice-call codes are not available on this deployment; ask an administrator to change your second factor")

// errTooManyFailures answers a logged-in user whose password checks are
// blocked: they know their own account exists.
var errTooManyFailures = apperr.New(apperr.TooManyRequests,
	"パスワードの誤りが続いたため、しばらく待ってからもう一度お試しください。", "too many wrong passwords; wait and try again")

// LoginResult tells the browser where the code went.
type LoginResult struct {
	ChallengeID string    `json:"challengeId"`
	Method      Method    `json:"method"`
	Destination string    `json:"destination"` // masked
	ExpiresAt   time.Time `json:"expiresAt"`
}

// Login checks the password and sends a code by the user's method. A wrong
// ID, a wrong password, a stopped, locked or waiting account all get the
// same answer after the same work. The user, the address's failure
// counters and the user's code-send counters are read in one round trip.
func (s *Service) Login(ctx context.Context, c Client, userID, pw string) (LoginResult, error) {
	sends := s.sendWindow(userID)
	ipKeys := s.ipKeys("login", c)
	srcKey := s.sourceKey(userID, c)
	snap, err := s.store.Load(ctx, userID, "", append(append(sends.keys(), srcKey), ipKeys...))
	if err != nil {
		return LoginResult{}, err
	}
	if s.ipLimited("login", c, snap.Counts[3:]) {
		password.DummyVerify(pw)
		return LoginResult{}, errIPLimited
	}
	if !snap.HasUser {
		password.DummyVerify(pw)
		if err := s.ipFailed(ctx, "login", c); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, firstErr(s.record(ctx, c, s.typedID(userID), audit.LoginFailed, map[string]string{"reason": "unknown_user"}), errBadCredentials)
	}
	u := snap.User
	ok, why, r, err := s.checkPassword(ctx, c, u, source{key: srcKey, n: snap.Counts[2], last: snap.Lasts[2]}, pw, audit.LoginFailed)
	if err != nil {
		return LoginResult{}, err
	}
	if !ok {
		if err := s.ipFailed(ctx, "login", c); err != nil {
			return LoginResult{}, err
		}
		if why != "" {
			return LoginResult{}, firstErr(s.record(ctx, c, u.ID, audit.LoginThrottled, map[string]string{"reason": why}), errBadCredentials)
		}
		return LoginResult{}, errBadCredentials
	}
	if err := s.record(ctx, c, u.ID, audit.LoginPasswordOK, nil); err != nil {
		return LoginResult{}, err
	}
	id, err := randomID(16)
	if err != nil {
		return LoginResult{}, err
	}
	if u.Method == MethodVoice && !s.VoiceAvailable() {
		// Accounts cannot be given voice codes here (issuance and the factor
		// change refuse it); one that has them still gets a clear answer.
		return LoginResult{}, firstErr(s.store.ReleaseAttempt(ctx, r), errNoVoice)
	}
	limit, room := s.sendLimit(sends, snap.Counts[1])
	if u.Method != MethodTOTP && (!room || snap.Counts[0] >= limit.Max) {
		return LoginResult{}, firstErr(s.store.ReleaseAttempt(ctx, r), s.errTooManySends())
	}
	ch, err := s.newChallenge(ctx, c, u, PurposeLogin, u.Method, u.Destination, "", id, limit, &r)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{ChallengeID: ch.ID, Method: ch.Method, Destination: maskDestination(ch.Method, ch.Destination), ExpiresAt: ch.ExpiresAt}, nil
}

// typedID is what the audit log keeps of a user ID that matched no
// account: the ID itself when it has the shape of one, otherwise a keyed
// hash, because what people type into the ID field is sometimes their
// password.
func (s *Service) typedID(typed string) string {
	if ValidUserID(typed) {
		return typed
	}
	return "unknown:" + s.hasher.Hash("audit-user-id", "", typed)[:16]
}

// firstErr returns the first non-nil of an internal failure and the answer.
func firstErr(internal, answer error) error {
	if internal != nil {
		return internal
	}
	return answer
}

// newChallenge stores a challenge and sends its code, counting the send
// under send. release gives back the attempt a right password reserved,
// in the same write.
func (s *Service) newChallenge(ctx context.Context, c Client, u User, purpose Purpose, method Method, dest, sessionID, id string,
	send Limit, release *Reservation) (Challenge, error) {
	now := s.cfg.Now()
	var err error
	ch := Challenge{ID: id, UserID: u.ID, Purpose: purpose, Method: method, Destination: dest, SessionID: sessionID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL)}
	var code string
	if method != MethodTOTP {
		if code, err = otp.NewCode(); err != nil {
			return Challenge{}, err
		}
		ch.CodeHash = s.hasher.Hash(string(purpose), id, code)
		ch.Sends = 1
		err = s.store.IssueChallenge(ctx, ch, send, release)
	} else {
		err = s.store.PutChallenge(ctx, ch)
		if err == nil && release != nil {
			err = s.store.ReleaseAttempt(ctx, *release)
		}
	}
	if apperr.CodeOf(err) == apperr.TooManyRequests {
		return Challenge{}, s.errTooManySends()
	}
	if err != nil {
		return Challenge{}, err
	}
	if method != MethodTOTP {
		if err := s.notify.SendCode(ctx, method, dest, code); err != nil {
			return Challenge{}, fmt.Errorf("send code to %s by %s: %w", u.ID, method, err)
		}
		if err := s.record(ctx, c, u.ID, audit.CodeSent, map[string]string{"method": string(method), "purpose": string(purpose),
			"destination": maskDestination(method, dest)}); err != nil {
			return Challenge{}, err
		}
	}
	return ch, nil
}

// Resend sends a new code for a login challenge. The failure count of the
// challenge stays: resending does not buy more guesses.
func (s *Service) Resend(ctx context.Context, c Client, challengeID string) (LoginResult, error) {
	ch, err := s.liveChallenge(ctx, challengeID, PurposeLogin)
	if err != nil {
		return LoginResult{}, err
	}
	if ch.Method == MethodTOTP {
		return LoginResult{}, apperr.InvalidField("challengeId", "認証アプリのコードは再送できません。", "an authenticator app code cannot be resent")
	}
	limit, err := s.sendLimitOf(ctx, ch.UserID)
	if err != nil {
		return LoginResult{}, err
	}
	if _, err := s.store.Count(ctx, limit.Key, s.cfg.Now(), limit.Expires, limit.Max); err != nil {
		if apperr.CodeOf(err) == apperr.TooManyRequests {
			return LoginResult{}, s.errTooManySends()
		}
		return LoginResult{}, err
	}
	code, err := otp.NewCode()
	if err != nil {
		return LoginResult{}, err
	}
	expires := s.cfg.Now().Add(s.cfg.CodeTTL)
	if err := s.store.ResendChallenge(ctx, ch.ID, s.hasher.Hash(string(ch.Purpose), ch.ID, code), expires); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict || apperr.CodeOf(err) == apperr.NotFound {
			return LoginResult{}, errBadCode
		}
		return LoginResult{}, err
	}
	if err := s.notify.SendCode(ctx, ch.Method, ch.Destination, code); err != nil {
		return LoginResult{}, fmt.Errorf("resend code: %w", err)
	}
	if err := s.record(ctx, c, ch.UserID, audit.CodeSent, map[string]string{"method": string(ch.Method), "purpose": "resend"}); err != nil {
		return LoginResult{}, err
	}
	return LoginResult{ChallengeID: ch.ID, Method: ch.Method, Destination: maskDestination(ch.Method, ch.Destination), ExpiresAt: expires}, nil
}

// liveChallenge returns a challenge that can still be answered.
func (s *Service) liveChallenge(ctx context.Context, id string, purpose Purpose) (Challenge, error) {
	if id == "" || len(id) > 100 {
		return Challenge{}, errBadCode
	}
	ch, err := s.store.GetChallenge(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return Challenge{}, errBadCode
	}
	if err != nil {
		return Challenge{}, err
	}
	if !s.answerable(ch, purpose) {
		return Challenge{}, errBadCode
	}
	return ch, nil
}

// answerable says whether a code may still be tried against ch.
func (s *Service) answerable(ch Challenge, purpose Purpose) bool {
	return ch.Purpose == purpose && !ch.Consumed && s.cfg.Now().Before(ch.ExpiresAt) && ch.Attempts < s.cfg.MaxCodeAttempts
}

// spendAttempt counts a try against the challenge before the code is
// compared, so parallel guesses cannot share one count: the sixth try of a
// challenge is refused whether or not earlier ones were right.
// It returns the attempts spent, this one included.
func (s *Service) spendAttempt(ctx context.Context, ch Challenge) (int, error) {
	n, err := s.store.FailChallenge(ctx, ch.ID, s.cfg.MaxCodeAttempts)
	if apperr.CodeOf(err) == apperr.Conflict {
		return 0, errBadCode
	}
	return n, err
}

// checkCode compares code with the challenge; for TOTP it returns the step
// that matched so it can be spent.
func (s *Service) checkCode(u User, ch Challenge, secretSealed, code string) (int64, bool, error) {
	if ch.Method == MethodTOTP {
		secret, err := s.sealer.Open(secretSealed)
		if err != nil {
			return 0, false, err
		}
		step, ok := otp.VerifyTOTP(secret, code, s.cfg.Now(), u.TOTPLastStep)
		return step, ok, nil
	}
	return 0, s.hasher.Equal(ch.CodeHash, string(ch.Purpose), ch.ID, code), nil
}

// Started is a new session.
type Started struct {
	Token string // for the cookie only
	User  User
}

// Verify checks the code of a login challenge and starts a new session.
// The session is stored in one transaction that consumes the challenge and
// finds the account still active and unlocked, so an administrator's stop
// racing this login either refuses it or sees the session to end.
func (s *Service) Verify(ctx context.Context, c Client, challengeID, code string) (Started, error) {
	if challengeID == "" || len(challengeID) > 100 {
		return Started{}, firstErr(s.ipFailed(ctx, "login", c), errBadCode)
	}
	snap, err := s.store.Load(ctx, "", challengeID, s.ipKeys("login", c))
	if err != nil {
		return Started{}, err
	}
	if s.ipLimited("login", c, snap.Counts) {
		return Started{}, errIPLimited
	}
	ch := snap.Challenge
	if !snap.HasChallenge || !s.answerable(ch, PurposeLogin) {
		return Started{}, firstErr(s.ipFailed(ctx, "login", c), errBadCode)
	}
	srcKey := s.sourceKey(ch.UserID, c)
	snap, err = s.store.Load(ctx, ch.UserID, "", []string{srcKey})
	if err != nil {
		return Started{}, err
	}
	if !snap.HasUser {
		return Started{}, errBadCode
	}
	u := snap.User
	if _, no := s.blocked(u, source{key: srcKey, n: snap.Counts[0], last: snap.Lasts[0]}); no {
		return Started{}, errBadCode
	}
	if ch.Method != u.Method {
		return Started{}, errBadCode // the factor changed since the code was sent
	}
	attempts, err := s.spendAttempt(ctx, ch)
	if err != nil {
		return Started{}, err
	}
	step, ok, err := s.checkCode(u, ch, u.TOTPSecret, code)
	if err != nil {
		return Started{}, err
	}
	if !ok {
		if err := s.ipFailed(ctx, "login", c); err != nil {
			return Started{}, err
		}
		return Started{}, s.wrongCode(ctx, c, u, ch, attempts)
	}
	sess, token, err := s.newSession(u)
	if err != nil {
		return Started{}, err
	}
	if ch.Method != MethodTOTP {
		step = 0
	}
	if err := s.store.StartSession(ctx, u, sess, ch.ID, step, srcKey); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict {
			return Started{}, errBadCode // used by a concurrent request, or the account was stopped or locked meanwhile
		}
		return Started{}, err
	}
	u.FailedAttempts = 0
	return Started{Token: token, User: u}, s.record(ctx, c, u.ID, audit.LoginSucceeded, map[string]string{"method": string(ch.Method)})
}

func ignoreNotFound(err error) error {
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil
	}
	return err
}

func (s *Service) newSession(u User) (session.Session, string, error) {
	token, id, err := session.NewToken()
	if err != nil {
		return session.Session{}, "", err
	}
	now := s.cfg.Now()
	return session.Session{ID: id, UserID: u.ID, Role: u.Role, InstitutionCode: u.InstitutionCode,
		PrefectureCode: u.PrefectureCode, HealthCenterCode: u.HealthCenterCode, MustChangePassword: u.MustChangePassword,
		CanDownload: u.CanDownload, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.Session.Absolute)}, token, nil
}

// startSession starts a session of u without a challenge (after a password
// change), on the same terms as a login.
func (s *Service) startSession(ctx context.Context, u User) (Started, error) {
	sess, token, err := s.newSession(u)
	if err != nil {
		return Started{}, err
	}
	if err := s.store.CreateSession(ctx, u, sess); err != nil {
		return Started{}, err
	}
	return Started{Token: token, User: u}, nil
}

// Logout ends the session on the server.
func (s *Service) Logout(ctx context.Context, c Client, sess session.Session) error {
	if err := s.store.DeleteSession(ctx, sess.ID); err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return err
	}
	return s.record(ctx, c, sess.UserID, audit.SessionEnded, map[string]string{"reason": "logout"})
}

// Me returns the session's user.
func (s *Service) Me(ctx context.Context, sess session.Session) (User, error) {
	u, err := s.store.GetUser(ctx, sess.UserID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return User{}, apperr.New(apperr.Unauthenticated, "ログインしてください。", "log in first")
	}
	return u, err
}

// policyError is one Invalid error that lists every broken rule.
func policyError(field string, vs []password.Violation) error {
	e := apperr.InvalidField(field, "", "")
	ja := make([]string, len(vs))
	en := make([]string, len(vs))
	for i, v := range vs {
		ja[i], en[i] = v.Message, v.MessageEn
		e.Problems = append(e.Problems, apperr.Problem{Field: field, Rule: v.Rule, Message: v.Message, MessageEn: v.MessageEn})
	}
	e.Message = "パスワードが条件を満たしていません：" + strings.Join(ja, "")
	e.MessageEn = "the password breaks the policy: " + strings.Join(en, "; ")
	return e
}

func (s *Service) checkNewPassword(u User, field, newPassword string) error {
	vs := password.Check(newPassword, u.ID, func(candidate string) bool {
		ok, _ := password.Verify(u.PasswordHash, candidate)
		return ok
	})
	if len(vs) > 0 {
		return policyError(field, vs)
	}
	return nil
}

// ChangePassword changes the password of the session's user after checking
// the current one. Every session of the user ends, and a fresh one is
// started for this browser.
func (s *Service) ChangePassword(ctx context.Context, c Client, sess session.Session, current, newPassword string) (Started, error) {
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return Started{}, err
	}
	if err := s.reauthenticate(ctx, c, u, current, "current"); err != nil {
		return Started{}, err
	}
	if err := s.checkNewPassword(u, "new", newPassword); err != nil {
		return Started{}, err
	}
	if u, err = s.setPassword(ctx, c, u, newPassword, "password_changed"); err != nil {
		return Started{}, err
	}
	started, err := s.startSession(ctx, u)
	if err != nil {
		return Started{}, err
	}
	return started, s.record(ctx, c, u.ID, audit.PasswordChanged, nil)
}

// setPassword stores a new password and ends every session of the
// account, recording why.
func (s *Service) setPassword(ctx context.Context, c Client, u User, newPassword, why string) (User, error) {
	hash, err := password.Hash(newPassword)
	if err != nil {
		return User{}, err
	}
	u.PasswordHash, u.MustChangePassword, u.PasswordChangedAt = hash, false, s.cfg.Now()
	if u, err = s.store.UpdateUser(ctx, u); err != nil {
		return User{}, err
	}
	if err := s.endSessions(ctx, c, "", u.ID, why); err != nil {
		return User{}, err
	}
	return u, nil
}

// RequestReset mails a single-use reset link if the ID exists and has a
// mail address. The caller cannot tell whether it did. Reset mails have
// their own budget per account, apart from login codes, so nobody can use
// up a user's codes by asking for resets in their name.
func (s *Service) RequestReset(ctx context.Context, c Client, userID string) error {
	snap, err := s.store.Load(ctx, userID, "", s.ipKeys("reset", c))
	if err != nil {
		return err
	}
	if s.ipLimited("reset", c, snap.Counts) {
		return errIPLimited
	}
	// Every request counts against the address: each one may send a mail.
	if err := s.ipFailed(ctx, "reset", c); err != nil {
		return err
	}
	if !snap.HasUser {
		return s.record(ctx, c, s.typedID(userID), audit.PasswordResetAsked, map[string]string{"result": "unknown_user"})
	}
	u := snap.User
	if u.Status != StatusActive || u.Locked || u.Mail == "" {
		return s.record(ctx, c, u.ID, audit.PasswordResetAsked, map[string]string{"result": "not_sent"})
	}
	w := newWindow("resetmail#"+u.ID, s.cfg.Now(), s.cfg.SendWindow)
	if _, err := s.store.Count(ctx, w.cur, s.cfg.Now(), w.expires, int64(s.cfg.MaxResetMails)); err != nil {
		if apperr.CodeOf(err) != apperr.TooManyRequests {
			return err
		}
		// Saying "too many" would confirm the ID exists; stay silent.
		return s.record(ctx, c, u.ID, audit.PasswordResetAsked, map[string]string{"result": "rate_limited"})
	}
	token, err := randomID(32)
	if err != nil {
		return err
	}
	t := ResetToken{ID: s.hasher.Hash("reset", "", token), UserID: u.ID, ExpiresAt: s.cfg.Now().Add(s.cfg.ResetTTL)}
	if err := s.store.PutResetToken(ctx, t); err != nil {
		return err
	}
	// The token travels in the fragment: browsers send neither it nor the
	// Referer with it to any server, so no access log holds it.
	if err := s.notify.SendResetLink(ctx, u.Mail, s.cfg.ResetURL+"#token="+token); err != nil {
		return fmt.Errorf("send reset link to %s: %w", u.ID, err)
	}
	return s.record(ctx, c, u.ID, audit.PasswordResetAsked, map[string]string{"result": "sent"})
}

var errResetRefused = apperr.New(apperr.Forbidden,
	"このアカウントは停止またはロックされているため、パスワードを再設定できません。管理者にお問い合わせください。",
	"the account is stopped or locked; ask an administrator")

// ConfirmReset sets a new password with a reset token: the account's
// newest link, once, and only while the account is active and unlocked.
// Every session of the user ends; the user logs in again with the new
// password.
func (s *Service) ConfirmReset(ctx context.Context, c Client, token, newPassword string) error {
	if err := s.limitIP(ctx, "reset", c); err != nil {
		return err
	}
	badToken := apperr.InvalidField("token", "このリンクは無効か、有効期限が切れています。もう一度パスワードの再設定を申し込んでください。",
		"the reset link is invalid or expired")
	refuse := func(err error) error {
		return firstErr(s.ipFailed(ctx, "reset", c), err)
	}
	if token == "" || len(token) > 100 {
		return refuse(badToken)
	}
	id := s.hasher.Hash("reset", "", token)
	// Check the policy before spending the token, so a refused password
	// leaves the link usable.
	t, err := s.store.GetResetToken(ctx, id, s.cfg.Now())
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return refuse(badToken)
		}
		return err
	}
	u, err := s.store.GetUser(ctx, t.UserID)
	if err != nil {
		return firstErr(ignoreNotFound(err), badToken)
	}
	if u.Status != StatusActive || u.Locked {
		return firstErr(s.record(ctx, c, u.ID, audit.PasswordResetRefused, map[string]string{"status": string(u.Status),
			"locked": fmt.Sprint(u.Locked)}), errResetRefused)
	}
	if err := s.checkNewPassword(u, "newPassword", newPassword); err != nil {
		return err
	}
	if _, err := s.store.ConsumeResetToken(ctx, id, s.cfg.Now()); err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return refuse(badToken)
		}
		return err
	}
	if _, err := s.setPassword(ctx, c, u, newPassword, "password_reset"); err != nil {
		return err
	}
	if err := s.store.ClearFailures(ctx, u.ID); err != nil {
		return err
	}
	// The address the owner proved their mailbox from waits no more.
	if err := s.store.ForgetCount(ctx, s.sourceKey(u.ID, c)); err != nil {
		return err
	}
	return s.record(ctx, c, u.ID, audit.PasswordReset, nil)
}

func randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Account returns the account userID if p may see it. Whether an ID exists
// is not revealed to those who may not see it.
func (s *Service) Account(ctx context.Context, p authz.Principal, userID string) (User, error) {
	u, err := s.store.GetUser(ctx, userID)
	if apperr.CodeOf(err) == apperr.NotFound {
		if p.Role == authz.National {
			return User{}, apperr.New(apperr.NotFound, "利用者が見つかりません。", "user not found")
		}
		return User{}, authz.Authorize(p, authz.ViewAccounts, authz.Scope{})
	}
	if err != nil {
		return User{}, err
	}
	if u.ID == p.UserID || authz.Allowed(p, authz.ViewAccounts, u.Scope()) {
		return u, nil
	}
	return User{}, authz.Authorize(p, authz.ViewAccounts, u.Scope())
}

// MaskDestination shows where codes go without showing all of it.
func MaskDestination(m Method, dest string) string { return maskDestination(m, dest) }

func maskDestination(m Method, dest string) string {
	switch m {
	case MethodMail:
		return mailaddr.Mask(dest)
	case MethodSMS, MethodVoice:
		if n, err := phone.Parse(dest); err == nil {
			return phone.Mask(n)
		}
		return "***"
	}
	return ""
}
