package password

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// cheap returns params that keep the hash tests fast; the cost does not
// change what they test.
func cheap() Params {
	return Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}
}

// mustHashWith hashes pw or fails the test.
func mustHashWith(t testing.TB, pw string, p Params) string {
	t.Helper()
	h, err := HashWith(pw, p)
	if err != nil {
		t.Fatalf("HashWith(%q, %+v) error = %v", pw, p, err)
	}
	return h
}

// Hashes made by the reference implementation (libargon2 1.0 via
// argon2id_hash_encoded, salt "0123456789abcdef"), to show that Verify reads
// hashes it did not write.
const (
	refDefault = "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$NRPNta5b8uAzs7vs7lids5+WzM43NIrhev/qy8b9oN0" // "Secret#Pass9"
)

func TestHashFormat(t *testing.T) {
	h, err := Hash("Secret#Pass9")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)
	m := re.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("Hash() = %q, want match for %s", h, re)
	}
	for i, want := range []int{saltLen, keyLen} {
		b, err := base64.RawStdEncoding.DecodeString(m[i+1])
		if err != nil || len(b) != want {
			t.Errorf("field %q decodes to %d bytes (err %v), want %d", m[i+1], len(b), err, want)
		}
	}
	again, err := Hash("Secret#Pass9")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	if again == h {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", h)
	}
}

func TestVerify(t *testing.T) {
	defaultHash, err := Hash("Secret#Pass9")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	tests := []struct {
		name    string
		encoded string
		pw      string
		want    bool
	}{
		{name: "default params", encoded: defaultHash, pw: "Secret#Pass9", want: true},
		{name: "default params, wrong password", encoded: defaultHash, pw: "Secret#Pass8", want: false},
		{name: "case matters", encoded: defaultHash, pw: "secret#pass9", want: false},
		{name: "cheap params", encoded: mustHashWith(t, "Abcdefg1", cheap()), pw: "Abcdefg1", want: true},
		{name: "cheap params, wrong password", encoded: mustHashWith(t, "Abcdefg1", cheap()), pw: "Abcdefg2", want: false},
		{name: "empty password", encoded: mustHashWith(t, "", cheap()), pw: "", want: true},
		{name: "empty is not a prefix", encoded: mustHashWith(t, "Abcdefg1", cheap()), pw: "", want: false},
		{name: "multi-byte", encoded: mustHashWith(t, "パスワード¥x", cheap()), pw: "パスワード¥x", want: true},
		// Hashing is byte-exact: ¥ (U+00A5) and the backslash are one
		// character to the policy but two to the hash.
		{name: "reference default", encoded: refDefault, pw: "Secret#Pass9", want: true},
		{name: "reference default, wrong", encoded: refDefault, pw: "Secret#Pass", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.encoded, tt.pw)
			if err != nil {
				t.Fatalf("Verify(%q, %q) error = %v", tt.encoded, tt.pw, err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q, %q) = %v, want %v", tt.encoded, tt.pw, got, tt.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	// Salt "0123456789abcdef" and a 32-byte key, spelled as encode spells them.
	const (
		salt = "MDEyMzQ1Njc4OWFiY2RlZg"
		key  = "dtgTwT5DErqly9LV2eAClPLmwFVrzXg6ddYcHXmNdP4"
	)
	tests := []struct {
		name    string
		encoded string
	}{
		{name: "empty", encoded: ""},
		{name: "plain text", encoded: "Secret#Pass9"},
		{name: "no leading dollar", encoded: "argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + key},
		{name: "missing field", encoded: "$argon2id$m=64,t=1,p=2$" + salt + "$" + key},
		{name: "extra field", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + key + "$"},
		{name: "argon2i", encoded: "$argon2i$v=19$m=64,t=1,p=2$" + salt + "$" + key},
		{name: "bcrypt", encoded: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "old version", encoded: "$argon2id$v=16$m=64,t=1,p=2$" + salt + "$" + key},
		{name: "no version", encoded: "$argon2id$m=64,t=1,p=2$" + salt + "$" + key + "$x"},
		{name: "params out of order", encoded: "$argon2id$v=19$t=1,m=64,p=2$" + salt + "$" + key},
		{name: "params missing", encoded: "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{name: "params with spaces", encoded: "$argon2id$v=19$m=64, t=1, p=2$" + salt + "$" + key},
		{name: "leading zero", encoded: "$argon2id$v=19$m=064,t=1,p=2$" + salt + "$" + key},
		{name: "plus sign", encoded: "$argon2id$v=19$m=+64,t=1,p=2$" + salt + "$" + key},
		{name: "negative", encoded: "$argon2id$v=19$m=64,t=-1,p=2$" + salt + "$" + key},
		{name: "zero iterations", encoded: "$argon2id$v=19$m=64,t=0,p=2$" + salt + "$" + key},
		{name: "zero parallelism", encoded: "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{name: "parallelism over uint8", encoded: "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key},
		{name: "memory below 8 per lane", encoded: "$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key},
		{name: "memory over uint32", encoded: "$argon2id$v=19$m=4294967296,t=1,p=2$" + salt + "$" + key},
		{name: "memory too large to spend", encoded: "$argon2id$v=19$m=4294967295,t=1,p=2$" + salt + "$" + key},
		{name: "iterations too many to spend", encoded: "$argon2id$v=19$m=64,t=4294967295,p=2$" + salt + "$" + key},
		{name: "padded salt", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt + "==$" + key},
		{name: "URL alphabet", encoded: "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$NRPNta5b8uAzs7vs7lids5-WzM43NIrhev_qy8b9oN0"},
		{name: "line break in key", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + key[:20] + "\n" + key[20:]},
		{name: "trailing bits set", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt[:21] + "h$" + key},
		{name: "empty salt", encoded: "$argon2id$v=19$m=64,t=1,p=2$$" + key},
		{name: "salt too short", encoded: "$argon2id$v=19$m=64,t=1,p=2$MDEyMzQ2$" + key},
		{name: "key too short", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$MDEyMzQ2"},
		{name: "key too long", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + strings.Repeat("A", 88)},
		{name: "trailing newline", encoded: "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + key + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.encoded, "パスワード¥x")
			if err == nil {
				t.Errorf("Verify(%q) = %v, nil; want an error", tt.encoded, got)
			}
			if got {
				t.Errorf("Verify(%q) = true for a malformed hash", tt.encoded)
			}
			if !NeedsRehash(tt.encoded) {
				t.Errorf("NeedsRehash(%q) = false for a malformed hash", tt.encoded)
			}
		})
	}
}

func TestHashWithInvalidParams(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{name: "zero", p: Params{}},
		{name: "zero iterations", p: Params{MemoryKiB: 64, Iterations: 0, Parallelism: 1}},
		{name: "zero parallelism", p: Params{MemoryKiB: 64, Iterations: 1, Parallelism: 0}},
		{name: "memory below 8 per lane", p: Params{MemoryKiB: 31, Iterations: 1, Parallelism: 4}},
		{name: "memory above the bound", p: Params{MemoryKiB: maxMemoryKiB + 1, Iterations: 1, Parallelism: 1}},
		{name: "iterations above the bound", p: Params{MemoryKiB: 64, Iterations: maxIterations + 1, Parallelism: 1}},
		{name: "parallelism above the bound", p: Params{MemoryKiB: 1024, Iterations: 1, Parallelism: maxParallelism + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := HashWith("Abcdefg1", tt.p); err == nil {
				t.Errorf("HashWith(%+v) = %q, nil; want an error", tt.p, got)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	current, err := Hash("Abcdefg1")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	zeroSalt := make([]byte, saltLen)
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{name: "Hash", encoded: current, want: false},
		{name: "reference with default params", encoded: refDefault, want: false},
		{name: "cheaper memory", encoded: mustHashWith(t, "Abcdefg1", Params{MemoryKiB: 1024, Iterations: 2, Parallelism: 1}), want: true},
		{name: "other iterations", encoded: mustHashWith(t, "Abcdefg1", Params{MemoryKiB: 64, Iterations: 3, Parallelism: 1}), want: true},
		{name: "other parallelism", encoded: mustHashWith(t, "Abcdefg1", Params{MemoryKiB: 64, Iterations: 1, Parallelism: 2}), want: true},
		{name: "longer key", encoded: encode(DefaultParams, zeroSalt, make([]byte, 64)), want: true},
		{name: "shorter salt", encoded: encode(DefaultParams, zeroSalt[:8], make([]byte, keyLen)), want: true},
		{name: "malformed", encoded: "$argon2id$v=19$m=19456,t=2,p=1$", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRehash(tt.encoded); got != tt.want {
				t.Errorf("NeedsRehash(%q) = %v, want %v", tt.encoded, got, tt.want)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	// Nothing to observe but that it runs through Verify without trouble:
	// the throwaway hash must itself be well-formed, or DummyVerify would
	// return early and be faster than a real Verify.
	dummy := encode(DefaultParams, make([]byte, saltLen), make([]byte, keyLen))
	if _, err := Verify(dummy, "x"); err != nil {
		t.Fatalf("the dummy hash is malformed: %v", err)
	}
	DummyVerify("Abcdefg1")
}

// FuzzVerify feeds arbitrary encodings to Verify, which must neither panic
// nor accept a malformed one as a match, and NeedsRehash must ask for a new
// hash wherever Verify found the old one malformed.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		refDefault,
		"$argon2id$v=19$m=64,t=1,p=2$MDEyMzQ1Njc4OWFiY2RlZg$dtgTwT5DErqly9LV2eAClPLmwFVrzXg6ddYcHXmNdP4",
		"$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$dtgTwT5DErqly9LV2eAClPLmwFVrzXg6ddYcHXmNdP4",
		"$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc$MDEyMzQ1Njc4OWFiY2RlZg",
		"", "$", "$$$$$", "$argon2id$v=19$m=,t=,p=$$", "$argon2id$v=19$m=0,t=0,p=0$$",
	} {
		f.Add(s, "パスワード¥x")
	}
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		ok, err := Verify(encoded, pw)
		if err != nil && ok {
			t.Fatalf("Verify(%q) = true with error %v", encoded, err)
		}
		if err != nil && !NeedsRehash(encoded) {
			t.Fatalf("NeedsRehash(%q) = false for an encoding Verify refuses: %v", encoded, err)
		}
	})
}

// The hash benchmarks measure what one login costs. On the development
// machine (2 cores, AMD EPYC, linux/amd64, go1.26.8; -benchtime 100x
// -count 3 -benchmem) they gave:
//
//	BenchmarkHash          19.2–20.7 ms/op   19.0 MiB/op   31 allocs/op
//	BenchmarkVerify        19.3–19.9 ms/op   19.0 MiB/op   34 allocs/op
//	BenchmarkDummyVerify   19.7–20.2 ms/op   19.0 MiB/op   40 allocs/op
//
// DummyVerify costs what Verify does, which is its purpose. With p=1 one
// hash uses one core, so a second core serves a second login rather than
// speeding up the first. The functions run on arm64, where argon2 has no
// assembly; with -tags purego, the same Go code, this machine took about
// 28 ms/op. Measure on the real instance before changing DefaultParams.
func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("Secret#Pass9"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h, err := Hash("Secret#Pass9")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify(h, "Secret#Pass9"); !ok || err != nil {
			b.Fatalf("Verify() = %v, %v; want true, nil", ok, err)
		}
	}
}

func BenchmarkDummyVerify(b *testing.B) {
	for b.Loop() {
		DummyVerify("Secret#Pass9")
	}
}

func BenchmarkCheck(b *testing.B) {
	for b.Loop() {
		Check("Password1", "yamada.taro", nil)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestYenAndBackslashAreOne: a password set with ¥ logs in typed with the
// backslash a Japanese keyboard sends, and the other way round.
func TestYenAndBackslashAreOne(t *testing.T) {
	cheap := Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}
	for _, tc := range []struct{ set, typed string }{
		{"Abc\u00a5def9", "Abc\\def9"},
		{"Abc\\def9", "Abc\u00a5def9"},
	} {
		hash, err := HashWith(tc.set, cheap)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := Verify(hash, tc.typed); err != nil || !ok {
			t.Errorf("Verify(hash of %q, %q) = %v, %v; want true", tc.set, tc.typed, ok, err)
		}
	}
}
