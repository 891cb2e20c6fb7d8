package master

import (
	"context"
	"encoding/json"
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
		if _, ok := j.Params[columnsParam]; !ok {
			j.Params[columnsParam] = strings.Join(headerLabels(Kind(j.Params["kind"]), cols), ",")
		}
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
		rej, err := rejectedRows(res.Rejections, rows)
		if err != nil {
			return false, err
		}
		columns := strings.Split(j.Params[columnsParam], ",")
		for _, r := range rej {
			// A row longer than the header gets unnamed columns, so that
			// the rejections file's header covers every cell.
			for n := len(rowCells(r)); len(columns) < n; {
				columns = append(columns, "")
			}
		}
		j.Params[columnsParam] = strings.Join(columns, ",")
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

// unitSep joined the cells of rejected rows stored before they were kept
// as JSON.
const unitSep = "\x1f"

// columnsParam is the job parameter that keeps the Japanese headers of the
// file's columns, in the file's order and joined by commas (no header has
// one), for the rejections file.
const columnsParam = "columns"

// headerLabels names the file's columns (cols, from its header) by their
// Japanese headers; a column the schema does not know stays unnamed.
func headerLabels(kind Kind, cols map[string]int) []string {
	width := 0
	for _, i := range cols {
		width = max(width, i+1)
	}
	labels := make([]string, width)
	for _, c := range schemas[kind] {
		if i, ok := cols[c.key]; ok {
			labels[i] = c.label()
		}
	}
	return labels
}

// rejectedRows groups a chunk's problems by row: one stored row per
// rejected line (keyed by line, so a chunk done again overwrites its own
// rows), with all its problems and its cells.
func rejectedRows(problems []apperr.Problem, rows []csvio.Row) ([]job.Row, error) {
	byLine := map[int][]apperr.Problem{}
	var lines []int
	for _, p := range problems {
		if _, ok := byLine[p.Row]; !ok {
			lines = append(lines, p.Row)
		}
		byLine[p.Row] = append(byLine[p.Row], p)
	}
	out := make([]job.Row, 0, len(lines))
	for _, line := range lines {
		ps := byLine[line]
		enc, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		out = append(out, job.Row{Key: fmt.Sprintf("%s%09d", RejectionPrefix, line), Line: line, Fields: map[string]string{
			"problems": string(enc), "cells": cellsOf(rows, line),
			// The first problem alone, as rows stored before "problems" have it.
			"column": ps[0].Column, "field": ps[0].Field, "message": ps[0].Message, "messageEn": ps[0].MessageEn}})
	}
	return out, nil
}

// rowProblems are the problems of one stored rejected row.
func rowProblems(r job.Row) []apperr.Problem {
	var ps []apperr.Problem
	if enc := r.Fields["problems"]; enc != "" && json.Unmarshal([]byte(enc), &ps) == nil && len(ps) > 0 {
		return ps
	}
	return []apperr.Problem{{Row: r.Line, Field: r.Fields["field"], Column: r.Fields["column"], Message: r.Fields["message"], MessageEn: r.Fields["messageEn"]}}
}

// cellsOf is the rejected row's cells as a JSON array (a rejected cell may
// hold any character, a separator too).
func cellsOf(rows []csvio.Row, line int) string {
	for _, r := range rows {
		if r.Line == line {
			enc, _ := json.Marshal(r.Fields)
			return string(enc)
		}
	}
	return "[]"
}

// rowCells are the cells of a stored rejected row; rows stored before
// "cells" have them in "raw", joined by unitSep.
func rowCells(r job.Row) []string {
	var cells []string
	if enc := r.Fields["cells"]; enc != "" && json.Unmarshal([]byte(enc), &cells) == nil {
		return cells
	}
	if raw := r.Fields["raw"]; raw != "" {
		return strings.Split(raw, unitSep)
	}
	return nil
}

// Rejections returns every problem of an import job's first limit
// rejected rows, by row and then column.
func Rejections(ctx context.Context, store job.Store, id string, limit int) ([]apperr.Problem, error) {
	rows, err := store.Rows(ctx, id, RejectionPrefix, "", limit)
	if err != nil {
		return nil, err
	}
	var out []apperr.Problem
	for _, r := range rows {
		out = append(out, rowProblems(r)...)
	}
	return out, nil
}

// RejectionsCSV writes an import job's rejected rows for Excel: the row
// number, every reason of the row (each naming its column), then the
// row's own cells under the file's columns' Japanese headers.
func RejectionsCSV(ctx context.Context, store job.Store, j job.Job, w *csvio.Writer) error {
	var columns []string
	if c, ok := j.Params[columnsParam]; ok {
		columns = strings.Split(c, ",")
	} else {
		// Jobs from before the headers were kept: the schema's order.
		for _, c := range schemas[Kind(j.Params["kind"])] {
			columns = append(columns, c.label())
		}
	}
	if err := w.Write(append([]string{"行", "理由"}, columns...)); err != nil {
		return err
	}
	after := ""
	for {
		rows, err := store.Rows(ctx, j.ID, RejectionPrefix, after, 1000)
		if err != nil {
			return err
		}
		for _, r := range rows {
			var reasons []string
			for _, p := range rowProblems(r) {
				reasons = append(reasons, p.Message)
			}
			cells := make([]string, len(columns))
			copy(cells, rowCells(r))
			if err := w.Write(append([]string{strconv.Itoa(r.Line), strings.Join(reasons, "\n")}, cells...)); err != nil {
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
