package auth

import (
	"context"
	"strings"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/mailaddr"
	"github.com/gmis-oss/gmis/shared/otp"
	"github.com/gmis-oss/gmis/shared/phone"
	"github.com/gmis-oss/gmis/shared/session"
)

// NormalizeDestination checks a destination for a method and returns it in
// stored form: a normalised mail address, or an E.164 number (a mobile one
// for SMS).
func NormalizeDestination(m Method, dest, field string) (string, error) {
	switch m {
	case MethodMail:
		addr, err := mailaddr.Normalize(dest)
		if err != nil {
			return "", fieldError(field, err)
		}
		return addr, nil
	case MethodSMS, MethodVoice:
		n, err := phone.Parse(dest)
		if err != nil {
			return "", fieldError(field, err)
		}
		if m == MethodSMS && !n.Mobile {
			return "", apperr.InvalidField(field, "SMSを受け取れるのは携帯電話番号（070・080・090など）だけです。",
				"SMS needs a mobile number (070, 080, 090 ...)")
		}
		return n.E164, nil
	}
	return "", apperr.InvalidField("method", "二要素認証の手段は mail・sms・voice のいずれかを指定してください。",
		"method must be mail, sms or voice")
}

// VoiceCaller is implemented by a Notifier that knows whether voice calls
// are configured; one that does not implement it is taken to place them.
type VoiceCaller interface {
	CanCall() bool
}

// VoiceAvailable reports whether codes may go by voice call (seed 001's
// method 3) on this deployment. Where they may not, the method is refused
// when it is chosen, at bulk issuance and at a factor change, so that no
// account is left that cannot log in.
func (s *Service) VoiceAvailable() bool {
	vc, ok := s.notify.(VoiceCaller)
	return !ok || vc.CanCall()
}

// fieldError turns a phone or mail error (with Japanese and English
// messages) into an Invalid error for field.
func fieldError(field string, err error) error {
	var ja, en string
	switch e := err.(type) {
	case *phone.Error:
		ja, en = e.Message, e.MessageEn
	case *mailaddr.Error:
		ja, en = e.Message, e.MessageEn
	default:
		ja, en = "形式が正しくありません。", err.Error()
	}
	return apperr.InvalidField(field, ja, en)
}

// reauthenticate checks the password a logged-in user enters again, under
// the same failure rules as login.
func (s *Service) reauthenticate(ctx context.Context, c Client, u User, current, field string) error {
	src, err := s.sourceOf(ctx, u.ID, c)
	if err != nil {
		return err
	}
	ok, why, r, err := s.checkPassword(ctx, c, u, src, current, audit.LoginFailed)
	if err != nil {
		return err
	}
	if why != "" {
		return errTooManyFailures
	}
	if !ok {
		return apperr.InvalidField(field, "現在のパスワードが正しくありません。", "the current password is wrong")
	}
	return s.store.ReleaseAttempt(ctx, r)
}

// FactorChange is a pending change of the second factor.
type FactorChange struct {
	Method      Method `json:"method"`
	Destination string `json:"destination"` // masked
}

// StartFactorChange is steps ①–③ of seed 001's screen: after the password
// is entered again (OWASP ASVS 7.5.1), a code goes to the new destination.
func (s *Service) StartFactorChange(ctx context.Context, c Client, sess session.Session, current string, m Method, dest string) (FactorChange, error) {
	if m == MethodTOTP {
		return FactorChange{}, apperr.InvalidField("method", "認証アプリは認証アプリの登録から設定してください。", "enrol an authenticator app through /auth/totp/enroll")
	}
	if m == MethodVoice && !s.VoiceAvailable() {
		return FactorChange{}, apperr.InvalidField("method", "このシステムでは音声電話で認証コードをお送りできません。mail（メール）か sms（SMS）を指定してください。",
			"voice calls are not configured on this system; choose mail or sms")
	}
	normalized, err := NormalizeDestination(m, strings.TrimSpace(dest), "destination")
	if err != nil {
		return FactorChange{}, err
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return FactorChange{}, err
	}
	if err := s.reauthenticate(ctx, c, u, current, "currentPassword"); err != nil {
		return FactorChange{}, err
	}
	limit, err := s.sendLimitOf(ctx, u.ID)
	if err != nil {
		return FactorChange{}, err
	}
	ch, err := s.newChallenge(ctx, c, u, PurposeFactorChange, m, normalized, sess.ID, FactorChallengeID(sess.ID), limit, nil)
	if err != nil {
		return FactorChange{}, err
	}
	return FactorChange{Method: ch.Method, Destination: maskDestination(m, normalized)}, nil
}

// FactorChallengeID is the challenge of a session's pending factor change:
// one per session, so step ④ needs only the code and a new step ③
// replaces an older one.
func FactorChallengeID(sessionID string) string { return "factor-" + sessionID }

// TOTPChallengeID is the challenge of a session's pending TOTP enrolment.
func TOTPChallengeID(sessionID string) string { return "totp-" + sessionID }

// ConfirmFactorChange is step ④: the code that reached the new destination
// switches the method.
func (s *Service) ConfirmFactorChange(ctx context.Context, c Client, sess session.Session, code string) (User, error) {
	return s.finishFactorChange(ctx, c, sess, FactorChallengeID(sess.ID), PurposeFactorChange, code,
		func(u *User, ch Challenge) {
			u.Method, u.Destination = ch.Method, ch.Destination
			u.TOTPSecret, u.TOTPLastStep = "", 0
		}, audit.SecondFactorChanged)
}

// finishFactorChange checks the code of a session's pending change and, if
// it is right, applies the change to the user.
func (s *Service) finishFactorChange(ctx context.Context, c Client, sess session.Session, challengeID string, purpose Purpose,
	code string, apply func(*User, Challenge), action string) (User, error) {
	ch, err := s.liveChallenge(ctx, challengeID, purpose)
	if err != nil {
		return User{}, err
	}
	if ch.SessionID != sess.ID || ch.UserID != sess.UserID {
		return User{}, errBadCode
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return User{}, err
	}
	attempts, err := s.spendAttempt(ctx, ch)
	if err != nil {
		return User{}, err
	}
	step, ok, err := s.checkCode(User{TOTPLastStep: -1}, ch, ch.TOTPSecret, code)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, s.wrongCode(ctx, c, u, ch, attempts)
	}
	if err := s.store.ConsumeChallenge(ctx, ch.ID); err != nil {
		if apperr.CodeOf(err) == apperr.Conflict {
			return User{}, errBadCode
		}
		return User{}, err
	}
	apply(&u, ch)
	if ch.Method == MethodTOTP {
		u.TOTPLastStep = step
	}
	if u, err = s.store.UpdateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, s.record(ctx, c, u.ID, action, map[string]string{"method": string(u.Method)})
}

// TOTPEnrollment is what an authenticator app needs to be set up.
type TOTPEnrollment struct {
	Secret string `json:"secret"` // base32, for typing in
	URI    string `json:"otpauthUri"`
}

// StartTOTP begins enrolment of an authenticator app: a new secret, shown
// once, confirmed by a first code before it replaces the current method.
func (s *Service) StartTOTP(ctx context.Context, c Client, sess session.Session, current string) (TOTPEnrollment, error) {
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if err := s.reauthenticate(ctx, c, u, current, "currentPassword"); err != nil {
		return TOTPEnrollment{}, err
	}
	secret, err := otp.NewTOTPSecret()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	sealed, err := s.sealer.Seal(secret)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	id := TOTPChallengeID(sess.ID)
	now := s.cfg.Now()
	ch := Challenge{ID: id, UserID: u.ID, Purpose: PurposeTOTPEnroll, Method: MethodTOTP, TOTPSecret: sealed,
		SessionID: sess.ID, CreatedAt: now, ExpiresAt: now.Add(10 * s.cfg.CodeTTL)}
	if err := s.store.PutChallenge(ctx, ch); err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{Secret: otp.EncodeSecret(secret), URI: otp.TOTPURI(secret, s.cfg.TOTPIssuer, u.ID)}, nil
}

// ConfirmTOTP switches the user to the authenticator app once it shows a
// valid code.
func (s *Service) ConfirmTOTP(ctx context.Context, c Client, sess session.Session, code string) (User, error) {
	return s.finishFactorChange(ctx, c, sess, TOTPChallengeID(sess.ID), PurposeTOTPEnroll, code,
		func(u *User, ch Challenge) { u.Method, u.Destination, u.TOTPSecret = MethodTOTP, "", ch.TOTPSecret },
		audit.TOTPEnrolled)
}
