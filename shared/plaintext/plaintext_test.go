package plaintext

import "testing"

func TestControl(t *testing.T) {
	for _, tc := range []struct {
		s         string
		multiline bool
		want      rune
		bad       bool
	}{
		{"みどり中央病院", false, 0, false},
		{"A-1 (東京)～", false, 0, false},
		{"a\x00b", false, 0, true},
		{"a\x1b[31m", false, 0x1b, true},
		{"a\r\nb", false, '\r', true},
		{"a\r\nb", true, 0, false},
		{"a\tb", true, '\t', true},
		{"a\u0085b", true, 0x85, true},
		{"a\u2028b", true, 0x2028, true},
		{"a\x7fb", false, 0x7f, true},
		{"a\xffb", false, 0xfffd, true},
		{"メンテ\u202e中", true, 0x202e, true},
		{"a\u2066b", false, 0x2066, true},
	} {
		got, bad := Control(tc.s, tc.multiline)
		if bad != tc.bad || (tc.want != 0 && got != tc.want) {
			t.Errorf("Control(%q, %v) = %U %v, want %U %v", tc.s, tc.multiline, got, bad, tc.want, tc.bad)
		}
	}
	if err := Check("message", "ok\nok", true); err != nil {
		t.Errorf("a line break in a multi-line field: %v", err)
	}
}
