// Package prefix writes the output of the local stack's child processes a
// line at a time, each line led by the name of the process it came from.
package prefix

import (
	"bytes"
	"io"
	"sync"
)

// outputMu serialises writes from every Writer, so lines of two processes
// never interleave mid-line.
var outputMu sync.Mutex

// maxLine is where an overlong line is cut and passed on rather than held.
const maxLine = 256 * 1024

// Writer prefixes each complete line written to it with "[name] ".
type Writer struct {
	out    io.Writer
	prefix []byte
	mu     sync.Mutex
	buf    []byte
	skip   func(line []byte) bool
}

// NewWriter returns a Writer that writes to out.
func NewWriter(out io.Writer, name string) *Writer {
	return &Writer{out: out, prefix: []byte("[" + name + "] ")}
}

// Skipping leaves out the lines skip reports, and returns l.
func (l *Writer) Skipping(skip func(line []byte) bool) *Writer {
	l.skip = skip
	return l
}

func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(bytes.TrimSuffix(l.buf[:i], []byte("\r")))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > maxLine {
		l.emit(l.buf)
		l.buf = nil
	}
	return len(p), nil
}

// Flush writes a last line that had no newline.
func (l *Writer) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *Writer) emit(line []byte) {
	if l.skip != nil && l.skip(line) {
		return
	}
	out := make([]byte, 0, len(l.prefix)+len(line)+1)
	out = append(append(append(out, l.prefix...), line...), '\n')
	outputMu.Lock()
	defer outputMu.Unlock()
	_, _ = l.out.Write(out)
}
