package mailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "taro@example.jp", "taro@example.jp"},
		{"subdomain", "taro.yamada@mail.example.ac.jp", "taro.yamada@mail.example.ac.jp"},
		{"domain lower-cased", "taro@Example.JP", "taro@example.jp"},
		{"local part keeps case", "Taro.Yamada@EXAMPLE.COM", "Taro.Yamada@example.com"},
		{"surrounding spaces", "  taro@example.jp \t\n", "taro@example.jp"},
		{"ideographic spaces", "　taro@example.jp　", "taro@example.jp"},
		{"full-width at", "taro＠example.jp", "taro@example.jp"},
		{"full-width dot", "taro@example．jp", "taro@example.jp"},
		{"all full-width", "ｔａｒｏ．ｙａｍａｄａ１２＠ｅｘａｍｐｌｅ．ｊｐ", "taro.yamada12@example.jp"},
		{"full-width upper-case domain", "ｔａｒｏ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "taro@example.com"},
		{"plus tag", "taro+gmis@example.jp", "taro+gmis@example.jp"},
		{"full-width plus and underscore", "taro＋x＿y@example.jp", "taro+x_y@example.jp"},
		{"symbols", "a!#$%&'*+-/=?^_`{|}~b@example.jp", "a!#$%&'*+-/=?^_`{|}~b@example.jp"},
		{"digits", "1234@example.jp", "1234@example.jp"},
		{"one-character local", "t@example.jp", "t@example.jp"},
		{"hyphenated domain", "taro@my-univ.ac.jp", "taro@my-univ.ac.jp"},
		{"digits in domain", "taro@123.example.jp", "taro@123.example.jp"},
		{"punycode domain", "taro@xn--eckwd4c7c.jp", "taro@xn--eckwd4c7c.jp"},
		{"long TLD", "taro@example.museum", "taro@example.museum"},
		{"64-byte local", strings.Repeat("a", 64) + "@example.jp", strings.Repeat("a", 64) + "@example.jp"},
		{"254 bytes", longAddr(254), longAddr(254)},
		{"63-byte label", "a@" + strings.Repeat("b", 63) + ".jp", "a@" + strings.Repeat("b", 63) + ".jp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if err != nil {
				t.Fatalf("Normalize(%q) error: %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalizeRefused(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantEn   string // a phrase the English message must contain
	}{
		{"empty", "", "enter"},
		{"spaces only", " 　 ", "enter"},
		{"no at", "taro.example.jp", `no "@"`},
		{"two ats", "taro@example.jp@example.com", `more than one "@"`},
		{"two addresses", "a@example.jp,b@example.jp", `more than one "@"`},
		{"nothing before at", "@example.jp", `nothing before`},
		{"nothing after at", "taro@", "no domain"},
		{"no dot in domain", "a@b", "must contain a dot"},
		{"localhost", "taro@localhost", "must contain a dot"},
		{"display name", "Taro <t@example.jp>", "without a name"},
		{"angle brackets only", "<t@example.jp>", "without a name"},
		{"Japanese display name", "山田太郎 <t@example.jp>", "without a name"},
		{"comment", "taro(comment)@example.jp", "comments"},
		{"trailing comment", "taro@example.jp (Taro)", "comments"},
		{"quoted local part", `"taro"@example.jp`, "quotation"},
		{"quoted local part with space", `"taro yamada"@example.jp`, "quotation"},
		{"quoted Japanese local part", `"たろう"@example.jp`, "quotation"},
		{"quoted local part with at", `"a@b"@example.jp`, "quotation"},
		{"full-width quotation", "＂taro＂@example.jp", "quotation"},
		{"Japanese local part", "たろう@example.jp", "ASCII"},
		{"Japanese domain", "taro@例え.jp", "ASCII"},
		{"Japanese TLD", "taro@example.日本", "ASCII"},
		{"ideographic full stop", "taro@example。jp", "ASCII"},
		{"full-width katakana", "タロウ@example.jp", "ASCII"},
		{"half-width katakana", "ﾀﾛｳ@example.jp", "ASCII"},
		{"space inside", "taro yamada@example.jp", "spaces"},
		{"ideographic space inside", "taro　yamada@example.jp", "spaces"},
		{"tab inside", "taro\t@example.jp", "spaces"},
		{"NUL", "taro\x00@example.jp", "spaces"},
		{"invalid UTF-8", "taro\xff@example.jp", "ASCII"},
		{"consecutive dots", "taro..yamada@example.jp", "consecutive dots"},
		{"leading dot", ".taro@example.jp", "start with a dot"},
		{"dot before at", "taro.@example.jp", "end with a dot"},
		{"comma in local part", "taro,yamada@example.jp", `','`},
		{"colon in local part", "mailto:taro@example.jp", `':'`},
		{"semicolon in local part", "taro;@example.jp", `';'`},
		{"backslash in local part", `taro\x@example.jp`, `'\\'`},
		{"square brackets in local part", "[taro]@example.jp", `'['`},
		{"65-byte local", strings.Repeat("a", 65) + "@example.jp", "longer than 64"},
		{"255 bytes", longAddr(255), "longer than 254"},
		{"64-byte label", "a@" + strings.Repeat("b", 64) + ".jp", "longer than 63"},
		{"domain leading dot", "taro@.example.jp", "empty part"},
		{"domain trailing dot", "taro@example.jp.", "empty part"},
		{"domain consecutive dots", "taro@example..jp", "empty part"},
		{"label leading hyphen", "taro@-example.jp", "hyphen"},
		{"label trailing hyphen", "taro@example-.jp", "hyphen"},
		{"TLD hyphen", "taro@example.-jp", "hyphen"},
		{"underscore in domain", "taro@my_univ.jp", `'_'`},
		{"IP literal", "taro@[192.0.2.1]", `'['`},
		{"bare IPv4", "taro@192.0.2.1", "letters"},
		{"digit in TLD", "taro@example.j2", "letters"},
		{"punycode TLD", "taro@example.xn--wgv71a", "letters"},
		{"one-letter TLD", "taro@example.j", "two or more letters"},
		{"one-letter TLD a@b.c", "a@b.c", "two or more letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want an error", tc.in, got)
			}
			if got != "" {
				t.Errorf("Normalize(%q) returned %q with its error, want \"\"", tc.in, got)
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
		t.Fatalf("error %v (%T) is not a *mailaddr.Error", err, err)
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

// longAddr returns a valid address of exactly n bytes (n >= 70), with labels
// of at most 63 bytes.
func longAddr(n int) string {
	local := strings.Repeat("a", 64)
	domain := "jp"
	for len(local)+1+len(domain) < n {
		room := n - len(local) - 1 - len(domain) - 1 // bytes left for a label and its dot
		domain = strings.Repeat("b", min(63, room)) + "." + domain
	}
	return local + "@" + domain
}

func TestLongAddr(t *testing.T) {
	for _, n := range []int{70, 254, 255} {
		if got := len(longAddr(n)); got != n {
			t.Errorf("len(longAddr(%d)) = %d", n, got)
		}
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"typical", "taro@example.jp", "ta***@example.jp"},
		{"long local part", "taro.yamada+gmis@mail.example.ac.jp", "ta***@mail.example.ac.jp"},
		{"two characters", "ab@example.jp", "ab***@example.jp"},
		{"one character", "t@example.jp", "t***@example.jp"},
		{"empty local part", "@example.jp", "***@example.jp"},
		{"not an address", "taro", "***"},
		{"multibyte not split", "たろう@example.jp", "たろ***@example.jp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzNormalize checks that Normalize never panics, that it refuses only
// with an *Error carrying both messages, and that it is idempotent on the
// addresses it accepts.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"taro@example.jp", "ｔａｒｏ＠ＥＸＡＭＰＬＥ．ＪＰ", "Taro <t@example.jp>", `"a"@b.jp`,
		"a..b@c.jp", "a@b", "", "　x@y.zz　", "a@" + strings.Repeat("b", 64) + ".jp",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" || e.MessageEn == "" {
				t.Fatalf("Normalize(%q) error %v is not a *mailaddr.Error with both messages", s, err)
			}
			return
		}
		again, err := Normalize(got)
		if err != nil {
			t.Fatalf("Normalize(%q) = %q, which Normalize refuses: %v", s, got, err)
		}
		if again != got {
			t.Errorf("Normalize(%q) = %q, but Normalize(%q) = %q", s, got, got, again)
		}
		_ = Mask(got)
	})
}
