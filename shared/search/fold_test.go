package search

import "testing"

func TestFold(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"hiragana stays", "とうきょう", "とうきょう"},
		{"katakana to hiragana", "トウキョウ", "とうきょう"},
		{"half-width katakana", "ﾄｳｷｮｳ", "とうきょう"},
		{"half-width voiced marks join", "ｶﾞｯｺｳ ﾋﾞｮｳｲﾝ", "がっこうびょういん"},
		{"kanji unchanged", "東京病院", "東京病院"},
		{"spaces of both widths", "東京 　中央\t病院", "東京中央病院"},
		{"long-vowel mark dropped", "センター", "せんた"},
		{"half-width long-vowel mark", "ｾﾝﾀｰ", "せんた"},
		{"full-width digits and letters", "第２ＡＢＣ病院", "第2abc病院"},
		{"ヴ and small kana", "ヴァ", "ゔぁ"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
