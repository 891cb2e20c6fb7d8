package master

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/job"
)

// RejectionPrefix starts the keys of an import job's rejected rows.
const RejectionPrefix = "rej#"

// ImportJob imports a master file as a job (job.MasterImport, params
// "kind"): the header is checked and the rows counted first, then the
// rows are imported chunk by chunk; rejected rows are stored with the job.
type ImportJob struct {
	s     *Service
	store job.Store
	files *job.FileReader
	// The import of the job this invocation works on, with its caches.
	jobID string
	imp   *Importer
}

var _ job.Handler = (*ImportJob)(nil)

// NewImportJob returns the handler of master import jobs.
func NewImportJob(s *Service, store job.Store, files job.Files) *ImportJob {
	return &ImportJob{s: s, store: store, files: job.NewFileReader(files)}
}

// CheckImport is the check before an import job is created: the caller
// may import the master (params "kind") and the file's header names its
// columns.
func CheckImport(actor authz.Principal, params map[string]string, first *csvio.Row) error {
	kind := Kind(params["kind"])
	if err := CanImport(actor, kind); err != nil {
		return err
	}
	if first == nil {
		return apperr.InvalidField("file", "CSVファイルを送信してください。", "a file is required")
	}
	_, err := HeaderMap(kind, *first)
	return err
}

func (h *ImportJob) header(ctx context.Context, j *job.Job) (map[string]int, csvio.Position, error) {
	start := *j
	start.Position = csvio.Start
	rows, pos, err := h.files.Next(ctx, &start, 1)
	if err != nil {
		return nil, pos, fileFailure(err)
	}
	if len(rows) == 0 {
		return nil, pos, &job.Failure{Message: "CSVにデータがありません。", MessageEn: "the CSV is empty"}
	}
	cols, err := HeaderMap(Kind(j.Params["kind"]), rows[0])
	if err != nil {
		e := apperr.As(err)
		return nil, pos, &job.Failure{Message: e.Message, MessageEn: e.MessageEn}
	}
	return cols, pos, nil
}

// Validate checks the header and counts the rows.
func (h *ImportJob) Validate(ctx context.Context, j *job.Job) error {
	kind := Kind(j.Params["kind"])
	if err := CanImport(j.Principal(), kind); err != nil {
		e := apperr.As(err)
		return &job.Failure{Message: e.Message, MessageEn: e.MessageEn}
	}
	_, start, err := h.header(ctx, j)
	if err != nil {
		return err
	}
	count := *j
	count.Position = start
	total := 0
	for {
		rows, pos, err := h.files.Next(ctx, &count, 1000)
		if err != nil {
			return fileFailure(err)
		}
		if len(rows) == 0 {
			break
		}
		total += len(rows)
		count.Position = pos
	}
	j.RowsTotal, j.Position, j.RowsDone = total, start, 0
	return nil
}

// Step imports the next chunk.
func (h *ImportJob) Step(ctx context.Context, j *job.Job) (bool, error) {
	if h.imp == nil || h.jobID != j.ID {
		cols, _, err := h.header(ctx, j)
		if err != nil {
			return false, err
		}
		h.imp, h.jobID = h.s.NewImport(j.Principal(), Kind(j.Params["kind"]), cols, j.ID), j.ID
	}
	rows, pos, err := h.files.Next(ctx, j, ImportChunk)
	if err != nil {
		return false, fileFailure(err)
	}
	if len(rows) == 0 {
		return true, nil
	}
	res, err := h.imp.Rows(ctx, rows)
	if err != nil {
		return false, err
	}
	if len(res.Rejections) > 0 {
		rej := make([]job.Row, len(res.Rejections))
		for i, p := range res.Rejections {
			// Keyed by line: a chunk done again overwrites its own rows.
			rej[i] = job.Row{Key: fmt.Sprintf("%s%09d", RejectionPrefix, p.Row), Line: p.Row, Fields: map[string]string{
				"column": p.Column, "field": p.Field, "message": p.Message, "messageEn": p.MessageEn, "raw": raw(rows, p.Row)}}
		}
		if err := h.store.PutRows(ctx, j.ID, rej); err != nil {
			return false, err
		}
	}
	j.Add("created", res.Created)
	j.Add("updated", res.Updated)
	j.Add("unchanged", res.Unchanged)
	j.Add("rejected", res.Rejected)
	j.RowsDone += len(rows)
	j.Position = pos
	j.Params["encoding"] = string(pos.Encoding)
	return false, nil
}

// raw is the rejected row's cells, joined by the unit separator (a
// control character no accepted cell holds) for the rejections file.
func raw(rows []csvio.Row, line int) string {
	for _, r := range rows {
		if r.Line == line {
			return strings.Join(r.Fields, "\x1f")
		}
	}
	return ""
}

// RejectionsCSV writes an import job's rejected rows for Excel: row,
// column, reason, then the row's own cells.
func RejectionsCSV(ctx context.Context, store job.Store, id string, w *csvio.Writer) error {
	if err := w.Write([]string{"行", "列", "理由"}); err != nil {
		return err
	}
	after := ""
	for {
		rows, err := store.Rows(ctx, id, RejectionPrefix, after, 1000)
		if err != nil {
			return err
		}
		for _, r := range rows {
			rec := []string{strconv.Itoa(r.Line), r.Fields["column"], r.Fields["message"]}
			if cells := r.Fields["raw"]; cells != "" {
				rec = append(rec, strings.Split(cells, "\x1f")...)
			}
			if err := w.Write(rec); err != nil {
				return err
			}
			after = r.Key
		}
		if len(rows) < 1000 {
			return w.Flush()
		}
	}
}

func fileFailure(err error) error {
	var pe *csvio.ParseError
	if errors.As(err, &pe) {
		return &job.Failure{Message: pe.Message, MessageEn: pe.MessageEn}
	}
	if apperr.CodeOf(err) == apperr.NotFound {
		return &job.Failure{Message: "アップロードされたファイルが見つかりません（7日で削除されます）。", MessageEn: "the uploaded file is gone (kept 7 days)"}
	}
	return err
}
