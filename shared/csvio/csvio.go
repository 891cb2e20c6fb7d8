// Package csvio reads the CSV files Japanese administrators upload and
// writes CSV that Excel in Japan opens correctly.
//
// Excel in Japan saves "CSV" as Shift_JIS (strictly Windows-31J, also called
// CP932) and "CSV UTF-8" as UTF-8 with a byte order mark; other tools write
// UTF-8 without one. Read tells these apart by itself, so administrators never
// have to choose an encoding, and reports problems with the line number an
// editor shows. WriteExcel always writes UTF-8 with a byte order mark, the one
// form that Excel opens without garbling and that can hold every character.
package csvio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// Encoding names a detected encoding.
type Encoding string

// The encodings Read detects.
const (
	UTF8    Encoding = "utf-8"     // UTF-8 without a byte order mark
	UTF8BOM Encoding = "utf-8-bom" // UTF-8 with a byte order mark, Excel's "CSV UTF-8"
	CP932   Encoding = "cp932"     // Shift_JIS as Windows writes it (Windows-31J), Excel's "CSV"
)

// utf8BOM is the byte order mark Excel puts before UTF-8 text; without it
// Excel takes a file for Shift_JIS.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ErrTooLarge is returned by Read for input over its size limit. The input is
// refused before it is decoded, so the limit also bounds the memory Read uses.
var ErrTooLarge = errors.New("csvio: input too large")

// Row is one record with the 1-based line number it started on (for error
// messages). A record with a quoted line break spans several lines; the next
// record's Line counts them, so it matches what an editor shows.
type Row struct {
	Line   int
	Fields []string
}

// Field returns fields[i] or "" when the row is shorter (ragged rows). Excel
// leaves out trailing empty cells on some rows, so a missing field is read as
// an empty one rather than as an error.
func (r Row) Field(i int) string {
	if i < 0 || i >= len(r.Fields) {
		return ""
	}
	return r.Fields[i]
}

// ParseError is a CSV syntax or encoding error at a line.
type ParseError struct {
	Line      int    // 1-based line of the file the error is on
	Message   string // Japanese, with the line, shown to the administrator
	MessageEn string // English, with the line
}

// Error returns the English message, which names the line.
func (e *ParseError) Error() string { return e.MessageEn }

// newParseError puts the line in front of both messages, so that either can
// be shown as it is.
func newParseError(line int, message, messageEn string) *ParseError {
	return &ParseError{
		Line:      line,
		Message:   fmt.Sprintf("%d行目: %s", line, message),
		MessageEn: fmt.Sprintf("line %d: %s", line, messageEn),
	}
}

// Read decodes data (BOM → UTF-8; otherwise valid UTF-8 → UTF-8; otherwise
// CP932 via golang.org/x/text/encoding/japanese.ShiftJIS, which is the WHATWG
// Shift_JIS = Windows-31J) and parses it as CSV: comma-separated, RFC 4180
// quoting, CRLF or LF, rows may have different numbers of fields.
//
// Each field has the ASCII spaces and tabs around it trimmed and a trailing
// \r removed, because hand-edited files pad cells; spaces inside a field are
// kept. Rows whose fields are all empty after trimming are dropped: Excel
// writes them for formatted but empty rows.
//
// Bytes that are invalid in the detected encoding (including user-defined
// characters, 外字, in CP932) and malformed quotes make Read fail with a
// *ParseError naming the line; the Encoding is then the one detected ("" for
// UTF-16, which Excel writes as "Unicode テキスト" and Read refuses). Input
// over maxBytes bytes fails with ErrTooLarge before anything is decoded; a
// maxBytes of zero or less refuses all but empty input.
func Read(data []byte, maxBytes int) ([]Row, Encoding, error) {
	if len(data) > maxBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxBytes)
	}
	text, enc, err := decode(data)
	if err != nil {
		return nil, enc, err
	}
	rows, err := parse(text)
	if err != nil {
		return nil, enc, err
	}
	return rows, enc, nil
}

// decode detects the encoding and returns the text as UTF-8 without a byte
// order mark.
func decode(data []byte) ([]byte, Encoding, error) {
	if body, ok := bytes.CutPrefix(data, utf8BOM); ok {
		// The mark promises UTF-8, so bytes that are not UTF-8 are an error
		// rather than a reason to try Shift_JIS.
		if i := invalidUTF8(body); i >= 0 {
			return nil, UTF8BOM, newParseError(lineAt(body, i),
				"UTF-8として読めない文字があります。ファイルが壊れていないか確認してください。",
				"invalid UTF-8")
		}
		return body, UTF8BOM, nil
	}
	if utf8.Valid(data) {
		// Shift_JIS text with any kana or kanji is almost never valid UTF-8,
		// so valid UTF-8 is taken as UTF-8; pure ASCII reads the same either way.
		return data, UTF8, nil
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		// Excel's "Unicode テキスト" is UTF-16 and tab-separated: name the
		// mistake instead of reporting garbage as Shift_JIS.
		return nil, "", newParseError(1,
			"UTF-16（Unicode テキスト）のファイルは読めません。「CSV UTF-8」または「CSV」形式で保存してください。",
			"UTF-16 is not supported; save as CSV UTF-8 or CSV")
	}
	// The decoder writes U+FFFD for bytes that are not Windows-31J and never
	// for a valid character (Windows-31J has no U+FFFD), so the first one is
	// where the input went wrong. A line feed is one byte in Shift_JIS and
	// never a trail byte, so counting line feeds in the output gives the line.
	text, err := japanese.ShiftJIS.NewDecoder().Bytes(data)
	if err != nil {
		return nil, CP932, fmt.Errorf("csvio: decoding Shift_JIS: %w", err)
	}
	if i := bytes.IndexRune(text, utf8.RuneError); i >= 0 {
		return nil, CP932, newParseError(lineAt(text, i),
			"読み取れない文字があります。文字コードがShift_JISでもUTF-8でもないか、外字が含まれています。",
			"invalid character: neither Shift_JIS (CP932) nor UTF-8, or a user-defined character")
	}
	return text, CP932, nil
}

// invalidUTF8 returns the offset of the first byte of b that is not valid
// UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// lineAt returns the 1-based line of offset i in b.
func lineAt(b []byte, i int) int {
	return 1 + bytes.Count(b[:i], []byte{'\n'})
}

// parse reads text, which is UTF-8, as CSV.
func parse(text []byte) ([]Row, error) {
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1 // ragged rows are normal in Excel output
	r.LazyQuotes = false   // a stray quote usually means a cell was cut; say so
	r.ReuseRecord = false  // each Row keeps its own Fields
	var rows []Row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		empty := true
		for i, f := range rec {
			f = strings.TrimLeft(strings.TrimRight(f, " \t\r"), " \t")
			rec[i] = f
			if f != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		rows = append(rows, Row{Line: line, Fields: rec})
	}
}

// csvError turns an encoding/csv error into a *ParseError.
func csvError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		// A bytes.Reader does not fail, so this is not expected.
		return fmt.Errorf("csvio: reading CSV: %w", err)
	}
	// StartLine, not Line: for a quote that is never closed, encoding/csv
	// reports the last line of the file, while the mistake is where the
	// record began.
	line := pe.StartLine
	if line < 1 {
		line = pe.Line
	}
	if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
		return newParseError(line, "CSVの形式が正しくありません（引用符）。",
			"malformed CSV (quote)")
	}
	return newParseError(line, "CSVの形式が正しくありません。", "malformed CSV: "+pe.Err.Error())
}
