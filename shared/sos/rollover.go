package sos

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/calendar"
)

// CatchUpDays bounds how far back a rollover looks for windows a missed
// run left open: windows whose business day is more than this many days
// before the run are left as they are.
const CatchUpDays = 31

// MailLease is how long a claim to send a prefecture's mail holds: a run
// that finds a claim older than this without a sent mark takes it that the
// run which claimed it crashed, and sends the mail.
const MailLease = 15 * time.Minute

// Prefectures are the codes of Japan's 47 prefectures ("01"–"47").
var Prefectures = func() []string {
	out := make([]string, 47)
	for i := range out {
		out[i] = fmt.Sprintf("%02d", i+1)
	}
	return out
}()

// WindowRecord is the stored state of one business day's window; a day
// without a record is open.
type WindowRecord struct {
	Day      string     `dynamodbav:"sk"`
	ClosedAt *time.Time `dynamodbav:"closedAt,omitempty"`
	// DoneAt is set once every prefecture's summary is written and mailed.
	DoneAt *time.Time `dynamodbav:"doneAt,omitempty"`
}

// Summary is the fixed membership of one prefecture's part of a closed
// window: written once, never changed afterwards.
type Summary struct {
	Day            string     `json:"day" dynamodbav:"day"`
	PrefectureCode string     `json:"prefectureCode" dynamodbav:"prefectureCode"`
	Count          int        `json:"count" dynamodbav:"count"`
	RequestIDs     []string   `json:"requestIds" dynamodbav:"requestIds"`
	WrittenAt      time.Time  `json:"writtenAt" dynamodbav:"writtenAt"`
	MailClaimedAt  *time.Time `json:"mailClaimedAt,omitempty" dynamodbav:"mailClaimedAt,omitempty"`
	MailedAt       *time.Time `json:"mailedAt,omitempty" dynamodbav:"mailedAt,omitempty"`
	MailedTo       int        `json:"mailedTo" dynamodbav:"mailedTo"`
}

// Member is one request's membership of a window, written in the same
// transaction as the apply that checked the window open. Edits never
// change it: a request keeps the window it joined.
type Member struct {
	Day             string
	PrefectureCode  string
	RequestID       string
	InstitutionCode string
}

// RolloverStore keeps the windows' state and the summaries.
type RolloverStore interface {
	// Windows reads the window records of days from..to (inclusive).
	Windows(ctx context.Context, from, to string) ([]WindowRecord, error)
	// Close sets the window's closedAt unless it is set already.
	Close(ctx context.Context, day string, at time.Time) error
	// Done marks the window's summaries written and mailed.
	Done(ctx context.Context, day string, at time.Time) error
	// Members reads the membership of day's window, every prefecture, as
	// written by the applies that joined it: read after Close, it is
	// every request whose apply committed before the close, and no other.
	Members(ctx context.Context, day string) ([]Member, error)
	// PutSummary writes s unless a summary of its prefecture and day
	// exists, and returns the stored one.
	PutSummary(ctx context.Context, s Summary) (Summary, error)
	// ClaimMail records the intent to send s's mail at at, if no claim
	// younger than lease exists and no mail was sent; false otherwise.
	ClaimMail(ctx context.Context, day, prefecture string, at time.Time, lease time.Duration) (bool, error)
	// Mailed records that s's mail went to n addresses.
	Mailed(ctx context.Context, day, prefecture string, at time.Time, n int) error
}

// Rollover closes the 13:00 windows and tells each prefecture's reviewers.
type Rollover struct {
	store    RolloverStore
	mail     Mailer
	accounts Accounts
	baseURL  string
	logger   *slog.Logger
	now      func() time.Time // durations only; "now" of a run is its argument
}

// NewRollover returns a Rollover; baseURL is where the day's list is read
// (linked in the mail).
func NewRollover(store RolloverStore, mail Mailer, accounts Accounts, baseURL string, logger *slog.Logger) *Rollover {
	return &Rollover{store: store, mail: mail, accounts: accounts, baseURL: strings.TrimRight(baseURL, "/"), logger: logger, now: time.Now}
}

// DueWindows returns the business days whose window's deadline (13:00 JST)
// is at or before now and no more than CatchUpDays before it, oldest first.
func DueWindows(now time.Time) []string {
	var out []string
	last := calendar.DayOf(now)
	if now.Before(calendar.Deadline(last)) {
		last = last.AddDate(0, 0, -1)
	}
	for d := calendar.DayOf(now).AddDate(0, 0, -CatchUpDays); !d.After(last); d = d.AddDate(0, 0, 1) {
		if calendar.IsBusinessDay(d) {
			out = append(out, calendar.Format(d))
		}
	}
	return out
}

// RunResult says what one run did.
type RunResult struct {
	Closed []string `json:"closed"` // windows this run finished, oldest first
	Mails  int      `json:"mails"`  // mails sent
}

// Run closes every due window not finished yet as of now (the scheduled
// time), oldest first. Running it again changes nothing and sends nothing.
func (r *Rollover) Run(ctx context.Context, now time.Time) (RunResult, error) {
	due := DueWindows(now)
	var res RunResult
	if len(due) == 0 {
		return res, nil
	}
	recs, err := r.store.Windows(ctx, due[0], due[len(due)-1])
	if err != nil {
		return res, err
	}
	done := map[string]bool{}
	for _, w := range recs {
		done[w.Day] = w.DoneAt != nil
	}
	for _, day := range due {
		if done[day] {
			continue
		}
		n, err := r.closeWindow(ctx, day, now)
		res.Mails += n
		if err != nil {
			return res, fmt.Errorf("close window %s: %w", day, err)
		}
		res.Closed = append(res.Closed, day)
	}
	return res, nil
}

func (r *Rollover) closeWindow(ctx context.Context, day string, now time.Time) (int, error) {
	start := r.now()
	if err := r.store.Close(ctx, day, now); err != nil {
		return 0, err
	}
	// The close is committed: every apply that joined this window has
	// committed its membership, and every later one went to the next.
	members, err := r.store.Members(ctx, day)
	if err != nil {
		return 0, err
	}
	byPref := map[string][]Member{}
	for _, m := range members {
		byPref[m.PrefectureCode] = append(byPref[m.PrefectureCode], m)
	}
	var requests, prefectures, mails int
	finished := true
	for _, pref := range Prefectures {
		s, err := r.store.PutSummary(ctx, NewSummary(day, pref, byPref[pref], now))
		if err != nil {
			return mails, err
		}
		requests += s.Count
		if s.Count == 0 || s.MailedAt != nil {
			continue
		}
		prefectures++
		sent, err := r.mailPrefecture(ctx, s, now)
		if err != nil {
			return mails, err
		}
		if !sent {
			finished = false // another run holds the claim
			continue
		}
		mails++
	}
	if finished {
		if err := r.store.Done(ctx, day, now); err != nil {
			return mails, err
		}
	}
	r.logger.Info("sos window closed", slog.String("day", day), slog.Int("requests", requests),
		slog.Int("prefectures_mailed", prefectures), slog.Int("mails", mails), slog.Bool("finished", finished),
		slog.Int64("duration_ms", r.now().Sub(start).Milliseconds()))
	return mails, nil
}

// NewSummary fixes the membership of prefecture's part of day's window.
func NewSummary(day, prefecture string, ms []Member, at time.Time) Summary {
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.RequestID)
	}
	return Summary{Day: day, PrefectureCode: prefecture, Count: len(ids), RequestIDs: ids, WrittenAt: at.UTC()}
}

func (r *Rollover) mailPrefecture(ctx context.Context, s Summary, now time.Time) (bool, error) {
	ok, err := r.store.ClaimMail(ctx, s.Day, s.PrefectureCode, r.now(), MailLease)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	to, err := r.accounts.Mails(ctx, "prefecture", s.PrefectureCode, authz.PrefectureAdmin)
	if err != nil {
		return false, fmt.Errorf("reviewers of %s: %w", s.PrefectureCode, err)
	}
	subject, body := r.Message(s)
	for _, addr := range to {
		if err := r.mail.Mail(ctx, addr, subject, body); err != nil {
			return false, fmt.Errorf("mail reviewers of %s: %w", s.PrefectureCode, err)
		}
	}
	if err := r.store.Mailed(ctx, s.Day, s.PrefectureCode, now, len(to)); err != nil {
		return false, err
	}
	return true, nil
}

// Message is the reviewers' mail of a summary: the count and the link to
// the day's list.
func (r *Rollover) Message(s Summary) (subject, body string) {
	subject = fmt.Sprintf("【緊急配布要請】%s締切分 %d件", s.Day, s.Count)
	q := url.Values{"day": {s.Day}, "prefectureCode": {s.PrefectureCode}}
	body = fmt.Sprintf("%s 13:00 締切の緊急配布要請（都道府県コード %s）は %d 件です。\n"+
		"内容を確認してください: %s/sos/review?%s\n", s.Day, s.PrefectureCode, s.Count, r.baseURL, q.Encode())
	return subject, body
}
