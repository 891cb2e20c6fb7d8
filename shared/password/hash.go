package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters.
type Params struct {
	MemoryKiB   uint32 // memory per hash, in KiB
	Iterations  uint32 // passes over the memory
	Parallelism uint8  // lanes; also the number of goroutines argon2 uses
}

// DefaultParams are OWASP's recommended minimum for argon2id (Password
// Storage Cheat Sheet): m=19456 KiB (19 MiB), t=2, p=1. They suit a small
// function instance: one lane because the instance has few cores and more
// lanes would not make a login cheaper in total, little memory because each
// concurrent login holds it for the whole hash.
// Treat it as a constant; it is a variable only so that the struct can be
// written out. Changing it makes NeedsRehash true for every stored hash.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1}

// The sizes Hash uses. 16 bytes of salt and a 32-byte key are what RFC 9106
// recommends.
const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on what Verify accepts. An encoded hash names its own cost, so
// without them a corrupted or planted record such as m=4294967295 would make
// one login allocate 4 TiB or run for hours. They still admit every OWASP
// option and RFC 9106's second recommendation (64 MiB, t=3, p=4); the worst
// case they allow costs about one second and 64 MiB, which a small function
// instance survives.
const (
	maxMemoryKiB   = 64 * 1024
	maxIterations  = 10
	maxParallelism = 16
	minSaltLen     = 8 // RFC 9106's minimum
	maxSaltLen     = 64
	minKeyLen      = 16
	maxKeyLen      = 64
)

// Hash returns an argon2id hash of pw with DefaultParams in PHC string form:
// $argon2id$v=19$m=...,t=...,p=...$<salt b64>$<hash b64> (raw std base64, no
// padding), with a 16-byte random salt and a 32-byte key.
func Hash(pw string) (string, error) {
	return HashWith(pw, DefaultParams)
}

// HashWith hashes pw like Hash but with the given params, so that tests and
// benchmarks can use cheap or alternative costs. Params that Verify would
// refuse are refused here too, so every hash made can be checked.
func HashWith(pw string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(canonical(pw)), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	return encode(p, salt, key), nil
}

// canonical makes ¥ (U+00A5) and the backslash one character before
// hashing: the same key on a Japanese keyboard sends either, depending on
// the input mode, and the policy (seed 001) counts them as one symbol.
func canonical(pw string) string {
	return strings.ReplaceAll(pw, "\u00a5", "\\")
}

// Verify reports whether pw matches encoded, a hash made by Hash or
// HashWith. It hashes pw with the parameters recorded in encoded, so hashes
// made before DefaultParams changed still verify (see NeedsRehash). The
// keys are compared in constant time. A malformed encoding is an error,
// not a mismatch, because it means a broken record rather than a wrong
// password.
func Verify(encoded, pw string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(canonical(pw)), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// DefaultParams, or with other salt or key sizes than Hash uses. The caller
// re-hashes the password right after a successful Verify, the only moment
// it has the plain text. A malformed encoding needs a rehash too.
func NeedsRehash(encoded string) bool {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return true
	}
	return p != DefaultParams || len(salt) != saltLen || len(key) != keyLen
}

// DummyVerify spends the same time as Verify on a throwaway hash, so an
// unknown user ID costs what a known one does and response times do not
// tell an attacker which IDs exist. It goes through Verify itself, so the
// two cannot drift apart.
func DummyVerify(pw string) {
	dummy := encode(DefaultParams, make([]byte, saltLen), make([]byte, keyLen))
	_, _ = Verify(dummy, pw)
}

// validate checks p against the bounds Verify enforces and the minimums of
// argon2 itself, which otherwise panics or silently raises the memory.
func (p Params) validate() error {
	switch {
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("password: iterations %d outside 1..%d", p.Iterations, maxIterations)
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("password: parallelism %d outside 1..%d", p.Parallelism, maxParallelism)
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(p.Parallelism), maxMemoryKiB)
	}
	return nil
}

// paramString is the parameter field of the PHC string.
func (p Params) paramString() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism)
}

// encode writes the PHC string form.
func encode(p Params, salt, key []byte) string {
	return "$argon2id$v=19$" + p.paramString() + "$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
}

// decode parses what encode writes, and nothing else: every field must be
// in the exact form encode produces, so one hash has one spelling and a
// damaged record is noticed instead of half-read.
func decode(s string) (p Params, salt, key []byte, err error) {
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Params{}, nil, nil, errors.New("password: malformed hash: not in PHC string form")
	}
	if fields[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("password: malformed hash: algorithm %q is not argon2id", fields[1])
	}
	if fields[2] != "v=19" {
		return Params{}, nil, nil, fmt.Errorf("password: malformed hash: version %q is not v=19", fields[2])
	}
	if p, err = parseParams(fields[3]); err != nil {
		return Params{}, nil, nil, err
	}
	if salt, err = decodeB64(fields[4], "salt", minSaltLen, maxSaltLen); err != nil {
		return Params{}, nil, nil, err
	}
	if key, err = decodeB64(fields[5], "key", minKeyLen, maxKeyLen); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// parseParams reads "m=..,t=..,p=..", in that order and canonical decimal.
func parseParams(s string) (Params, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Params{}, fmt.Errorf("password: malformed hash: parameters %q", s)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(parts[i], name)
		if !ok {
			return Params{}, fmt.Errorf("password: malformed hash: parameters %q", s)
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return Params{}, fmt.Errorf("password: malformed hash: parameters %q", s)
		}
		vals[i] = n
	}
	p := Params{MemoryKiB: uint32(vals[0]), Iterations: uint32(vals[1]), Parallelism: uint8(vals[2])}
	// ParseUint accepts leading zeros; the round trip refuses them.
	if p.paramString() != s {
		return Params{}, fmt.Errorf("password: malformed hash: parameters %q", s)
	}
	if err := p.validate(); err != nil {
		return Params{}, fmt.Errorf("password: malformed hash: %w", err)
	}
	return p, nil
}

// decodeB64 decodes one field of the PHC string form (standard alphabet, no
// padding) and checks its length. The round trip refuses what the decoder
// tolerates, such as embedded line breaks and non-zero trailing bits.
func decodeB64(s, what string, minLen, maxLen int) ([]byte, error) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("password: malformed hash: %s is not raw standard base64", what)
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, fmt.Errorf("password: malformed hash: %s is %d bytes, want %d..%d", what, len(b), minLen, maxLen)
	}
	return b, nil
}
