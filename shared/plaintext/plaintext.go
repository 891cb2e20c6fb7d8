// Package plaintext holds the rule every text a person types must follow:
// no control characters (NUL, ESC, DEL, the C1 range, direction
// overrides …), which printers,
// Excel and other systems mangle or choke on, and no line breaks except
// in the few fields that are several lines by nature.
package plaintext

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// Control returns the first control character of s, and whether there is
// one; multiline lets CR and LF through. Invalid UTF-8 counts as a control
// character (utf8.RuneError): it cannot be shown either.
func Control(s string, multiline bool) (rune, bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			return r, true
		case multiline && (r == '\n' || r == '\r'):
		case unicode.IsControl(r), r == '\u2028', r == '\u2029',
			// Direction overrides make text read differently from how it
			// is stored (a message or name shown backwards).
			unicode.Is(unicode.Bidi_Control, r):
			return r, true
		}
	}
	return 0, false
}

// Check is Control as an Invalid error naming field.
func Check(field, s string, multiline bool) error {
	r, bad := Control(s, multiline)
	if !bad {
		return nil
	}
	ja, en := Reason(r, multiline)
	return apperr.InvalidField(field, field+"："+ja, field+": "+en)
}

// Reason explains a refused control character r in Japanese and English.
func Reason(r rune, multiline bool) (string, string) {
	if multiline {
		return fmt.Sprintf("改行以外の制御文字（U+%04X）は使えません。", r), fmt.Sprintf("control character U+%04X is not allowed (line breaks are)", r)
	}
	return fmt.Sprintf("制御文字（U+%04X：改行・タブ・NUL など）は使えません。", r), fmt.Sprintf("control character U+%04X (line break, tab, NUL …) is not allowed", r)
}
