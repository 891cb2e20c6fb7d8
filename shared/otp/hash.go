package otp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
)

// MinKeyLen is the shortest key NewHasher accepts: the output size of
// SHA-256, below which the key, not the hash, is the weak point.
const MinKeyLen = 32

// Hasher makes keyed hashes of codes and tokens, so the database never holds
// a usable code. A plain hash would not do: there are only a million 6-digit
// codes, and anyone with the table could try them all.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher for key; keys shorter than MinKeyLen bytes are
// an error. The key is copied, so the caller may wipe or reuse its slice.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("otp: hash key must be at least 32 bytes")
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash returns hex(HMAC-SHA256(key, purpose || 0x00 || id || 0x00 || secret)).
//
// Purpose (e.g. "login-sms") and id (e.g. the user or challenge ID) bind the
// hash to one use, so a code hashed for one purpose or user is useless for
// another. The NUL separators keep ("ab", "c") apart from ("a", "bc"); they
// rely on purpose and id never containing NUL themselves.
func (h *Hasher) Hash(purpose, id, secret string) string {
	return hex.EncodeToString(h.sum(purpose, id, secret))
}

// Equal reports, in constant time, whether hash is Hash(purpose, id, secret),
// so the time taken does not tell an attacker how much of a guess was right.
func (h *Hasher) Equal(hash, purpose, id, secret string) bool {
	want := h.Hash(purpose, id, secret)
	return subtle.ConstantTimeCompare([]byte(hash), []byte(want)) == 1
}

func (h *Hasher) sum(purpose, id, secret string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}
