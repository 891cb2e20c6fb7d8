package main

import (
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/search"
	"github.com/gmis-oss/gmis/shared/session"
)

type handler struct {
	search         *search.Service
	gate           *maintenance.Gate
	audit          audit.Log
	sessions       *session.Manager
	allowedOrigins []string
	logger         *slog.Logger
	now            func() time.Time
}

func (h *handler) routes() http.Handler {
	rt := session.NewRouter(h.sessions, h.allowedOrigins)
	rt.Private("GET /search/hospitals", h.list)
	rt.Private("GET /search/hospitals/{code}", h.detail)
	return httpapi.AuditRefusals(h.gate.Wrap(rt, nil), h.audit, h.logger, h.now)
}

// cached lets a browser keep an answer for 30 seconds: the statuses are
// reported daily, and a health centre repeating a search should not wait.
// What an answer shows depends on who asks (an institution sees its own
// figures), so it is kept per session cookie: on a shared PC the next user
// never gets the last one's answer.
type cached struct{ http.ResponseWriter }

func (c cached) WriteHeader(status int) {
	if status == http.StatusOK {
		c.Header().Set("Cache-Control", "private, max-age=30")
		c.Header().Set("Vary", "Cookie")
	}
	c.ResponseWriter.WriteHeader(status)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := search.ParseQuery(r.URL.Query())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	page, err := h.search.Search(r.Context(), session.MustFrom(r.Context()).Principal(), q)
	httpapi.Reply(cached{w}, r, http.StatusOK, page, err)
}

var codeRE = regexp.MustCompile(`^[0-9]{10}$`)

func (h *handler) detail(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !codeRE.MatchString(code) {
		httpapi.WriteError(w, r, apperr.InvalidField("code", "医療機関コードは半角数字10桁です。", "code must be 10 digits"))
		return
	}
	d, err := h.search.Detail(r.Context(), session.MustFrom(r.Context()).Principal(), code)
	httpapi.Reply(cached{w}, r, http.StatusOK, d, err)
}
