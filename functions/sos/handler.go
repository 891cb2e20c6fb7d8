package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/sos"
)

type handler struct {
	svc            *sos.Service
	gate           *maintenance.Gate
	audit          audit.Log
	sessions       *session.Manager
	allowedOrigins []string
	logger         *slog.Logger
	now            func() time.Time
}

func (h *handler) routes() http.Handler {
	rt := session.NewRouter(h.sessions, h.allowedOrigins)
	base := "/sos/institutions/{code}/requests"
	rt.Private("GET /sos/window", h.window)
	rt.Private("GET "+base, h.list)
	rt.Private("POST "+base, h.create)
	rt.Private("GET "+base+"/{id}", h.get)
	rt.Private("PUT "+base+"/{id}", h.update)
	rt.Private("DELETE "+base+"/{id}", h.delete)
	rt.Private("POST "+base+"/{id}/apply", h.apply)
	rt.Private("POST "+base+"/{id}/confirm", h.confirm)
	rt.Private("POST "+base+"/{id}/accept", h.accept)
	rt.Private("GET /sos/review", h.day)
	rt.Private("GET /sos/review/export", h.export)
	rt.Private("GET /sos/review/institutions/{code}/requests/{id}", h.detail)
	return httpapi.AuditRefusals(h.gate.Wrap(rt, nil), h.audit, h.logger, h.now)
}

func principal(r *http.Request) authz.Principal { return session.MustFrom(r.Context()).Principal() }

func (h *handler) window(w http.ResponseWriter, r *http.Request) {
	httpapi.Reply(w, r, http.StatusOK, h.svc.Window(), nil)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			httpapi.WriteError(w, r, apperr.InvalidField("limit", "limit は1〜100で指定してください。", "limit must be 1 to 100"))
			return
		}
		limit = n
	}
	rs, next, err := h.svc.List(r.Context(), principal(r), r.PathValue("code"), limit, q.Get("cursor"))
	httpapi.Reply(w, r, http.StatusOK, map[string]any{"requests": rs, "nextCursor": next}, err)
}

func (h *handler) input(w http.ResponseWriter, r *http.Request) (sos.Input, bool) {
	var in sos.Input
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		httpapi.WriteError(w, r, err)
		return in, false
	}
	return in, true
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	in, ok := h.input(w, r)
	if !ok {
		return
	}
	req, err := h.svc.Create(r.Context(), principal(r), r.PathValue("code"), in)
	httpapi.Reply(w, r, http.StatusCreated, req, err)
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	req, err := h.svc.Get(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"))
	httpapi.Reply(w, r, http.StatusOK, req, err)
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	in, ok := h.input(w, r)
	if !ok {
		return
	}
	req, err := h.svc.Update(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"), in)
	httpapi.Reply(w, r, http.StatusOK, req, err)
}

func versionOf(r *http.Request) (int64, error) {
	v, err := strconv.ParseInt(r.URL.Query().Get("version"), 10, 64)
	if err != nil || v < 1 {
		return 0, apperr.InvalidField("version", "version（読み込んだバージョン）を指定してください。", "give the version you read")
	}
	return v, nil
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	v, err := versionOf(r)
	if err == nil {
		err = h.svc.Delete(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"), v)
	}
	httpapi.Reply(w, r, http.StatusOK, map[string]any{"deleted": true}, err)
}

func (h *handler) apply(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Version int64 `json:"version"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	req, err := h.svc.Apply(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"), in.Version)
	httpapi.Reply(w, r, http.StatusOK, req, err)
}

func (h *handler) review(w http.ResponseWriter, r *http.Request) (sos.Review, bool) {
	var in sos.Review
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		httpapi.WriteError(w, r, err)
		return in, false
	}
	return in, true
}

func (h *handler) confirm(w http.ResponseWriter, r *http.Request) {
	in, ok := h.review(w, r)
	if !ok {
		return
	}
	req, err := h.svc.Confirm(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"), in)
	httpapi.Reply(w, r, http.StatusOK, req, err)
}

func (h *handler) accept(w http.ResponseWriter, r *http.Request) {
	in, ok := h.review(w, r)
	if !ok {
		return
	}
	req, err := h.svc.Accept(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"), in)
	httpapi.Reply(w, r, http.StatusOK, req, err)
}

func (h *handler) day(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rs, err := h.svc.Day(r.Context(), principal(r), q.Get("prefectureCode"), q.Get("day"), sos.Status(q.Get("status")))
	httpapi.Reply(w, r, http.StatusOK, map[string]any{"requests": rs, "day": q.Get("day")}, err)
}

func (h *handler) detail(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.ReviewDetail(r.Context(), principal(r), r.PathValue("code"), r.PathValue("id"))
	httpapi.Reply(w, r, http.StatusOK, d, err)
}

// export downloads a prefecture's review list of one business day as
// Excel CSV.
func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e, err := h.svc.ExportDay(r.Context(), principal(r), q.Get("prefectureCode"), q.Get("day"), sos.Status(q.Get("status")))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := e.WriteCSV(&buf); err != nil {
		httpapi.WriteError(w, r, fmt.Errorf("write sos csv: %w", err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+e.Filename+`"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
