package otp

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSeed is the SHA1 seed of RFC 6238 Appendix B.
const rfcSeed = "12345678901234567890"

func TestTOTPRFC6238(t *testing.T) {
	for _, tc := range []struct {
		unix  int64
		want8 string // RFC 6238 Appendix B, SHA1 column
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		t.Run(tc.want8, func(t *testing.T) {
			tm := time.Unix(tc.unix, 0)
			if got := hotp([]byte(rfcSeed), timeStep(tm), 8); got != tc.want8 {
				t.Errorf("8-digit code at %d = %s, want %s", tc.unix, got, tc.want8)
			}
			if got, want := TOTP([]byte(rfcSeed), tm), tc.want8[2:]; got != want {
				t.Errorf("TOTP at %d = %s, want %s", tc.unix, got, want)
			}
		})
	}
}

func TestTimeStep(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want int64
	}{
		{0, 0},
		{29, 0},
		{30, 1},
		{59, 1},
		{-1, -1},
		{-30, -1},
		{-31, -2},
	} {
		t.Run(time.Unix(tc.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
			if got := timeStep(time.Unix(tc.unix, 0)); got != tc.want {
				t.Errorf("timeStep(%d) = %d, want %d", tc.unix, got, tc.want)
			}
		})
	}
}

func TestVerifyTOTP(t *testing.T) {
	now := time.Unix(1111111111, 0) // step 37037037
	const step = int64(1111111111 / 30)
	codeAt := func(t *testing.T, s int64) string {
		t.Helper()
		return hotp([]byte(rfcSeed), s, 6)
	}
	for _, tc := range []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64
		wantOK   bool
	}{
		{"current step", codeAt(t, step), 0, step, true},
		{"previous step", codeAt(t, step-1), 0, step - 1, true},
		{"next step", codeAt(t, step+1), 0, step + 1, true},
		{"two steps back", codeAt(t, step-2), 0, 0, false},
		{"two steps ahead", codeAt(t, step+2), 0, 0, false},
		{"current step already used", codeAt(t, step), step, 0, false},
		{"previous step after current used", codeAt(t, step-1), step, 0, false},
		{"next step after current used", codeAt(t, step+1), step, step + 1, true},
		{"current step after previous used", codeAt(t, step), step - 1, step, true},
		{"five digits", codeAt(t, step)[:5], 0, 0, false},
		{"seven digits", codeAt(t, step) + "0", 0, 0, false},
		{"eight-digit RFC code", "14050471", 0, 0, false},
		{"letters", "12345a", 0, 0, false},
		{"spaces", "123 456", 0, 0, false},
		{"full-width digits", "０５０４７１", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotStep, gotOK := VerifyTOTP([]byte(rfcSeed), tc.code, now, tc.lastStep)
			if gotStep != tc.wantStep || gotOK != tc.wantOK {
				t.Errorf("VerifyTOTP(%q, lastStep %d) = (%d, %v), want (%d, %v)",
					tc.code, tc.lastStep, gotStep, gotOK, tc.wantStep, tc.wantOK)
			}
		})
	}

	t.Run("empty secret", func(t *testing.T) {
		if _, ok := VerifyTOTP(nil, TOTP(nil, now), now, 0); ok {
			t.Error("VerifyTOTP accepted a code for an empty secret")
		}
	})
}

func TestNewTOTPSecret(t *testing.T) {
	a, err := NewTOTPSecret()
	if err != nil {
		t.Fatalf("NewTOTPSecret: %v", err)
	}
	b, err := NewTOTPSecret()
	if err != nil {
		t.Fatalf("NewTOTPSecret: %v", err)
	}
	if len(a) != 20 || len(b) != 20 {
		t.Errorf("secret lengths = %d, %d, want 20", len(a), len(b))
	}
	if string(a) == string(b) {
		t.Error("two secrets are equal")
	}
}

func TestEncodeSecret(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte
		want   string
	}{
		{"RFC secret", []byte(rfcSeed), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
		{"needs padding in standard base32", []byte("a"), "ME"},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := EncodeSecret(tc.secret)
			if got != tc.want {
				t.Errorf("EncodeSecret = %q, want %q", got, tc.want)
			}
			back, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(got)
			if err != nil || string(back) != string(tc.secret) {
				t.Errorf("decoding %q = %q, %v; want %q", got, back, err, tc.secret)
			}
		})
	}
}

func TestTOTPURI(t *testing.T) {
	for _, tc := range []struct {
		name, issuer, account string
		wantPath              string // decoded label
		wantEscapedPath       string
	}{
		{"plain", "GMIS", "taro@example.jp", "/GMIS:taro@example.jp", "/GMIS:taro@example.jp"},
		{"spaces", "ACME Co", "Taro Yamada", "/ACME Co:Taro Yamada", "/ACME%20Co:Taro%20Yamada"},
		{"colon in issuer", "A:B", "taro", "/A:B:taro", "/A%3AB:taro"},
		{"plus and ampersand", "R&D+", "t+x@example.jp", "/R&D+:t+x@example.jp", "/R&D%2B:t%2Bx@example.jp"},
		{"question mark and slash", "a?b/c", "x", "/a?b/c:x", "/a%3Fb%2Fc:x"},
		{"percent", "100%", "x", "/100%:x", "/100%25:x"},
		{"Japanese", "学生支援", "山田", "/学生支援:山田", "/%E5%AD%A6%E7%94%9F%E6%94%AF%E6%8F%B4:%E5%B1%B1%E7%94%B0"},
		{"no issuer", "", "taro", "/taro", "/taro"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri := TOTPURI([]byte(rfcSeed), tc.issuer, tc.account)
			u, err := url.Parse(uri)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", uri, err)
			}
			if u.Scheme != "otpauth" || u.Host != "totp" {
				t.Errorf("scheme, host = %q, %q; want otpauth, totp", u.Scheme, u.Host)
			}
			if u.Path != tc.wantPath {
				t.Errorf("path = %q, want %q", u.Path, tc.wantPath)
			}
			if got := u.EscapedPath(); got != tc.wantEscapedPath {
				t.Errorf("escaped path = %q, want %q", got, tc.wantEscapedPath)
			}
			if strings.Contains(u.RawQuery, "+") {
				t.Errorf("query %q contains '+', which some apps show literally", u.RawQuery)
			}
			q := u.Query()
			want := url.Values{
				"secret":    {"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
				"algorithm": {"SHA1"},
				"digits":    {"6"},
				"period":    {"30"},
			}
			if tc.issuer != "" {
				want["issuer"] = []string{tc.issuer}
			}
			if got, want := q.Encode(), want.Encode(); got != want {
				t.Errorf("query = %s, want %s", got, want)
			}
		})
	}
}

// FuzzVerifyTOTP checks that VerifyTOTP never panics and accepts a code only
// if it is the TOTP code of the step it returns, within one step of t.
func FuzzVerifyTOTP(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "050471", int64(1111111111), int64(0))
	f.Add([]byte{}, "000000", int64(-1), int64(-5))
	f.Add([]byte("k"), "12345", int64(20000000000), int64(666666666))
	f.Fuzz(func(t *testing.T, secret []byte, code string, unix, lastStep int64) {
		tm := time.Unix(unix, 0)
		step, ok := VerifyTOTP(secret, code, tm, lastStep)
		if !ok {
			return
		}
		if step <= lastStep {
			t.Errorf("accepted step %d <= lastStep %d", step, lastStep)
		}
		if d := step - timeStep(tm); d < -1 || d > 1 {
			t.Errorf("accepted step %d is %d steps from now", step, d)
		}
		if got := hotp(secret, step, 6); got != code {
			t.Errorf("accepted %q but the code at step %d is %q", code, step, got)
		}
	})
}
