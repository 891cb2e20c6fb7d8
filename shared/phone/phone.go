// Package phone reads the Japanese phone numbers people type into forms, for
// sending login codes by SMS or voice call.
//
// Only numbers that can receive a code are accepted: landlines, mobiles and
// 050 IP phones. Free dial, navi dial, premium and other service numbers are
// refused, as are foreign numbers, which the system does not send to.
package phone

import (
	"strings"
	"unicode"
)

// Number is a Japanese phone number.
type Number struct {
	National string // digits with the leading 0, e.g. "09012345678"
	E164     string // "+819012345678"
	Mobile   bool   // 070/080/090 (and 060) mobile numbers, which can receive SMS
}

// Error is a number Parse refused, with a message for the user in Japanese
// and one in English.
type Error struct {
	Message   string // Japanese, shown to the user
	MessageEn string // English
}

// Error returns the English message.
func (e *Error) Error() string { return e.MessageEn }

func newError(message, messageEn string) *Error {
	return &Error{Message: message, MessageEn: messageEn}
}

// Parse accepts what people type: half- and full-width digits, hyphens of
// every kind (-, ‐, −, －, ー), spaces, parentheses, and the +81 / 81
// prefixes (with or without the trunk 0 after +81). It returns an *Error with
// a Japanese and an English message when the input is not a Japanese number
// that can receive a code: wrong length, not starting with 0, a foreign
// country code, letters, or a service number such as free dial.
func Parse(s string) (Number, error) {
	digits, plus, err := cleanDigits(s)
	if err != nil {
		return Number{}, err
	}
	if digits == "" {
		return Number{}, newError("電話番号を入力してください。", "enter a phone number")
	}
	national, err := toNational(digits, plus)
	if err != nil {
		return Number{}, err
	}
	mobile, err := checkNational(national)
	if err != nil {
		return Number{}, err
	}
	return Number{National: national, E164: "+81" + national[1:], Mobile: mobile}, nil
}

// cleanDigits drops the separators people type and folds full-width digits,
// returning the ASCII digits and whether the number began with "+".
func cleanDigits(s string) (digits string, plus bool, err error) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune(r - '０' + '0')
		case (r == '+' || r == '＋') && i == 0:
			plus = true
		case isSeparator(r):
			// dropped: only the digits carry meaning
		case r == '+' || r == '＋':
			return "", false, newError("「+」は番号の先頭にだけ付けられます。", `"+" may appear only at the start of the number`)
		default:
			return "", false, newError("電話番号には数字とハイフンだけを使ってください。", "a phone number may contain only digits and hyphens")
		}
	}
	return b.String(), plus, nil
}

// isSeparator reports whether r is one of the hyphens, spaces or parentheses
// people put between the groups of a number. The katakana prolonged sound
// mark "ー" is among them because Japanese IMEs turn the hyphen key into it.
func isSeparator(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', '－', '﹣', 'ー', 'ｰ',
		'(', ')', '（', '）':
		return true
	}
	return unicode.IsSpace(r)
}

// toNational turns the digits into the national form with the leading trunk
// 0, taking off a +81 or 81 country code.
func toNational(digits string, plus bool) (string, error) {
	// A national number starts with 0, so a leading 81 can only be the
	// country code, with or without the "+".
	if rest, ok := strings.CutPrefix(digits, "81"); ok {
		// "+81 (0)90..." is common in signatures: the trunk 0 is dropped once.
		return "0" + strings.TrimPrefix(rest, "0"), nil
	}
	switch {
	case plus:
		return "", newError("日本の電話番号（+81）を入力してください。海外の番号には送信できません。",
			"enter a Japanese number (+81); codes cannot be sent to other countries")
	case !strings.HasPrefix(digits, "0"):
		return "", newError("電話番号は0から始まる番号を入力してください。", "a phone number must start with 0")
	}
	return digits, nil
}

// checkNational checks the length and prefix of a national number (leading
// 0 included) and reports whether it is a mobile number.
func checkNational(n string) (mobile bool, err error) {
	switch {
	case strings.HasPrefix(n, "00"), strings.HasPrefix(n, "010"):
		// 00XY picks a carrier and 010 dials abroad: what follows is not a
		// Japanese subscriber number.
		return false, newError("国際電話の識別番号や事業者識別番号を付けずに入力してください。",
			"enter the number without an international or carrier prefix")
	case strings.HasPrefix(n, "0120"), strings.HasPrefix(n, "0800"):
		return false, newError("フリーダイヤルの番号には確認コードを送れません。", "free dial numbers cannot receive codes")
	case strings.HasPrefix(n, "0570"):
		return false, newError("ナビダイヤルの番号には確認コードを送れません。", "navi dial numbers cannot receive codes")
	case strings.HasPrefix(n, "0990"), strings.HasPrefix(n, "0180"), strings.HasPrefix(n, "0170"):
		// 0990 premium rate, 0180 telephone information, 0170 message
		// services: like 0120 and 0570 these 0AB0 numbers reach a service,
		// not a subscriber.
		return false, newError("この番号には確認コードを送れません。携帯電話か固定電話の番号を入力してください。",
			"service numbers cannot receive codes; enter a mobile or landline number")
	case len(n) < 10:
		return false, newError("電話番号の桁数が足りません。市外局番から入力してください。",
			"the phone number is too short; include the area code")
	case n[2] == '0':
		return checkNonGeographic(n)
	case len(n) != 10:
		return false, newError("固定電話の番号は市外局番から10桁で入力してください。",
			"a landline number has 10 digits including the area code")
	}
	return false, nil
}

// checkNonGeographic checks a number starting 0X0, which is never an area
// code: 050 IP phones and 060/070/080/090 mobiles have 11 digits; the other
// 0X0 blocks (020 pagers and M2M, 030 and 040 unassigned) cannot receive a
// code.
func checkNonGeographic(n string) (mobile bool, err error) {
	switch n[1] {
	case '5', '6', '7', '8', '9':
		if len(n) != 11 {
			return false, newError("携帯電話・IP電話の番号は11桁で入力してください。",
				"a mobile or IP phone number has 11 digits")
		}
		return n[1] != '5', nil
	}
	return false, newError("この番号には確認コードを送れません。携帯電話か固定電話の番号を入力してください。",
		"this number cannot receive codes; enter a mobile or landline number")
}

// Mask shows only the last four digits: "***-****-5678". The hidden groups
// always have the same shape, so the mask does not give away the length or
// the kind of number either.
func Mask(n Number) string {
	if len(n.National) < 4 {
		return "***-****-****"
	}
	return "***-****-" + n.National[len(n.National)-4:]
}
