package survey

import (
	"context"
	"fmt"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/master"
)

// Kind describes one kind of survey: how its periods are written and
// checked and how its body is read.
type Kind[T any] struct {
	Name     string // "daily" or "weekly"
	Field    string // the period's name in routes and errors: "date" or "week"
	MaxRange int    // most periods one range read returns
	parse    func([]byte) (Input[T], error)
	check    func(field, period string, now time.Time, backfillDays int) error
	valid    func(field, period string) error
	current  func(now time.Time) string
	span     func(from, to string) int // periods from..to, both included
}

// DailyKind is the daily survey, kept per JST day.
var DailyKind = Kind[Daily]{Name: "daily", Field: "date", MaxRange: 31, parse: ParseDaily, check: CheckDay,
	valid:   func(f, p string) error { _, err := ParseDay(f, p); return err },
	current: Today,
	span: func(from, to string) int {
		a, _ := ParseDay("from", from)
		b, _ := ParseDay("to", to)
		return int(b.Sub(a).Hours()/24) + 1
	}}

// WeeklyKind is the weekly survey, kept per ISO week.
var WeeklyKind = Kind[Weekly]{Name: "weekly", Field: "week", MaxRange: 27, parse: ParseWeekly, check: CheckWeek,
	valid:   func(f, p string) error { _, err := ParseWeek(f, p); return err },
	current: func(now time.Time) string { return string(WeekOf(now)) },
	span: func(from, to string) int {
		a, _ := ParseWeek("from", from)
		b, _ := ParseWeek("to", to)
		return int(b.Sub(a).Hours()/24/7) + 1
	}}

// Parse reads and checks a body of this kind of survey.
func (k Kind[T]) Parse(data []byte) (Input[T], error) { return k.parse(data) }

// Record is one version of one institution's survey for one period.
type Record[T any] struct {
	Kind            string    `json:"kind"`
	InstitutionCode string    `json:"institutionCode"`
	Period          string    `json:"period"` // JST date or ISO week
	Version         int64     `json:"version"`
	Values          T         `json:"values"`
	UpdatedAt       time.Time `json:"updatedAt"`
	UpdatedBy       string    `json:"updatedBy"`
	Source          string    `json:"source"` // "web" (a browser page) or "api"
	// Draft marks an answer for a period without a survey: nothing is
	// stored, the values are copied from the latest earlier survey
	// (CopiedFrom) or empty.
	Draft      bool   `json:"draft,omitempty"`
	CopiedFrom string `json:"copiedFrom,omitempty"`
}

// Store keeps one kind of survey.
type Store[T any] interface {
	// Get reads the current version; NotFound when the period has none.
	Get(ctx context.Context, code, period string) (Record[T], error)
	// Before reads the latest survey of a period before period; NotFound
	// when there is none.
	Before(ctx context.Context, code, period string) (Record[T], error)
	// Range reads the current versions from..to, oldest first.
	Range(ctx context.Context, code, from, to string) ([]Record[T], error)
	// History reads every version of one period, oldest first.
	History(ctx context.Context, code, period string) ([]Record[T], error)
	// Put stores rec as the current version if the current one is
	// rec.Version-1 (none when rec.Version is 1), keeps it in the history
	// and, in the same transaction, makes it the institution's latest
	// unless a later period is already there. A stale version is a
	// Conflict naming the current version and who wrote it.
	Put(ctx context.Context, rec Record[T], where authz.Scope) error
}

// Status is an institution's latest daily and weekly survey by period
// (not by write time): one item, kept in the transaction of each write.
type Status struct {
	InstitutionCode string          `json:"institutionCode"`
	Daily           *Record[Daily]  `json:"daily"`
	Weekly          *Record[Weekly] `json:"weekly"`
}

// StatusReader reads institutions' status items.
type StatusReader interface {
	GetStatus(ctx context.Context, code string) (Status, error)
	Statuses(ctx context.Context, codes []string) (map[string]Status, error)
}

// Institutions finds an institution in the master.
type Institutions interface {
	GetRecord(ctx context.Context, kind master.Kind, code string) (master.Record, error)
}

// Config sets a Service's rules.
type Config struct {
	BackfillDays int              // default DefaultBackfillDays
	Now          func() time.Time // default time.Now
}

// Service reads and writes one kind of survey for callers, checking who
// may do what through authz.
type Service[T any] struct {
	kind  Kind[T]
	store Store[T]
	insts Institutions
	cfg   Config
}

// NewService returns a Service of kind k.
func NewService[T any](k Kind[T], store Store[T], insts Institutions, cfg Config) *Service[T] {
	if cfg.BackfillDays <= 0 {
		cfg.BackfillDays = DefaultBackfillDays
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service[T]{kind: k, store: store, insts: insts, cfg: cfg}
}

// Kind is the kind of survey s keeps.
func (s *Service[T]) Kind() Kind[T] { return s.kind }

// CheckInstitution refuses a code that cannot be an institution's.
func CheckInstitution(code string) error {
	if len(code) != 10 {
		return apperr.InvalidField("code", "医療機関コードは半角数字10桁で指定してください。", "institution code must be 10 digits")
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return apperr.InvalidField("code", "医療機関コードは半角数字10桁で指定してください。", "institution code must be 10 digits")
		}
	}
	return nil
}

// AuthorizeRead lets p read institution code's surveys: its own users and
// managers, and administrators whose jurisdiction the master places it in.
func AuthorizeRead(ctx context.Context, insts Institutions, p authz.Principal, code string) error {
	if err := CheckInstitution(code); err != nil {
		return err
	}
	if err := authz.AuthorizeRole(p, authz.ReadSurvey); err != nil {
		return err
	}
	if p.InstitutionCode != "" {
		return authz.Authorize(p, authz.ReadSurvey, authz.Scope{InstitutionCode: code})
	}
	rec, err := insts.GetRecord(ctx, master.Institutions, code)
	if apperr.CodeOf(err) == apperr.NotFound {
		return authz.Unknown(p, authz.ReadSurvey, apperr.New(apperr.NotFound, "医療機関が見つかりません。", "no such institution"))
	}
	if err != nil {
		return fmt.Errorf("find institution %s: %w", code, err)
	}
	return authz.Authorize(p, authz.ReadSurvey, rec.Scope())
}

func (s *Service[T]) authorizeWrite(p authz.Principal, code string) (authz.Scope, error) {
	if err := CheckInstitution(code); err != nil {
		return authz.Scope{}, err
	}
	if err := authz.AuthorizeRole(p, authz.WriteSurvey); err != nil {
		return authz.Scope{}, err
	}
	where := authz.Scope{InstitutionCode: code, PrefectureCode: p.PrefectureCode, HealthCenterCode: p.HealthCenterCode}
	return where, authz.Authorize(p, authz.WriteSurvey, where)
}

// Get returns the survey of one period; a period without one answers a
// draft copied from the latest earlier survey, storing nothing.
func (s *Service[T]) Get(ctx context.Context, p authz.Principal, code, period string) (Record[T], error) {
	if err := AuthorizeRead(ctx, s.insts, p, code); err != nil {
		return Record[T]{}, err
	}
	if err := s.kind.valid(s.kind.Field, period); err != nil {
		return Record[T]{}, err
	}
	rec, err := s.store.Get(ctx, code, period)
	if apperr.CodeOf(err) != apperr.NotFound {
		return rec, err
	}
	prev, err := s.store.Before(ctx, code, period)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		return Record[T]{Kind: s.kind.Name, InstitutionCode: code, Period: period, Draft: true}, nil
	case err != nil:
		return Record[T]{}, err
	}
	return Record[T]{Kind: s.kind.Name, InstitutionCode: code, Period: period, Values: prev.Values, Draft: true, CopiedFrom: prev.Period}, nil
}

// Put writes the survey of one period from a request body carrying the
// version its writer read.
func (s *Service[T]) Put(ctx context.Context, p authz.Principal, code, period string, body []byte, source string) (Record[T], error) {
	where, err := s.authorizeWrite(p, code)
	if err != nil {
		return Record[T]{}, err
	}
	if err := s.kind.check(s.kind.Field, period, s.cfg.Now(), s.cfg.BackfillDays); err != nil {
		return Record[T]{}, err
	}
	in, err := s.kind.parse(body)
	if err != nil {
		return Record[T]{}, err
	}
	rec := Record[T]{Kind: s.kind.Name, InstitutionCode: code, Period: period, Version: in.Version + 1, Values: in.Values,
		UpdatedAt: s.cfg.Now().UTC(), UpdatedBy: p.UserID, Source: source}
	if err := s.store.Put(ctx, rec, where); err != nil {
		return Record[T]{}, err
	}
	return rec, nil
}

// Range returns the surveys of from..to (at most the kind's MaxRange
// periods), oldest first.
func (s *Service[T]) Range(ctx context.Context, p authz.Principal, code, from, to string) ([]Record[T], error) {
	if err := AuthorizeRead(ctx, s.insts, p, code); err != nil {
		return nil, err
	}
	if err := s.kind.valid("from", from); err != nil {
		return nil, err
	}
	if err := s.kind.valid("to", to); err != nil {
		return nil, err
	}
	if to < from {
		return nil, apperr.InvalidField("to", "終了は開始以降にしてください。", "to must not be before from")
	}
	if n := s.kind.span(from, to); n > s.kind.MaxRange {
		return nil, apperr.InvalidField("to", fmt.Sprintf("一度に読める期間は%d件までです。", s.kind.MaxRange),
			fmt.Sprintf("a range holds at most %d periods", s.kind.MaxRange))
	}
	return s.store.Range(ctx, code, from, to)
}

// History returns every version of one period's survey, oldest first.
func (s *Service[T]) History(ctx context.Context, p authz.Principal, code, period string) ([]Record[T], error) {
	if err := AuthorizeRead(ctx, s.insts, p, code); err != nil {
		return nil, err
	}
	if err := s.kind.valid(s.kind.Field, period); err != nil {
		return nil, err
	}
	return s.store.History(ctx, code, period)
}

// Conflict is the error of a write whose version is stale: it names the
// current version and who wrote it and when.
func Conflict(current int64, by string, at time.Time) error {
	return &apperr.Error{Code: apperr.Conflict, Field: "version",
		Message: fmt.Sprintf("この調査は他の方が更新しました（現在のバージョン %d、更新者 %s、%s）。最新の内容を読み込んでから入力し直してください。",
			current, by, at.In(JST).Format("2006/01/02 15:04")),
		MessageEn: fmt.Sprintf("the survey was changed by %s at %s; the current version is %d: read it again", by, at.Format(time.RFC3339), current),
		Detail:    map[string]string{"currentVersion": fmt.Sprint(current), "updatedBy": by, "updatedAt": at.In(JST).Format(time.RFC3339)}}
}
