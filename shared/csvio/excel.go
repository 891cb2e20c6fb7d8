package csvio

import (
	"encoding/csv"
	"io"
)

// WriteExcel writes rows as CSV that Excel in Japan opens correctly: UTF-8
// with a byte order mark (without it Excel reads the file as Shift_JIS and
// garbles it), CRLF line endings, and fields quoted when RFC 4180 needs it.
//
// A field that Excel would take as a formula, one starting with =, +, -, @,
// a tab or a carriage return, is written with a single quote ' in front so
// that a value an outsider typed cannot run as a formula on an
// administrator's machine (CSV injection, OWASP). A field that is entirely
// digits after a leading '-' is left as it is: a negative number is data,
// not a formula. Read does not take the quote off again.
func WriteExcel(w io.Writer, rows [][]string) error {
	ew := NewExcelWriter(w)
	for _, row := range rows {
		if err := ew.Write(row); err != nil {
			return err
		}
	}
	return ew.Flush()
}

// ExcelWriter writes the CSV of WriteExcel one row at a time, so that a
// download of any size holds only the row being written: the BOM goes
// out before the first row, fields are formula-escaped the same way.
type ExcelWriter struct {
	w       io.Writer
	cw      *csv.Writer
	started bool
	rec     []string
}

// NewExcelWriter returns an ExcelWriter writing to w.
func NewExcelWriter(w io.Writer) *ExcelWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &ExcelWriter{w: w, cw: cw}
}

func (e *ExcelWriter) start() error {
	if e.started {
		return nil
	}
	e.started = true
	_, err := e.w.Write(utf8BOM)
	return err
}

// Write writes one row (the caller's slice is not changed).
func (e *ExcelWriter) Write(row []string) error {
	if err := e.start(); err != nil {
		return err
	}
	e.rec = e.rec[:0]
	for _, f := range row {
		e.rec = append(e.rec, escapeFormula(f))
	}
	return e.cw.Write(e.rec)
}

// Flush writes out what is buffered (the BOM alone for no rows).
func (e *ExcelWriter) Flush() error {
	if err := e.start(); err != nil {
		return err
	}
	e.cw.Flush()
	return e.cw.Error()
}

// escapeFormula puts a single quote before a field that Excel would
// evaluate.
func escapeFormula(f string) string {
	if f == "" {
		return f
	}
	switch f[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isNegativeInteger(f) {
			return f
		}
		return "'" + f
	}
	return f
}

// isNegativeInteger reports whether f is '-' followed by one or more ASCII
// digits.
func isNegativeInteger(f string) bool {
	if len(f) < 2 || f[0] != '-' {
		return false
	}
	for i := 1; i < len(f); i++ {
		if f[i] < '0' || f[i] > '9' {
			return false
		}
	}
	return true
}

// ColumnIndex converts a spreadsheet column letter ("A", "Z", "AA", "AN") to
// a 0-based index; ColumnLetter is its inverse. Lower-case letters are
// accepted. It returns -1 for an empty string, a character that is not an
// ASCII letter, or a column too far right to fit in an int.
func ColumnIndex(letter string) int {
	if letter == "" {
		return -1
	}
	const maxInt = int(^uint(0) >> 1)
	n := 0 // the 1-based column number, as the letters are bijective base 26
	for i := 0; i < len(letter); i++ {
		c := letter[i]
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		default:
			return -1
		}
		d := int(c - 'A' + 1)
		if n > (maxInt-d)/26 {
			return -1
		}
		n = n*26 + d
	}
	return n - 1
}

// ColumnLetter converts a 0-based column index to its spreadsheet letter (0 →
// "A", 26 → "AA"); it is the inverse of ColumnIndex. It returns "" for a
// negative index.
func ColumnLetter(index int) string {
	if index < 0 {
		return ""
	}
	var buf [16]byte // 26^14 > 2^64, so 14 letters always suffice
	i := len(buf)
	// uint, so that the largest int still has a column number.
	for n := uint(index) + 1; n > 0; n = (n - 1) / 26 {
		i--
		buf[i] = byte('A' + (n-1)%26)
	}
	return string(buf[i:])
}
