package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/password"
)

// userIDAlphabet has no look-alikes (0/O, 1/I/L): IDs are read off paper
// notices and typed in by hand.
const userIDAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// UserIDLength is seed 000's 11 half-width alphanumerics.
const UserIDLength = 11

// ValidUserID says whether id has the shape of a generated user ID:
// UserIDLength characters of its alphabet. Passwords can be letters and
// digits too, but rarely this shape.
func ValidUserID(id string) bool {
	if len(id) != UserIDLength {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune(userIDAlphabet, r) {
			return false
		}
	}
	return true
}

// NewUserID returns a random user ID.
func NewUserID() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(userIDAlphabet)))
	for range UserIDLength {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("user ID: %w", err)
		}
		b.WriteByte(userIDAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// NewAccount is what an administrator gives to open an account.
type NewAccount struct {
	ID               string // "" to generate one
	Name             string
	Role             authz.Role
	InstitutionCode  string
	PrefectureCode   string
	HealthCenterCode string
	Mail             string
	Phone            string
	Method           Method
	Destination      string // "" takes Mail or Phone by the method
	CanDownload      bool   // 個票・CSVダウンロードフラグ
}

// Validate checks the account's fields and normalises its contact data.
func (a *NewAccount) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	switch {
	case a.Name == "":
		return apperr.InvalidField("name", "氏名を入力してください。", "name is required")
	case utf8.RuneCountInString(a.Name) > 100:
		return apperr.InvalidField("name", "氏名は100文字以内にしてください。", "name is longer than 100 characters")
	case !a.Role.Valid():
		return apperr.InvalidField("role", "権限の種別が正しくありません。", "unknown role")
	}
	switch a.Role {
	case authz.PrefectureAdmin:
		if a.PrefectureCode == "" {
			return apperr.InvalidField("prefectureCode", "都道府県コードを入力してください。", "a prefecture admin needs a prefecture code")
		}
	case authz.HealthCenterAdmin:
		if a.PrefectureCode == "" || a.HealthCenterCode == "" {
			return apperr.InvalidField("healthCenterCode", "都道府県コードと保健所コードを入力してください。", "a health-centre admin needs prefecture and health-centre codes")
		}
	case authz.InstitutionManager, authz.InstitutionUser:
		if a.InstitutionCode == "" || a.PrefectureCode == "" {
			return apperr.InvalidField("institutionCode", "医療機関コードと都道府県コードを入力してください。", "an institution account needs institution and prefecture codes")
		}
	}
	if a.Mail != "" {
		m, err := NormalizeDestination(MethodMail, a.Mail, "mail")
		if err != nil {
			return err
		}
		a.Mail = m
	}
	if a.Phone != "" {
		p, err := NormalizeDestination(MethodVoice, a.Phone, "phone")
		if err != nil {
			return err
		}
		a.Phone = p
	}
	if a.Destination == "" {
		switch a.Method {
		case MethodMail:
			a.Destination = a.Mail
		case MethodSMS, MethodVoice:
			a.Destination = a.Phone
		}
	}
	if a.Method == MethodTOTP {
		return apperr.InvalidField("method", "認証アプリは利用者自身がログイン後に登録します。", "users enrol an authenticator app themselves")
	}
	d, err := NormalizeDestination(a.Method, a.Destination, "destination")
	if err != nil {
		return err
	}
	a.Destination = d
	return nil
}

// CreateAccount opens an account with a generated initial password, which
// must be changed at first login (seed 001). It returns the user and the
// initial password, which is stored only as a hash.
func (s *Service) CreateAccount(ctx context.Context, actor string, a NewAccount) (User, string, error) {
	initial, err := password.Generate()
	if err != nil {
		return User{}, "", err
	}
	u, err := s.OpenAccount(ctx, actor, a, initial)
	return u, initial, err
}

// OpenAccount opens an account with the given initial password (generated
// by the caller, who may need to keep it until it is sent). An ID that is
// taken is a Conflict.
func (s *Service) OpenAccount(ctx context.Context, actor string, a NewAccount, initial string) (User, error) {
	if err := a.Validate(); err != nil {
		return User{}, err
	}
	if a.ID == "" {
		id, err := NewUserID()
		if err != nil {
			return User{}, err
		}
		a.ID = id
	}
	hash, err := password.Hash(initial)
	if err != nil {
		return User{}, err
	}
	now := s.cfg.Now()
	u := User{ID: a.ID, Name: a.Name, Role: a.Role, InstitutionCode: a.InstitutionCode, PrefectureCode: a.PrefectureCode,
		HealthCenterCode: a.HealthCenterCode, Mail: a.Mail, Phone: a.Phone, PasswordHash: hash, MustChangePassword: true,
		Method: a.Method, Destination: a.Destination, CanDownload: a.CanDownload, Status: StatusActive, CreatedAt: now, Version: 1}
	if err := s.store.CreateUser(ctx, u, audit.Event{At: now, UserID: u.ID, Actor: actor, Action: audit.AccountCreated,
		Detail: map[string]string{"role": string(u.Role)}}); err != nil {
		return User{}, err
	}
	return u, nil
}

// SetStatus stops or resumes an account (seed 001: administrators 停止 and
// 再開 accounts in their jurisdiction). Stopping ends every session of the
// account on the server at once.
func (s *Service) SetStatus(ctx context.Context, actor authz.Principal, userID string, status Status) (User, error) {
	if status != StatusActive && status != StatusStopped {
		return User{}, apperr.InvalidField("status", "状態は active か stopped を指定してください。", "status must be active or stopped")
	}
	u, err := s.ManagedAccount(ctx, actor, userID)
	if err != nil {
		return User{}, err
	}
	if u.Status != status {
		u.Status = status
		if u, err = s.store.UpdateUser(ctx, u); err != nil {
			return User{}, err
		}
		action := audit.AccountResumed
		if status == StatusStopped {
			action = audit.AccountStopped
		}
		if err := s.audit.Record(ctx, audit.Event{At: s.cfg.Now(), UserID: u.ID, Actor: actor.UserID, Action: action}); err != nil {
			return User{}, err
		}
	}
	// Stopping again still ends what it finds: the account's record of its
	// sessions is read after the stop is stored, and a login can add none
	// to a stopped account.
	if status == StatusStopped {
		if err := s.endSessions(ctx, Client{}, actor.UserID, u.ID, "account_stopped"); err != nil {
			return User{}, err
		}
		// A link asked for before the stop must not work after a resume.
		if err := s.store.CancelResetLinks(ctx, u.ID); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// DeleteAccount deletes an account that actor may manage, after ending its
// sessions (each recorded); a login racing the delete cannot leave one
// (see Store.DeleteUser).
func (s *Service) DeleteAccount(ctx context.Context, actor authz.Principal, userID string) error {
	u, err := s.ManagedAccount(ctx, actor, userID)
	if err != nil {
		return err
	}
	if err := s.endSessions(ctx, Client{}, actor.UserID, u.ID, "account_deleted"); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{At: s.cfg.Now(), UserID: u.ID, Actor: actor.UserID, Action: audit.AccountDeleted})
}

// ErrUnknownUser is the answer about an account that does not exist, for
// those allowed to learn that (see authz.Unknown).
var ErrUnknownUser = apperr.New(apperr.NotFound, "利用者が見つかりません。", "no such user")

// ManagedAccount returns the account userID if actor may manage it. A role
// that manages no accounts is refused before the lookup; an unknown ID is
// NotFound for national administrators and, for everyone else, the same
// Forbidden as an account outside their jurisdiction.
func (s *Service) ManagedAccount(ctx context.Context, actor authz.Principal, userID string) (User, error) {
	if err := authz.AuthorizeRole(actor, authz.ManageAccounts); err != nil {
		return User{}, err
	}
	u, err := s.store.GetUser(ctx, userID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return User{}, authz.Unknown(actor, authz.ManageAccounts, ErrUnknownUser)
	}
	if err != nil {
		return User{}, err
	}
	if err := authz.Authorize(actor, authz.ManageAccounts, u.Scope()); err != nil {
		return User{}, err
	}
	if !authz.CanManageRole(actor, u.ID, u.Role) {
		return User{}, apperr.New(apperr.Forbidden, "自分自身や同等以上の権限のアカウントは操作できません。", "you cannot manage your own account or one of an equal or higher role")
	}
	return u, nil
}
