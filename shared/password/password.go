// Package password enforces the account password policy of the system's
// specification and stores passwords as argon2id hashes.
//
// The policy, in the specification's words and in the order Check reports it:
//
//   - パスワードの文字数は8～30文字 (length, counted in characters, not bytes).
//   - Only 英小文字 a-z, 英大文字 A-Z, 数字 1-9 and the symbols
//     @ # $ % ^ & * - ! + = [ ] { } | ¥ : ' , . ? / ` ~ " ( ) ; are allowed.
//     The specification lists the digits as 1-9, so "0" is refused. ¥ is
//     accepted both as U+00A5 and as the backslash, because a Japanese
//     keyboard labels the backslash key ¥ and sends a backslash.
//   - 英小文字、英大文字、数字、記号を、3種類以上組み合わせてください.
//   - 同じ文字を3文字以上連続して含めることはできません.
//   - 利用者IDと同じパスワードおよび現在と同じパスワードは使用できません.
//   - Not one of the commonly used passwords (OWASP ASVS 6.2.4), taken from
//     John the Ripper's password.lst, which is in the public domain.
//
// 英小文字と英大文字は区別されます: passwords are case-sensitive, so Check
// never folds case except where folding makes a rule stricter (user ID and
// common-password comparison).
package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The limits of the length rule, in runes.
const (
	minLength = 8
	maxLength = 30
)

// Rule names. They are part of Violation's contract with callers (the
// browser may key on them), so they never change.
const (
	ruleLength     = "length"
	ruleCharacters = "characters"
	ruleClasses    = "classes"
	ruleRepeat     = "repeat"
	ruleUserID     = "user_id"
	ruleCurrent    = "current"
	ruleCommon     = "common"
)

// symbols are the allowed 記号 exactly as the specification lists them, plus
// the backslash, which is how ¥ arrives from a Japanese keyboard.
const symbols = "@#$%^&*-!+=[]{}|¥:',.?/`~\"();\\"

// maxShown caps how many offending characters a message names, so that a
// pasted paragraph does not become a paragraph of error text.
const maxShown = 5

// Violation is one broken rule.
type Violation struct {
	Rule      string // "length", "characters", "classes", "repeat", "user_id", "current", "common"
	Message   string // Japanese, for the browser
	MessageEn string // English
}

// Check returns every rule pw breaks, in the order the package
// documentation lists them; none means acceptable. Every rule is checked
// even when an earlier one fails, so the user sees all problems at once
// rather than one per attempt.
//
// userID is the account's user ID; an empty userID skips that rule, because
// an empty password is already refused by length. isCurrent reports whether
// a candidate equals the user's current password (nil when there is none);
// it is a function so that the caller can compare against the stored hash
// without Check ever seeing it.
//
// Messages may quote characters from pw; the caller must escape them like
// any other user input before putting them into HTML.
func Check(pw, userID string, isCurrent func(string) bool) []Violation {
	var vs []Violation

	if n := utf8.RuneCountInString(pw); n < minLength || n > maxLength {
		vs = append(vs, Violation{
			Rule:      ruleLength,
			Message:   "パスワードは8文字以上30文字以下にしてください。",
			MessageEn: "The password must be 8 to 30 characters long.",
		})
	}

	if bad := disallowed(pw); len(bad) > 0 {
		vs = append(vs, Violation{
			Rule:      ruleCharacters,
			Message:   fmt.Sprintf("使用できない文字が含まれています（%s）。", listChars(bad, "、", "…", true)),
			MessageEn: fmt.Sprintf("The password contains characters that are not allowed (%s).", listChars(bad, ", ", ", ...", false)),
		})
	}

	if classes(pw) < 3 {
		vs = append(vs, Violation{
			Rule:      ruleClasses,
			Message:   "英小文字・英大文字・数字・記号のうち3種類以上を組み合わせてください。",
			MessageEn: "Combine at least three of lowercase letters, uppercase letters, digits and symbols.",
		})
	}

	if hasTriple(pw) {
		vs = append(vs, Violation{
			Rule:      ruleRepeat,
			Message:   "同じ文字を3文字以上連続して使用できません。",
			MessageEn: "The same character cannot appear three or more times in a row.",
		})
	}

	// Case-insensitive although passwords are case-sensitive: "Taro.Yamada1"
	// for user "taro.yamada1" is no harder to guess than the ID itself.
	if userID != "" && strings.EqualFold(pw, userID) {
		vs = append(vs, Violation{
			Rule:      ruleUserID,
			Message:   "利用者IDと同じパスワードは使用できません。",
			MessageEn: "The password cannot be the same as the user ID.",
		})
	}

	if isCurrent != nil && isCurrent(pw) {
		vs = append(vs, Violation{
			Rule:      ruleCurrent,
			Message:   "現在と同じパスワードは使用できません。",
			MessageEn: "The password cannot be the same as the current one.",
		})
	}

	if isCommon(pw) {
		vs = append(vs, Violation{
			Rule:      ruleCommon,
			Message:   "よく使われるパスワードのため使用できません。",
			MessageEn: "This password is too common to be used.",
		})
	}

	return vs
}

// allowedRune reports whether r may appear in a password.
func allowedRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '1' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune(symbols, r)
}

// disallowed returns the runes of pw that are not allowed, each once, in the
// order they first appear. It stops after maxShown+1 of them: that is all a
// message needs (the extra one says "there are more"), and it keeps the
// duplicate search cheap however long and varied a hostile input is. An
// invalid UTF-8 byte comes back as utf8.RuneError, which is never allowed.
func disallowed(pw string) []rune {
	var bad []rune
	for _, r := range pw {
		if !allowedRune(r) && !containsRune(bad, r) {
			bad = append(bad, r)
			if len(bad) > maxShown {
				break
			}
		}
	}
	return bad
}

// containsRune is a linear search, which is fastest for the few runes
// disallowed collects.
func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// listChars renders up to maxShown runes for a message. Characters that
// would be invisible or confusing in print (spaces, controls, broken bytes)
// are named instead, so that the user can tell what to remove.
func listChars(rs []rune, sep, more string, ja bool) string {
	parts := make([]string, 0, maxShown)
	for i, r := range rs {
		if i == maxShown {
			return strings.Join(parts, sep) + more
		}
		parts = append(parts, describeRune(r, ja))
	}
	return strings.Join(parts, sep)
}

// describeRune names r for a message; see listChars.
func describeRune(r rune, ja bool) string {
	switch {
	case r == ' ':
		if ja {
			return "半角スペース"
		}
		return "space"
	case r == '\u3000':
		if ja {
			return "全角スペース"
		}
		return "full-width space"
	case r == utf8.RuneError:
		if ja {
			return "不正な文字"
		}
		return "invalid character"
	case !unicode.IsGraphic(r) || unicode.IsSpace(r):
		return fmt.Sprintf("U+%04X", r)
	}
	return string(r)
}

// classes counts the character classes of pw among lowercase, uppercase,
// digits and symbols. Only allowed characters count, so "0" is no digit and
// a refused character cannot help a password pass this rule.
func classes(pw string) int {
	var lower, upper, digit, symbol bool
	for _, r := range pw {
		switch {
		case 'a' <= r && r <= 'z':
			lower = true
		case 'A' <= r && r <= 'Z':
			upper = true
		case '1' <= r && r <= '9':
			digit = true
		case strings.ContainsRune(symbols, r):
			symbol = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n
}

// hasTriple reports whether pw holds the same character three times in a
// row. Case matters ("aAa" is fine), but ¥ and the backslash count as one
// character, because the user sees the same key and the same glyph.
func hasTriple(pw string) bool {
	var prev rune
	run := 0
	for _, r := range pw {
		if r == '\\' {
			r = '¥'
		}
		if run > 0 && r == prev {
			run++
		} else {
			prev, run = r, 1
		}
		if run >= 3 {
			return true
		}
	}
	return false
}
