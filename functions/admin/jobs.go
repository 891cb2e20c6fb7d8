package main

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/uploads"
)

// MaxDirectBytes is the largest file sent as the body of POST /admin/jobs;
// larger files (up to uploads.MaxBytes) go through POST /admin/uploads.
const MaxDirectBytes = 4 << 20

// uploadTTL is how long a presigned upload URL works.
const uploadTTL = 15 * time.Minute

var (
	idRE     = regexp.MustCompile(`^[0-9a-f]{24}$`)
	uploadRE = regexp.MustCompile(`^[0-9a-f]{24}$`)
)

// createUpload hands out a presigned PUT for a file of up to 100 MB.
func (h *handler) createUpload(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id := job.NewID()
	url, err := h.files.PresignPut(r.Context(), uploads.Key(p.UserID, id), "text/csv", uploadTTL)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"uploadId": id, "url": url, "method": "PUT",
		"headers": map[string]string{"Content-Type": "text/csv"}, "maxBytes": uploads.MaxBytes, "expiresAt": h.now().Add(uploadTTL).UTC()})
}

// jobRequest is POST /admin/jobs as JSON: a job over an uploaded file.
type jobRequest struct {
	Type     string `json:"type"`
	Kind     string `json:"kind"`     // master-import: the master
	UploadID string `json:"uploadId"` // from POST /admin/uploads
	Issuance string `json:"issuance"` // notify: the issuance job whose accounts are mailed
	// ResendUnconfirmed (notify) sends again the mails a crash left
	// unconfirmed: they may have been sent already.
	ResendUnconfirmed bool `json:"resendUnconfirmed"`
}

// createJob starts a job over a file uploaded before (JSON body) or sent
// as the body itself (raw CSV or multipart/form-data with a "file" part,
// type and kind in the query).
func (h *handler) createJob(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var (
		req  jobRequest
		key  string
		size int64
	)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		if err := httpapi.DecodeJSON(r, &req); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if req.Type == string(job.Notify) {
			if !idRE.MatchString(req.Issuance) {
				httpapi.WriteError(w, r, apperr.InvalidField("issuance", "通知する一括発行の処理IDを指定してください。", "issuance (a job ID) is required"))
				return
			}
		} else if !uploadRE.MatchString(req.UploadID) {
			httpapi.WriteError(w, r, apperr.InvalidField("uploadId", "uploadId を指定してください（POST /admin/uploads の答え）。", "uploadId is required (from POST /admin/uploads)"))
			return
		}
		if req.UploadID != "" {
			key = uploads.Key(p.UserID, req.UploadID)
			var err error
			if size, err = h.files.Size(r.Context(), key); err != nil {
				httpapi.WriteError(w, r, err)
				return
			}
			if size > uploads.MaxBytes {
				httpapi.WriteError(w, r, apperr.New(apperr.TooLarge, "ファイルは100MBまでです。", "the file is over 100 MB"))
				return
			}
		}
	} else {
		q := r.URL.Query()
		req.Type, req.Kind = q.Get("type"), q.Get("kind")
		data, err := directFile(r, ct)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if err := checkType(req); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		key, size = uploads.Key(p.UserID, job.NewID()), int64(len(data))
		if err := h.files.Put(r.Context(), key, data, "text/csv"); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	if err := checkType(req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	params := map[string]string{}
	switch job.Kind(req.Type) {
	case job.MasterImport:
		params["kind"] = req.Kind
	case job.Notify:
		params["issuance"] = req.Issuance
		if req.ResendUnconfirmed {
			params[issuance.ResendUnconfirmed] = "true"
		}
		key = ""
	}
	j, err := h.jobs.Create(r.Context(), p, job.Kind(req.Type), params, key, size)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/admin/jobs/"+j.ID)
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"jobId": j.ID, "state": j.State, "status": "/admin/jobs/" + j.ID})
}

func checkType(req jobRequest) error {
	switch job.Kind(req.Type) {
	case job.MasterImport:
		if !master.Kind(req.Kind).Valid() {
			return apperr.InvalidField("kind", "マスタの種類は prefectures・health-centers・institutions・sentinels のいずれかです。", "unknown master")
		}
	case "":
		return apperr.InvalidField("type", "処理の種類（type）を指定してください。", "type is required")
	}
	return nil
}

// directFile reads a file sent as the request body: raw, or the "file"
// part of multipart/form-data.
func directFile(r *http.Request, ct string) ([]byte, error) {
	body := io.Reader(r.Body)
	if ct == "multipart/form-data" {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, apperr.InvalidField("file", "フォームに file の項目がありません。", "the form has no file part")
			}
			if err != nil {
				return nil, readError(err)
			}
			if part.FormName() == "file" {
				body = part
				break
			}
		}
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxDirectBytes+1))
	if err != nil {
		return nil, readError(err)
	}
	if len(data) > MaxDirectBytes {
		return nil, apperr.New(apperr.TooLarge, "直接送れるファイルは4MBまでです。大きなファイルは POST /admin/uploads で得たURLにアップロードしてください。",
			"a file sent as the body may be 4 MB at most; upload larger files through POST /admin/uploads")
	}
	if len(data) == 0 {
		return nil, apperr.InvalidField("file", "CSVファイルを送信してください。", "send the CSV file as the body")
	}
	return data, nil
}

func readError(err error) error {
	if strings.Contains(err.Error(), "request body too large") {
		return apperr.New(apperr.TooLarge, "ファイルが大きすぎます。", "the file is too large")
	}
	return apperr.InvalidField("file", "ファイルを読み取れません。", "cannot read the upload")
}

// jobView is a job as its viewers see it.
type jobView struct {
	job.Job
	Problems []apperr.Problem `json:"problems,omitempty"`
	// Registered are the rows of an issuance job not issued because the
	// person already has an account (at most job.MaxProblems).
	Registered []apperr.Problem `json:"registered,omitempty"`
	// Rejections are every problem of a master import's first
	// MaxRejectedRows rejected rows (counts.rejected is their total); the
	// rejections file has them all.
	Rejections []apperr.Problem  `json:"rejections,omitempty"`
	Files      map[string]string `json:"files,omitempty"`
}

// MaxRejectedRows is how many rejected rows of a master import a job's
// view lists.
const MaxRejectedRows = 100

func (h *handler) getJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "処理が見つかりません。", "no such job"))
		return
	}
	j, err := h.jobs.Get(r.Context(), principal(r), id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	v := jobView{Job: j, Files: map[string]string{}}
	if j.State == job.Failed && j.Failure != nil && j.Failure.ProblemCount > 0 {
		if v.Problems, err = job.Problems(r.Context(), h.jobs.Store(), id); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	if j.Kind == job.Issuance && j.Counts["alreadyRegistered"] > 0 {
		if v.Registered, err = issuance.Registered(r.Context(), h.jobs.Store(), id, job.MaxProblems); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	if j.Kind == job.MasterImport && j.Counts["rejected"] > 0 {
		if v.Rejections, err = master.Rejections(r.Context(), h.jobs.Store(), id, MaxRejectedRows); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		v.Files["rejections"] = "/admin/jobs/" + id + "/rejections.csv"
	}
	if j.Kind == job.Issuance && j.State == job.Done {
		v.Files["accounts"] = "/admin/jobs/" + id + "/accounts.csv"
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
}

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request) {
	pref := r.URL.Query().Get("prefectureCode")
	if pref != "" && !codeRE.MatchString(pref) {
		httpapi.WriteError(w, r, apperr.InvalidField("prefectureCode", "prefectureCode は半角数字2桁で指定してください。", "prefectureCode must be 2 digits"))
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			httpapi.WriteError(w, r, apperr.InvalidField("limit", "limit は1から100の整数で指定してください。", "limit must be an integer from 1 to 100"))
			return
		}
		limit = n
	}
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) > 1024 {
		httpapi.WriteError(w, r, apperr.InvalidField("cursor", "ページの指定が正しくありません。", "malformed cursor"))
		return
	}
	jobs, next, err := h.jobs.List(r.Context(), principal(r), pref, limit, cursor)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"jobs": jobs, "nextCursor": next})
}

// jobFile downloads a result of a job: the rejected rows of a master import.
func (h *handler) jobFile(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("id"), r.PathValue("file")
	if !idRE.MatchString(id) {
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "処理が見つかりません。", "no such job"))
		return
	}
	j, err := h.jobs.Get(r.Context(), principal(r), id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	var write func(cw *csvio.Writer) error
	switch {
	case j.Kind == job.MasterImport && name == "rejections.csv":
		write = func(cw *csvio.Writer) error { return master.RejectionsCSV(r.Context(), h.jobs.Store(), j, cw) }
	case j.Kind == job.Issuance && name == "accounts.csv" && j.Owner == principal(r).UserID:
		if j.State != job.Done {
			httpapi.WriteError(w, r, apperr.New(apperr.Conflict, "アカウントの作成が終わっていません。", "the accounts are not issued yet"))
			return
		}
		write = func(cw *csvio.Writer) error {
			return h.bulk.AccountsCSV(r.Context(), principal(r), h.jobs.Store(), j, cw)
		}
	default:
		httpapi.WriteError(w, r, apperr.New(apperr.NotFound, "この処理にそのファイルはありません。", "no such file for this job"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="`+strings.TrimSuffix(name, ".csv")+"-"+id+`.csv"`)
	hd.Set("Cache-Control", "no-store")
	cw, err := csvio.NewWriter(w)
	if err == nil {
		err = write(cw)
	}
	if err != nil {
		h.logger.Error("write job file", "job_id", id, "file", name, "error", err.Error())
	}
}
