package sos

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/calendar"
)

// CatchUpDays bounds how far back a rollover looks for windows a missed
// run left open: windows whose business day is more than this many days
// before the run are left as they are.
const CatchUpDays = 31

// MailLease is how long a claim to send a prefecture's mail holds: a run
// that finds a claim older than this without a sent mark takes it that the
// run which claimed it crashed, and sends the mail. It is well above the
// function's timeout (300 s), so a run still alive never loses its claim.
//
// The mail is sent at least once, not exactly once: a run that stops after
// SES accepted the mail and before Mailed recorded it leaves a claim the
// next run takes after MailLease, and the reviewers get the mail again
// (every address of the prefecture, if it stopped half-way). SES has no
// idempotency key to close that gap; it is the price of never losing the
// mail.
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
	// Close sets the window's closedAt unless it is set already, and
	// answers whether it set it.
	Close(ctx context.Context, day string, at time.Time) (bool, error)
	// Done marks the window's summaries written and mailed.
	Done(ctx context.Context, day string, at time.Time) error
	// Members reads the membership of day's window, every prefecture, as
	// written by the applies that joined it: read after Close, it is
	// every request whose apply committed before the close, and no other.
	Members(ctx context.Context, day string) ([]Member, error)
	// PutSummary writes s unless a summary of its prefecture and day
	// exists, and returns the stored one.
	PutSummary(ctx context.Context, s Summary) (Summary, error)
	// Summaries reads the summaries of day's window, by prefecture.
	Summaries(ctx context.Context, day string) ([]Summary, error)
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
	Closed []string `json:"closed"` // windows this run closed or went on with, oldest first
	Mails  int      `json:"mails"`  // mails sent
	// Windows says per window and prefecture what the run found and did,
	// oldest first.
	Windows []WindowReport `json:"windows,omitempty"`
}

// Actions of a run on a window (WindowReport.Action).
const (
	// ActionClosed: this run closed the window.
	ActionClosed = "closed"
	// ActionResumed: the window was closed by an earlier run that stopped
	// before every mail was sent; this run went on from there.
	ActionResumed = "resumed"
	// ActionDone: the window was closed and mailed before; nothing done.
	ActionDone = "done before"
)

// Mail states of a prefecture's part of a window (PrefectureReport.Mail).
const (
	MailSent   = "sent"        // sent by this run
	MailBefore = "sent before" // sent by an earlier run
	MailHeld   = "claimed"     // another run holds the claim (sends it, or the next run after MailLease)
)

// WindowReport is what a run found and did for one window.
type WindowReport struct {
	Day      string `json:"day"`
	Action   string `json:"action"`
	Requests int    `json:"requests"`
	// Prefectures are those with requests; the others' summaries say 0
	// and they get no mail.
	Prefectures []PrefectureReport `json:"prefectures"`
	Empty       int                `json:"prefecturesWithoutRequests"`
}

// PrefectureReport is one prefecture's part of a WindowReport.
type PrefectureReport struct {
	PrefectureCode string `json:"prefectureCode"`
	Count          int    `json:"count"`
	Mail           string `json:"mail"`
	MailedTo       int    `json:"mailedTo"`
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
		rep, n, err := r.closeWindow(ctx, day, now)
		res.Mails += n
		if err != nil {
			return res, fmt.Errorf("close window %s: %w", day, err)
		}
		res.Closed = append(res.Closed, day)
		res.Windows = append(res.Windows, rep)
	}
	return res, nil
}

// RunFor runs the rollover as an operator's re-run for business day day:
// as of its 13:00 JST, so it closes that window if still open and any
// earlier one a missed run left open, oldest first, and sends every mail
// not sent yet. When day's window was finished before, the result reports
// it from its summaries. A day that is not a business day, or whose 13:00
// JST is after now, is refused.
func (r *Rollover) RunFor(ctx context.Context, day string, now time.Time) (RunResult, error) {
	d, err := calendar.Parse(day)
	if err != nil {
		return RunResult{}, apperr.InvalidField("date", "date は YYYY-MM-DD で指定してください。", "date must be a business day as YYYY-MM-DD")
	}
	if !calendar.IsBusinessDay(d) {
		return RunResult{}, apperr.InvalidField("date", day+" は営業日ではありません（土日・祝日・12月29日～1月3日）。",
			day+" is not a business day (a weekend, a national holiday or 29 December to 3 January): no window closes on it")
	}
	at := calendar.Deadline(d)
	if at.After(now) {
		return RunResult{}, apperr.InvalidField("date", day+" 13:00 はまだ来ていません。",
			day+" 13:00 JST is still to come: its window is open until then")
	}
	res, err := r.Run(ctx, at)
	if err != nil || slices.Contains(res.Closed, day) {
		return res, err
	}
	ss, err := r.store.Summaries(ctx, day)
	if err != nil {
		return res, err
	}
	if len(ss) == 0 {
		// Run as of day's deadline closes day unless it is done, and a
		// done window has its 47 summaries.
		return res, fmt.Errorf("window %s is finished but has no summaries", day)
	}
	rep := WindowReport{Day: day, Action: ActionDone}
	for _, s := range ss {
		rep.add(s, MailBefore)
	}
	res.Windows = append(res.Windows, rep)
	return res, nil
}

func (w *WindowReport) add(s Summary, mail string) {
	w.Requests += s.Count
	if s.Count == 0 {
		w.Empty++
		return
	}
	w.Prefectures = append(w.Prefectures, PrefectureReport{PrefectureCode: s.PrefectureCode, Count: s.Count, Mail: mail, MailedTo: s.MailedTo})
}

func (r *Rollover) closeWindow(ctx context.Context, day string, now time.Time) (WindowReport, int, error) {
	start := r.now()
	rep := WindowReport{Day: day, Action: ActionResumed}
	closed, err := r.store.Close(ctx, day, now)
	if err != nil {
		return rep, 0, err
	}
	if closed {
		rep.Action = ActionClosed
	}
	// The close is committed: every apply that joined this window has
	// committed its membership, and every later one went to the next.
	members, err := r.store.Members(ctx, day)
	if err != nil {
		return rep, 0, err
	}
	byPref := map[string][]Member{}
	for _, m := range members {
		byPref[m.PrefectureCode] = append(byPref[m.PrefectureCode], m)
	}
	var prefectures, mails int
	finished := true
	for _, pref := range Prefectures {
		s, err := r.store.PutSummary(ctx, NewSummary(day, pref, byPref[pref], now))
		if err != nil {
			return rep, mails, err
		}
		if s.Count == 0 || s.MailedAt != nil {
			rep.add(s, MailBefore)
			continue
		}
		prefectures++
		sent, err := r.mailPrefecture(ctx, &s, now)
		if err != nil {
			return rep, mails, err
		}
		if !sent {
			finished = false // another run holds the claim
			rep.add(s, MailHeld)
			continue
		}
		rep.add(s, MailSent)
		mails++
	}
	if finished {
		if err := r.store.Done(ctx, day, now); err != nil {
			return rep, mails, err
		}
	}
	r.logger.Info("sos window closed", slog.String("day", day), slog.String("action", rep.Action), slog.Int("requests", rep.Requests),
		slog.Int("prefectures_mailed", prefectures), slog.Int("mails", mails), slog.Bool("finished", finished),
		slog.Int64("duration_ms", r.now().Sub(start).Milliseconds()))
	return rep, mails, nil
}

// NewSummary fixes the membership of prefecture's part of day's window.
func NewSummary(day, prefecture string, ms []Member, at time.Time) Summary {
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.RequestID)
	}
	return Summary{Day: day, PrefectureCode: prefecture, Count: len(ids), RequestIDs: ids, WrittenAt: at.UTC()}
}

func (r *Rollover) mailPrefecture(ctx context.Context, s *Summary, now time.Time) (bool, error) {
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
	subject, body := r.Message(*s)
	for _, addr := range to {
		if err := r.mail.Mail(ctx, addr, subject, body); err != nil {
			return false, fmt.Errorf("mail reviewers of %s: %w", s.PrefectureCode, err)
		}
	}
	if err := r.store.Mailed(ctx, s.Day, s.PrefectureCode, now, len(to)); err != nil {
		return false, err
	}
	s.MailedTo = len(to)
	return true, nil
}

// Message is the reviewers' mail of a summary: the count and the link to
// the day's list.
func (r *Rollover) Message(s Summary) (subject, body string) {
	subject = fmt.Sprintf("【緊急配布要請】%s締切分 %d件", s.Day, s.Count)
	q := url.Values{"day": {s.Day}, "prefectureCode": {s.PrefectureCode}}
	body = fmt.Sprintf("%s 13:00 締切の緊急配布要請（都道府県コード %s）は %d 件です。\n"+
		"内容を確認してください: %s/sos-review?%s\n", s.Day, s.PrefectureCode, s.Count, r.baseURL, q.Encode())
	return subject, body
}
