// Package mailaddr checks the mail addresses typed into application forms.
//
// It accepts one bare address in the common dot-atom form and nothing that
// merely parses as a mail header (display names, comments, quoted local
// parts): those are legal in RFC 5322 but are mistakes when typed into an
// address field, and some mail services refuse them.
package mailaddr

import (
	"fmt"
	"strings"
	"unicode"
)

// Length limits from RFC 5321: 64 bytes of local part, and 254 for the whole
// address because a path is at most 256 bytes including the angle brackets.
const (
	maxLocalLen   = 64
	maxAddressLen = 254
	maxLabelLen   = 63 // RFC 1035
)

// Error is an address Normalize refused, with a message for the user in
// Japanese and one in English.
type Error struct {
	Message   string // Japanese, shown to the user
	MessageEn string // English
}

// Error returns the English message.
func (e *Error) Error() string { return e.MessageEn }

func newError(message, messageEn string) *Error {
	return &Error{Message: message, MessageEn: messageEn}
}

// Normalize trims spaces, folds full-width ASCII (＠, ．, letters, digits) to
// half width, lower-cases the domain, and checks the result is one bare
// address: local@domain, no display name, no comments, ASCII only, local part
// at most 64 bytes, whole at most 254, the domain with at least one dot,
// labels of letters, digits and hyphens not starting or ending with a hyphen,
// and a TLD of letters. It returns an *Error, in Japanese and English,
// naming what is wrong.
//
// The local part keeps its case: RFC 5321 lets the receiving server treat
// "Taro" and "taro" as different mailboxes.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(strings.Map(foldWidth, s))
	if err := checkCharacters(s); err != nil {
		return "", err
	}
	local, domain, err := split(s)
	if err != nil {
		return "", err
	}
	domain = strings.ToLower(domain)
	if err := checkLocal(local); err != nil {
		return "", err
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	addr := local + "@" + domain
	if len(addr) > maxAddressLen {
		return "", newError(fmt.Sprintf("メールアドレスが長すぎます（%d文字以内）。", maxAddressLen),
			fmt.Sprintf("the address is longer than %d characters", maxAddressLen))
	}
	return addr, nil
}

// foldWidth maps full-width ASCII (U+FF01 to U+FF5E) and the ideographic
// space to their ASCII forms, which is what a Japanese IME in full-width
// mode produces for an address typed on the ASCII keys.
func foldWidth(r rune) rune {
	switch {
	case r >= '！' && r <= '～':
		return r - '！' + '!'
	case r == '　':
		return ' '
	}
	return r
}

// checkCharacters refuses what is wrong with the address as a whole, most
// telling fault first: a display name or comment says the user pasted a
// header, which a message about "<" alone would not explain.
func checkCharacters(s string) error {
	switch {
	case s == "":
		return newError("メールアドレスを入力してください。", "enter a mail address")
	case strings.ContainsAny(s, "<>"):
		return newError("名前や「<>」を付けず、メールアドレスだけを入力してください。",
			"enter only the address, without a name or angle brackets")
	case strings.ContainsAny(s, "()"):
		return newError("「()」やコメントを付けず、メールアドレスだけを入力してください。",
			"enter only the address, without comments in parentheses")
	case strings.Contains(s, `"`):
		return newError("引用符（\"）を含むメールアドレスは使えません。", `addresses with quotation marks (") are not accepted`)
	case strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII }):
		return newError("メールアドレスに日本語や全角記号は使えません。",
			"the address must contain only ASCII letters, digits and symbols")
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return newError("メールアドレスに空白や制御文字は使えません。", "the address must not contain spaces or control characters")
	}
	return nil
}

// split cuts s at its one "@". With quoted local parts refused, a second
// "@" can only be a mistake, such as two addresses run together.
func split(s string) (local, domain string, err error) {
	switch strings.Count(s, "@") {
	case 0:
		return "", "", newError("メールアドレスに「@」がありません。", `the address has no "@"`)
	case 1:
	default:
		return "", "", newError("「@」は1つだけにしてください。", `the address has more than one "@"`)
	}
	local, domain, _ = strings.Cut(s, "@")
	if local == "" {
		return "", "", newError("「@」の前が空です。", `nothing before the "@"`)
	}
	if domain == "" {
		return "", "", newError("「@」の後ろにドメイン名を入力してください。", `no domain after the "@"`)
	}
	return local, domain, nil
}

// checkLocal checks the local part as an RFC 5322 dot-atom. Addresses with
// consecutive dots or a dot before the "@", once issued by some Japanese
// mobile carriers, are refused too: mail services such as Amazon SES reject
// them, so a code sent there would never arrive.
func checkLocal(local string) error {
	switch {
	case len(local) > maxLocalLen:
		return newError(fmt.Sprintf("「@」の前が長すぎます（%d文字以内）。", maxLocalLen),
			fmt.Sprintf(`the part before the "@" is longer than %d characters`, maxLocalLen))
	case strings.HasPrefix(local, "."):
		return newError("「@」の前の部分をドット（.）で始めることはできません。", `the part before the "@" must not start with a dot`)
	case strings.HasSuffix(local, "."):
		return newError("「@」の直前にドット（.）は使えません。", `the part before the "@" must not end with a dot`)
	case strings.Contains(local, ".."):
		return newError("ドット（.）を2つ以上続けることはできません。", "the address must not contain consecutive dots")
	}
	for _, c := range []byte(local) {
		if !isAtext(c) && c != '.' {
			return badChar(c)
		}
	}
	return nil
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	return isLetter(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDomain checks a lower-cased domain name: host-name labels, at least
// two of them, the last a TLD of letters. IP literals ("[192.0.2.1]") are
// refused with the other non-label characters.
func checkDomain(domain string) error {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return newError("「@」の後ろのドメイン名が正しくありません（例: example.jp）。",
			`the domain after the "@" must contain a dot, as in example.jp`)
	}
	for _, l := range labels {
		switch {
		case l == "":
			return newError("ドメイン名のドット（.）の位置が正しくありません。",
				"the domain has an empty part: a dot at the start or end, or two dots together")
		case len(l) > maxLabelLen:
			return newError("ドメイン名の一部が長すぎます。",
				fmt.Sprintf("a part of the domain is longer than %d characters", maxLabelLen))
		case l[0] == '-' || l[len(l)-1] == '-':
			return newError("ドメイン名の各部分はハイフン（-）で始めたり終えたりできません。",
				"a part of the domain must not start or end with a hyphen")
		}
		for _, c := range []byte(l) {
			if !isLetter(c) && !isDigit(c) && c != '-' {
				return badChar(c)
			}
		}
	}
	// A TLD is never all digits, so this also refuses a bare IPv4 address
	// such as "192.0.2.1"; none is a single letter either.
	if tld := labels[len(labels)-1]; len(tld) < 2 || strings.ContainsFunc(tld, func(r rune) bool { return !isLetter(byte(r)) }) {
		return newError("ドメイン名の最後（.jp や .com など）が正しくありません。",
			"the last part of the domain (such as .jp or .com) must be two or more letters")
	}
	return nil
}

// badChar names the offending character, which helps more than a bare
// "invalid address" when the fault is a stray comma or semicolon.
func badChar(c byte) *Error {
	return newError(fmt.Sprintf("メールアドレスに使えない文字「%c」が含まれています。", c),
		fmt.Sprintf("the address contains a character that is not allowed: %q", c))
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// Mask shows the first two characters of the local part and the domain:
// "ta***@example.jp"; a one-character local part shows one. The number of
// stars is fixed so the mask does not give away the length. A string without
// "@" is masked entirely.
func Mask(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "***"
	}
	local := []rune(addr[:at])
	return string(local[:min(2, len(local))]) + "***" + addr[at:]
}
