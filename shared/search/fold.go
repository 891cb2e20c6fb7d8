// Package search finds hospitals that can accept patients (seed 000): the
// per-institution read model's entries, the folding of names and kana so
// that however a name is typed it is found, the filters, the sorts, the
// cursor and what each caller may see of each institution.
package search

import (
	"strings"

	"github.com/gmis-oss/gmis/shared/csvio"
)

// Fold is the search form of a name, its kana or a query: width-folded
// (ﾄｳｷｮｳ → トウキョウ, full-width digits and letters → ASCII), katakana as
// hiragana, ASCII in lower case, without spaces and without the long-vowel
// mark (ー). The read model stores the folded name and kana; a query is
// folded the same way and matched as a substring.
func Fold(s string) string {
	s = csvio.NormalizeText(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '\u3000' || r == 'ー' || r == '－' || r == '‐':
			continue
		case 'ァ' <= r && r <= 'ヶ':
			r -= 0x60 // ァ (U+30A1) → ぁ (U+3041), through ヶ
		case 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
