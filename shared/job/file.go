package job

import (
	"context"
	"errors"
	"io"

	"github.com/gmis-oss/gmis/shared/csvio"
)

// Files reads uploaded files.
type Files interface {
	// Open reads the file at key from byte offset on.
	Open(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
}

// FileReader reads a job's file from its checkpoint, keeping one stream
// open across the steps of an invocation. It is not safe for concurrent use.
type FileReader struct {
	files Files
	jobID string
	rc    io.ReadCloser
	r     *csvio.Reader
}

// NewFileReader returns a FileReader over files.
func NewFileReader(files Files) *FileReader { return &FileReader{files: files} }

// Next returns up to n rows from j's checkpoint and the position after
// them; no rows at the end of the file.
func (f *FileReader) Next(ctx context.Context, j *Job, n int) ([]csvio.Row, csvio.Position, error) {
	if f.r == nil || f.jobID != j.ID || f.r.Position() != j.Position {
		f.Close()
		pos := j.Position
		if pos.Line == 0 {
			pos = csvio.Start
		}
		rc, err := f.files.Open(ctx, j.File, pos.Offset)
		if err != nil {
			return nil, pos, err
		}
		f.rc, f.r, f.jobID = rc, csvio.NewReader(rc, pos), j.ID
	}
	var rows []csvio.Row
	for len(rows) < n {
		row, err := f.r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, j.Position, err
		}
		rows = append(rows, row)
	}
	return rows, f.r.Position(), nil
}

// Close ends the open stream.
func (f *FileReader) Close() {
	if f.rc != nil {
		f.rc.Close()
	}
	f.rc, f.r = nil, nil
}
