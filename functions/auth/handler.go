package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/session"
)

type handler struct {
	svc            *auth.Service
	sessions       *session.Manager
	allowedOrigins []string
	logger         *slog.Logger
	// resetFloor is the least time a reset request takes, so the answer's
	// timing does not tell whether the ID exists (mail is sent only if so).
	resetFloor time.Duration
	gate       *maintenance.Gate // closes the routes during maintenance windows
	names      masterNames       // the names of the user's jurisdiction, for /auth/me
}

// masterNames reads the names of a few master records (codes by kind) at
// once; absent ones are left out.
type masterNames interface {
	Names(ctx context.Context, codes map[master.Kind]string) (map[master.Kind]string, error)
}

// scopeNames are the names of the user's prefecture, health centre and
// institution (所属), for pages that show them instead of codes.
type scopeNames struct {
	Prefecture   string `json:"prefecture,omitempty"`
	HealthCenter string `json:"healthCenter,omitempty"`
	Institution  string `json:"institution,omitempty"`
}

// scopeNamesOf reads the names of u's jurisdiction; nil when it has none,
// or when they cannot be read (the answer goes on without them).
func (h *handler) scopeNamesOf(ctx context.Context, u auth.User) *scopeNames {
	codes := map[master.Kind]string{master.Prefectures: u.PrefectureCode, master.HealthCenters: u.HealthCenterCode,
		master.Institutions: u.InstitutionCode}
	if h.names == nil || (u.PrefectureCode == "" && u.HealthCenterCode == "" && u.InstitutionCode == "") {
		return nil
	}
	got, err := h.names.Names(ctx, codes)
	if err != nil {
		h.logger.Error("read scope names", "user_id", u.ID, "error", err.Error())
		return nil
	}
	if len(got) == 0 {
		return nil
	}
	return &scopeNames{Prefecture: got[master.Prefectures], HealthCenter: got[master.HealthCenters], Institution: got[master.Institutions]}
}

func (h *handler) routes() http.Handler {
	rt := session.NewRouter(h.sessions, h.allowedOrigins)
	rt.Public("POST /auth/login", h.login)
	rt.Public("POST /auth/login/resend", h.resend)
	rt.Public("POST /auth/verify", h.verify)
	rt.Public("POST /auth/password-reset/request", h.requestReset)
	rt.Public("POST /auth/password-reset/confirm", h.confirmReset)
	rt.DuringPasswordChange("POST /auth/logout", h.logout)
	rt.DuringPasswordChange("GET /auth/me", h.me)
	rt.DuringPasswordChange("POST /auth/password", h.changePassword)
	rt.Private("POST /auth/second-factor/change", h.startFactorChange)
	rt.Private("POST /auth/second-factor/change/confirm", h.confirmFactorChange)
	rt.Private("POST /auth/totp/enroll", h.startTOTP)
	rt.Private("POST /auth/totp/confirm", h.confirmTOTP)
	rt.Private("GET /auth/users/{userId}", h.user)
	return rt
}

func client(r *http.Request) auth.Client {
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	return auth.Client{IP: ip, UserAgent: r.UserAgent()}
}

// decode reads the body into v and checks each named field; on a bad
// request it answers and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any, fields ...field) bool {
	if err := decodeFields(r, v, fields...); err != nil {
		httpapi.WriteError(w, r, err)
		return false
	}
	return true
}

// decodeFields reads the body into v and checks each named field is present
// and not longer than its limit (a 10 MB password would only burn CPU).
func decodeFields(r *http.Request, v any, fields ...field) error {
	if err := httpapi.DecodeJSON(r, v); err != nil {
		return err
	}
	for _, f := range fields {
		switch {
		case *f.value == "":
			return apperr.InvalidField(f.name, f.label+"を入力してください。", f.name+" is required")
		case len(*f.value) > f.max:
			return apperr.InvalidField(f.name, f.label+"が長すぎます。", f.name+" is too long")
		case f.pattern != nil && !f.pattern.MatchString(*f.value):
			return apperr.InvalidField(f.name, f.label+"の形式が正しくありません。", f.name+" is malformed")
		}
	}
	return nil
}

type field struct {
	name, label string
	value       *string
	max         int
	pattern     *regexp.Regexp
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

// meBody is what /auth/me and a finished login answer.
type meBody struct {
	UserID             string     `json:"userId"`
	Name               string     `json:"name"`
	Role               authz.Role `json:"role"`
	InstitutionCode    string     `json:"institutionCode,omitempty"`
	PrefectureCode     string     `json:"prefectureCode,omitempty"`
	HealthCenterCode   string     `json:"healthCenterCode,omitempty"`
	MustChangePassword bool       `json:"mustChangePassword"`
	SecondFactor       factorBody `json:"secondFactor"`
}

type factorBody struct {
	Method      auth.Method `json:"method"`
	Destination string      `json:"destination,omitempty"`
}

func meOf(u auth.User) meBody {
	return meBody{UserID: u.ID, Name: u.Name, Role: u.Role, InstitutionCode: u.InstitutionCode,
		PrefectureCode: u.PrefectureCode, HealthCenterCode: u.HealthCenterCode, MustChangePassword: u.MustChangePassword,
		SecondFactor: factorBody{Method: u.Method, Destination: auth.MaskDestination(u.Method, u.Destination)}}
}

func (h *handler) setSession(w http.ResponseWriter, started auth.Started) {
	http.SetCookie(w, session.Cookie(started.Token, h.svc.Config().Session.Absolute))
}

// loginRequest is the body of POST /auth/login.
type loginRequest struct {
	UserID   string `json:"userId"`
	Password string `json:"password"`
}

func parseLogin(r *http.Request) (loginRequest, error) {
	var req loginRequest
	err := decodeFields(r, &req, field{"userId", "利用者ID", &req.UserID, 64, nil}, field{"password", "パスワード", &req.Password, 128, nil})
	return req, err
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	req, err := parseLogin(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	res, err := h.svc.Login(r.Context(), client(r), req.UserID, req.Password)
	httpapi.Reply(w, r, http.StatusOK, res, err)
}

func (h *handler) resend(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ChallengeID string `json:"challengeId"`
	}
	if !decode(w, r, &req, field{"challengeId", "チャレンジID", &req.ChallengeID, 64, nil}) {
		return
	}
	res, err := h.svc.Resend(r.Context(), client(r), req.ChallengeID)
	httpapi.Reply(w, r, http.StatusOK, res, err)
}

func (h *handler) verify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ChallengeID string `json:"challengeId"`
		Code        string `json:"code"`
	}
	if !decode(w, r, &req, field{"challengeId", "チャレンジID", &req.ChallengeID, 64, nil},
		field{"code", "認証コード", &req.Code, 6, sixDigits}) {
		return
	}
	started, err := h.svc.Verify(r.Context(), client(r), req.ChallengeID, req.Code)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.setSession(w, started)
	httpapi.WriteJSON(w, http.StatusOK, meOf(started.User))
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Logout(r.Context(), client(r), session.MustFrom(r.Context())); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	http.SetCookie(w, session.ClearCookie())
	// Nurses' stations share PCs: what this user's answers left in the
	// browser's cache (searches may be kept 30 seconds) goes with them.
	w.Header().Set("Clear-Site-Data", `"cache"`)
	w.WriteHeader(http.StatusNoContent)
}

// sessionBody tells the pages when the session ends, so that they can warn
// before it does. Any authenticated request moves the idle end, but the
// server writes it down only every touchEverySeconds: after a request at t
// the session lasts at least until t + idle - touchEvery.
type sessionBody struct {
	ExpiresAt          time.Time `json:"expiresAt"` // the earlier of the idle and the absolute end
	IdleTimeoutSeconds int       `json:"idleTimeoutSeconds"`
	TouchEverySeconds  int       `json:"touchEverySeconds"`
	AbsoluteExpiresAt  time.Time `json:"absoluteExpiresAt"`
}

func sessionOf(s session.Session, cfg session.Config) sessionBody {
	end := s.LastSeenAt.Add(cfg.Idle)
	if s.ExpiresAt.Before(end) {
		end = s.ExpiresAt
	}
	return sessionBody{ExpiresAt: end.UTC(), IdleTimeoutSeconds: int(cfg.Idle.Seconds()),
		TouchEverySeconds: int(cfg.TouchEvery.Seconds()), AbsoluteExpiresAt: s.ExpiresAt.UTC()}
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	s := session.MustFrom(r.Context())
	u, err := h.svc.Me(r.Context(), s)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	body := struct {
		meBody
		ScopeNames *scopeNames `json:"scopeNames,omitempty"`
		Session    sessionBody `json:"session"`
	}{meOf(u), h.scopeNamesOf(r.Context(), u), sessionOf(s, h.sessions.Config())}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

func (h *handler) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !decode(w, r, &req, field{"current", "現在のパスワード", &req.Current, 128, nil}, field{"new", "新しいパスワード", &req.New, 128, nil}) {
		return
	}
	started, err := h.svc.ChangePassword(r.Context(), client(r), session.MustFrom(r.Context()), req.Current, req.New)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.setSession(w, started)
	httpapi.WriteJSON(w, http.StatusOK, meOf(started.User))
}

func (h *handler) requestReset(w http.ResponseWriter, r *http.Request) {
	floor := time.After(h.resetFloor)
	var req struct {
		UserID string `json:"userId"`
	}
	if !decode(w, r, &req, field{"userId", "利用者ID", &req.UserID, 64, nil}) {
		return
	}
	err := h.svc.RequestReset(r.Context(), client(r), req.UserID)
	<-floor
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{
		"message":   "登録されているメールアドレスに、パスワード再設定のご案内を送信しました。届かない場合は管理者にお問い合わせください。",
		"messageEn": "if the ID is registered with a mail address, a reset link has been sent to it",
	})
}

func (h *handler) confirmReset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token       string `json:"token"`
		NewPassword string `json:"newPassword"`
	}
	if !decode(w, r, &req, field{"token", "トークン", &req.Token, 100, nil}, field{"newPassword", "新しいパスワード", &req.NewPassword, 128, nil}) {
		return
	}
	if err := h.svc.ConfirmReset(r.Context(), client(r), req.Token, req.NewPassword); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) startFactorChange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string      `json:"currentPassword"`
		Method          auth.Method `json:"method"`
		Destination     string      `json:"destination"`
	}
	if !decode(w, r, &req, field{"currentPassword", "現在のパスワード", &req.CurrentPassword, 128, nil},
		field{"destination", "送信先", &req.Destination, 254, nil}) {
		return
	}
	res, err := h.svc.StartFactorChange(r.Context(), client(r), session.MustFrom(r.Context()), req.CurrentPassword, req.Method, req.Destination)
	httpapi.Reply(w, r, http.StatusOK, res, err)
}

func (h *handler) confirmFactorChange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if !decode(w, r, &req, field{"code", "認証コード", &req.Code, 6, sixDigits}) {
		return
	}
	u, err := h.svc.ConfirmFactorChange(r.Context(), client(r), session.MustFrom(r.Context()), req.Code)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, meOf(u))
}

func (h *handler) startTOTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string `json:"currentPassword"`
	}
	if !decode(w, r, &req, field{"currentPassword", "現在のパスワード", &req.CurrentPassword, 128, nil}) {
		return
	}
	res, err := h.svc.StartTOTP(r.Context(), client(r), session.MustFrom(r.Context()), req.CurrentPassword)
	httpapi.Reply(w, r, http.StatusOK, res, err)
}

func (h *handler) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if !decode(w, r, &req, field{"code", "認証コード", &req.Code, 6, sixDigits}) {
		return
	}
	u, err := h.svc.ConfirmTOTP(r.Context(), client(r), session.MustFrom(r.Context()), req.Code)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, meOf(u))
}

// user shows one account to those allowed to see it: the user themself, an
// institution manager of the same institution, or an administrator whose
// jurisdiction covers it.
func (h *handler) user(w http.ResponseWriter, r *http.Request) {
	sess := session.MustFrom(r.Context())
	u, err := h.svc.Account(r.Context(), sess.Principal(), r.PathValue("userId"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, meOf(u))
}
