package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
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
	areas          *survey.Areas
	gate           *maintenance.Gate
	sessions       *session.Manager
	allowedOrigins []string
	logger         *slog.Logger
	now            func() time.Time
}

func (h *handler) routes() http.Handler {
	rt := session.NewRouter(h.sessions, h.allowedOrigins)
	surveyRoutes(rt, h.daily)
	surveyRoutes(rt, h.weekly)
	rt.Private("GET /surveys/institutions/{code}/latest", h.latest)
	rt.Private("GET /surveys/daily/non-responders", h.nonResponders)
	rt.Private("POST /surveys/daily/non-responders/remind", h.remind)
	rt.Private("GET /surveys/daily/export", h.export)
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

// nonResponders lists who has not answered a day (default today) in the
// caller's area, as JSON pages or, with format=csv, all of them for Excel.
func (h *handler) nonResponders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	area, err := survey.AreaOf(principal(r), authz.ListNonResponders, q.Get("prefectureCode"), q.Get("healthCenterCode"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	day := q.Get("date")
	if day == "" {
		day = survey.Today(h.now())
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > survey.MaxPage {
			httpapi.WriteError(w, r, apperr.InvalidField("limit", fmt.Sprintf("limit は1〜%dで指定してください。", survey.MaxPage),
				fmt.Sprintf("limit must be 1 to %d", survey.MaxPage)))
			return
		}
		limit = n
	}
	csv := q.Get("format") == "csv"
	if csv {
		limit = 0
	}
	if c := q.Get("cursor"); c != "" && survey.CheckInstitution(c) != nil {
		httpapi.WriteError(w, r, apperr.InvalidField("cursor", "ページの指定が正しくありません。", "malformed cursor"))
		return
	}
	list, err := h.areas.NonResponders(r.Context(), area, day, q.Get("cursor"), limit)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if !csv {
		httpapi.WriteJSON(w, http.StatusOK, list)
		return
	}
	var buf bytes.Buffer
	if err := survey.WriteNonRespondersCSV(&buf, list); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	writeCSV(w, "non-responders-"+area.PrefectureCode+"-"+day+".csv", buf.Bytes())
}

// remind mails the day's non-responders of the caller's area, each at most
// once a day.
func (h *handler) remind(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Date             string `json:"date"`
		PrefectureCode   string `json:"prefectureCode"`
		HealthCenterCode string `json:"healthCenterCode"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	area, err := survey.AreaOf(principal(r), authz.ListNonResponders, req.PrefectureCode, req.HealthCenterCode)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if req.Date == "" {
		req.Date = survey.Today(h.now())
	}
	res, err := h.areas.Remind(r.Context(), area, req.Date)
	httpapi.Reply(w, r, http.StatusOK, res, err)
}

// maxSyncCSV is the largest download answered synchronously: a Lambda
// answer is at most 6 MB, and the body travels inside a JSON document.
const maxSyncCSV = 5 << 20

// export downloads the daily surveys of the caller's area for a range.
func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	area, err := survey.AreaOf(principal(r), authz.DownloadSurveys, q.Get("prefectureCode"), q.Get("healthCenterCode"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		from = survey.Today(h.now())
	}
	if to == "" {
		to = from
	}
	buf := &cappedBuffer{max: maxSyncCSV}
	if _, err := h.areas.ExportDaily(r.Context(), area, from, to, buf); err != nil {
		if errors.Is(err, errTooBig) {
			err = apperr.New(apperr.TooLarge,
				"ダウンロードするデータが大きすぎます（上限 5 MB）。期間を短くしてください。",
				"the download is larger than 5 MB: choose a shorter range (larger exports run as background jobs, not yet available)")
		}
		httpapi.WriteError(w, r, err)
		return
	}
	writeCSV(w, "daily-"+area.PrefectureCode+"-"+from+"-"+to+".csv", buf.b.Bytes())
}

var errTooBig = errors.New("download too large")

// cappedBuffer keeps at most max bytes and refuses more.
type cappedBuffer struct {
	b   bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.b.Len()+len(p) > c.max {
		return 0, errTooBig
	}
	return c.b.Write(p)
}

func writeCSV(w http.ResponseWriter, name string, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
