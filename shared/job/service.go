package job

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// Check authorizes a caller to create a job of one kind with params and
// checks the first record of its file (nil for a job without a file).
type Check func(actor authz.Principal, params map[string]string, first *csvio.Row) error

// Service creates jobs and shows them to those who may see them.
type Service struct {
	store  Store
	start  Starter
	files  Files
	checks map[Kind]Check
	now    func() time.Time
	logger *slog.Logger
}

// NewService returns a Service; checks name the kinds that may be created.
func NewService(store Store, start Starter, files Files, checks map[Kind]Check, now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, start: start, files: files, checks: checks, now: now, logger: logger}
}

// Create checks the caller and the file's first record, records the job
// and starts it. If the start is lost, the sweeper starts it.
func (s *Service) Create(ctx context.Context, actor authz.Principal, kind Kind, params map[string]string, file string, size int64) (Job, error) {
	check, ok := s.checks[kind]
	if !ok {
		return Job{}, apperr.InvalidField("type", "処理の種類は master-import・issuance・notify のいずれかです。", "type must be master-import, issuance or notify")
	}
	var first *csvio.Row
	if file != "" {
		row, err := s.firstRow(ctx, file)
		if err != nil {
			return Job{}, err
		}
		first = &row
	}
	if err := check(actor, params, first); err != nil {
		return Job{}, err
	}
	now := s.now()
	j := Job{ID: NewID(), Kind: kind, Owner: actor.UserID, OwnerRole: actor.Role,
		OwnerScope: authz.Scope{PrefectureCode: actor.PrefectureCode, HealthCenterCode: actor.HealthCenterCode, InstitutionCode: actor.InstitutionCode},
		Params:     params, File: file, FileBytes: size, State: Queued, Counts: map[string]int{}, Position: csvio.Start,
		CreatedAt: now, UpdatedAt: now, LeaseUntil: now}
	if j.Params == nil {
		j.Params = map[string]string{}
	}
	if err := s.store.CreateJob(ctx, j); err != nil {
		return Job{}, err
	}
	if err := s.start.Start(ctx, j.ID); err != nil {
		s.logger.Warn("job start lost; the sweeper will start it", slog.String("job_id", j.ID), slog.String("error", err.Error()))
	}
	return j, nil
}

func (s *Service) firstRow(ctx context.Context, file string) (csvio.Row, error) {
	rc, err := s.files.Open(ctx, file, 0)
	if err != nil {
		return csvio.Row{}, err
	}
	defer rc.Close()
	row, err := csvio.NewReader(rc, csvio.Start).Next()
	var pe *csvio.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return csvio.Row{}, apperr.InvalidField("file", "CSVにデータがありません。", "the CSV is empty")
	case errors.As(err, &pe):
		return csvio.Row{}, &apperr.Error{Code: apperr.Invalid, Field: "file", Message: pe.Message, MessageEn: pe.MessageEn}
	case err != nil:
		return csvio.Row{}, err
	}
	return row, nil
}

// Get returns a job the caller may see; NotFound otherwise.
func (s *Service) Get(ctx context.Context, actor authz.Principal, id string) (Job, error) {
	j, err := s.store.GetJob(ctx, id)
	if err == nil && !Visible(actor, j) {
		err = apperr.New(apperr.NotFound, "処理が見つかりません。", "no such job")
	}
	return j, err
}

// List returns a page of the caller's jobs, or with a prefecture, of the
// jobs created there that the caller may see, newest first, and the
// cursor of the next page ("" at the end). A page of a prefecture may
// hold fewer than limit jobs: those the caller may not see are left out.
func (s *Service) List(ctx context.Context, actor authz.Principal, prefecture string, limit int, cursor string) ([]Job, string, error) {
	if prefecture == "" {
		return s.store.ListByOwner(ctx, actor.UserID, limit, cursor)
	}
	jobs, next, err := s.store.ListByScope(ctx, prefecture, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out := jobs[:0]
	for _, j := range jobs {
		if Visible(actor, j) {
			out = append(out, j)
		}
	}
	return out, next, nil
}

// Store is the service's store, for the results of a job.
func (s *Service) Store() Store { return s.store }
