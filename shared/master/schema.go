// Package master keeps the master data that accounts, surveys and search
// refer to (seed 001): prefectures, health centres (保健所), institutions
// (医療機関マスタ（全数）, including veterinary facilities) and sentinel
// institutions (定点). Administrators import them from CSV saved by Excel
// (Shift_JIS/CP932 or UTF-8) and add a missing institution, which issues a
// new code. Imports are idempotent and every change keeps its history.
package master

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/phone"
)

// Kind is a master.
type Kind string

// The masters.
const (
	Prefectures   Kind = "prefectures"
	HealthCenters Kind = "health-centers"
	Institutions  Kind = "institutions"
	Sentinels     Kind = "sentinels"
)

// Kinds lists the masters in the order they depend on each other.
var Kinds = []Kind{Prefectures, HealthCenters, Institutions, Sentinels}

// Valid reports whether k is a master.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Institution categories (区分).
const (
	CategoryHospital   = "hospital"    // 病院
	CategoryClinic     = "clinic"      // 診療所
	CategoryTestCenter = "test_center" // 検査センター
	CategoryAggregator = "aggregator"  // 集約団体
	CategoryVeterinary = "veterinary"  // 動物診療施設
)

var categoryAliases = map[string]string{
	"hospital": CategoryHospital, "病院": CategoryHospital,
	"clinic": CategoryClinic, "診療所": CategoryClinic, "一般診療所": CategoryClinic,
	"test_center": CategoryTestCenter, "検査センター": CategoryTestCenter, "検査機関": CategoryTestCenter, "地域外来・検査センター": CategoryTestCenter,
	"aggregator": CategoryAggregator, "集約団体": CategoryAggregator, "集約機関": CategoryAggregator, "とりまとめ団体": CategoryAggregator,
	"veterinary": CategoryVeterinary, "動物診療施設": CategoryVeterinary,
}

// column is one field of a master: its key, the headers Excel users may
// write, and how a cell is checked and normalised.
type column struct {
	key      string
	headers  []string // accepted header names; the first is the Japanese one shown in errors
	required bool
	check    func(string) (string, string, string) // value → normalised, Japanese reason, English reason
}

func (c column) label() string { return c.headers[0] }

var (
	digitsRE    = regexp.MustCompile(`^[0-9]+$`)
	katakanaRE  = regexp.MustCompile(`^[\p{Katakana}ー・\s　]+$`)
	postalRE    = regexp.MustCompile(`^([0-9]{3})-?([0-9]{4})$`)
	prefCodeMax = 47
)

func digits(n1, n2 int) func(string) (string, string, string) {
	return func(v string) (string, string, string) {
		v = strings.ReplaceAll(csvio.NormalizeDigits(v), "-", "")
		if !digitsRE.MatchString(v) || len(v) < n1 || len(v) > n2 {
			if n1 == n2 {
				return "", "半角数字" + strconv.Itoa(n1) + "桁で入力してください。", "must be " + strconv.Itoa(n1) + " digits"
			}
			return "", "半角数字" + strconv.Itoa(n1) + "〜" + strconv.Itoa(n2) + "桁で入力してください。", "must be " + strconv.Itoa(n1) + " to " + strconv.Itoa(n2) + " digits"
		}
		return v, "", ""
	}
}

func prefectureCode(v string) (string, string, string) {
	v = csvio.NormalizeDigits(v)
	if len(v) == 1 {
		v = "0" + v // Excel drops the leading zero of 01–09
	}
	n, err := strconv.Atoi(v)
	if err != nil || len(v) != 2 || n < 1 || n > prefCodeMax {
		return "", "都道府県コードは01〜47で入力してください。", "prefecture code must be 01 to 47"
	}
	return v, "", ""
}

func text(maxRunes int) func(string) (string, string, string) {
	return func(v string) (string, string, string) {
		v = csvio.NormalizeText(v)
		if utf8.RuneCountInString(v) > maxRunes {
			return "", strconv.Itoa(maxRunes) + "文字以内で入力してください。", "longer than " + strconv.Itoa(maxRunes) + " characters"
		}
		if bad, ok := csvio.InJISX0208(v); !ok {
			return "", "環境依存文字「" + string(bad) + "」は使用できません。", "machine-dependent character " + strconv.QuoteRune(bad) + " is not allowed"
		}
		return v, "", ""
	}
}

func kana(v string) (string, string, string) {
	v = csvio.NormalizeText(v)
	if v != "" && !katakanaRE.MatchString(v) {
		return "", "カナは全角カタカナで入力してください。", "kana must be katakana"
	}
	return v, "", ""
}

func postal(v string) (string, string, string) {
	v = csvio.NormalizeDigits(v)
	m := postalRE.FindStringSubmatch(v)
	if m == nil {
		return "", "郵便番号は7桁（123-4567）で入力してください。", "postal code must be 7 digits"
	}
	return m[1] + "-" + m[2], "", ""
}

func phoneNumber(v string) (string, string, string) {
	n, err := phone.Parse(v)
	if err != nil {
		if e, ok := err.(*phone.Error); ok {
			return "", e.Message, e.MessageEn
		}
		return "", "電話番号の形式が正しくありません。", "malformed phone number"
	}
	return n.National, "", ""
}

func count(v string) (string, string, string) {
	v = csvio.NormalizeDigits(v)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100000 {
		return "", "0以上の整数で入力してください。", "must be a whole number of 0 or more"
	}
	return strconv.Itoa(n), "", ""
}

func category(allowed ...string) func(string) (string, string, string) {
	return func(v string) (string, string, string) {
		c, ok := categoryAliases[strings.ToLower(csvio.NormalizeText(v))]
		for _, a := range allowed {
			if ok && c == a {
				return c, "", ""
			}
		}
		return "", "区分は " + strings.Join(allowed, "・") + " のいずれかを入力してください。", "category must be one of " + strings.Join(allowed, ", ")
	}
}

// coordinate checks a latitude or longitude within Japan's bounding box
// (20–46°N, 122–154°E), in decimal degrees.
func coordinate(lo, hi float64, ja, en string) func(string) (string, string, string) {
	return func(v string) (string, string, string) {
		f, err := strconv.ParseFloat(strings.TrimSpace(csvio.NormalizeText(v)), 64)
		if err != nil || f < lo || f > hi {
			return "", ja + "は10進の度で" + strconv.FormatFloat(lo, 'f', -1, 64) + "〜" + strconv.FormatFloat(hi, 'f', -1, 64) + "の範囲（日本国内）で入力してください。",
				en + " must be decimal degrees within Japan (" + strconv.FormatFloat(lo, 'f', -1, 64) + " to " + strconv.FormatFloat(hi, 'f', -1, 64) + ")"
		}
		return strconv.FormatFloat(f, 'f', -1, 64), "", ""
	}
}

// schemas are the columns of each master's CSV. Headers may be Japanese or
// English; the order of columns is free.
var schemas = map[Kind][]column{
	Prefectures: {
		{key: "code", headers: []string{"都道府県コード", "code"}, required: true, check: prefectureCode},
		{key: "name", headers: []string{"都道府県名", "name"}, required: true, check: text(10)},
	},
	HealthCenters: {
		{key: "code", headers: []string{"保健所コード", "code"}, required: true, check: digits(4, 6)},
		{key: "name", headers: []string{"保健所名", "名称", "name"}, required: true, check: text(60)},
		{key: "prefectureCode", headers: []string{"都道府県コード", "prefectureCode"}, required: true, check: prefectureCode},
		{key: "coreCityCode", headers: []string{"中核市コード", "coreCityCode"}, check: digits(5, 6)},
	},
	Institutions: {
		{key: "code", headers: []string{"医療機関コード", "code"}, required: true, check: digits(10, 10)},
		{key: "name", headers: []string{"名称", "医療機関名", "name"}, required: true, check: text(100)},
		{key: "kana", headers: []string{"カナ", "名称カナ", "kana"}, check: kana},
		{key: "postalCode", headers: []string{"郵便番号", "postalCode"}, check: postal},
		{key: "address", headers: []string{"住所", "address"}, check: text(200)},
		{key: "phone", headers: []string{"電話番号", "phone"}, check: phoneNumber},
		{key: "permittedBeds", headers: []string{"許可病床数", "permittedBeds"}, check: count},
		{key: "insuranceCode", headers: []string{"保険医療機関コード", "insuranceCode"}, check: digits(7, 10)},
		{key: "category", headers: []string{"区分", "category"}, required: true,
			check: category(CategoryHospital, CategoryClinic, CategoryTestCenter, CategoryAggregator, CategoryVeterinary)},
		{key: "prefectureCode", headers: []string{"都道府県コード", "prefectureCode"}, required: true, check: prefectureCode},
		{key: "municipalityCode", headers: []string{"市区町村コード", "municipalityCode"}, check: digits(5, 6)},
		{key: "healthCenterCode", headers: []string{"保健所コード", "healthCenterCode"}, required: true, check: digits(4, 6)},
		{key: "latitude", headers: []string{"緯度", "latitude"}, check: coordinate(20, 46, "緯度", "latitude")},
		{key: "longitude", headers: []string{"経度", "longitude"}, check: coordinate(122, 154, "経度", "longitude")},
	},
	Sentinels: {
		{key: "code", headers: []string{"医療機関コード", "code"}, required: true, check: digits(10, 10)},
		{key: "name", headers: []string{"名称", "医療機関名", "name"}, required: true, check: text(100)},
		{key: "kana", headers: []string{"カナ", "名称カナ", "kana"}, check: kana},
		{key: "address", headers: []string{"住所", "address"}, check: text(200)},
		{key: "phone", headers: []string{"電話番号", "phone"}, check: phoneNumber},
		{key: "category", headers: []string{"区分", "category"}, required: true, check: category(CategoryHospital, CategoryClinic)},
		{key: "prefectureCode", headers: []string{"都道府県コード", "prefectureCode"}, required: true, check: prefectureCode},
		{key: "healthCenterCode", headers: []string{"保健所コード", "healthCenterCode"}, required: true, check: digits(4, 6)},
		{key: "permittedBeds", headers: []string{"許可病床数", "permittedBeds"}, check: count},
	},
}
