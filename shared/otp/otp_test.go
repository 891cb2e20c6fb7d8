package otp

import (
	"strings"
	"testing"
)

func TestNewCode(t *testing.T) {
	const n = 10_000
	firstDigits := map[byte]int{}
	for range n {
		code, err := NewCode()
		if err != nil {
			t.Fatalf("NewCode: %v", err)
		}
		if !isDigits(code, 6) {
			t.Fatalf("NewCode() = %q, want 6 ASCII digits", code)
		}
		firstDigits[code[0]]++
	}
	// Leading zeros must be kept, and no first digit may be missing: with
	// 10,000 uniform draws each digit is expected about 1,000 times, so a
	// missing one means a bug, not bad luck.
	for d := byte('0'); d <= '9'; d++ {
		if firstDigits[d] == 0 {
			t.Errorf("first digit %c never appeared in %d codes: %v", d, n, firstDigits)
		}
	}
}

func TestHasher(t *testing.T) {
	key := []byte(strings.Repeat("k", MinKeyLen))
	h, err := NewHasher(key)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	base := h.Hash("login-sms", "user-1", "123456")
	if len(base) != 64 {
		t.Errorf("len(Hash) = %d, want 64 hex characters", len(base))
	}
	if again := h.Hash("login-sms", "user-1", "123456"); again != base {
		t.Errorf("Hash is not deterministic: %q then %q", base, again)
	}

	t.Run("differs", func(t *testing.T) {
		for _, tc := range []struct {
			name, purpose, id, secret string
		}{
			{"other purpose", "login-mail", "user-1", "123456"},
			{"other id", "login-sms", "user-2", "123456"},
			{"other secret", "login-sms", "user-1", "123457"},
			{"separator shifted left", "login-sm", "suser-1", "123456"},
			{"separator shifted right", "login-sms", "user-11", "23456"},
			{"empty secret", "login-sms", "user-1", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := h.Hash(tc.purpose, tc.id, tc.secret); got == base {
					t.Errorf("Hash(%q, %q, %q) = Hash(login-sms, user-1, 123456)", tc.purpose, tc.id, tc.secret)
				}
			})
		}
	})

	t.Run("other key", func(t *testing.T) {
		other, err := NewHasher([]byte(strings.Repeat("j", MinKeyLen)))
		if err != nil {
			t.Fatalf("NewHasher: %v", err)
		}
		if got := other.Hash("login-sms", "user-1", "123456"); got == base {
			t.Error("two keys give the same hash")
		}
	})

	t.Run("key copied", func(t *testing.T) {
		k := []byte(strings.Repeat("k", MinKeyLen))
		h2, err := NewHasher(k)
		if err != nil {
			t.Fatalf("NewHasher: %v", err)
		}
		k[0] = 'x'
		if got := h2.Hash("login-sms", "user-1", "123456"); got != base {
			t.Error("changing the caller's key slice changed the Hasher")
		}
	})

	t.Run("Equal", func(t *testing.T) {
		for _, tc := range []struct {
			name, hash, purpose, id, secret string
			want                            bool
		}{
			{"match", base, "login-sms", "user-1", "123456", true},
			{"wrong code", base, "login-sms", "user-1", "654321", false},
			{"wrong purpose", base, "login-mail", "user-1", "123456", false},
			{"wrong id", base, "login-sms", "user-2", "123456", false},
			{"truncated hash", base[:63], "login-sms", "user-1", "123456", false},
			{"upper-case hash", strings.ToUpper(base), "login-sms", "user-1", "123456", false},
			{"empty hash", "", "login-sms", "user-1", "123456", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := h.Equal(tc.hash, tc.purpose, tc.id, tc.secret); got != tc.want {
					t.Errorf("Equal = %v, want %v", got, tc.want)
				}
			})
		}
	})
}

func TestNewHasherKeyLength(t *testing.T) {
	for _, tc := range []struct {
		name    string
		keyLen  int
		wantErr bool
	}{
		{"nil", 0, true},
		{"16 bytes", 16, true},
		{"31 bytes", 31, true},
		{"32 bytes", 32, false},
		{"64 bytes", 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var key []byte
			if tc.keyLen > 0 {
				key = make([]byte, tc.keyLen)
			}
			h, err := NewHasher(key)
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("NewHasher(%d bytes) error = %v, want error %v", tc.keyLen, err, tc.wantErr)
			}
			if err == nil && h == nil {
				t.Error("NewHasher returned nil Hasher and nil error")
			}
		})
	}
}
