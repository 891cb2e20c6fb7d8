package survey

import (
	"bytes"
	"context"
	"strings"

	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/job"
)

// Parts writes a file downloaded as filename, whole or in parts (an S3
// multipart upload): writing a part again replaces it, and finishing an
// upload finished before is no error.
type Parts interface {
	PutWhole(ctx context.Context, key, contentType, filename string, data []byte) error
	BeginParts(ctx context.Context, key, contentType, filename string) (string, error)
	PutPart(ctx context.Context, key, upload string, n int32, data []byte) (etag string, err error)
	FinishParts(ctx context.Context, key, upload string, etags []string) error
}

// DefaultPartBytes is the size of one part of an export's file: S3 wants
// 5 MiB or more for every part but the last, and an invocation holds one.
const DefaultPartBytes = 8 << 20

// ExportJob is the job.Handler of export jobs: it writes the surveys of an
// area for a range as Excel CSV to a file, one part per step, so what it
// holds at once is one part and the institution names of a prefecture,
// however large the range. The checkpoint is the last survey written
// ("<period>|<institution code>"); the upload and its parts' ETags are in
// the job's params.
type ExportJob struct {
	exports *Exports
	parts   Parts
	key     func(j job.Job) string
	size    int
	// The names of one prefecture, kept across the steps of an invocation.
	names      map[string]string
	namesOfPre string
}

// NewExportJob returns the handler; key says where a job's file goes and
// partBytes how large its parts are (0: DefaultPartBytes).
func NewExportJob(exports *Exports, parts Parts, key func(j job.Job) string, partBytes int) *ExportJob {
	if partBytes <= 0 {
		partBytes = DefaultPartBytes
	}
	return &ExportJob{exports: exports, parts: parts, key: key, size: partBytes}
}

var _ job.Handler = (*ExportJob)(nil)

// ExportParams are the params of an export job for e.
func ExportParams(e Export) map[string]string {
	return map[string]string{"kind": e.Kind, "from": e.From, "to": e.To, "prefectureCode": e.Area.PrefectureCode, "healthCenterCode": e.Area.HealthCenterCode}
}

// ExportOf reads an export job's question from its params.
func ExportOf(j job.Job) Export {
	p := j.Params
	return Export{Kind: p["kind"], From: p["from"], To: p["to"], Area: Area{PrefectureCode: p["prefectureCode"], HealthCenterCode: p["healthCenterCode"]}}
}

// ExportFilename is the name an export's file is downloaded as.
func ExportFilename(e Export) string {
	name := e.Kind + "-" + e.Area.PrefectureCode
	if e.Area.HealthCenterCode != "" {
		name += "-" + e.Area.HealthCenterCode
	}
	return name + "-" + e.From + "-" + e.To + ".csv"
}

// CheckExportJob authorizes creating an export job: the caller must be
// allowed to download the surveys of the area the params name (AreaOf
// fills in the caller's own), and the range must be valid.
func CheckExportJob(actor authz.Principal, params map[string]string, _ *csvio.Row) error {
	area, err := AreaOf(actor, authz.DownloadSurveys, params["prefectureCode"], params["healthCenterCode"])
	if err != nil {
		return err
	}
	params["prefectureCode"], params["healthCenterCode"] = area.PrefectureCode, area.HealthCenterCode
	return Export{Kind: params["kind"], From: params["from"], To: params["to"], Area: area}.Check()
}

const csvType = "text/csv; charset=utf-8"

// Validate checks the question again and counts the periods to do.
func (x *ExportJob) Validate(_ context.Context, j *job.Job) error {
	e := ExportOf(*j)
	if err := e.Check(); err != nil {
		return &job.Failure{Message: "書き出しの条件が正しくありません。", MessageEn: err.Error()}
	}
	j.RowsTotal = e.Periods()
	return nil
}

// Step writes the next part; the last one finishes the file.
func (x *ExportJob) Step(ctx context.Context, j *job.Job) (bool, error) {
	e := ExportOf(*j)
	key := x.key(*j)
	if x.names == nil || x.namesOfPre != e.Area.PrefectureCode {
		names, err := x.exports.Names(ctx, e.Area.PrefectureCode)
		if err != nil {
			return false, err
		}
		x.names, x.namesOfPre = names, e.Area.PrefectureCode
	}
	afterPeriod, afterCode, _ := strings.Cut(j.Cursor, "|")
	var etags []string
	if s := j.Params["etags"]; s != "" {
		etags = strings.Split(s, ",")
	}
	buf := bytes.NewBuffer(make([]byte, 0, x.size+64<<10))
	period, code, rows, done, err := x.exports.Part(ctx, e, x.names, afterPeriod, afterCode, buf, x.size)
	if err != nil {
		return false, err
	}
	upload := j.Params["upload"]
	switch {
	case done && upload == "":
		// It fits one part: one PutObject, no multipart upload.
		if err := x.parts.PutWhole(ctx, key, csvType, ExportFilename(e), buf.Bytes()); err != nil {
			return false, err
		}
	case upload == "":
		// A crash before this is saved leaves an upload nobody finishes:
		// the bucket's lifecycle aborts it after a day.
		if upload, err = x.parts.BeginParts(ctx, key, csvType, ExportFilename(e)); err != nil {
			return false, err
		}
		j.Params["upload"] = upload
	}
	if upload != "" && buf.Len() > 0 {
		etag, err := x.parts.PutPart(ctx, key, upload, int32(len(etags)+1), buf.Bytes())
		if err != nil {
			return false, err
		}
		etags = append(etags, etag)
		j.Params["etags"] = strings.Join(etags, ",")
	}
	j.Add("rows", rows)
	j.Counts["parts"] = max(len(etags), 1)
	if period != "" {
		j.Cursor = period + "|" + code
	}
	if done {
		if upload != "" {
			if err := x.parts.FinishParts(ctx, key, upload, etags); err != nil {
				return false, err
			}
		}
		j.RowsDone = j.RowsTotal
		return true, nil
	}
	// The period of the last row may have more rows: it is not done yet.
	j.RowsDone = Export{Kind: e.Kind, From: e.From, To: period}.Periods() - 1
	return false, nil
}
