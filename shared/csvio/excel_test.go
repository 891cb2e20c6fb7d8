package csvio

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// writeExcel calls WriteExcel and fails the test on an error.
func writeExcel(t *testing.T, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteExcel(&buf, rows); err != nil {
		t.Fatalf("WriteExcel(%q) error: %v", rows, err)
	}
	return buf.Bytes()
}

func TestWriteExcel(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows [][]string
		want string // after the byte order mark
	}{
		{"no rows", nil, ""},
		{"plain", [][]string{{"a", "b"}, {"c"}}, "a,b\r\nc\r\n"},
		{"Japanese", [][]string{{"氏名", "山田 太郎"}}, "氏名,山田 太郎\r\n"},
		{"comma quoted", [][]string{{"a,b", "c"}}, "\"a,b\",c\r\n"},
		{"quote doubled", [][]string{{`say "hi"`}}, "\"say \"\"hi\"\"\"\r\n"},
		{"newline quoted as CRLF", [][]string{{"line1\nline2", "x"}}, "\"line1\r\nline2\",x\r\n"},
		{"leading space quoted", [][]string{{" a"}}, "\" a\"\r\n"},
		{"empty fields", [][]string{{"", "a", ""}}, ",a,\r\n"},
		{"formula", [][]string{{"=1+1"}}, "'=1+1\r\n"},
		{"at formula", [][]string{{"@SUM(A1)"}}, "'@SUM(A1)\r\n"},
		{"plus", [][]string{{"+81"}}, "'+81\r\n"},
		{"minus formula", [][]string{{"-1+2"}}, "'-1+2\r\n"},
		{"minus cell reference", [][]string{{"-A1"}}, "'-A1\r\n"},
		{"lone minus", [][]string{{"-"}}, "'-\r\n"},
		{"negative decimal", [][]string{{"-1.5"}}, "'-1.5\r\n"},
		{"formula with comma quoted", [][]string{{"=SUM(A1,B1)"}}, "\"'=SUM(A1,B1)\"\r\n"},
		{"tab", [][]string{{"\t=1"}}, "'\t=1\r\n"},
		{"carriage return", [][]string{{"\r=1"}}, "\"'=1\"\r\n"}, // encoding/csv drops a lone CR under UseCRLF
		{"negative number", [][]string{{"-12"}}, "-12\r\n"},
		{"leading zero", [][]string{{"0120"}}, "0120\r\n"},
		{"equals inside", [][]string{{"a=b"}}, "a=b\r\n"},
		{"full-width equals", [][]string{{"＝1+1"}}, "＝1+1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := writeExcel(t, tc.rows)
			body, ok := bytes.CutPrefix(got, []byte{0xEF, 0xBB, 0xBF})
			if !ok {
				t.Fatalf("output % X does not begin with the UTF-8 byte order mark", got)
			}
			if string(body) != tc.want {
				t.Errorf("output = %q, want %q", body, tc.want)
			}
		})
	}
}

func TestWriteExcelKeepsRows(t *testing.T) {
	rows := [][]string{{"=1+1", "a"}}
	writeExcel(t, rows)
	if got, want := rows[0][0], "=1+1"; got != want {
		t.Errorf("WriteExcel changed the caller's field to %q, want %q", got, want)
	}
}

// errWriter fails every write, as a closed connection would.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteExcelWriteError(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		rows [][]string
	}{
		{"no rows", nil},
		{"rows", [][]string{{"a", "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteExcel(errWriter{boom}, tc.rows); !errors.Is(err, boom) {
				t.Errorf("WriteExcel error = %v, want %v", err, boom)
			}
		})
	}
}

func TestWriteExcelRoundTrip(t *testing.T) {
	rows := [][]string{
		{"氏名", "電話番号", "メモ", "金額"},
		{"山田 太郎", "090-1234-5678", "東京都千代田区1-1, 霞が関ビル", "-12"},
		{"佐藤 花子", "0120", "\"引用\"と改行\n二行目", "1000"},
		{"①㈱髙", "", "＝全角", "0"},
		{"ragged"},
		{"=1+1", "@SUM(A1)", "+81", "-A1"},
	}
	got, enc := mustRead(t, writeExcel(t, rows))
	if enc != UTF8BOM {
		t.Errorf("encoding = %q, want %q", enc, UTF8BOM)
	}
	want := []Row{
		{1, rows[0]},
		{2, rows[1]},
		{3, rows[2]},
		{5, rows[3]}, // the quoted newline takes a line
		{6, rows[4]},
		{7, []string{"'=1+1", "'@SUM(A1)", "'+81", "'-A1"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %v\nwant %v", got, want)
	}
	// Without the escaping the formula row is the original one.
	last := got[len(got)-1].Fields
	for i, f := range last {
		if orig := rows[len(rows)-1][i]; strings.TrimPrefix(f, "'") != orig {
			t.Errorf("field %d = %q, want %q with the quote taken off", i, f, orig)
		}
	}
}

func TestColumnIndex(t *testing.T) {
	for _, tc := range []struct {
		letter string
		want   int
	}{
		{"A", 0},
		{"B", 1},
		{"Z", 25},
		{"AA", 26},
		{"AJ", 35},
		{"AN", 39},
		{"AZ", 51},
		{"BA", 52},
		{"ZZ", 701},
		{"AAA", 702},
		{"XFD", 16383}, // Excel's last column
		{"an", 39},
		{"aN", 39},
		{"", -1},
		{"1", -1},
		{"A1", -1},
		{" A", -1},
		{"Ａ", -1},
		{"A-", -1},
		{strings.Repeat("Z", 20), -1},
	} {
		t.Run(tc.letter, func(t *testing.T) {
			if got := ColumnIndex(tc.letter); got != tc.want {
				t.Errorf("ColumnIndex(%q) = %d, want %d", tc.letter, got, tc.want)
			}
		})
	}
}

func TestColumnLetter(t *testing.T) {
	for _, tc := range []struct {
		index int
		want  string
	}{
		{0, "A"},
		{25, "Z"},
		{26, "AA"},
		{35, "AJ"},
		{39, "AN"},
		{701, "ZZ"},
		{702, "AAA"},
		{16383, "XFD"},
		{-1, ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := ColumnLetter(tc.index); got != tc.want {
				t.Errorf("ColumnLetter(%d) = %q, want %q", tc.index, got, tc.want)
			}
		})
	}
}

func TestColumnRoundTrip(t *testing.T) {
	check := func(t *testing.T, i int) {
		t.Helper()
		if got := ColumnIndex(ColumnLetter(i)); got != i {
			t.Errorf("ColumnIndex(ColumnLetter(%d) = %q) = %d", i, ColumnLetter(i), got)
		}
	}
	t.Run("0..1000", func(t *testing.T) {
		for i := 0; i <= 1000; i++ {
			check(t, i)
		}
	})
	t.Run("large", func(t *testing.T) {
		const maxInt = int(^uint(0) >> 1)
		check(t, maxInt-1)
		check(t, maxInt/26)
	})
	t.Run("largest int overflows", func(t *testing.T) {
		const maxInt = int(^uint(0) >> 1)
		l := ColumnLetter(maxInt)
		if l == "" {
			t.Fatalf("ColumnLetter(maxInt) is empty")
		}
		if got := ColumnIndex(l); got != maxInt && got != -1 {
			t.Errorf("ColumnIndex(%q) = %d, want %d or -1", l, got, maxInt)
		}
	})
}
