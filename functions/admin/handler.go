package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/plaintext"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/uploads"
)

// userAdmin is the account storage the handler uses directly.
type userAdmin interface {
	ListUsers(ctx context.Context, by, code string, limit int, cursor string) ([]auth.User, string, error)
	GetUser(ctx context.Context, id string) (auth.User, error)
	Unlock(ctx context.Context, id string) error
}

// windowStore keeps maintenance windows.
type windowStore interface {
	maintenance.Lister
	PutWindow(ctx context.Context, w maintenance.Window) error
	EndWindow(ctx context.Context, id string) error
}

type handler struct {
	accounts       *auth.Service
	users          userAdmin
	masters        *master.Service
	bulk           *issuance.Service
	jobs           *job.Service
	files          *uploads.Store
	windows        windowStore
	gate           *maintenance.Gate
	audit          audit.Log
	sessions       *session.Manager
	allowedOrigins []string
	logger         *slog.Logger
	now            func() time.Time
}

func (h *handler) routes() http.Handler {
	rt := session.NewRouter(h.sessions, h.allowedOrigins)
	rt.Private("POST /admin/uploads", h.createUpload)
	rt.Private("POST /admin/jobs", h.createJob)
	rt.Private("GET /admin/jobs", h.listJobs)
	rt.Private("GET /admin/jobs/{id}", h.getJob)
	rt.Private("GET /admin/jobs/{id}/{file}", h.jobFile)
	rt.Private("GET /admin/masters/{kind}/{code}", h.getRecord)
	rt.Private("GET /admin/masters/{kind}/{code}/history", h.history)
	rt.Private("POST /admin/institutions", h.addInstitution)
	rt.Private("PUT /admin/institutions/{code}", h.editInstitution)
	rt.Private("GET /admin/users", h.listUsers)
	rt.Private("POST /admin/users/{userId}/{action}", h.userAction)
	rt.Private("DELETE /admin/users/{userId}", h.deleteUser)
	rt.Private("GET /admin/maintenance-windows", h.listWindows)
	rt.Private("POST /admin/maintenance-windows", h.createWindow)
	rt.Private("POST /admin/maintenance-windows/{id}/end", h.endWindow)
	rt.Public("GET "+NoticesPath, h.notices)
	// National administrators must be able to end a window while it closes
	// everything else, and everyone must be able to read why it is closed.
	closed := h.gate.Wrap(rt, func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, "/admin/maintenance-windows") || r.URL.Path == NoticesPath
	})
	return httpapi.AuditRefusals(closed, h.audit, h.logger, h.now)
}

func principal(r *http.Request) authz.Principal { return session.MustFrom(r.Context()).Principal() }

func kindOf(w http.ResponseWriter, r *http.Request) (master.Kind, bool) {
	k := master.Kind(r.PathValue("kind"))
	if !k.Valid() {
		httpapi.WriteError(w, r, apperr.InvalidField("kind", "マスタの種類は prefectures・health-centers・institutions・sentinels のいずれかです。", "unknown master"))
		return "", false
	}
	return k, true
}

func (h *handler) getRecord(w http.ResponseWriter, r *http.Request) {
	k, ok := kindOf(w, r)
	if !ok {
		return
	}
	rec, err := h.masters.Get(r.Context(), principal(r), k, r.PathValue("code"))
	httpapi.Reply(w, r, http.StatusOK, rec, err)
}

func (h *handler) history(w http.ResponseWriter, r *http.Request) {
	k, ok := kindOf(w, r)
	if !ok {
		return
	}
	recs, err := h.masters.History(r.Context(), principal(r), k, r.PathValue("code"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"versions": recs})
}

func (h *handler) addInstitution(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Fields map[string]string `json:"fields"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	rec, err := h.masters.AddInstitution(r.Context(), principal(r), req.Fields)
	httpapi.Reply(w, r, http.StatusCreated, rec, err)
}

func (h *handler) editInstitution(w http.ResponseWriter, r *http.Request) {
	// A role that edits no institution learns nothing from the body's checks.
	if err := authz.AuthorizeRole(principal(r), authz.ManageMasters); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var req struct {
		Version int64             `json:"version"`
		Fields  map[string]string `json:"fields"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if req.Version < 1 {
		httpapi.WriteError(w, r, apperr.InvalidField("version", "更新前のバージョンを指定してください。", "version is required"))
		return
	}
	rec, err := h.masters.EditInstitution(r.Context(), principal(r), r.PathValue("code"), req.Version, req.Fields)
	httpapi.Reply(w, r, http.StatusOK, rec, err)
}

// userView is an account as administrators see it: nothing secret.
type userView struct {
	UserID           string      `json:"userId"`
	Name             string      `json:"name"`
	Role             authz.Role  `json:"role"`
	InstitutionCode  string      `json:"institutionCode,omitempty"`
	PrefectureCode   string      `json:"prefectureCode,omitempty"`
	HealthCenterCode string      `json:"healthCenterCode,omitempty"`
	Mail             string      `json:"mail,omitempty"`
	Status           auth.Status `json:"status"`
	Locked           bool        `json:"locked"`
	CanDownload      bool        `json:"canDownload"`
}

func viewOf(u auth.User) userView {
	return userView{UserID: u.ID, Name: u.Name, Role: u.Role, InstitutionCode: u.InstitutionCode, PrefectureCode: u.PrefectureCode,
		HealthCenterCode: u.HealthCenterCode, Mail: u.Mail, Status: u.Status, Locked: u.Locked, CanDownload: u.CanDownload}
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q := r.URL.Query()
	var by, code string
	switch {
	case q.Get("institutionCode") != "":
		by, code = "institution", q.Get("institutionCode")
	case q.Get("healthCenterCode") != "":
		by, code = "healthCenter", q.Get("healthCenterCode")
	case q.Get("prefectureCode") != "":
		by, code = "prefecture", q.Get("prefectureCode")
	default:
		httpapi.WriteError(w, r, apperr.InvalidField("institutionCode", "institutionCode・healthCenterCode・prefectureCode のいずれかを指定してください。",
			"give institutionCode, healthCenterCode or prefectureCode"))
		return
	}
	if !codeRE.MatchString(code) {
		httpapi.WriteError(w, r, apperr.InvalidField(by+"Code", by+"Code は半角数字2〜10桁で指定してください。", by+"Code must be 2 to 10 digits"))
		return
	}
	if len(q.Get("cursor")) > 1024 {
		httpapi.WriteError(w, r, apperr.InvalidField("cursor", "ページの指定が正しくありません。", "malformed cursor"))
		return
	}
	if err := h.mayListUsers(r.Context(), p, by, code); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			httpapi.WriteError(w, r, apperr.InvalidField("limit", "limit は1〜200で指定してください。", "limit must be 1 to 200"))
			return
		}
		limit = n
	}
	byMaster := false
	if by == "institution" {
		// Where the institution is now decides, for all of its accounts at
		// once: during a move some may still carry the old jurisdiction.
		var err error
		if byMaster, err = h.masters.AuthorizeAccounts(r.Context(), p, authz.ViewAccounts, code); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	users, next, err := h.users.ListUsers(r.Context(), by, code, limit, q.Get("cursor"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	views := make([]userView, 0, len(users))
	for _, u := range users {
		// By institution, where it is now in the master decides for all of
		// its accounts (during a move some may still carry the old
		// jurisdiction). Otherwise each account is checked on its own, and
		// one outside is left out rather than turned into an answer that
		// differs by what exists.
		if byMaster || authz.Allowed(p, authz.ViewAccounts, u.Scope()) {
			views = append(views, viewOf(u))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"users": views, "nextCursor": next})
}

var codeRE = regexp.MustCompile(`^[0-9]{2,10}$`)

// mayListUsers decides a listing from the jurisdiction of what it names,
// read from the masters, before any account is read: the answer must not
// depend on whether the place has accounts, and an unknown place answers
// like a foreign one below national level.
func (h *handler) mayListUsers(ctx context.Context, p authz.Principal, by, code string) error {
	if err := authz.AuthorizeRole(p, authz.ViewAccounts); err != nil {
		return err
	}
	if p.Role == authz.National {
		return nil
	}
	var scope authz.Scope
	switch by {
	case "prefecture":
		scope = authz.Scope{PrefectureCode: code}
	case "healthCenter":
		rec, err := h.masters.Lookup(ctx, master.HealthCenters, code)
		if apperr.CodeOf(err) == apperr.NotFound {
			return authz.Unknown(p, authz.ViewAccounts, err)
		}
		if err != nil {
			return err
		}
		scope = rec.Scope()
	default:
		rec, err := h.masters.Lookup(ctx, master.Institutions, code)
		if apperr.CodeOf(err) == apperr.NotFound {
			rec, err = h.masters.Lookup(ctx, master.Sentinels, code)
		}
		if apperr.CodeOf(err) == apperr.NotFound {
			return authz.Unknown(p, authz.ViewAccounts, err)
		}
		if err != nil {
			return err
		}
		scope = rec.Scope()
	}
	return authz.Authorize(p, authz.ViewAccounts, scope)
}

// target loads an account the caller may manage.
func (h *handler) target(r *http.Request) (auth.User, error) {
	return h.accounts.ManagedAccount(r.Context(), principal(r), r.PathValue("userId"))
}

func (h *handler) userAction(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var (
		u   auth.User
		err error
	)
	switch r.PathValue("action") {
	case "stop":
		u, err = h.accounts.SetStatus(r.Context(), p, r.PathValue("userId"), auth.StatusStopped)
	case "resume":
		u, err = h.accounts.SetStatus(r.Context(), p, r.PathValue("userId"), auth.StatusActive)
	case "unlock":
		if u, err = h.target(r); err == nil {
			if err = h.users.Unlock(r.Context(), u.ID); err == nil {
				err = h.audit.Record(r.Context(), audit.Event{At: h.now(), UserID: u.ID, Actor: p.UserID, Action: audit.AccountUnlocked})
				u.Locked, u.FailedAttempts = false, 0
			}
		}
	default:
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "操作が見つかりません。", "unknown action"))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, viewOf(u))
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := h.accounts.DeleteAccount(r.Context(), principal(r), r.PathValue("userId")); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) listWindows(w http.ResponseWriter, r *http.Request) {
	if err := authz.Authorize(principal(r), authz.OperateSystem, authz.Scope{}); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	ws, err := h.windows.ListWindows(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"windows": ws})
}

// NoticesPath is the public announcement of maintenance windows
// (メンテナンス実施のお知らせ), shown on the login page and home.
const NoticesPath = "/notices/maintenance"

// notices answers the current and upcoming windows to anyone, logged in or
// not: read from the gate's cache (at most one Query per cache period per
// instance, whoever asks how often), and cacheable for a minute.
func (h *handler) notices(w http.ResponseWriter, r *http.Request) {
	ns, err := h.gate.Notices(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(publicFor{w, time.Minute}, http.StatusOK, map[string]any{"notices": ns})
}

// publicFor lets browsers and shared caches keep a 200 for a while: it
// carries nothing about the caller.
type publicFor struct {
	http.ResponseWriter
	age time.Duration
}

func (p publicFor) WriteHeader(status int) {
	if status == http.StatusOK {
		p.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(p.age.Seconds())))
	}
	p.ResponseWriter.WriteHeader(status)
}

func (h *handler) createWindow(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := authz.Authorize(p, authz.OperateSystem, authz.Scope{}); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	// Times arrive as strings so that a bad one is named with the forms
	// accepted, not reported as unreadable JSON.
	var req struct {
		Start   string `json:"start"`
		End     string `json:"end"`
		Message string `json:"message" text:"multiline"` // a notice may have several lines
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	start, err := httpapi.ParseDateTime("start", req.Start)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	end, err := httpapi.ParseDateTime("end", req.End)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	win, err := NewWindow(start, end, req.Message, p.UserID, h.now())
	if err == nil {
		err = h.windows.PutWindow(r.Context(), win)
	}
	if err == nil {
		err = h.audit.Record(r.Context(), audit.Event{At: h.now(), UserID: p.UserID, Actor: p.UserID, Action: audit.MaintenanceSet,
			Detail: map[string]string{"window": win.ID, "start": win.Start.In(maintenance.JST).Format(time.RFC3339), "end": win.End.In(maintenance.JST).Format(time.RFC3339)}})
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, win)
}

// NewWindow checks a window's times and message and gives it an ID.
func NewWindow(start, end time.Time, message, by string, now time.Time) (maintenance.Window, error) {
	switch {
	case start.IsZero():
		return maintenance.Window{}, apperr.InvalidField("start", "開始日時を "+httpapi.DateTimeForms+" の形で指定してください。", "start is required (RFC 3339, or YYYY/MM/DD HH:MM in JST)")
	case end.IsZero() || !end.After(start):
		return maintenance.Window{}, apperr.InvalidField("end", "終了日時は開始日時より後にしてください。", "end must be after start")
	case !end.After(now):
		return maintenance.Window{}, apperr.InvalidField("end", "終了日時が過去です。", "end is in the past")
	case end.Sub(start) > 72*time.Hour:
		return maintenance.Window{}, apperr.InvalidField("end", "メンテナンスは72時間以内にしてください。", "a window may last at most 72 hours")
	case utf8.RuneCountInString(message) > 200:
		return maintenance.Window{}, apperr.InvalidField("message", "メッセージは200文字以内にしてください。", "message longer than 200 characters")
	}
	if err := plaintext.Check("message", message, true); err != nil {
		return maintenance.Window{}, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return maintenance.Window{ID: maintenance.WindowID(start, hex.EncodeToString(b[:4])), Start: start.UTC(), End: end.UTC(),
		Message: strings.TrimSpace(message), CreatedBy: by}, nil
}

func (h *handler) endWindow(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := authz.Authorize(p, authz.OperateSystem, authz.Scope{}); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	err := h.windows.EndWindow(r.Context(), r.PathValue("id"))
	if err == nil {
		err = h.audit.Record(r.Context(), audit.Event{At: h.now(), UserID: p.UserID, Actor: p.UserID, Action: audit.MaintenanceEnded,
			Detail: map[string]string{"window": r.PathValue("id")}})
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
