package search

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/survey"
)

// Store reads the read model.
type Store interface {
	// Prefecture reads every entry of a prefecture (Query of the
	// read model's prefecture index, never a Scan).
	Prefecture(ctx context.Context, prefecture string) ([]Entry, error)
	// Entry reads one institution's entry; NotFound when absent.
	Entry(ctx context.Context, code string) (Entry, error)
	// Ranked reads a prefecture's entries in Rank order (Query of the
	// read model's by-beds index, not sharded), from the first call on
	// about r.Want of them, until fn returns false.
	Ranked(ctx context.Context, r RankedRead, fn func(Entry) bool) error
	// Surveys reads the latest daily surveys of codes (those that have
	// one), in one call for a page.
	Surveys(ctx context.Context, codes []string) (map[string]survey.Daily, error)
}

// RankedRead is a read of a prefecture's entries in Rank order.
type RankedRead struct {
	Prefecture string
	// Since and Stale choose a group: the entries whose latest daily
	// survey as of AsOf (Entry.LatestAsOf) is of Since or later, or with
	// Stale the others.
	Since string
	Stale bool
	AsOf  time.Time
	// After is the rank to start after ("": from the first); Before, if
	// set, the rank to stop before.
	After, Before string
	// Want is how many entries the caller expects to take: the first
	// Query reads about that many, later ones more.
	Want int
}

// History reads an institution's daily surveys of a range of days.
type History interface {
	Range(ctx context.Context, code, from, to string) ([]survey.Record[survey.Daily], error)
}

// DefaultStaleDays is how old (in days) the latest daily survey may be
// before an institution is shown as stale.
const DefaultStaleDays = 2

// Config configures a Service.
type Config struct {
	StaleDays int              // a daily survey of more days ago is stale; 0: DefaultStaleDays
	CursorKey []byte           // signs the cursors
	Now       func() time.Time // nil: time.Now
}

// Service answers searches.
type Service struct {
	store   Store
	history History
	cfg     Config
}

// NewService returns a Service.
func NewService(store Store, history History, cfg Config) *Service {
	if cfg.StaleDays <= 0 {
		cfg.StaleDays = DefaultStaleDays
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: store, history: history, cfg: cfg}
}

// Status is what every user may see of an institution's latest daily
// survey: its accepting status (受入状況) and when it was reported.
type Status struct {
	Date             string          `json:"date"`
	ReportedAt       time.Time       `json:"reportedAt"`
	CovidAvailable   int64           `json:"covidAvailable"`
	Services         survey.Services `json:"services"`
	PCRAvailable     bool            `json:"pcrAvailable"`
	DesignatedClinic bool            `json:"designatedClinic"`
}

// Result is one institution in an answer.
type Result struct {
	Institution
	// Status is nil when the institution never answered a daily survey.
	Status    *Status `json:"status"`
	Stale     bool    `json:"stale"`
	Accepting bool    `json:"accepting"`
	// Survey is the whole latest daily survey: only for the institution
	// itself and administrators whose jurisdiction holds it.
	Survey     *survey.Daily `json:"survey,omitempty"`
	DistanceKm *float64      `json:"distanceKm,omitempty"`
	NoLocation bool          `json:"noLocation,omitempty"`
}

// Page is one page of results.
type Page struct {
	Prefecture string `json:"prefecture"`
	Sort       string `json:"sort"`
	// Total counts every match; absent when a page by beds was read
	// without reading the whole prefecture.
	Total      *int     `json:"total,omitempty"`
	Results    []Result `json:"results"`
	NextCursor string   `json:"nextCursor"`
}

// stale reports whether a survey of day is too old on today.
func (s *Service) stale(day, today string) bool {
	return day < survey.AddDays(today, -s.cfg.StaleDays)
}

// result is what everyone may see of e: its whole survey is added to a
// page by withSurveys.
func (s *Service) result(e Entry, today string) Result {
	r := Result{Institution: e.Institution, Stale: true}
	if st := e.Status; st != nil {
		r.Status = st
		r.Stale = s.stale(st.Date, today)
		r.Accepting = !r.Stale && st.CovidAvailable >= 1
	}
	return r
}

// withSurveys adds to the results p may see whole their latest daily
// survey (one read for the page).
func (s *Service) withSurveys(ctx context.Context, p authz.Principal, rs []Result) error {
	var codes []string
	for _, r := range rs {
		if r.Status != nil && Visible(p, r.Institution) {
			codes = append(codes, r.Code)
		}
	}
	if len(codes) == 0 {
		return nil
	}
	surveys, err := s.store.Surveys(ctx, codes)
	if err != nil {
		return err
	}
	for i := range rs {
		if v, ok := surveys[rs[i].Code]; ok && Visible(p, rs[i].Institution) {
			rs[i].Survey = &v
		}
	}
	return nil
}

// Visible reports whether p may see an institution's whole surveys (the
// patients, staffing and tests), not only its accepting status: its own
// users and the administrators whose jurisdiction holds it.
func Visible(p authz.Principal, in Institution) bool {
	return authz.Allowed(p, authz.ReadSurvey, authz.Scope{InstitutionCode: in.Code, PrefectureCode: in.PrefectureCode, HealthCenterCode: in.HealthCenterCode})
}

func (q Query) match(r Result, e Entry) bool {
	if q.Municipality != "" && e.MunicipalityCode != q.Municipality || q.HealthCenter != "" && e.HealthCenterCode != q.HealthCenter {
		return false
	}
	if q.Text != "" && !strings.Contains(e.NameKey, q.Text) && !strings.Contains(e.KanaKey, q.Text) {
		return false
	}
	if q.Accepting && !r.Accepting {
		return false
	}
	if q.Inpatient || q.Emergency || q.PCR || q.Designated {
		// A stale report counts for nothing.
		if r.Status == nil || r.Stale {
			return false
		}
		v := r.Status
		if q.Inpatient && v.Services.Inpatient == survey.StatusStopped || q.Emergency && v.Services.Emergency == survey.StatusStopped ||
			q.PCR && !v.PCRAvailable || q.Designated && !v.DesignatedClinic {
			return false
		}
	}
	if q.WithinKm > 0 && (r.DistanceKm == nil || *r.DistanceKm > q.WithinKm) {
		return false
	}
	return true
}

// staleAt reports whether e was stale at t0: judged by its latest daily
// survey as it was then, so that a report arriving while a search is paged
// through does not move e between the current and the stale ones.
func (s *Service) staleAt(e Entry, t0 time.Time) bool {
	day := e.LatestAsOf(t0)
	return day == "" || s.stale(day, survey.Today(t0))
}

// key is r's place in the order of q: results are sorted by it, and a
// cursor carries the last key of its page, so that a page starts after it
// however the results before it changed. staleAtT0 is whether e was stale
// when the search's first page was read (Service.staleAt).
func (q Query) key(r Result, e Entry, staleAtT0 bool) string {
	stale := "0"
	if staleAtT0 {
		stale = "1"
	}
	name := e.KanaKey
	if name == "" {
		name = e.NameKey
	}
	switch q.Sort {
	case SortName:
		// The current ones, then the stale ones, each in kana order.
		// Staleness is that of the first page's time, which no later
		// report changes, so paging by name sees each institution
		// exactly once.
		return stale + "\x00" + name + "\x00" + e.Code
	case SortDistance:
		if r.DistanceKm == nil {
			return "2\x00" + stale + "\x00" + name + "\x00" + e.Code
		}
		return stale + "\x00" + fmt.Sprintf("%012.3f", *r.DistanceKm) + "\x00" + e.Code
	}
	var beds int64
	if r.Status != nil {
		beds = r.Status.CovidAvailable
	}
	return stale + "\x00" + Rank(beds, e.Code)
}

// Search answers q for p.
func (s *Service) Search(ctx context.Context, p authz.Principal, q Query) (Page, error) {
	if err := authz.AuthorizeRole(p, authz.SearchHospitals); err != nil {
		return Page{}, err
	}
	if q.Prefecture == "" {
		q.Prefecture = p.PrefectureCode
	}
	if q.Prefecture == "" {
		return Page{}, apperr.InvalidField("prefecture", "都道府県を指定してください。", "prefecture is required")
	}
	after, t0 := "", s.cfg.Now()
	if q.Cursor != "" {
		var err error
		if t0, after, err = s.openCursor(q); err != nil {
			return Page{}, err
		}
	}
	if q.Sort == SortBeds && q.Text == "" && q.Near == nil {
		return s.byRank(ctx, p, q, t0, after)
	}
	entries, err := s.store.Prefecture(ctx, q.Prefecture)
	if err != nil {
		return Page{}, err
	}
	today := survey.Today(s.cfg.Now())
	type ranked struct {
		key string
		r   Result
	}
	all := make([]ranked, 0, len(entries))
	for _, e := range entries {
		r := s.result(e, today)
		if q.Near != nil {
			if e.Latitude != nil && e.Longitude != nil {
				d := DistanceKm(q.Near.Lat, q.Near.Lon, *e.Latitude, *e.Longitude)
				r.DistanceKm = &d
			} else {
				r.NoLocation = true
			}
		}
		if q.match(r, e) {
			all = append(all, ranked{q.key(r, e, s.staleAt(e, t0)), r})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key < all[j].key })
	start := sort.Search(len(all), func(i int) bool { return all[i].key > after })
	if after == "" {
		start = 0
	}
	end := min(start+q.Limit, len(all))
	total := len(all)
	page := Page{Prefecture: q.Prefecture, Sort: q.Sort, Total: &total, Results: make([]Result, 0, end-start)}
	for _, x := range all[start:end] {
		page.Results = append(page.Results, x.r)
	}
	if end < len(all) {
		page.NextCursor = s.sealCursor(q, t0, all[end-1].key)
	}
	return page, s.withSurveys(ctx, p, page.Results)
}

// byRank answers a search by beds from the read model's own order: the
// current entries from the one after the cursor, then the stale ones (in
// the order of the beds of their last report), a page or two of the
// by-beds index for a first page, however large the prefecture. Its keys
// are those of Query.key.
func (s *Service) byRank(ctx context.Context, p authz.Principal, q Query, t0 time.Time, after string) (Page, error) {
	// Staleness as of the first page: a report or midnight between pages
	// moves nobody between the groups while the search is paged through.
	today := survey.Today(t0)
	since := survey.AddDays(today, -s.cfg.StaleDays)
	filtered := q.Accepting || q.Inpatient || q.Emergency || q.PCR || q.Designated
	page := Page{Prefecture: q.Prefecture, Sort: q.Sort, Results: make([]Result, 0, q.Limit)}
	var lastKey string
	more := false
	for _, stale := range []bool{false, true} {
		group, from := "0\x00", ""
		if stale {
			group = "1\x00"
		}
		switch {
		case after == "":
		case after < group:
		case strings.HasPrefix(after, group):
			from = after[len(group):]
		default:
			continue // the cursor is past this group
		}
		if stale && filtered {
			break // a stale report matches no status filter
		}
		read := RankedRead{Prefecture: q.Prefecture, Since: since, Stale: stale, AsOf: t0, After: from, Want: q.Limit + 1 - len(page.Results)}
		if q.Accepting {
			read.Before = Rank(0, "") // 0 beds and below accept no one
		}
		err := s.store.Ranked(ctx, read, func(e Entry) bool {
			r := s.result(e, today)
			if !q.match(r, e) {
				return true
			}
			if len(page.Results) == q.Limit {
				more = true
				return false
			}
			page.Results = append(page.Results, r)
			lastKey = q.key(r, e, stale)
			return true
		})
		if err != nil {
			return Page{}, err
		}
		if more {
			break
		}
	}
	if more {
		page.NextCursor = s.sealCursor(q, t0, lastKey)
	}
	return page, s.withSurveys(ctx, p, page.Results)
}

// Day is one day of an institution's accepting status.
type Day struct {
	Date           string `json:"date"`
	Reported       bool   `json:"reported"`
	Accepting      bool   `json:"accepting"`
	CovidAvailable int64  `json:"covidAvailable"`
}

// Detail is one institution: master fields, latest daily survey and the
// accepting status of the last 7 days.
type Detail struct {
	Result
	Days []Day `json:"days"`
}

// Detail answers GET /search/hospitals/{code}.
func (s *Service) Detail(ctx context.Context, p authz.Principal, code string) (Detail, error) {
	if err := authz.AuthorizeRole(p, authz.SearchHospitals); err != nil {
		return Detail{}, err
	}
	e, err := s.store.Entry(ctx, code)
	if err != nil {
		return Detail{}, err
	}
	today := survey.Today(s.cfg.Now())
	from := survey.AddDays(today, -6)
	recs, err := s.history.Range(ctx, code, from, today)
	if err != nil {
		return Detail{}, err
	}
	byDay := map[string]survey.Daily{}
	for _, r := range recs {
		byDay[r.Period] = r.Values
	}
	d := Detail{Result: s.result(e, today)}
	one := []Result{d.Result}
	if err := s.withSurveys(ctx, p, one); err != nil {
		return Detail{}, err
	}
	d.Result = one[0]
	for day := today; day >= from; day = survey.AddDays(day, -1) {
		v, ok := byDay[day]
		d.Days = append(d.Days, Day{Date: day, Reported: ok, Accepting: ok && v.Beds.CovidAvailable >= 1, CovidAvailable: v.Beds.CovidAvailable})
	}
	return d, nil
}

// cursorBody is what a cursor carries: the time the search's first page
// was read (T0, Unix milliseconds) and the last key of the page before.
type cursorBody struct {
	T0  int64  `json:"t"`
	Key string `json:"k"`
}

// sealCursor signs the last key of a page and the search's T0 together
// with the query they belong to.
func (s *Service) sealCursor(q Query, t0 time.Time, key string) string {
	b, _ := json.Marshal(cursorBody{T0: t0.UnixMilli(), Key: key})
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + s.mac(q, body)
}

func (s *Service) mac(q Query, body string) string {
	m := hmac.New(sha256.New, s.cfg.CursorKey)
	m.Write([]byte(q.fingerprint() + "\x1e" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// openCursor checks q.Cursor and returns the T0 and the key it carries.
func (s *Service) openCursor(q Query) (time.Time, string, error) {
	bad := apperr.InvalidField("cursor", "ページの指定（cursor）が正しくありません。検索し直してください。", "malformed or tampered cursor, or one of another search")
	body, sig, ok := strings.Cut(q.Cursor, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac(q, body))) {
		return time.Time{}, "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return time.Time{}, "", bad
	}
	var c cursorBody
	if err := json.Unmarshal(raw, &c); err != nil || c.T0 <= 0 {
		return time.Time{}, "", bad
	}
	return time.UnixMilli(c.T0), c.Key, nil
}
