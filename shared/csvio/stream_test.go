package csvio

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"
)

// readAll reads data with a Reader, stopping and resuming from the
// Position after every record when resume is set.
func readAll(t *testing.T, data []byte, resume bool) ([]Row, Encoding, error) {
	t.Helper()
	var rows []Row
	pos := Start
	r := NewReader(bytes.NewReader(data), pos)
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, r.Position().Encoding, nil
		}
		if err != nil {
			return rows, r.Position().Encoding, err
		}
		rows = append(rows, row)
		if resume {
			pos = r.Position()
			r = NewReader(bytes.NewReader(data[pos.Offset:]), pos)
		}
	}
}

func TestReaderMatchesRead(t *testing.T) {
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte("コード,名称\n1,\"東京\n病院\"\n\n2,表示\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"utf-8":          []byte("a,b\r\n1, x \r\n,\r\n\"q\"\"uote\",\"multi\nline\"\n3,c"),
		"utf-8 with bom": append([]byte{0xEF, 0xBB, 0xBF}, []byte("名前,番号\n山田,1\n")...),
		"cp932":          sjis,
		"empty":          nil,
		"blank lines":    []byte("\n\n,,\nx\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			want, wantEnc, err := Read(data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for _, resume := range []bool{false, true} {
				got, enc, err := readAll(t, data, resume)
				if err != nil {
					t.Fatalf("resume %v: %v", resume, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("resume %v: rows differ (-Read +Reader):\n%s", resume, diff)
				}
				if len(want) > 0 && wantEnc != UTF8 && enc != wantEnc {
					t.Errorf("resume %v: encoding %s, want %s", resume, enc, wantEnc)
				}
			}
		})
	}
}

func TestReaderErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		line int
	}{
		{"bare quote", []byte("a,b\n1,2\nx\"y,3\n"), 3},
		{"unclosed quote", []byte("a\nb\n\"open,1\n2\n"), 3},
		{"bad utf-8 after bom", append([]byte{0xEF, 0xBB, 0xBF}, []byte("a\nb\xff\n")...), 2},
		{"utf-16", []byte{0xFF, 0xFE, 'a', 0}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.data, false)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Line != tt.line {
				t.Errorf("line = %d, want %d (%s)", pe.Line, tt.line, pe.Message)
			}
		})
	}
}

func TestWriterMatchesWriteExcel(t *testing.T) {
	rows := [][]string{{"利用者ID", "=cmd"}, {"1", "-5"}}
	var want, got bytes.Buffer
	if err := WriteExcel(&want, rows); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(&got)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("Writer wrote %q, WriteExcel %q", got.Bytes(), want.Bytes())
	}
}
