package csvio

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// NormalizeDigits folds full-width digits, full-width and other hyphen-like
// characters (－ ー ‐ − – — ｰ) to ASCII digits and '-', and full-width spaces
// to nothing at the ends; use it for numeric fields (codes, phone numbers,
// postal codes).
//
// The katakana prolonged sound mark ー is among the hyphens because Japanese
// IMEs turn the hyphen key into it in kana mode, which is how it ends up in
// phone numbers. ASCII spaces and tabs at the ends go too. Everything else,
// inner spaces included, is left for the caller's own validation.
func NormalizeDigits(s string) string {
	s = strings.TrimFunc(s, isEdgeSpace)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case '０' <= r && r <= '９':
			b.WriteByte(byte('0' + r - '０'))
		case isHyphen(r):
			b.WriteByte('-')
		default:
			// The original bytes, so that invalid UTF-8 is not changed here.
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isHyphen reports whether r is one of the dashes people type between the
// groups of a number.
func isHyphen(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', '－', '﹣', 'ー', 'ｰ':
		return true
	}
	return false
}

// isEdgeSpace reports whether r is a space that is trimmed from the ends of a
// value: ASCII white space and the ideographic space U+3000 that Japanese IMEs
// type.
func isEdgeSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\u3000':
		return true
	}
	return false
}

// NormalizeText folds full-width ASCII letters/digits/symbols to half width
// (NFKC-like width folding only for the ASCII range, keeping full-width kana
// and kanji as they are), converts half-width katakana to full-width, and
// trims spaces (ASCII and U+3000) at both ends.
//
// width.Fold is not used on the whole string because it also turns the
// ideographic space into an ASCII one and ￥ into ¥ (U+00A5), which is not in
// JIS X 0208; only U+FF01–U+FF5E are narrowed, so ～ becomes ~. Half-width
// voiced sound marks are joined to the kana before them (ｶﾞ → ガ, ﾊﾟ → パ), as
// are the combining marks U+3099 and U+309A (カ\u3099 → ガ, as macOS writes
// it); a half-width mark that has nothing to join becomes ゛ or ゜.
func NormalizeText(s string) string {
	out := make([]byte, 0, len(s))
	prev, prevAt := rune(-1), 0 // the last rune written and where it starts in out
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+size]
		i += size
		switch {
		case 0xFF01 <= r && r <= 0xFF5E: // full-width ASCII
			r = r - 0xFF01 + '!'
		case r == 0xFF9E || r == 0xFF9F || r == 0x3099 || r == 0x309A:
			mark := r
			if r >= 0xFF9E {
				mark = width.LookupRune(r).Wide() // the combining U+3099 or U+309A
			}
			if c, ok := composeKana(prev, mark); ok {
				out = utf8.AppendRune(out[:prevAt], c)
				prev = c
				continue
			}
			switch r {
			case 0xFF9E:
				r = '゛'
			case 0xFF9F:
				r = '゜'
			}
		case 0xFF61 <= r && r <= 0xFF9D: // half-width katakana and punctuation
			r = width.LookupRune(r).Wide()
		default:
			// The original bytes, so that invalid UTF-8 is not changed here.
			prev, prevAt = r, len(out)
			out = append(out, raw...)
			continue
		}
		prev, prevAt = r, len(out)
		out = utf8.AppendRune(out, r)
	}
	return strings.TrimFunc(string(out), isEdgeSpace)
}

// composeKana joins a kana and a combining voiced or semi-voiced sound mark
// into one precomposed kana, if there is one.
func composeKana(base, mark rune) (rune, bool) {
	// Only kana: NFC would also replace CJK compatibility ideographs, and
	// kanji are to stay as they are.
	if base < 0x3041 || base > 0x30FF {
		return 0, false
	}
	c := norm.NFC.String(string([]rune{base, mark}))
	r, size := utf8.DecodeRuneInString(c)
	if size != len(c) {
		return 0, false
	}
	return r, true
}

// InJISX0208 reports whether every rune of s is in JIS X 0208 (plus ASCII),
// i.e. no 環境依存文字 (machine-dependent characters): refuse runes the
// ShiftJIS encoder cannot encode, the NEC special characters of row 13 (SJIS
// 0x8740–0x879F: ①, Ⅰ, ㈱, ㍉ …), the NEC-selected IBM extensions (SJIS
// 0xED40–0xEEFC) and the IBM extensions (SJIS 0xFA40–0xFC4B), and half-width
// katakana (JIS X 0201, not 0208). It returns the first offending rune too.
//
// Such characters are garbled or missing on other systems and printers, so
// callers can ask for a replacement (髙 → 高, ① → 1) before storing a name.
// Invalid UTF-8 is refused with bad set to utf8.RuneError.
func InJISX0208(s string) (bad rune, ok bool) {
	enc := japanese.ShiftJIS.NewEncoder()
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < utf8.RuneSelf {
			continue
		}
		b, err := enc.Bytes(utf8.AppendRune(buf[:0], r))
		if err != nil || len(b) != 2 || !jisX0208Lead(b[0]) {
			// One byte for a non-ASCII rune is half-width katakana (or ¥ and
			// ‾, which read as ASCII in Shift_JIS): JIS X 0201, not 0208.
			return r, false
		}
	}
	return 0, true
}

// jisX0208Lead reports whether a Shift_JIS lead byte belongs to the rows of
// JIS X 0208: 0x81–0x84 (rows 1–8, symbols and kana) and 0x88–0x9F,
// 0xE0–0xEA (rows 16–84, kanji). The lead bytes in between are row 13 (NEC
// special characters), the NEC-selected and IBM extensions and the
// user-defined area.
func jisX0208Lead(b byte) bool {
	return (0x81 <= b && b <= 0x84) || (0x88 <= b && b <= 0x9F) || (0xE0 <= b && b <= 0xEA)
}
