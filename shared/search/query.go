package search

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// The sorts.
const (
	SortBeds     = "beds"     // available COVID beds, most first (default)
	SortName     = "name"     // kana order (名称カナ順)
	SortDistance = "distance" // nearest to Query.Near first
)

// MaxLimit is the largest page; DefaultLimit the page when none is asked.
const (
	MaxLimit     = 100
	DefaultLimit = 20
)

// Query is one search.
type Query struct {
	Prefecture   string
	Municipality string
	HealthCenter string
	Text         string // folded
	Accepting    bool   // available COVID beds ≥ 1 (受入可能)
	Inpatient    bool   // inpatient service not stopped
	Emergency    bool   // emergency service not stopped
	PCR          bool   // PCR testing possible
	Designated   bool   // designated outpatient/testing clinic (診療・検査医療機関)
	Sort         string
	Near         *Point
	WithinKm     float64 // 0: no limit
	Limit        int
	Cursor       string
}

// Point is a place on the map.
type Point struct{ Lat, Lon float64 }

var (
	prefRE = regexp.MustCompile(`^(0[1-9]|[1-3][0-9]|4[0-7])$`)
	codeRE = regexp.MustCompile(`^[0-9]{4,6}$`)
)

// ParseQuery reads a search from the query string; a bad value is a 400
// naming its parameter. The prefecture may be left empty (the caller's own
// is used then).
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Prefecture: csvio.NormalizeDigits(strings.TrimSpace(v.Get("prefecture"))), Municipality: strings.TrimSpace(v.Get("municipality")),
		HealthCenter: strings.TrimSpace(v.Get("healthCenter")), Text: Fold(v.Get("q")), Sort: v.Get("sort"), Limit: DefaultLimit, Cursor: v.Get("cursor")}
	if q.Prefecture != "" && !prefRE.MatchString(q.Prefecture) {
		return Query{}, apperr.InvalidField("prefecture", "都道府県コードは01〜47で指定してください。", "prefecture must be 01 to 47")
	}
	if q.Municipality != "" && !codeRE.MatchString(q.Municipality) {
		return Query{}, apperr.InvalidField("municipality", "市区町村コードは半角数字5〜6桁で指定してください。", "municipality must be 5 to 6 digits")
	}
	if q.HealthCenter != "" && !codeRE.MatchString(q.HealthCenter) {
		return Query{}, apperr.InvalidField("healthCenter", "保健所コードは半角数字4〜6桁で指定してください。", "healthCenter must be 4 to 6 digits")
	}
	if len([]rune(q.Text)) > 100 {
		return Query{}, apperr.InvalidField("q", "検索語は100文字以内で指定してください。", "q is longer than 100 characters")
	}
	for _, f := range []struct {
		name string
		to   *bool
	}{{"accepting", &q.Accepting}, {"inpatient", &q.Inpatient}, {"emergency", &q.Emergency}, {"pcr", &q.PCR}, {"designatedClinic", &q.Designated}} {
		switch v.Get(f.name) {
		case "", "false":
		case "true":
			*f.to = true
		default:
			return Query{}, apperr.InvalidField(f.name, f.name+" は true か false で指定してください。", f.name+" must be true or false")
		}
	}
	if s := v.Get("near"); s != "" {
		lat, lon, ok := strings.Cut(s, ",")
		la, errLa := strconv.ParseFloat(strings.TrimSpace(lat), 64)
		lo, errLo := strconv.ParseFloat(strings.TrimSpace(lon), 64)
		// Written as "not within" so that NaN, which compares false with
		// everything, is refused too.
		if !ok || errLa != nil || errLo != nil || !(la >= -90 && la <= 90) || !(lo >= -180 && lo <= 180) {
			return Query{}, apperr.InvalidField("near", "near は「緯度,経度」（例: 35.68,139.76）で指定してください。", "near must be <lat>,<lon>")
		}
		q.Near = &Point{la, lo}
	}
	if s := v.Get("withinKm"); s != "" {
		km, err := strconv.ParseFloat(s, 64)
		if err != nil || !(km > 0 && km <= 3000) {
			return Query{}, apperr.InvalidField("withinKm", "withinKm は0より大きく3000以下の数で指定してください。", "withinKm must be a number above 0 and at most 3000")
		}
		if q.Near == nil {
			return Query{}, apperr.InvalidField("near", "withinKm を使うときは near を指定してください。", "withinKm needs near")
		}
		q.WithinKm = km
	}
	switch q.Sort {
	case "":
		q.Sort = SortBeds
		if q.Near != nil {
			q.Sort = SortDistance
		}
	case SortBeds, SortName:
	case SortDistance:
		if q.Near == nil {
			return Query{}, apperr.InvalidField("near", "距離順には near（緯度,経度）を指定してください。", "sort=distance needs near")
		}
	default:
		return Query{}, apperr.InvalidField("sort", "sort は beds・name・distance のいずれかで指定してください。", "sort must be beds, name or distance")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Query{}, apperr.InvalidField("limit", "limit は1〜100で指定してください。", "limit must be 1 to 100")
		}
		q.Limit = n
	}
	return q, nil
}

// fingerprint names what a cursor belongs to: the query without its page.
func (q Query) fingerprint() string {
	near := ""
	if q.Near != nil {
		near = strconv.FormatFloat(q.Near.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(q.Near.Lon, 'f', -1, 64)
	}
	return strings.Join([]string{q.Prefecture, q.Municipality, q.HealthCenter, q.Text, strconv.FormatBool(q.Accepting), strconv.FormatBool(q.Inpatient),
		strconv.FormatBool(q.Emergency), strconv.FormatBool(q.PCR), strconv.FormatBool(q.Designated), q.Sort, near,
		strconv.FormatFloat(q.WithinKm, 'f', -1, 64)}, "\x1f")
}
