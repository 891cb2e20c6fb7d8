package csvio

import (
	"testing"
	"unicode/utf8"
)

func TestNormalizeDigits(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"full-width phone with long mark", "０９０－１２３４ー５６７８", "090-1234-5678"},
		{"ASCII unchanged", "090-1234-5678", "090-1234-5678"},
		{"postal code", "１００－０００１", "100-0001"},
		{"half-width long mark", "03ｰ1234ｰ5678", "03-1234-5678"},
		{"hyphen", "03‐1234", "03-1234"},
		{"non-breaking hyphen", "03‑1234", "03-1234"},
		{"minus sign", "03−1234", "03-1234"},
		{"en dash", "03–1234", "03-1234"},
		{"em dash", "03—1234", "03-1234"},
		{"horizontal bar", "03―1234", "03-1234"},
		{"ideographic spaces at the ends", "\u3000\u3000１２３\u3000", "123"},
		{"ASCII spaces at the ends", " \t123 \r\n", "123"},
		{"inner spaces kept", "090\u30001234 5678", "090\u30001234 5678"},
		{"letters kept", "Ａ１２", "Ａ12"},
		{"empty", "", ""},
		{"only spaces", "\u3000 ", ""},
		{"invalid UTF-8 kept", "1\xff２", "1\xff2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeDigits(tc.in); got != tc.want {
				t.Errorf("NormalizeDigits(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalizeText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"half-width katakana", "ｱｲｳ", "アイウ"},
		{"full-width letters and digit", "Ａｂｃ１", "Abc1"},
		{"kanji unchanged", "病院", "病院"},
		{"full-width kana unchanged", "ヤマダ タロウ", "ヤマダ タロウ"},
		{"hiragana unchanged", "やまだ", "やまだ"},
		{"full-width spaces at the ends", "\u3000\u3000山田\u3000", "山田"},
		{"ASCII spaces at the ends", "  山田 \t", "山田"},
		{"inner ideographic space kept", "山田\u3000太郎", "山田\u3000太郎"},
		{"full-width symbols", "（株）＃１－２＠ｘ．ｊｐ！", "(株)#1-2@x.jp!"},
		{"full-width tilde", "９：００～１７：００", "9:00~17:00"},
		{"full-width yen kept", "￥１００", "￥100"},
		{"half-width voiced", "ｶﾞｷﾞｸﾞ", "ガギグ"},
		{"half-width semi-voiced", "ﾊﾟﾋﾟﾌﾟ", "パピプ"},
		{"half-width vu", "ｳﾞｧ", "ヴァ"},
		{"half-width sentence", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"},
		{"half-width punctuation", "｢ｺｰﾄﾞ｣､｡･", "「コード」、。・"},
		{"half-width mark after full-width kana", "カﾞ", "ガ"},
		{"half-width mark with nothing to join", "ｱﾞ", "ア゛"},
		{"half-width mark at start", "ﾟ", "゜"},
		{"combining mark joined", "カ\u3099ハ\u309a", "ガパ"},
		{"combining mark kept when not joinable", "a\u3099", "a\u3099"},
		{"kanji before a mark", "山ﾞ", "山゛"},
		{"compatibility kanji unchanged", "\uF929", "\uF929"},
		{"circled digit unchanged", "①", "①"},
		{"ASCII unchanged", "abc 123", "abc 123"},
		{"empty", "", ""},
		{"invalid UTF-8 kept", "ａ\xffｂ", "a\xffb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeText(tc.in); got != tc.want {
				t.Errorf("NormalizeText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInJISX0208(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantBad  rune
		wantOK   bool
	}{
		{"name", "山田 太郎", 0, true},
		{"name with ideographic space", "山田\u3000太郎", 0, true},
		{"ASCII", "Taro Yamada 123 !@#~", 0, true},
		{"empty", "", 0, true},
		{"kana and long mark", "「ー」カタカナ・ひらがな", 0, true},
		{"row 84 kanji", "堯槇遙瑤凜熙", 0, true},
		{"symbols of row 2", "∵≒≡∫√⊥∠∩∪￢", 0, true},
		{"full-width yen and tilde", "￥～", 0, true},
		{"IBM extension", "髙橋", '髙', false},
		{"NEC-selected IBM extension", "纊", '纊', false},
		{"NEC special circled digit", "①", '①', false},
		{"NEC special company mark", "山田㈱", '㈱', false},
		{"NEC special roman numeral", "Ⅰ", 'Ⅰ', false},
		{"NEC special unit", "㍉", '㍉', false},
		{"small roman numeral", "ⅰ", 'ⅰ', false},
		{"full-width apostrophe", "＇", '＇', false},
		{"half-width katakana", "ｱ", 'ｱ', false},
		{"half-width long mark", "ｰ", 'ｰ', false},
		{"outside the BMP", "𠮷野家", '𠮷', false},
		{"JIS X 0213 kana", "ゔ", 'ゔ', false},
		{"yen sign", "¥", '¥', false},
		{"hangul", "한", '한', false},
		{"emoji", "😀", '😀', false},
		{"first offender", "山①㈱", '①', false},
		{"invalid UTF-8", "山\xff", utf8.RuneError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad, ok := InJISX0208(tc.in)
			if bad != tc.wantBad || ok != tc.wantOK {
				t.Errorf("InJISX0208(%q) = %q, %v, want %q, %v", tc.in, bad, ok, tc.wantBad, tc.wantOK)
			}
		})
	}
}

func TestNormalizeTextThenJISX0208(t *testing.T) {
	// Half-width katakana typed by an administrator become acceptable once
	// normalised, which is the order the callers use.
	for _, tc := range []struct {
		name, in string
	}{
		{"half-width name", "ﾔﾏﾀﾞ ﾀﾛｳ"},
		{"half-width marks", "ｱﾞﾊﾟ"},
		{"full-width ASCII", "ＡＢＣ－１２３"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NormalizeText(tc.in)
			if bad, ok := InJISX0208(got); !ok {
				t.Errorf("InJISX0208(NormalizeText(%q) = %q) refuses %q", tc.in, got, bad)
			}
		})
	}
}
