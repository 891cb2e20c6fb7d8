package survey

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/master"
)

// AreaStore reads a prefecture's institutions and who answered.
type AreaStore interface {
	// Answered returns the codes of the institutions of prefecture with a
	// survey of kind for period (the per-day answer markers).
	Answered(ctx context.Context, kind, period, prefecture string) (map[string]bool, error)
	// EachInstitution calls fn with each institution of prefecture in the
	// master, in code order, a page at a time.
	EachInstitution(ctx context.Context, prefecture string, fn func(master.Record) error) error
	// EachDaily calls fn with each current daily survey of prefecture for
	// day after institution code after ("" for all), in institution code
	// order, a page at a time; an error from fn ends it.
	EachDaily(ctx context.Context, day, prefecture, after string, fn func(Record[Daily], authz.Scope) error) error
	// EachWeekly does the same for the weekly surveys of week.
	EachWeekly(ctx context.Context, week, prefecture, after string, fn func(Record[Weekly], authz.Scope) error) error
	// MarkReminded records that institution code was reminded of period;
	// false if it had been already.
	MarkReminded(ctx context.Context, code, kind, period string, at time.Time) (bool, error)
}

// Accounts lists an institution's accounts, for reminders.
type Accounts interface {
	ListUsers(ctx context.Context, by, code string, limit int, cursor string) ([]auth.User, string, error)
}

// Mailer sends a mail.
type Mailer interface {
	Mail(ctx context.Context, to, subject, body string) error
}

// AreaConfig sets who is expected to answer.
type AreaConfig struct {
	// ExpectedCategories are the institution categories expected to answer
	// the daily survey; default hospitals. Veterinary facilities never are.
	ExpectedCategories []string
	Now                func() time.Time
}

// Areas answers questions about the surveys of an area: who has not
// answered, reminders, downloads.
type Areas struct {
	store    AreaStore
	statuses StatusReader
	accounts Accounts
	mail     Mailer
	expected map[string]bool
	now      func() time.Time
}

// NewAreas returns Areas.
func NewAreas(store AreaStore, statuses StatusReader, accounts Accounts, mail Mailer, cfg AreaConfig) (*Areas, error) {
	if len(cfg.ExpectedCategories) == 0 {
		cfg.ExpectedCategories = []string{master.CategoryHospital}
	}
	expected := map[string]bool{}
	for _, c := range cfg.ExpectedCategories {
		switch c {
		case master.CategoryHospital, master.CategoryClinic, master.CategoryTestCenter, master.CategoryAggregator:
			expected[c] = true
		default:
			return nil, fmt.Errorf("survey: category %q cannot be expected to answer", c)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Areas{store: store, statuses: statuses, accounts: accounts, mail: mail, expected: expected, now: cfg.Now}, nil
}

// Area is the part of the country a question is about: a prefecture, and
// optionally one health centre's area in it.
type Area struct {
	PrefectureCode   string `json:"prefectureCode"`
	HealthCenterCode string `json:"healthCenterCode,omitempty"`
}

// AreaOf decides the area p asks about: a health-centre administrator's
// own area, a prefecture administrator's prefecture (optionally one of its
// health centres), or for national administrators the prefecture they
// name. It then checks p may do a there.
func AreaOf(p authz.Principal, a authz.Action, prefecture, healthCenter string) (Area, error) {
	if err := authz.AuthorizeRole(p, a); err != nil {
		return Area{}, err
	}
	switch p.Role {
	case authz.HealthCenterAdmin:
		prefecture, healthCenter = p.PrefectureCode, p.HealthCenterCode
	case authz.PrefectureAdmin:
		if prefecture == "" {
			prefecture = p.PrefectureCode
		}
	case authz.National:
	default:
		// An institution's own surveys are read by institution, not by area.
		return Area{}, apperr.New(apperr.Forbidden, "この操作を行う権限がありません。", "you are not allowed to do this")
	}
	if badCode(prefecture, 2, 2) || prefecture < "01" || prefecture > "47" {
		return Area{}, apperr.InvalidField("prefectureCode", "都道府県コード（01〜47）を指定してください。", "give prefectureCode (01 to 47)")
	}
	if healthCenter != "" && badCode(healthCenter, 4, 6) {
		return Area{}, apperr.InvalidField("healthCenterCode", "保健所コードは半角数字4〜6桁で指定してください。", "healthCenterCode must be 4 to 6 digits")
	}
	scope := authz.Scope{PrefectureCode: prefecture, HealthCenterCode: healthCenter}
	if err := authz.Authorize(p, a, scope); err != nil {
		return Area{}, err
	}
	return Area{PrefectureCode: prefecture, HealthCenterCode: healthCenter}, nil
}

// NonResponder is an institution expected to answer that has not.
type NonResponder struct {
	Code             string `json:"code"`
	Name             string `json:"name"`
	Phone            string `json:"phone,omitempty"`
	Category         string `json:"category"`
	HealthCenterCode string `json:"healthCenterCode"`
	LastAnswered     string `json:"lastAnswered,omitempty"` // the date of its latest daily survey
}

// NonResponders is one page of the non-responders of an area for a day.
type NonResponders struct {
	Date         string         `json:"date"`
	Area         Area           `json:"area"`
	Answered     int            `json:"answered"`
	Expected     int            `json:"expected"`
	Institutions []NonResponder `json:"institutions"`
	NextCursor   string         `json:"nextCursor,omitempty"`
}

// MaxPage is the largest page of non-responders.
const MaxPage = 500

// NonResponders lists, a page after cursor (an institution code) at a time,
// the institutions of area expected to answer day's daily survey that have
// not, with the count answered / expected. limit 0 lists all of them.
func (a *Areas) NonResponders(ctx context.Context, area Area, day, cursor string, limit int) (NonResponders, error) {
	if _, err := ParseDay("date", day); err != nil {
		return NonResponders{}, err
	}
	if day > Today(a.now()) {
		return NonResponders{}, apperr.InvalidField("date", "未来の日付は指定できません。", "date is in the future")
	}
	answered, err := a.store.Answered(ctx, DailyKind.Name, day, area.PrefectureCode)
	if err != nil {
		return NonResponders{}, err
	}
	out := NonResponders{Date: day, Area: area, Institutions: []NonResponder{}}
	err = a.store.EachInstitution(ctx, area.PrefectureCode, func(r master.Record) error {
		if !a.expected[r.Fields["category"]] || (area.HealthCenterCode != "" && r.Fields["healthCenterCode"] != area.HealthCenterCode) {
			return nil
		}
		out.Expected++
		if answered[r.Code] {
			out.Answered++
			return nil
		}
		if r.Code <= cursor {
			return nil
		}
		if limit > 0 && len(out.Institutions) == limit {
			out.NextCursor = out.Institutions[limit-1].Code
			return nil
		}
		out.Institutions = append(out.Institutions, NonResponder{Code: r.Code, Name: r.Fields["name"], Phone: r.Fields["phone"],
			Category: r.Fields["category"], HealthCenterCode: r.Fields["healthCenterCode"]})
		return nil
	})
	if err != nil {
		return NonResponders{}, err
	}
	if len(out.Institutions) > 0 {
		codes := make([]string, len(out.Institutions))
		for i, n := range out.Institutions {
			codes[i] = n.Code
		}
		sts, err := a.statuses.Statuses(ctx, codes)
		if err != nil {
			return NonResponders{}, err
		}
		for i, n := range out.Institutions {
			if d := sts[n.Code].Daily; d != nil {
				out.Institutions[i].LastAnswered = d.Period
			}
		}
	}
	return out, nil
}

// WriteNonRespondersCSV writes a non-responder list for Excel.
func WriteNonRespondersCSV(w io.Writer, list NonResponders) error {
	ew := csvio.NewExcelWriter(w)
	if err := ew.Write([]string{"調査日", "医療機関コード", "医療機関名", "電話番号", "区分", "保健所コード", "最終回答日"}); err != nil {
		return err
	}
	for _, n := range list.Institutions {
		if err := ew.Write([]string{list.Date, n.Code, n.Name, n.Phone, n.Category, n.HealthCenterCode, n.LastAnswered}); err != nil {
			return err
		}
	}
	return ew.Flush()
}

// Reminded counts what a reminder round did.
type Reminded struct {
	Date         string `json:"date"`
	Institutions int    `json:"institutions"` // reminded now
	Skipped      int    `json:"skipped"`      // reminded earlier today already
	Mails        int    `json:"mails"`
}

// Remind mails each non-responding institution of area for day, at most
// once per institution per day, to each of its active accounts with a
// mail address.
func (a *Areas) Remind(ctx context.Context, area Area, day string) (Reminded, error) {
	list, err := a.NonResponders(ctx, area, day, "", 0)
	if err != nil {
		return Reminded{}, err
	}
	res := Reminded{Date: day}
	for _, n := range list.Institutions {
		first, err := a.store.MarkReminded(ctx, n.Code, DailyKind.Name, day, a.now())
		if err != nil {
			return res, err
		}
		if !first {
			res.Skipped++
			continue
		}
		res.Institutions++
		cursor := ""
		for {
			users, next, err := a.accounts.ListUsers(ctx, "institution", n.Code, 100, cursor)
			if err != nil {
				return res, err
			}
			for _, u := range users {
				if u.Mail == "" || u.Status != auth.StatusActive {
					continue
				}
				subject := "【G-MIS】日次調査のご回答のお願い（" + day + "）"
				body := n.Name + " ご担当者様\n\n" + day + " の日次調査のご回答がまだ確認できておりません。\nお手数ですが、ご回答をお願いいたします。\n"
				if err := a.mail.Mail(ctx, u.Mail, subject, body); err != nil {
					return res, fmt.Errorf("remind %s: %w", n.Code, err)
				}
				res.Mails++
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return res, nil
}

// cell is one field's value as a download shows it: counts as numbers,
// choices by their Japanese label, flags as 有 / 無.
func cell[T any](f field[T], v *T) string {
	switch f.kind {
	case kindCount:
		return strconv.FormatInt(*f.count(v), 10)
	case kindEnum:
		code := *f.text(v)
		if i := slices.IndexFunc(f.choices, func(c Choice) bool { return c.Code == code }); i >= 0 {
			return f.choices[i].Label
		}
		return code
	case kindOptCount:
		if n := *f.opt(v); n != nil {
			return strconv.FormatInt(*n, 10)
		}
		return ""
	case kindFlag:
		if *f.flag(v) {
			return "有"
		}
		return "無"
	}
	return ""
}

func badCode(v string, minLen, maxLen int) bool {
	if len(v) < minLen || len(v) > maxLen {
		return true
	}
	for i := range len(v) {
		if v[i] < '0' || v[i] > '9' {
			return true
		}
	}
	return false
}
