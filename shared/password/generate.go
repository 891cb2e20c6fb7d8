package password

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// The alphabet of generated passwords. An initial password is read off a
// letter or a spreadsheet and typed in by hand, so look-alikes are left out:
// l and I (both like 1), O and o (like 0; 0 itself is not allowed). The
// symbols are a subset that needs no quoting in CSV, is no formula in
// Excel, and survives mail templates; the first character is never a
// symbol anyway, because Excel reads a leading =, +, - or @ as a formula.
const (
	genLower   = "abcdefghijkmnpqrstuvwxyz"
	genUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genDigits  = "123456789"
	genSymbols = "#$%&!?*"
	genFirst   = genLower + genUpper + genDigits
	genAll     = genFirst + genSymbols
)

// genLength is the length of a generated password: twelve draws from 64
// characters (57 for the first) give about 70 bits even after discarding
// candidates without all four classes, ample for a password that is
// replaced at first login.
const genLength = 12

// genAttempts bounds the retries of Generate. More than half of all draws
// have all four classes, so running out means the random source is broken,
// not bad luck.
const genAttempts = 100

// Generate returns a random initial password that passes Check: 12
// characters with all four classes, no look-alikes, no leading symbol and
// no character three times in a row. It draws from crypto/rand with
// rejection sampling, so every character of the alphabet is equally likely.
// Whole candidates that miss a rule are drawn again rather than patched,
// because patching would make some passwords more likely than others.
func Generate() (string, error) {
	src := &randBytes{}
	buf := make([]byte, genLength)
	for range genAttempts {
		for i := range buf {
			alphabet := genAll
			if i == 0 {
				alphabet = genFirst
			}
			j, err := src.index(len(alphabet))
			if err != nil {
				return "", err
			}
			buf[i] = alphabet[j]
		}
		pw := string(buf)
		if classes(pw) == 4 && len(Check(pw, "", nil)) == 0 {
			return pw, nil
		}
	}
	return "", errors.New("password: no acceptable password generated; random source suspect")
}

// randBytes hands out bytes from crypto/rand, read in blocks to keep the
// number of reads low.
type randBytes struct {
	buf [64]byte
	pos int // next unread byte
	end int // bytes read so far into buf; zero before the first read
}

// index returns a uniform random integer in [0, n) for 0 < n <= 256. Bytes
// at or above the largest multiple of n are discarded, because keeping them
// would make the low values more likely (modulo bias).
func (r *randBytes) index(n int) (int, error) {
	limit := 256 - 256%n
	for {
		if r.pos == r.end {
			if _, err := rand.Read(r.buf[:]); err != nil {
				return 0, fmt.Errorf("password: reading random bytes: %w", err)
			}
			r.pos, r.end = 0, len(r.buf)
		}
		b := int(r.buf[r.pos])
		r.pos++
		if b < limit {
			return b % n, nil
		}
	}
}
