package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// MaxRecordBytes is the longest record a Reader takes: far more than any
// row of the forms and masters, and a bound on memory when a quote is
// never closed.
const MaxRecordBytes = 1 << 20

// Position is where a Reader stands in its input: the byte offset of the
// next record (always at a record boundary), its line, and the encoding
// seen so far. Work over a large file checkpoints a Position and resumes
// from it with a new Reader over the bytes from Offset on.
type Position struct {
	Offset   int64    `json:"offset"`
	Line     int      `json:"line"`
	Encoding Encoding `json:"encoding,omitempty"`
}

// Start is the Position of a file's first byte.
var Start = Position{Line: 1}

// Reader reads CSV one record at a time with the rules of Read: the
// encoding is detected (a byte order mark means UTF-8; otherwise a record
// that is valid UTF-8 is UTF-8 and one that is not is CP932), fields are
// trimmed, and rows that are entirely empty are skipped.
//
// Records are split on the raw bytes: in CP932 as in UTF-8 the bytes of a
// quote, a comma and a line feed never occur inside a multi-byte
// character, so a record boundary can be found before decoding.
type Reader struct {
	br  *bufio.Reader
	pos Position
}

// NewReader reads r, whose first byte is at p.Offset of the file; p is
// Start or a Position an earlier Reader returned.
func NewReader(r io.Reader, p Position) *Reader {
	if p.Line < 1 {
		p.Line = 1
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), pos: p}
}

// Position is where the next record begins.
func (r *Reader) Position() Position { return r.pos }

// Next returns the next row that is not empty, or io.EOF after the last.
// A malformed record is a *ParseError naming its line.
func (r *Reader) Next() (Row, error) {
	for {
		if r.pos.Offset == 0 && r.pos.Encoding == "" {
			if err := r.start(); err != nil {
				return Row{}, err
			}
		}
		raw, err := r.record()
		if err != nil {
			return Row{}, err
		}
		line := r.pos.Line
		text, err := r.decode(raw, line)
		if err != nil {
			return Row{}, err
		}
		r.pos.Offset += int64(len(raw))
		r.pos.Line += bytes.Count(raw, []byte{'\n'})
		rows, err := parse(text)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				// parse counts lines from the record's first.
				l := line + pe.Line - 1
				ja, en := pe.Message, pe.MessageEn
				if _, rest, ok := bytes.Cut([]byte(ja), []byte(": ")); ok {
					ja = string(rest)
				}
				if _, rest, ok := bytes.Cut([]byte(en), []byte(": ")); ok {
					en = string(rest)
				}
				return Row{}, newParseError(l, ja, en)
			}
			return Row{}, err
		}
		if len(rows) == 0 {
			continue // an empty row, as Read drops it
		}
		row := rows[0]
		row.Line = line + row.Line - 1
		return row, nil
	}
}

// start looks at the first bytes of the file for a byte order mark.
func (r *Reader) start() error {
	head, _ := r.br.Peek(3)
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		_, _ = r.br.Discard(3)
		r.pos.Offset, r.pos.Encoding = 3, UTF8BOM
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return newParseError(1,
			"UTF-16（Unicode テキスト）のファイルは読めません。「CSV UTF-8」または「CSV」形式で保存してください。",
			"UTF-16 is not supported; save as CSV UTF-8 or CSV")
	}
	return nil
}

// record returns the raw bytes of the next record with its line ending.
func (r *Reader) record() ([]byte, error) {
	var (
		buf     []byte
		inQuote bool
	)
	for {
		chunk, err := r.br.ReadSlice('\n')
		for _, c := range chunk {
			if c == '"' {
				inQuote = !inQuote
			}
		}
		buf = append(buf, chunk...)
		if len(buf) > MaxRecordBytes {
			return nil, newParseError(r.pos.Line, fmt.Sprintf("1行が%dバイトを超えています（引用符が閉じられていない可能性があります）。", MaxRecordBytes),
				"record too long (an unclosed quote?)")
		}
		switch {
		case err == nil && !inQuote:
			return buf, nil
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, nil
		default:
			return nil, fmt.Errorf("csvio: reading: %w", err)
		}
	}
}

// decode turns one record into UTF-8 and settles the file's encoding.
func (r *Reader) decode(raw []byte, line int) ([]byte, error) {
	switch r.pos.Encoding {
	case UTF8BOM:
		if i := invalidUTF8(raw); i >= 0 {
			return nil, newParseError(line+bytes.Count(raw[:i], []byte{'\n'}),
				"UTF-8として読めない文字があります。ファイルが壊れていないか確認してください。", "invalid UTF-8")
		}
		return raw, nil
	case CP932:
		return decodeCP932(raw, line)
	}
	if utf8.Valid(raw) {
		if r.pos.Encoding == "" && !isASCII(raw) {
			r.pos.Encoding = UTF8
		}
		return raw, nil
	}
	if r.pos.Encoding == UTF8 {
		i := invalidUTF8(raw)
		return nil, newParseError(line+bytes.Count(raw[:i], []byte{'\n'}),
			"UTF-8として読めない文字があります。ファイルが壊れていないか確認してください。", "invalid UTF-8")
	}
	r.pos.Encoding = CP932
	return decodeCP932(raw, line)
}

func decodeCP932(raw []byte, line int) ([]byte, error) {
	text, err := japanese.ShiftJIS.NewDecoder().Bytes(raw)
	if err != nil {
		return nil, fmt.Errorf("csvio: decoding Shift_JIS: %w", err)
	}
	if i := bytes.IndexRune(text, utf8.RuneError); i >= 0 {
		return nil, newParseError(line+bytes.Count(text[:i], []byte{'\n'}),
			"読み取れない文字があります。文字コードがShift_JISでもUTF-8でもないか、外字が含まれています。",
			"invalid character: neither Shift_JIS (CP932) nor UTF-8, or a user-defined character")
	}
	return text, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Writer writes rows for Excel as WriteExcel does, one at a time, so a
// result of any size streams.
type Writer struct {
	cw  *csv.Writer
	rec []string
}

// NewWriter writes the byte order mark and returns a Writer.
func NewWriter(w io.Writer) (*Writer, error) {
	if _, err := w.Write(utf8BOM); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &Writer{cw: cw}, nil
}

// Write writes one row, escaping what Excel would take as a formula.
func (w *Writer) Write(row []string) error {
	w.rec = w.rec[:0]
	for _, f := range row {
		w.rec = append(w.rec, escapeFormula(f))
	}
	return w.cw.Write(w.rec)
}

// Flush writes what is buffered and reports any error.
func (w *Writer) Flush() error {
	w.cw.Flush()
	return w.cw.Error()
}
