package phone

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Number
	}{
		// Mobile numbers in the forms people type.
		{"mobile hyphens", "090-1234-5678", mobile("09012345678")},
		{"mobile digits only", "09012345678", mobile("09012345678")},
		{"mobile spaces", "090 1234 5678", mobile("09012345678")},
		{"mobile ideographic spaces", "090　1234　5678", mobile("09012345678")},
		{"mobile surrounding spaces", "  080-1111-2222 \n", mobile("08011112222")},
		{"mobile tab", "080\t1111\t2222", mobile("08011112222")},
		{"mobile parentheses", "(090)1234-5678", mobile("09012345678")},
		{"mobile full-width", "０９０－１２３４－５６７８", mobile("09012345678")},
		{"mobile full-width parentheses", "（０９０）１２３４－５６７８", mobile("09012345678")},
		{"mobile katakana long mark", "090ー1234ー5678", mobile("09012345678")},
		{"mobile half-width long mark", "090ｰ1234ｰ5678", mobile("09012345678")},
		{"mobile U+2010 hyphen", "090‐1234‐5678", mobile("09012345678")},
		{"mobile U+2011 hyphen", "090‑1234‑5678", mobile("09012345678")},
		{"mobile minus sign", "090−1234−5678", mobile("09012345678")},
		{"mobile en dash", "090–1234–5678", mobile("09012345678")},
		{"mobile em dash", "090—1234—5678", mobile("09012345678")},
		{"mobile horizontal bar", "090―1234―5678", mobile("09012345678")},
		{"mobile mixed widths", "０90-１２34ー5678", mobile("09012345678")},
		{"mobile 080", "080-9876-5432", mobile("08098765432")},
		{"mobile 070", "070-1234-5678", mobile("07012345678")},
		{"mobile 060", "060-1234-5678", mobile("06012345678")},

		// Country code forms.
		{"+81 without trunk 0", "+81 90-1234-5678", mobile("09012345678")},
		{"+81 hyphenated", "+81-90-1234-5678", mobile("09012345678")},
		{"+81 with (0)", "+81 (0)90-1234-5678", mobile("09012345678")},
		{"+81 with trunk 0", "+81 090-1234-5678", mobile("09012345678")},
		{"+81 digits only", "+819012345678", mobile("09012345678")},
		{"+81 trunk 0 digits only", "+8109012345678", mobile("09012345678")},
		{"+81 full-width", "＋８１９０１２３４５６７８", mobile("09012345678")},
		{"+81 with space before", " +81 90 1234 5678", mobile("09012345678")},
		{"81 without plus", "81 90 1234 5678", mobile("09012345678")},
		{"81 without plus digits only", "819012345678", mobile("09012345678")},
		{"81 without plus with trunk 0", "81-090-1234-5678", mobile("09012345678")},
		{"+81 landline", "+81 3-1234-5678", landline("0312345678")},
		{"+81 landline parentheses", "+81 (3) 1234-5678", landline("0312345678")},
		{"+81 IP phone", "+81 50 1234 5678", ip("05012345678")},

		// IP phones and landlines.
		{"IP phone 050", "050-1234-5678", ip("05012345678")},
		{"Tokyo", "03-1234-5678", landline("0312345678")},
		{"Tokyo parentheses", "03(1234)5678", landline("0312345678")},
		{"Tokyo area code in parentheses", "(03) 1234-5678", landline("0312345678")},
		{"Osaka", "06-6123-4567", landline("0661234567")},
		{"Sapporo", "011-222-3333", landline("0112223333")},
		{"Musashino", "0422-12-3456", landline("0422123456")},
		{"Tokorozawa", "04-2922-1234", landline("0429221234")},
		{"Kagoshima 099 is not 0990", "099-212-3456", landline("0992123456")},
		{"five-digit area code", "01267-2-3456", landline("0126723456")},
		{"landline full-width", "０４５－６７１－２１２１", landline("0456712121")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseRefused(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantEn   string // a word the English message must contain
	}{
		{"empty", "", "enter"},
		{"spaces only", "  　 ", "enter"},
		{"separators only", "(-)", "enter"},
		{"plus only", "+", "enter"},
		{"mobile too short", "090-1234-567", "11 digits"},
		{"mobile too long", "090-1234-56789", "11 digits"},
		{"IP phone too short", "050-123-4567", "11 digits"},
		{"landline too short", "03-1234-567", "too short"},
		{"landline too long", "03-1234-56789", "10 digits"},
		{"four digits", "5678", "start with 0"},
		{"no trunk 0", "90-1234-5678", "start with 0"},
		{"81 only", "81", "too short"},
		{"+81 only", "+81", "too short"},
		{"+81 too short", "+81 90 1234 567", "11 digits"},
		{"USA", "+1 415 555 2671", "Japanese"},
		{"UK", "+44 20 7946 0958", "Japanese"},
		{"Korea", "+82-10-1234-5678", "Japanese"},
		{"plus before trunk 0", "+090-1234-5678", "Japanese"},
		{"full-width plus foreign", "＋８２１０１２３４５６７８", "Japanese"},
		{"carrier prefix", "0033-090-1234-5678", "prefix"},
		{"international prefix 001", "001-81-90-1234-5678", "prefix"},
		{"international prefix 010", "010-81-90-1234-5678", "prefix"},
		{"010 ten digits", "010-123-4567", "prefix"},
		{"free dial 0120", "0120-123-456", "free dial"},
		{"free dial 0120 full-width", "０１２０－１２３－４５６", "free dial"},
		{"free dial via +81", "+81 120 123 456", "free dial"},
		{"free dial 0800", "0800-123-4567", "free dial"},
		{"navi dial", "0570-123-456", "navi dial"},
		{"premium 0990", "0990-123-456", "service"},
		{"information 0180", "0180-99-1234", "service"},
		{"message 0170", "0170-123-456", "service"},
		{"pager or M2M 020", "020-1234-5678", "cannot receive"},
		{"unassigned 030", "030-1234-5678", "cannot receive"},
		{"unassigned 040 ten digits", "040-123-4567", "cannot receive"},
		{"letters", "090-1234-abcd", "only digits"},
		{"TEL prefix", "TEL 090-1234-5678", "only digits"},
		{"full-width letters", "０９０－１２３４－ＡＢＣＤ", "only digits"},
		{"dots", "090.1234.5678", "only digits"},
		{"extension", "03-1234-5678 内線12", "only digits"},
		{"slash", "090/1234/5678", "only digits"},
		{"plus inside", "090+1234+5678", `"+"`},
		{"two pluses", "++81 90 1234 5678", `"+"`},
		{"invalid UTF-8", "090\xff12345678", "only digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.in, got)
			}
			if got != (Number{}) {
				t.Errorf("Parse(%q) returned %+v with its error, want the zero Number", tc.in, got)
			}
			checkError(t, err, tc.wantEn)
		})
	}
}

// checkError checks that err is an *Error whose English message mentions
// wantEn and whose Japanese message is present and Japanese.
func checkError(t *testing.T, err error, wantEn string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *phone.Error", err, err)
	}
	if err.Error() != e.MessageEn {
		t.Errorf("Error() = %q, want MessageEn %q", err.Error(), e.MessageEn)
	}
	if !strings.Contains(e.MessageEn, wantEn) {
		t.Errorf("MessageEn = %q, want it to mention %q", e.MessageEn, wantEn)
	}
	if e.Message == "" || utf8.RuneCountInString(e.Message) == len(e.Message) {
		t.Errorf("Message = %q, want a Japanese message", e.Message)
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    Number
		want string
	}{
		{"mobile", mobile("09012345678"), "***-****-5678"},
		{"landline", landline("0312349876"), "***-****-9876"},
		{"zero Number", Number{}, "***-****-****"},
		{"too short to show", Number{National: "012"}, "***-****-****"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.n); got != tc.want {
				t.Errorf("Mask(%+v) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, that an accepted number's E164
// is "+81" and the national number without its 0, and that parsing the E164
// or national form again gives the same Number.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"090-1234-5678", "+81 (0)90-1234-5678", "０９０ー１２３４ー５６７８", "03(1234)5678",
		"0120-123-456", "+1 415 555 2671", "819012345678", "", "+", "8181", "+810",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" || e.MessageEn == "" {
				t.Fatalf("Parse(%q) error %v is not a *phone.Error with both messages", s, err)
			}
			return
		}
		if len(n.National) < 10 || n.National[0] != '0' {
			t.Fatalf("Parse(%q).National = %q", s, n.National)
		}
		if want := "+81" + n.National[1:]; n.E164 != want {
			t.Errorf("Parse(%q).E164 = %q, want %q", s, n.E164, want)
		}
		for _, again := range []string{n.E164, n.National} {
			m, err := Parse(again)
			if err != nil {
				t.Fatalf("Parse(%q) accepted %+v, but Parse(%q) failed: %v", s, n, again, err)
			}
			if m != n {
				t.Errorf("Parse(%q) = %+v, but Parse(%q) = %+v", s, n, again, m)
			}
		}
	})
}

func mobile(national string) Number {
	return Number{National: national, E164: "+81" + national[1:], Mobile: true}
}

func landline(national string) Number {
	return Number{National: national, E164: "+81" + national[1:]}
}

// ip is a 050 IP phone: 11 digits like a mobile, but not one.
func ip(national string) Number { return landline(national) }
