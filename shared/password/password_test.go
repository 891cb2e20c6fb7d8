package password

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// rules returns the rule names of vs, which is what most tests compare.
func rules(vs []Violation) []string {
	var rs []string
	for _, v := range vs {
		rs = append(rs, v.Rule)
	}
	return rs
}

// equalTo returns an isCurrent for a user whose current password is cur.
func equalTo(cur string) func(string) bool {
	return func(pw string) bool { return pw == cur }
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		pw        string
		userID    string
		isCurrent func(string) bool
		want      []string
	}{
		{name: "acceptable", pw: "Abcdefg1", want: nil},
		{name: "acceptable with symbols only three classes", pw: "abc#def$12", want: nil},
		{name: "acceptable all four classes", pw: "Ab1!Cd2@", want: nil},

		// length, in runes
		{name: "7 runes", pw: "Abcde1!", want: []string{"length"}},
		{name: "8 runes", pw: "Abcdef1!", want: nil},
		{name: "30 runes", pw: "Ab1!" + strings.Repeat("xy", 13), want: nil},
		{name: "31 runes", pw: "Ab1!" + strings.Repeat("xy", 13) + "z", want: []string{"length"}},
		{name: "empty", pw: "", want: []string{"length", "classes"}},
		{name: "multi-byte counts as one rune", pw: "Abcdef1あ", want: []string{"characters"}},
		{name: "multi-byte short", pw: "Abcd1あ", want: []string{"length", "characters"}},

		// characters
		{name: "zero is not a digit the spec allows", pw: "Abcdef0!", want: []string{"characters"}},
		{name: "space", pw: "Abc def1", want: []string{"characters"}},
		{name: "full-width space", pw: "Abc\u3000def1", want: []string{"characters"}},
		{name: "full-width letter", pw: "Ａbcdefg1!", want: []string{"characters"}},
		{name: "tab", pw: "Abc\tdef1", want: []string{"characters"}},
		{name: "invalid UTF-8", pw: "Abcdef1\xff", want: []string{"characters"}},
		{name: "yen sign U+00A5 allowed", pw: "Abcdef¥1", want: nil},
		{name: "backslash allowed as yen", pw: `Abcdef\1`, want: nil},
		{name: "listed symbols allowed, first half", pw: "Ab@#$%^&*-!+=[]{}", want: nil},
		{name: "listed symbols allowed, second half", pw: "Ab|¥:',.?/`~\"();", want: nil},
		{name: "underscore not listed", pw: "Abcdef_1", want: []string{"characters"}},
		{name: "less-than not listed", pw: "Abcdef<1", want: []string{"characters"}},

		// classes
		{name: "lowercase only", pw: "abcdefgh", want: []string{"classes"}},
		{name: "digits only", pw: "12345678", want: []string{"classes", "common"}},
		{name: "lowercase and digits", pw: "abcd1234", want: []string{"classes", "common"}},
		{name: "upper and lower", pw: "AbcdefgH", want: []string{"classes"}},
		{name: "symbols and digits", pw: "!#$%1234", want: []string{"classes"}},
		{name: "zero does not count as a digit", pw: "Abcdefg0", want: []string{"characters", "classes"}},

		// repeat
		{name: "spec example 111abc", pw: "111abc", want: []string{"length", "classes", "repeat"}},
		{name: "spec example 123aaa", pw: "123aaa", want: []string{"length", "classes", "repeat"}},
		{name: "triple in the middle", pw: "Ab1!xxx2", want: []string{"repeat"}},
		{name: "triple symbol", pw: "Ab1!!!x2", want: []string{"repeat"}},
		{name: "double is fine", pw: "Ab1!xx2y", want: nil},
		{name: "case differs is no repeat", pw: "Ab1!xXx2", want: nil},
		{name: "yen and backslash are one character", pw: `Ab1x¥\¥y`, want: []string{"repeat"}},
		{name: "four in a row", pw: "Ab1zzzz!", want: []string{"repeat"}},

		// user ID
		{name: "equal to user ID", pw: "Yamada.Taro1", userID: "Yamada.Taro1", want: []string{"user_id"}},
		{name: "equal to user ID in other case", pw: "Yamada.Taro1", userID: "yamada.taro1", want: []string{"user_id"}},
		{name: "contains user ID is allowed", pw: "Yamada.Taro12", userID: "yamada.taro1", want: nil},
		{name: "no user ID", pw: "", userID: "", want: []string{"length", "classes"}},

		// current
		{name: "equal to current", pw: "Curr3nt!pw", isCurrent: equalTo("Curr3nt!pw"), want: []string{"current"}},
		{name: "current differs in case", pw: "curr3nt!pw", isCurrent: equalTo("Curr3nt!pw"), want: nil},
		{name: "no current password", pw: "Curr3nt!pw", isCurrent: nil, want: nil},

		// common
		{name: "common as listed", pw: "Front242", want: []string{"common"}},
		{name: "common in other case", pw: "Password1", want: []string{"common"}},
		{name: "common upper case", pw: "PASSWORD1", want: []string{"classes", "common"}},
		{name: "comment line is no entry", pw: "#!comment:", want: []string{"classes"}},

		// several at once, in the documented order
		{name: "all composition rules", pw: "aaa 0", want: []string{"length", "characters", "classes", "repeat"}},
		{
			name:      "every rule",
			pw:        "aaa0",
			userID:    "AAA0",
			isCurrent: equalTo("aaa0"),
			want:      []string{"length", "characters", "classes", "repeat", "user_id", "current"},
		},
		{
			name:      "identity rules and common",
			pw:        "Password1",
			userID:    "password1",
			isCurrent: equalTo("Password1"),
			want:      []string{"user_id", "current", "common"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Check(tt.pw, tt.userID, tt.isCurrent)
			if got := rules(vs); !slices.Equal(got, tt.want) {
				t.Errorf("Check(%q, %q) rules = %q, want %q", tt.pw, tt.userID, got, tt.want)
			}
			for _, v := range vs {
				if v.Message == "" || v.MessageEn == "" {
					t.Errorf("Check(%q): rule %q has an empty message: %+v", tt.pw, v.Rule, v)
				}
			}
		})
	}
}

func TestCheckMessages(t *testing.T) {
	tests := []struct {
		name   string
		pw     string
		rule   string
		wantJa string
		wantEn string
	}{
		{
			name:   "length",
			pw:     "Ab1!",
			rule:   "length",
			wantJa: "パスワードは8文字以上30文字以下にしてください。",
			wantEn: "The password must be 8 to 30 characters long.",
		},
		{
			name:   "one bad character",
			pw:     "Abcdef0!",
			rule:   "characters",
			wantJa: "使用できない文字が含まれています（0）。",
			wantEn: "The password contains characters that are not allowed (0).",
		},
		{
			name:   "deduplicated in order of appearance",
			pw:     "Ab0 1あ0 あ",
			rule:   "characters",
			wantJa: "使用できない文字が含まれています（0、半角スペース、あ）。",
			wantEn: "The password contains characters that are not allowed (0, space, あ).",
		},
		{
			name:   "at most five shown",
			pw:     "Ab1_<>0あい",
			rule:   "characters",
			wantJa: "使用できない文字が含まれています（_、<、>、0、あ…）。",
			wantEn: "The password contains characters that are not allowed (_, <, >, 0, あ, ...).",
		},
		{
			name:   "exactly five shown without ellipsis",
			pw:     "Ab1_<>0あ",
			rule:   "characters",
			wantJa: "使用できない文字が含まれています（_、<、>、0、あ）。",
			wantEn: "The password contains characters that are not allowed (_, <, >, 0, あ).",
		},
		{
			name:   "many distinct characters",
			pw:     "Ab1" + strings.Repeat("あいうえおかきくけこ", 1000),
			rule:   "characters",
			wantJa: "使用できない文字が含まれています（あ、い、う、え、お…）。",
			wantEn: "The password contains characters that are not allowed (あ, い, う, え, お, ...).",
		},
		{
			name:   "invisible characters are named",
			pw:     "Ab1\u3000\t\xffxyz",
			rule:   "characters",
			wantJa: "使用できない文字が含まれています（全角スペース、U+0009、不正な文字）。",
			wantEn: "The password contains characters that are not allowed (full-width space, U+0009, invalid character).",
		},
		{
			name:   "classes",
			pw:     "abcdefgh",
			rule:   "classes",
			wantJa: "英小文字・英大文字・数字・記号のうち3種類以上を組み合わせてください。",
			wantEn: "Combine at least three of lowercase letters, uppercase letters, digits and symbols.",
		},
		{
			name:   "repeat",
			pw:     "Ab1xxx!y",
			rule:   "repeat",
			wantJa: "同じ文字を3文字以上連続して使用できません。",
			wantEn: "The same character cannot appear three or more times in a row.",
		},
		{
			name:   "common",
			pw:     "Password1",
			rule:   "common",
			wantJa: "よく使われるパスワードのため使用できません。",
			wantEn: "This password is too common to be used.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := findRule(t, Check(tt.pw, "", nil), tt.rule)
			if v.Message != tt.wantJa {
				t.Errorf("Message = %q, want %q", v.Message, tt.wantJa)
			}
			if v.MessageEn != tt.wantEn {
				t.Errorf("MessageEn = %q, want %q", v.MessageEn, tt.wantEn)
			}
		})
	}

	t.Run("user ID and current", func(t *testing.T) {
		vs := Check("Abcdefg1", "abcdefg1", equalTo("Abcdefg1"))
		if got, want := findRule(t, vs, "user_id").Message, "利用者IDと同じパスワードは使用できません。"; got != want {
			t.Errorf("user_id Message = %q, want %q", got, want)
		}
		if got, want := findRule(t, vs, "current").Message, "現在と同じパスワードは使用できません。"; got != want {
			t.Errorf("current Message = %q, want %q", got, want)
		}
	})
}

// findRule returns the violation of rule in vs, failing the test if absent.
func findRule(t *testing.T, vs []Violation, rule string) Violation {
	t.Helper()
	for _, v := range vs {
		if v.Rule == rule {
			return v
		}
	}
	t.Fatalf("no %q violation in %+v", rule, vs)
	return Violation{}
}

func TestCommonList(t *testing.T) {
	t.Run("header kept", func(t *testing.T) {
		if got, want := strings.Count(commonList, "\n"+commentPrefix)+1, 13; !strings.HasPrefix(commonList, commentPrefix) || got != want {
			t.Errorf("comment lines = %d, want %d (the header of John the Ripper's list)", got, want)
		}
		if !strings.Contains(commonList, "public domain") {
			t.Error("the header no longer states the list's public-domain status")
		}
	})
	t.Run("entries loaded", func(t *testing.T) {
		// 3546 entries per the header, fewer after folding case.
		if got := len(common); got < 3000 || got > 3546 {
			t.Errorf("len(common) = %d, want 3000..3546", got)
		}
	})
	tests := []struct {
		pw   string
		want bool
	}{
		{"123456", true},
		{"password", true},
		{"PassWord", true},
		{"password1", true},
		{"Front242", true},
		{"front242", true},
		{"notused", true}, // the last entry: no line lost at the end
		{"#!comment: This list has been compiled by Solar Designer of Openwall Project", false},
		{"", false},
		{"Xq7#vLm2", false},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			if got := isCommon(tt.pw); got != tt.want {
				t.Errorf("isCommon(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

func TestParseCommon(t *testing.T) {
	tests := []struct {
		name string
		list string
		want []string
	}{
		{name: "comments and blanks skipped", list: "#!comment: x\n\nabc\nDEF\n", want: []string{"abc", "def"}},
		{name: "no final newline", list: "abc\ndef", want: []string{"abc", "def"}},
		{name: "CRLF", list: "abc\r\ndef\r\n", want: []string{"abc", "def"}},
		{name: "a lone hash is an entry", list: "#\n#!comment:\n", want: []string{"#"}},
		{name: "spaces kept", list: " abc \n", want: []string{" abc "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := parseCommon(tt.list)
			var got []string
			for k := range set {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseCommon(%q) = %q, want %q", tt.list, got, tt.want)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	for range n {
		pw, err := Generate()
		if err != nil {
			t.Fatalf("Generate() error = %v", err)
		}
		if vs := Check(pw, "", nil); len(vs) != 0 {
			t.Errorf("Generate() = %q, which breaks %q", pw, rules(vs))
		}
		if got := utf8.RuneCountInString(pw); got != 12 {
			t.Errorf("Generate() = %q, %d characters, want 12", pw, got)
		}
		if got := classes(pw); got != 4 {
			t.Errorf("Generate() = %q, %d classes, want 4", pw, got)
		}
		if strings.ContainsAny(pw[:1], symbols) {
			t.Errorf("Generate() = %q starts with a symbol", pw)
		}
		if strings.ContainsAny(pw, "lIOo0") {
			t.Errorf("Generate() = %q contains a look-alike", pw)
		}
		if i := strings.IndexFunc(pw, func(r rune) bool { return !strings.ContainsRune(genAll, r) }); i >= 0 {
			t.Errorf("Generate() = %q contains %q, outside the alphabet", pw, pw[i])
		}
		if seen[pw] {
			t.Errorf("Generate() = %q twice", pw)
		}
		seen[pw] = true
	}
}

func TestGenerateAlphabet(t *testing.T) {
	// 64 characters, every one allowed by the policy, none twice.
	if got, want := len(genAll), 64; got != want {
		t.Errorf("len(genAll) = %d, want %d", got, want)
	}
	for i, r := range genAll {
		if !allowedRune(r) {
			t.Errorf("genAll holds %q, which the policy refuses", r)
		}
		if strings.ContainsRune(genAll[i+1:], r) {
			t.Errorf("genAll holds %q twice", r)
		}
	}
	for _, r := range "=+-@" {
		if strings.ContainsRune(genAll, r) {
			t.Errorf("genAll holds %q, which starts a formula in Excel", r)
		}
	}
}

func TestRandIndex(t *testing.T) {
	tests := []int{1, 2, 7, 57, 64, 100, 255, 256}
	for _, n := range tests {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			src := &randBytes{}
			counts := make([]int, n)
			draws := 200 * n
			for range draws {
				got, err := src.index(n)
				if err != nil {
					t.Fatalf("index(%d) error = %v", n, err)
				}
				if got < 0 || got >= n {
					t.Fatalf("index(%d) = %d, want 0..%d", n, got, n-1)
				}
				counts[got]++
			}
			// A loose bound: each value should turn up about 200 times;
			// fewer than 100 or more than 300 for any one value is about a
			// ten-sigma event, so this fails for bias, not for bad luck.
			for v, c := range counts {
				if n > 1 && (c < 100 || c > 300) {
					t.Errorf("index(%d) gave %d %d times in %d draws, want about 200", n, v, c, draws)
				}
			}
		})
	}
}

// FuzzCheck checks that Check never panics and that whatever it accepts
// meets the composition rules, verified here independently of the package's
// own helpers.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"", "Abcdefg1", "111abc", "123aaa", "abcdefgh", "12345678", "abcd1234",
		"Abcdef0!", "Abc def1", "Abcdef¥1", `Abcdef\1`, "Abcdef1あ", "Password1",
		`Ab1x¥\¥y`, "Ab1!" + strings.Repeat("xy", 13), "\xff\xfe\xfd", "aAaAaAaA1",
	} {
		f.Add(s, "user1")
	}
	const allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ123456789" +
		`@#$%^&*-!+=[]{}|¥:',.?/` + "`~\"();" + `\`
	f.Fuzz(func(t *testing.T, pw, userID string) {
		vs := Check(pw, userID, equalTo("Curr3nt!pw"))
		for i, v := range vs {
			if v.Rule == "" || v.Message == "" || v.MessageEn == "" {
				t.Fatalf("Check(%q) gave an incomplete violation %+v", pw, v)
			}
			if i > 0 && ruleOrder(vs[i-1].Rule) >= ruleOrder(v.Rule) {
				t.Fatalf("Check(%q) rules out of order: %q", pw, rules(vs))
			}
		}
		if len(vs) > 0 {
			return
		}
		if n := utf8.RuneCountInString(pw); n < 8 || n > 30 {
			t.Fatalf("Check accepted %q with %d runes", pw, n)
		}
		var lower, upper, digit, symbol int
		for _, r := range pw {
			switch {
			case !utf8.ValidString(pw) || !strings.ContainsRune(allowed, r):
				t.Fatalf("Check accepted %q with %q", pw, r)
			case r >= 'a' && r <= 'z':
				lower = 1
			case r >= 'A' && r <= 'Z':
				upper = 1
			case r >= '1' && r <= '9':
				digit = 1
			default:
				symbol = 1
			}
		}
		if lower+upper+digit+symbol < 3 {
			t.Fatalf("Check accepted %q with fewer than three classes", pw)
		}
		rs := []rune(pw)
		for i := 2; i < len(rs); i++ {
			if rs[i] == rs[i-1] && rs[i] == rs[i-2] {
				t.Fatalf("Check accepted %q with %q three times in a row", pw, rs[i])
			}
		}
		if strings.EqualFold(pw, userID) || pw == "Curr3nt!pw" {
			t.Fatalf("Check accepted %q equal to user ID %q or the current password", pw, userID)
		}
	})
}

// ruleOrder is the position of rule in the documented order.
func ruleOrder(rule string) int {
	return slices.Index([]string{"length", "characters", "classes", "repeat", "user_id", "current", "common"}, rule)
}
