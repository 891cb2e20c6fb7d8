package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// Handler does the work of one kind of job.
type Handler interface {
	// Validate checks the whole job before anything changes and may set
	// RowsTotal and the checkpoint work starts from. It runs again from
	// the start if an invocation is lost while validating, so it must not
	// change anything. A *Failure fails the job.
	Validate(ctx context.Context, j *Job) error
	// Step does the next chunk from j's checkpoint and advances the
	// checkpoint, progress and counts; done is true once nothing is left.
	// A chunk done again after a crash (its checkpoint was not saved) must
	// change nothing twice. A *Failure fails the job.
	Step(ctx context.Context, j *Job) (done bool, err error)
}

// Config tunes a Runner.
type Config struct {
	// Lease is how long a job stays claimed after each checkpoint; a chunk
	// must take far less. Default 2 minutes.
	Lease time.Duration
	// Slice is how long one invocation works before it checkpoints and
	// continues in a fresh one. Default 13 minutes.
	Slice time.Duration
	// Reserve: an invocation also stops when its deadline is nearer.
	// Default 30 s.
	Reserve time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
	// AfterStep, when set, is called after each saved checkpoint; an error
	// ends the invocation there, holding the lease, as a crash would.
	AfterStep func(j Job) error
}

// Runner works on jobs.
type Runner struct {
	store    Store
	start    Starter
	handlers map[Kind]Handler
	cfg      Config
}

// NewRunner returns a Runner with a handler per kind.
func NewRunner(store Store, start Starter, handlers map[Kind]Handler, cfg Config) *Runner {
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Slice <= 0 {
		cfg.Slice = 13 * time.Minute
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{store: store, start: start, handlers: handlers, cfg: cfg}
}

// ErrStopped is returned by Run when AfterStep ended the invocation.
var ErrStopped = errors.New("job: stopped after a step")

// Run works on job id as invocation (a unique name of this attempt) until
// the job is finished, its slice of time is used up (then it continues in
// a fresh invocation), or another invocation holds its lease.
func (r *Runner) Run(ctx context.Context, id, invocation string) error {
	began := r.cfg.Now()
	j, err := r.store.Claim(ctx, id, invocation, began, began.Add(r.cfg.Lease))
	switch apperr.CodeOf(err) {
	case apperr.Conflict, apperr.NotFound:
		r.cfg.Logger.Info("job not claimed", slog.String("job_id", id), slog.String("reason", string(apperr.CodeOf(err))))
		return nil
	}
	if err != nil {
		return err
	}
	j.Invocations++
	log := r.cfg.Logger.With(slog.String("job_id", id), slog.String("kind", string(j.Kind)))
	h, ok := r.handlers[j.Kind]
	if !ok {
		return r.fail(ctx, &j, &Failure{Message: "この種類の処理は実行できません。", MessageEn: "unknown kind of job " + string(j.Kind)})
	}
	if j.State == Queued || j.State == Validating {
		j.State = Validating
		if err := r.save(ctx, &j); err != nil {
			return ignoreLost(err)
		}
		if err := h.Validate(ctx, &j); err != nil {
			return r.stepError(ctx, &j, err, log)
		}
		j.State = Running
		if err := r.save(ctx, &j); err != nil {
			return ignoreLost(err)
		}
		log.Info("job validated", slog.Int("rows_total", j.RowsTotal))
	}
	for {
		done, err := h.Step(ctx, &j)
		if err != nil {
			return r.stepError(ctx, &j, err, log)
		}
		if done {
			j.State, j.FinishedAt = Done, r.cfg.Now()
		}
		if err := r.save(ctx, &j); err != nil {
			return ignoreLost(err)
		}
		if done {
			log.Info("job done", slog.Int("rows_done", j.RowsDone), slog.Int("invocations", j.Invocations))
			return nil
		}
		if r.cfg.AfterStep != nil {
			if err := r.cfg.AfterStep(j); err != nil {
				return fmt.Errorf("%w: %v", ErrStopped, err)
			}
		}
		if r.timeUp(ctx, began) {
			// Hand the job over: the lease ends now, so the fresh
			// invocation (or, if that start is lost, the sweeper's) claims it.
			j.LeaseUntil = r.cfg.Now()
			if err := r.store.Save(ctx, j); err != nil {
				return ignoreLost(err)
			}
			log.Info("job continues in a fresh invocation", slog.Int("rows_done", j.RowsDone))
			return r.start.Start(ctx, id)
		}
	}
}

func (r *Runner) timeUp(ctx context.Context, began time.Time) bool {
	now := r.cfg.Now()
	if now.Sub(began) >= r.cfg.Slice {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < r.cfg.Reserve
}

// save records the checkpoint and renews the lease.
func (r *Runner) save(ctx context.Context, j *Job) error {
	now := r.cfg.Now()
	j.UpdatedAt, j.LeaseUntil = now, now.Add(r.cfg.Lease)
	return r.store.Save(ctx, *j)
}

// stepError fails the job on a *Failure; any other error ends the lease
// at once so that a retry may claim the job, and is returned.
func (r *Runner) stepError(ctx context.Context, j *Job, err error, log *slog.Logger) error {
	var f *Failure
	if errors.As(err, &f) {
		return r.fail(ctx, j, f)
	}
	log.Error("job step", slog.String("error", err.Error()))
	j.LeaseUntil = r.cfg.Now()
	if serr := r.store.Save(ctx, *j); serr != nil && apperr.CodeOf(serr) != apperr.Conflict {
		return errors.Join(err, serr)
	}
	return err
}

// fail ends the job as failed. Its problems (up to MaxProblems, each a
// few hundred bytes) are stored as rows, not in the job's item.
func (r *Runner) fail(ctx context.Context, j *Job, f *Failure) error {
	if len(f.Problems) > 0 {
		rows := make([]Row, len(f.Problems))
		for i, p := range f.Problems {
			rows[i] = Row{Key: fmt.Sprintf("%s%07d", ProblemPrefix, i), Line: p.Row,
				Fields: map[string]string{"column": p.Column, "field": p.Field, "message": p.Message, "messageEn": p.MessageEn}}
		}
		if err := r.store.PutRows(ctx, j.ID, rows); err != nil {
			return err
		}
		f = &Failure{Message: f.Message, MessageEn: f.MessageEn, ProblemCount: max(f.ProblemCount, len(f.Problems))}
	}
	j.State, j.Failure, j.FinishedAt = Failed, f, r.cfg.Now()
	return ignoreLost(r.save(ctx, j))
}

// ignoreLost treats a lost lease as the end of this invocation's work:
// another invocation has the job.
func ignoreLost(err error) error {
	if apperr.CodeOf(err) == apperr.Conflict {
		return nil
	}
	return err
}

// Sweep starts an invocation for every unfinished job whose lease expired
// (its invocation crashed, or an asynchronous start was lost). Starting
// one twice is harmless: only one claims it.
func (r *Runner) Sweep(ctx context.Context) (int, error) {
	ids, err := r.store.Expired(ctx, r.cfg.Now())
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		if err := r.start.Start(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("start job %s: %w", id, err))
		}
	}
	return len(ids), errors.Join(errs...)
}

// ProblemPrefix starts the keys of a failed job's problems.
const ProblemPrefix = "err#"

// Problems reads the problems of a failed job, sorted by row.
func Problems(ctx context.Context, store Store, id string) ([]apperr.Problem, error) {
	rows, err := store.Rows(ctx, id, ProblemPrefix, "", MaxProblems)
	if err != nil {
		return nil, err
	}
	out := make([]apperr.Problem, len(rows))
	for i, r := range rows {
		out[i] = apperr.Problem{Row: r.Line, Column: r.Fields["column"], Field: r.Fields["field"], Message: r.Fields["message"], MessageEn: r.Fields["messageEn"]}
	}
	return out, nil
}
