package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
	"github.com/gmis-oss/gmis/shared/uploads"
)

type handler struct {
	daily          *survey.Service[survey.Daily]
	weekly         *survey.Service[survey.Weekly]
	statuses       survey.StatusReader
	masters        survey.Institutions
	areas          *survey.Areas
	exports        *survey.Exports
	jobs           *job.Service
	files          presigner
	gate           *maintenance.Gate
	audit          audit.Log
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
	for _, kind := range []string{survey.DailyKind.Name, survey.WeeklyKind.Name} {
		rt.Private("GET /surveys/"+kind+"/export", h.export(kind))
		rt.Private("POST /surveys/"+kind+"/exports", h.createExport(kind))
	}
	rt.Private("GET /surveys/exports/{id}", h.getExport)
	return httpapi.AuditRefusals(h.gate.Wrap(rt, nil), h.audit, h.logger, h.now)
}

// presigner hands out links to files.
type presigner interface {
	PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
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
			return "", "", apperr.InvalidField("month", "月は 2026-01 のように指定してください。", "month must be YYYY-MM")
		}
		return first.Format(survey.DayLayout), first.AddDate(0, 1, -1).Format(survey.DayLayout), nil
	}
	from, to := q.Get("from"), q.Get("to")
	if from == "" || to == "" {
		return "", "", apperr.InvalidField("from", "期間の開始と終了（日次調査は月でも可）を指定してください。", "give from and to (or month for daily surveys)")
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

// exportOf reads the question of a download: the caller's area (or the
// one named in it) and the range, by default the current day or week.
func (h *handler) exportOf(r *http.Request, kind, from, to, prefecture, healthCenter string) (survey.Export, error) {
	area, err := survey.AreaOf(principal(r), authz.DownloadSurveys, prefecture, healthCenter)
	if err != nil {
		return survey.Export{}, err
	}
	if from == "" {
		from = survey.Today(h.now())
		if kind == survey.WeeklyKind.Name {
			from = string(survey.WeekOf(h.now()))
		}
	}
	if to == "" {
		to = from
	}
	e := survey.Export{Kind: kind, Area: area, From: from, To: to}
	return e, e.Check()
}

// export downloads the surveys of one kind of the caller's area for a
// range: as Excel CSV, or with format=json as pages for programs.
func (h *handler) export(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		e, err := h.exportOf(r, kind, q.Get("from"), q.Get("to"), q.Get("prefectureCode"), q.Get("healthCenterCode"))
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		switch q.Get("format") {
		case "", "csv":
		case "json":
			limit := survey.MaxExportPage
			if v := q.Get("limit"); v != "" {
				if limit, err = strconv.Atoi(v); err != nil {
					limit = -1 // refused by Page, naming limit
				}
			}
			page, err := h.exports.Page(r.Context(), e, q.Get("cursor"), limit)
			httpapi.Reply(w, r, http.StatusOK, page, err)
			return
		default:
			httpapi.WriteError(w, r, apperr.InvalidField("format", "format は csv か json です。", "format must be csv or json"))
			return
		}
		buf := &cappedBuffer{max: maxSyncCSV}
		if _, err := h.exports.CSV(r.Context(), e, buf); err != nil {
			if errors.Is(err, errTooBig) {
				tooBig := apperr.New(apperr.TooLarge,
					"ダウンロードするデータが大きすぎます（上限 5 MB）。POST /surveys/"+kind+"/exports で書き出しを依頼してください。",
					"the download is larger than 5 MB: ask for it as an export job with POST /surveys/"+kind+"/exports")
				tooBig.Detail = map[string]string{"exports": "/surveys/" + kind + "/exports"}
				err = tooBig
			}
			httpapi.WriteError(w, r, err)
			return
		}
		writeCSV(w, survey.ExportFilename(e), buf.b.Bytes())
	}
}

// exportRequest is the body of POST /surveys/{kind}/exports.
type exportRequest struct {
	From             string `json:"from"`
	To               string `json:"to"`
	PrefectureCode   string `json:"prefectureCode"`
	HealthCenterCode string `json:"healthCenterCode"`
}

// createExport starts an export job: the same CSV as export, of any size,
// written to a file the job's status links to when it is done.
func (h *handler) createExport(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req exportRequest
		if err := httpapi.DecodeJSON(r, &req); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		e, err := h.exportOf(r, kind, req.From, req.To, req.PrefectureCode, req.HealthCenterCode)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		j, err := h.jobs.Create(r.Context(), principal(r), job.Export, survey.ExportParams(e), "", 0)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		status := "/surveys/exports/" + j.ID
		w.Header().Set("Location", status)
		httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"jobId": j.ID, "state": j.State, "status": status})
	}
}

// downloadTTL is how long the link to an export's file works.
const downloadTTL = 15 * time.Minute

var jobIDRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

// exportView is an export job as its creator sees it.
type exportView struct {
	ID          string        `json:"id"`
	State       job.State     `json:"state"`
	Export      survey.Export `json:"export"`
	PeriodsDone int           `json:"periodsDone"`
	Periods     int           `json:"periods"`
	Rows        int           `json:"rows"`
	Error       *job.Failure  `json:"error,omitempty"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	FinishedAt  time.Time     `json:"finishedAt,omitzero"`
	Download    *download     `json:"download,omitempty"`
}

type download struct {
	URL       string    `json:"url"`
	Filename  string    `json:"filename"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// getExport shows an export job's progress and, once it is done, a link
// that downloads its file for a while.
func (h *handler) getExport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	notFound := apperr.New(apperr.NotFound, "書き出しが見つかりません。", "no such export")
	if !jobIDRE.MatchString(id) {
		httpapi.WriteError(w, r, notFound)
		return
	}
	j, err := h.jobs.Get(r.Context(), principal(r), id)
	if err == nil && j.Kind != job.Export {
		err = notFound
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	e := survey.ExportOf(j)
	v := exportView{ID: j.ID, State: j.State, Export: e, PeriodsDone: j.RowsDone, Periods: j.RowsTotal, Rows: j.Counts["rows"],
		Error: j.Failure, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt}
	if j.State == job.Done {
		name := survey.ExportFilename(e)
		url, err := h.files.PresignGet(r.Context(), uploads.ExportKey(j.Owner, j.ID), name, downloadTTL)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		v.Download = &download{URL: url, Filename: name, ExpiresAt: h.now().Add(downloadTTL).UTC()}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, v)
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
