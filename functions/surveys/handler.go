package main

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
)

type handler struct {
	daily          *survey.Service[survey.Daily]
	weekly         *survey.Service[survey.Weekly]
	statuses       survey.StatusReader
	masters        survey.Institutions
	gate           *maintenance.Gate
	sessions       *session.Manager
	allowedOrigins []string
	logger         *slog.Logger
}

func (h *handler) routes() http.Handler {
	rt := session.NewRouter(h.sessions, h.allowedOrigins)
	surveyRoutes(rt, h.daily)
	surveyRoutes(rt, h.weekly)
	rt.Private("GET /surveys/institutions/{code}/latest", h.latest)
	return h.gate.Wrap(rt, nil)
}

func principal(r *http.Request) authz.Principal { return session.MustFrom(r.Context()).Principal() }

// surveyRoutes registers the routes of one kind of survey:
// /surveys/institutions/{code}/<kind>[/{period}[/history]].
func surveyRoutes[T any](rt *session.Router, svc *survey.Service[T]) {
	k := svc.Kind()
	base := "/surveys/institutions/{code}/" + k.Name
	one := base + "/{" + k.Field + "}"
	rt.Private("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		from, to, err := rangeOf(r, k.Name)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		recs, err := svc.Range(r.Context(), principal(r), r.PathValue("code"), from, to)
		httpapi.Reply(w, r, http.StatusOK, map[string]any{"surveys": recs, "from": from, "to": to}, err)
	})
	rt.Private("GET "+one, func(w http.ResponseWriter, r *http.Request) {
		rec, err := svc.Get(r.Context(), principal(r), r.PathValue("code"), r.PathValue(k.Field))
		httpapi.Reply(w, r, http.StatusOK, rec, err)
	})
	rt.Private("PUT "+one, func(w http.ResponseWriter, r *http.Request) {
		body, err := readJSON(r)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		rec, err := svc.Put(r.Context(), principal(r), r.PathValue("code"), r.PathValue(k.Field), body, sourceOf(r))
		httpapi.Reply(w, r, http.StatusOK, rec, err)
	})
	rt.Private("GET "+one+"/history", func(w http.ResponseWriter, r *http.Request) {
		recs, err := svc.History(r.Context(), principal(r), r.PathValue("code"), r.PathValue(k.Field))
		httpapi.Reply(w, r, http.StatusOK, map[string]any{"versions": recs}, err)
	})
}

// rangeOf reads from and to, or for daily surveys month=YYYY-MM.
func rangeOf(r *http.Request, kind string) (string, string, error) {
	q := r.URL.Query()
	if m := q.Get("month"); m != "" && kind == survey.DailyKind.Name {
		first, err := time.ParseInLocation("2006-01", m, survey.JST)
		if err != nil || first.Format("2006-01") != m {
			return "", "", apperr.InvalidField("month", "month は YYYY-MM で指定してください。", "month must be YYYY-MM")
		}
		return first.Format(survey.DayLayout), first.AddDate(0, 1, -1).Format(survey.DayLayout), nil
	}
	from, to := q.Get("from"), q.Get("to")
	if from == "" || to == "" {
		return "", "", apperr.InvalidField("from", "from と to（日次調査は month も可）を指定してください。", "give from and to (or month for daily surveys)")
	}
	return from, to, nil
}

// readJSON reads a JSON request body for the survey parser, which reports
// every problem of it at once.
func readJSON(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, apperr.InvalidField("Content-Type", "Content-Type は application/json にしてください。", "Content-Type must be application/json")
		}
	}
	body, err := io.ReadAll(r.Body)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, apperr.New(apperr.TooLarge, "送信されたデータが大きすぎます。", "request body is too large")
	}
	if err != nil {
		return nil, apperr.InvalidField("", "本文を読み取れません。", "cannot read the body")
	}
	return body, nil
}

// sourceOf tells a browser page's write from a program's: browsers send
// Origin or Sec-Fetch-Site with a PUT.
func sourceOf(r *http.Request) string {
	if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
		return "web"
	}
	return "api"
}

// latest answers an institution's latest daily and weekly survey from its
// status item: one GetItem.
func (h *handler) latest(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if err := survey.AuthorizeRead(r.Context(), h.masters, principal(r), code); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	st, err := h.statuses.GetStatus(r.Context(), code)
	httpapi.Reply(w, r, http.StatusOK, st, err)
}
