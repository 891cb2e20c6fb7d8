package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The TOTP parameters. Authenticator apps widely support only these values,
// so they are fixed rather than configurable.
const (
	totpDigits = 6
	totpPeriod = 30 // seconds
	secretLen  = 20 // bytes: the length RFC 4226 recommends, the HMAC-SHA1 output size
)

// NewTOTPSecret returns a random 20-byte secret (RFC 4226's recommended length).
func NewTOTPSecret() ([]byte, error) {
	s := make([]byte, secretLen)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("otp: reading random bytes: %w", err)
	}
	return s, nil
}

// EncodeSecret encodes a secret in base32 without padding, as authenticator
// apps expect; some refuse the "=" padding when the secret is typed by hand.
func EncodeSecret(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// TOTP returns the 6-digit RFC 6238 code (HMAC-SHA1, 30-second steps) for time t.
func TOTP(secret []byte, t time.Time) string {
	return hotp(secret, timeStep(t), totpDigits)
}

// VerifyTOTP checks code against the steps t-30s, t, t+30s, refusing any step
// <= lastStep, and returns the matched step. The caller stores that step and
// passes it as lastStep next time, which makes each code usable once even
// within its validity window; pass 0 for a secret never used.
//
// One step either side allows for clock drift between server and phone and
// for the time the user takes to type. Comparison is in constant time.
func VerifyTOTP(secret []byte, code string, t time.Time, lastStep int64) (step int64, ok bool) {
	if len(secret) == 0 || !isDigits(code, totpDigits) {
		return 0, false
	}
	now := timeStep(t)
	for s := now - 1; s <= now+1; s++ {
		if s <= lastStep {
			continue
		}
		// All candidates are compared, and the latest match wins: if a code
		// happened to match two steps, returning the earlier one would let
		// the same code through again at the later step.
		if subtle.ConstantTimeCompare([]byte(hotp(secret, s, totpDigits)), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// TOTPURI returns the otpauth:// URI for enrolment, usually shown as a QR
// code, in the Key URI Format that authenticator apps read: the label
// "issuer:account", then secret, issuer, algorithm=SHA1, digits=6, period=30.
// The issuer appears in both places because older apps read only the label
// and newer ones prefer the parameter. An empty issuer leaves both out.
func TOTPURI(secret []byte, issuer, account string) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escapeLabel(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escapeLabel(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escapeQuery(issuer))
	}
	fmt.Fprintf(&b, "&algorithm=SHA1&digits=%d&period=%d", totpDigits, totpPeriod)
	return b.String()
}

// escapeLabel escapes one half of the label. A colon must be escaped because
// the literal one separates issuer from account, and "+" because some apps
// read it as a space; url.PathEscape leaves both alone.
func escapeLabel(s string) string {
	s = url.PathEscape(s) // a literal "%" is now "%25", so the replacements below are safe
	return strings.NewReplacer(":", "%3A", "+", "%2B").Replace(s)
}

// escapeQuery escapes a query value with %20 for spaces: the Key URI Format
// asks for RFC 3986 escaping, and some apps show a "+" literally.
func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") // a literal "+" is already "%2B"
}

// timeStep returns the RFC 6238 counter for t: whole periods since the Unix
// epoch, rounded down so times before 1970 do not share step 0.
func timeStep(t time.Time) int64 {
	u := t.Unix()
	s := u / totpPeriod
	if u%totpPeriod < 0 {
		s--
	}
	return s
}

// hotp returns the RFC 4226 HOTP value of counter with the given number of
// digits. Digits is a parameter only so the tests can use the RFC's 8-digit
// vectors.
func hotp(secret []byte, counter int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	// Dynamic truncation, RFC 4226 section 5.3.
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// isDigits reports whether s is exactly n ASCII digits.
func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
