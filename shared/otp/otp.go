// Package otp makes and checks the one-time codes of the login second factor:
// codes sent by mail or SMS, and TOTP codes from an authenticator app.
//
// Codes sent to the user are stored only as keyed hashes (see Hasher), so a
// copy of the database does not let anyone log in.
package otp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// codeSpace is the number of distinct 6-digit codes.
const codeSpace = 1_000_000

// NewCode returns a 6-digit code from crypto/rand, uniformly distributed,
// with leading zeros kept so every code has the same length.
func NewCode() (string, error) {
	// 2^32 is not a multiple of 10^6, so taking a random uint32 modulo 10^6
	// would favour the low codes slightly. Values at or above the largest
	// multiple of 10^6 are thrown away and drawn again (rejection sampling);
	// that happens with probability under 0.03%.
	const limit = (1 << 32) / codeSpace * codeSpace
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("otp: reading random bytes: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v < limit {
			return fmt.Sprintf("%06d", v%codeSpace), nil
		}
	}
}
