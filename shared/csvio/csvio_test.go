package csvio

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// sjis encodes s as Shift_JIS (CP932) the way Excel saves it.
func sjis(t testing.TB, s string) []byte {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encoding %q as Shift_JIS: %v", s, err)
	}
	return b
}

// withBOM puts the UTF-8 byte order mark before s.
func withBOM(s string) []byte {
	return append([]byte{0xEF, 0xBB, 0xBF}, s...)
}

// mustRead calls Read with a generous limit and fails the test on an error.
func mustRead(t *testing.T, data []byte) ([]Row, Encoding) {
	t.Helper()
	rows, enc, err := Read(data, 1<<20)
	if err != nil {
		t.Fatalf("Read(%q) error: %v", data, err)
	}
	return rows, enc
}

// checkRows compares rows read with the rows wanted.
func checkRows(t *testing.T, got, want []Row) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %v\nwant %v", got, want)
	}
}

// A member list as an administrator would keep it, with kana, kanji, a
// quoted comma and CRLF line endings as Excel writes them.
const roster = "氏名,フリガナ,電話番号,住所\r\n" +
	"山田 太郎,ヤマダ タロウ,090-1234-5678,\"東京都千代田区1-1, 霞が関ビル\"\r\n" +
	"佐藤 花子,サトウ ハナコ,03-1234-5678,大阪府大阪市北区\r\n"

var rosterRows = []Row{
	{1, []string{"氏名", "フリガナ", "電話番号", "住所"}},
	{2, []string{"山田 太郎", "ヤマダ タロウ", "090-1234-5678", "東京都千代田区1-1, 霞が関ビル"}},
	{3, []string{"佐藤 花子", "サトウ ハナコ", "03-1234-5678", "大阪府大阪市北区"}},
}

func TestReadEncodings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    []byte
		wantEnc Encoding
	}{
		{"UTF-8", []byte(roster), UTF8},
		{"UTF-8 with BOM", withBOM(roster), UTF8BOM},
		{"CP932", sjis(t, roster), CP932},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, enc := mustRead(t, tc.data)
			if enc != tc.wantEnc {
				t.Errorf("encoding = %q, want %q", enc, tc.wantEnc)
			}
			checkRows(t, got, rosterRows)
		})
	}
}

func TestReadCP932Extensions(t *testing.T) {
	// Characters outside JIS X 0208 that Windows users type all the time;
	// Read must take them, and InJISX0208 is what refuses them for names.
	for _, tc := range []struct {
		name, in string
	}{
		{"NEC special circled digit", "①"},
		{"NEC special roman numeral", "Ⅲ"},
		{"NEC special company mark", "㈱"},
		{"NEC special unit", "㍉"},
		{"IBM extension kanji", "髙橋"},
		{"NEC-selected IBM extension", "纊"},
		{"full-width tilde", "9:00～17:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := sjis(t, "項目,値\r\n"+tc.in+",1\r\n")
			got, enc := mustRead(t, data)
			if enc != CP932 {
				t.Errorf("encoding = %q, want %q", enc, CP932)
			}
			checkRows(t, got, []Row{{1, []string{"項目", "値"}}, {2, []string{tc.in, "1"}}})
		})
	}
}

func TestReadParsing(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Row
	}{
		{"empty input", "", nil},
		{"no final newline", "a,b", []Row{{1, []string{"a", "b"}}}},
		{"LF", "a,b\nc,d\n", []Row{{1, []string{"a", "b"}}, {2, []string{"c", "d"}}}},
		{"CRLF", "a,b\r\nc,d\r\n", []Row{{1, []string{"a", "b"}}, {2, []string{"c", "d"}}}},
		{"quoted comma", `"a,b",c`, []Row{{1, []string{"a,b", "c"}}}},
		{"quoted quote", `"say ""hi""",x`, []Row{{1, []string{`say "hi"`, "x"}}}},
		{"empty quoted", `"",x`, []Row{{1, []string{"", "x"}}}},
		{
			"quoted newline moves the next line",
			"a,\"line1\nline2\",b\nc,d\n",
			[]Row{{1, []string{"a", "line1\nline2", "b"}}, {3, []string{"c", "d"}}},
		},
		{
			"quoted CRLF becomes LF",
			"a,\"line1\r\nline2\r\nline3\"\r\nc\r\n",
			[]Row{{1, []string{"a", "line1\nline2\nline3"}}, {4, []string{"c"}}},
		},
		{
			"ragged rows",
			"a,b,c\nd\ne,f\n",
			[]Row{{1, []string{"a", "b", "c"}}, {2, []string{"d"}}, {3, []string{"e", "f"}}},
		},
		{
			"trailing empty fields kept",
			"a,,\n",
			[]Row{{1, []string{"a", "", ""}}},
		},
		{
			"empty rows dropped",
			"a\n\n,,,\n \t, \n\r\nb\n",
			[]Row{{1, []string{"a"}}, {6, []string{"b"}}},
		},
		{
			"quoted empty and blank rows dropped",
			"\"\",\" \"\na\n",
			[]Row{{2, []string{"a"}}},
		},
		{
			"surrounding spaces and tabs trimmed",
			" a ,\tb\t, c d \n",
			[]Row{{1, []string{"a", "b", "c d"}}},
		},
		{
			"quoted spaces trimmed",
			"\" a \",b\n",
			[]Row{{1, []string{"a", "b"}}},
		},
		{
			"trailing CR removed",
			"\"a\r\",b\n",
			[]Row{{1, []string{"a", "b"}}},
		},
		{
			"ideographic space kept",
			"\u3000山田\u3000,x\n",
			[]Row{{1, []string{"\u3000山田\u3000", "x"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := mustRead(t, []byte(tc.in))
			checkRows(t, got, tc.want)
		})
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     []byte
		wantLine int
		wantEnc  Encoding
		wantJa   string // part of Message
	}{
		{
			"invalid CP932 byte",
			append(sjis(t, "氏名,値\r\n山田,1\r\n"), []byte("abc,\xFF\r\nd\r\n")...),
			3, CP932, "読み取れない文字",
		},
		{
			"CP932 lead byte without trail byte",
			append(sjis(t, "氏名\r\n山田\r\n"), 0x82),
			3, CP932, "読み取れない文字",
		},
		{
			"CP932 lead byte before newline",
			append(sjis(t, "氏名\n"), []byte("\x82\nabc\n")...),
			2, CP932, "読み取れない文字",
		},
		{
			"CP932 unassigned row",
			append(sjis(t, "氏名\n"), []byte("a\nb\n\x85\x40\n")...),
			4, CP932, "読み取れない文字",
		},
		{
			"CP932 user-defined character",
			append(sjis(t, "氏名\n"), []byte("\xF0\x40\n")...),
			2, CP932, "外字",
		},
		{
			"CP932 invalid byte inside a quoted field",
			append(sjis(t, "氏名,\"一行目\n二行目"), []byte("\xFF\"\n")...),
			2, CP932, "読み取れない文字",
		},
		{
			"invalid UTF-8 after BOM",
			withBOM("a\nb\nc\xFF\n"),
			3, UTF8BOM, "UTF-8として読めない",
		},
		{
			"UTF-16",
			[]byte("\xFF\xFEa\x00,\x00b\x00"),
			1, "", "UTF-16",
		},
		{
			"unclosed quote",
			[]byte("a,b\nc,\"d\ne,f\ng,h\n"),
			2, UTF8, "引用符",
		},
		{
			"unclosed quote at end",
			[]byte("a,b\nc,\"d"),
			2, UTF8, "引用符",
		},
		{
			"bare quote",
			[]byte("a,b\nc,d\"e\n"),
			2, UTF8, "引用符",
		},
		{
			"text after closing quote",
			[]byte("a\nb\n\"c\"d,e\n"),
			3, UTF8, "引用符",
		},
		{
			"space before opening quote",
			[]byte("a, \"b,c\"\n"),
			1, UTF8, "引用符",
		},
		{
			"bare quote after quoted newline",
			[]byte("\"x\ny\",z\nq\"\n"),
			3, UTF8, "引用符",
		},
		{
			"quote error in CP932",
			sjis(t, "氏名\n山田,\"太郎\n"),
			2, CP932, "引用符",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, enc, err := Read(tc.data, 1<<20)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Read(%q) = %v, %v; want a *ParseError", tc.data, rows, err)
			}
			if rows != nil {
				t.Errorf("rows = %v, want none", rows)
			}
			if pe.Line != tc.wantLine {
				t.Errorf("Line = %d, want %d (%v)", pe.Line, tc.wantLine, err)
			}
			if enc != tc.wantEnc {
				t.Errorf("encoding = %q, want %q", enc, tc.wantEnc)
			}
			if !strings.Contains(pe.Message, tc.wantJa) {
				t.Errorf("Message = %q, want it to contain %q", pe.Message, tc.wantJa)
			}
			if prefix := strconv.Itoa(tc.wantLine) + "行目: "; !strings.HasPrefix(pe.Message, prefix) {
				t.Errorf("Message = %q, want it to start with %q", pe.Message, prefix)
			}
			if prefix := "line " + strconv.Itoa(tc.wantLine) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Error() = %q, want it to start with %q", err.Error(), prefix)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, _, err := Read([]byte("a\nb\nc,\"d\n"), 100)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Read error = %v, want a *ParseError", err)
	}
	for _, tc := range []struct {
		name, got, want string
	}{
		{"Message", pe.Message, "3行目: CSVの形式が正しくありません（引用符）。"},
		{"MessageEn", pe.MessageEn, "line 3: malformed CSV (quote)"},
		{"Error", pe.Error(), "line 3: malformed CSV (quote)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestReadTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     []byte
		maxBytes int
		wantErr  bool
	}{
		{"at the limit", []byte("abc,de\n"), 7, false},
		{"one byte over", []byte("abc,de\n"), 6, true},
		{"BOM counts", withBOM("abcd"), 6, true},
		{"CP932 counted in bytes", sjis(t, "山田"), 4, false},
		{"zero limit, empty input", nil, 0, false},
		{"zero limit", []byte("a"), 0, true},
		{"negative limit", []byte("a"), -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, enc, err := Read(tc.data, tc.maxBytes)
			if got := errors.Is(err, ErrTooLarge); got != tc.wantErr {
				t.Fatalf("Read error = %v, want ErrTooLarge: %v", err, tc.wantErr)
			}
			if tc.wantErr && (rows != nil || enc != "") {
				t.Errorf("Read = %v, %q with ErrTooLarge, want nothing", rows, enc)
			}
			if !tc.wantErr && err != nil {
				t.Errorf("Read error = %v, want none", err)
			}
		})
	}
}

func TestRowField(t *testing.T) {
	r := Row{Line: 1, Fields: []string{"a", "b"}}
	for _, tc := range []struct {
		name string
		i    int
		want string
	}{
		{"first", 0, "a"},
		{"last", 1, "b"},
		{"past the end", 2, ""},
		{"far past the end", 100, ""},
		{"negative", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Field(tc.i); got != tc.want {
				t.Errorf("Field(%d) = %q, want %q", tc.i, got, tc.want)
			}
		})
	}
	t.Run("zero row", func(t *testing.T) {
		if got := (Row{}).Field(0); got != "" {
			t.Errorf("Row{}.Field(0) = %q, want empty", got)
		}
	})
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{
		roster,
		"a,\"b\nc\",d\r\ne,f\n",
		"\"unclosed\n",
		"a,b\"c\n",
		",,,\n\n \t\n",
		"\u3000全角\u3000,①,髙\n",
	} {
		f.Add([]byte(s))
		f.Add(withBOM(s))
	}
	for _, s := range []string{roster, "項目,値\r\n①,㈱\r\n髙橋,\"複数\r\n行\"\r\n"} {
		f.Add(sjis(f, s))
	}
	f.Add([]byte("abc\xFF\n\x82"))
	f.Add([]byte("\xFF\xFEa\x00"))
	f.Add([]byte("\xF0\x40,\x87\x40\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, enc, err := Read(data, 1<<16)
		if err != nil {
			var pe *ParseError
			switch {
			case errors.Is(err, ErrTooLarge):
			case errors.As(err, &pe):
				if pe.Line < 1 || pe.Message == "" || pe.MessageEn == "" {
					t.Fatalf("Read(%q) error %#v: want a line ≥ 1 and both messages", data, pe)
				}
			default:
				t.Fatalf("Read(%q) error %v is neither ErrTooLarge nor a *ParseError", data, err)
			}
			return
		}
		switch enc {
		case UTF8, UTF8BOM, CP932:
		default:
			t.Fatalf("Read(%q) encoding = %q", data, enc)
		}
		prev := 0
		for _, r := range rows {
			if r.Line < 1 || r.Line <= prev {
				t.Fatalf("Read(%q): row line %d after %d; want ≥ 1 and increasing", data, r.Line, prev)
			}
			prev = r.Line
			empty := true
			for _, fld := range r.Fields {
				if !utf8.ValidString(fld) {
					t.Fatalf("Read(%q): field %q on line %d is not valid UTF-8", data, fld, r.Line)
				}
				if strings.TrimLeft(strings.TrimRight(fld, " \t\r"), " \t") != fld {
					t.Fatalf("Read(%q): field %q on line %d is not trimmed", data, fld, r.Line)
				}
				if fld != "" {
					empty = false
				}
			}
			if empty {
				t.Fatalf("Read(%q): empty row on line %d", data, r.Line)
			}
		}
	})
}
