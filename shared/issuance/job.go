package issuance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/password"
)

// AccountPrefix starts the keys of an issuance job's rows: one account each.
const AccountPrefix = "row#"

// PasswordPrefix starts the keys of an issuance job's sealed initial
// passwords, one item per account ("pw#0000012" for the row of line 12),
// apart from the account's row so that each can be deleted on its own:
// once the account's notice mail (which carries it) has been sent, or
// PasswordsKeptFor after the job was created (a TTL, checked on every
// read as well, since DynamoDB deletes expired items late).
const PasswordPrefix = "pw#"

// PasswordsKeptFor is how long initial passwords are kept at most.
const PasswordsKeptFor = 7 * 24 * time.Hour

func passwordKey(line int) string { return fmt.Sprintf("%s%07d", PasswordPrefix, line) }

// passwords reads the sealed passwords of the rows after the row key after
// ("" from the first), at most n, by line. Rows of people already
// registered have none, so n rows' passwords are among the next n.
func passwords(ctx context.Context, store job.Store, id, after string, n int) (map[int]job.Row, error) {
	if n == 0 {
		return nil, nil
	}
	if after != "" {
		after = PasswordPrefix + strings.TrimPrefix(after, AccountPrefix)
	}
	rows, err := store.Rows(ctx, id, PasswordPrefix, after, n)
	if err != nil {
		return nil, err
	}
	out := make(map[int]job.Row, len(rows))
	for _, r := range rows {
		out[r.Line] = r
	}
	return out, nil
}

// errPasswordGone fails an issuance whose accounts were not all opened
// before their initial passwords expired.
var errPasswordGone = &job.Failure{Message: "初期パスワードの保存期間（7日）を過ぎたため、残りのアカウントを作成できません。申請様式をもう一度アップロードしてください。",
	MessageEn: "the initial passwords expired (7 days) before every account was opened; upload the form again"}

// accountChunk is how many accounts one step opens.
const accountChunk = 64

// IssuanceJob issues the accounts of an application form as a job
// (job.Issuance): every row is checked first and, with any error, nothing
// is created; then each row gets a user ID and a sealed initial password
// in a row of the job, and the accounts are opened chunk by chunk, their
// passwords hashed by as many workers as there are CPUs.
type IssuanceJob struct {
	s       *Service
	store   job.Store
	files   *job.FileReader
	workers int
}

var _ job.Handler = (*IssuanceJob)(nil)

// NewIssuanceJob returns the handler of issuance jobs.
func NewIssuanceJob(s *Service, store job.Store, files job.Files) *IssuanceJob {
	return &IssuanceJob{s: s, store: store, files: job.NewFileReader(files), workers: runtime.NumCPU()}
}

// CheckIssuance is the check before an issuance job is created: the caller
// issues accounts, and the file has a row.
func CheckIssuance(actor authz.Principal, _ map[string]string, first *csvio.Row) error {
	if err := authz.AuthorizeRole(actor, authz.ManageAccounts); err != nil {
		return err
	}
	if first == nil {
		return apperr.InvalidField("file", "申請様式のCSVファイルを送信してください。", "the application form is required")
	}
	return nil
}

// Validate reads and checks the whole form, then stores each account to
// open, with its ID and sealed initial password, as a row of the job.
func (h *IssuanceJob) Validate(ctx context.Context, j *job.Job) error {
	actor := j.Principal()
	var rows []csvio.Row
	for {
		chunk, pos, err := h.files.Next(ctx, j, 1000)
		if err != nil {
			if pe, ok := err.(*csvio.ParseError); ok {
				return job.NewFailure(pe.Message, pe.MessageEn, []apperr.Problem{{Row: pe.Line, Message: pe.Message, MessageEn: pe.MessageEn}})
			}
			return err
		}
		if len(chunk) == 0 {
			break
		}
		rows = append(rows, chunk...)
		j.Position = pos
	}
	rows = DataRows(rows)
	if len(rows) == 0 {
		return &job.Failure{Message: "申請様式にデータ行がありません。", MessageEn: "the form has no rows"}
	}
	accounts, lines, registered, err := h.s.checkRows(ctx, actor, rows)
	if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
		return job.NewFailure(e.Message, e.MessageEn, e.Problems)
	}
	if err != nil {
		return err
	}
	out := make([]job.Row, len(accounts), 2*len(accounts))
	expires := j.CreatedAt.Add(PasswordsKeptFor)
	for i, a := range accounts {
		if id, ok := registered[i]; ok {
			// Shown in the accounts CSV in its place, and as a note of the job.
			key := fmt.Sprintf("%07d", lines[i])
			out[i] = job.Row{Key: AccountPrefix + key, Line: lines[i],
				Fields: map[string]string{"userId": id, "name": a.Name, "mail": a.Mail, "registered": "1"}}
			out = append(out, job.Row{Key: RegisteredPrefix + key, Line: lines[i], Fields: map[string]string{"userId": id}})
			continue
		}
		if a.ID, err = auth.NewUserID(); err != nil {
			return err
		}
		initial, err := password.Generate()
		if err != nil {
			return err
		}
		sealed, err := h.s.box.Seal([]byte(initial))
		if err != nil {
			return err
		}
		raw, err := json.Marshal(a)
		if err != nil {
			return err
		}
		out[i] = job.Row{Key: fmt.Sprintf("%s%07d", AccountPrefix, lines[i]), Line: lines[i],
			Fields: map[string]string{"userId": a.ID, "name": a.Name, "mail": a.Mail, "account": string(raw)}}
		out = append(out, job.Row{Key: passwordKey(lines[i]), Line: lines[i], Sealed: sealed, ExpiresAt: expires})
	}
	// Rows keyed by line: validating again after a lost invocation
	// replaces them, and no account exists yet.
	if err := h.store.PutRows(ctx, j.ID, out); err != nil {
		return err
	}
	j.RowsTotal, j.RowsDone, j.Cursor = len(accounts), 0, ""
	if len(registered) > 0 {
		j.Counts = map[string]int{"alreadyRegistered": len(registered)}
	}
	return nil
}

// Step opens the next chunk of accounts. An account opened before a crash
// (its ID exists) counts as opened and is not opened again.
func (h *IssuanceJob) Step(ctx context.Context, j *job.Job) (bool, error) {
	rows, err := h.store.Rows(ctx, j.ID, AccountPrefix, j.Cursor, accountChunk)
	if err != nil {
		return false, err
	}
	if len(rows) == 0 {
		return true, nil
	}
	pws, err := passwords(ctx, h.store, j.ID, j.Cursor, len(rows))
	if err != nil {
		return false, err
	}
	now := h.s.now()
	for _, r := range rows {
		if pw, ok := pws[r.Line]; r.Fields["registered"] == "" && (!ok || pw.Expired(now)) {
			return false, errPasswordGone
		}
	}
	actor := j.Principal()
	errs := make([]error, len(rows))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(h.workers, len(rows)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = h.open(ctx, actor.UserID, rows[i], pws[rows[i].Line].Sealed)
			}
		})
	}
	opened := 0
	for i, r := range rows {
		if r.Fields["registered"] != "" {
			continue // already registered: counted when validated
		}
		opened++
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return false, fmt.Errorf("row %d: %w", rows[i].Line, err)
		}
	}
	if opened > 0 {
		j.Add("created", opened)
	}
	j.RowsDone += len(rows)
	j.Cursor = rows[len(rows)-1].Key
	return false, nil
}

func (h *IssuanceJob) open(ctx context.Context, actor string, r job.Row, sealed string) error {
	var a auth.NewAccount
	if err := json.Unmarshal([]byte(r.Fields["account"]), &a); err != nil {
		return err
	}
	initial, err := h.s.box.Open(sealed)
	if err != nil {
		return err
	}
	_, err = h.s.accounts.OpenAccount(ctx, actor, a, string(initial))
	if e := apperr.As(err); e != nil && e.Code == apperr.Conflict && e.Field == "" {
		return nil // the ID exists: opened before a crash
	}
	return err
}

// The password column of an account whose initial password is not shown.
const (
	notIssued     = "（登録済みのため発行していません）"
	mailedAndGone = "（通知メール送信済みのため初期パスワードは削除しました）"
	passwordGone  = "（保存期間の7日を過ぎたため初期パスワードは削除しました）"
)

// AccountsCSV writes the result of an issuance job: user ID, name, mail
// and initial password, while it is kept: until its account's notice mail
// has been sent, or for PasswordsKeptFor; after that the row lists the ID
// and says why the password is gone. Each download is audited and deletes
// what a notice job left of passwords no longer served.
func (s *Service) AccountsCSV(ctx context.Context, actor authz.Principal, store job.Store, j job.Job, w *csvio.Writer) error {
	if j.Kind != job.Issuance || j.State != job.Done {
		return apperr.New(apperr.Conflict, "アカウントの作成が終わっていません。", "the accounts are not issued yet")
	}
	now := s.now()
	keep := now.Before(j.CreatedAt.Add(PasswordsKeptFor))
	// Audited before anything leaves: a download cut short still counts.
	if err := s.audit.Record(ctx, audit.Event{At: now, UserID: actor.UserID, Actor: actor.UserID, Action: audit.InitialPasswordsReturned,
		Detail: map[string]string{"job": j.ID, "accounts": strconv.Itoa(j.RowsDone), "passwordsKept": strconv.FormatBool(keep)}}); err != nil {
		return fmt.Errorf("audit download of job %s: %w", j.ID, err)
	}
	if err := w.Write([]string{"利用者ID", "利用者名", "メールアドレス", "初期パスワード"}); err != nil {
		return err
	}
	after := ""
	for {
		rows, err := store.Rows(ctx, j.ID, AccountPrefix, after, 1000)
		if err != nil {
			return err
		}
		pws, err := passwords(ctx, store, j.ID, after, len(rows))
		if err != nil {
			return err
		}
		var drop []string
		for _, r := range rows {
			pw, kept := pws[r.Line]
			if kept && (r.Done || pw.Expired(now)) {
				drop = append(drop, pw.Key)
			}
			text := ""
			switch {
			case r.Fields["registered"] != "":
				text = notIssued
			case kept && !r.Done && !pw.Expired(now):
				raw, err := s.box.Open(pw.Sealed)
				if err != nil {
					return err
				}
				text = string(raw)
			case r.Done:
				text = mailedAndGone
			default:
				text = passwordGone
			}
			if err := w.Write([]string{r.Fields["userId"], r.Fields["name"], r.Fields["mail"], text}); err != nil {
				return err
			}
			after = r.Key
		}
		if err := store.DeleteRows(ctx, j.ID, drop); err != nil {
			return err
		}
		if len(rows) < 1000 {
			break
		}
	}
	return w.Flush()
}

// NotifyJob sends the notice mails of an issuance job as a job
// (job.Notify, params "issuance": the issuance job): one mail per account
// not yet notified, at most rate a second, each account marked notified
// as soon as its mail is sent, and its password deleted then: the mail
// has carried it, and the accounts CSV no longer shows it.
//
// A mail is never sent twice without a decision. Before SES is called
// the row is marked "sending" by this attempt; once SES accepts the mail
// the row is marked done. A crash between the two leaves the mark: the
// mail may or may not have left, and SES cannot be asked which. A resumed
// or later job does not guess — it counts such a row as "unconfirmed",
// logs it and sends nothing. An administrator who has checked with the
// recipient sends it again with a job whose params carry
// "resendUnconfirmed": "true"; that resend is logged and audited. The
// price is that a crash in that instant leaves one person unnotified until
// someone decides, instead of perhaps notifying them twice with a
// password.
type NotifyJob struct {
	s      *Service
	store  job.Store
	marks  SendMarks
	budget MailBudget
	rate   int
	sleep  func(time.Duration)
	logger *slog.Logger
}

// SendMarks marks the rows whose notice mail is being sent.
type SendMarks interface {
	// MarkSending marks a row as being sent by attempt; Conflict if it is
	// done, or marked by another attempt and not force.
	MarkSending(ctx context.Context, id, key, attempt string, force bool) error
	// ClearSending removes attempt's mark (the mail was not sent).
	ClearSending(ctx context.Context, id, key, attempt string) error
}

// MailBudget is the SES send rate shared by every notice-mail job at
// once: each job paces itself at the rate, and all of them together take
// their mails from this budget.
type MailBudget interface {
	// Take waits until one more mail may be sent within the rate, or ctx ends.
	Take(ctx context.Context) error
}

// ResendUnconfirmed is the notify job's param that sends again the mails
// whose sending was never confirmed (a crash while sending).
const ResendUnconfirmed = "resendUnconfirmed"

var _ job.Handler = (*NotifyJob)(nil)

// NewNotifyJob returns the handler of notice-mail jobs; rate is mails per
// second, of this job and, through budget, of all at once (nil: this job's
// pace alone).
func NewNotifyJob(s *Service, store job.Store, marks SendMarks, budget MailBudget, rate int, logger *slog.Logger) *NotifyJob {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &NotifyJob{s: s, store: store, marks: marks, budget: budget, rate: max(rate, 1), sleep: time.Sleep, logger: logger}
}

// NewNotifyCheck is the check before a notice-mail job is created: the
// caller created the issuance job named, and it is done.
func NewNotifyCheck(store job.Store) job.Check {
	return func(actor authz.Principal, params map[string]string, _ *csvio.Row) error {
		if err := authz.AuthorizeRole(actor, authz.ManageAccounts); err != nil {
			return err
		}
		issued, err := store.GetJob(context.Background(), params["issuance"])
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && (issued.Owner != actor.UserID || issued.Kind != job.Issuance)) {
			return apperr.InvalidField("issuance", "一括発行の処理が見つかりません。", "no such issuance job")
		}
		if err != nil {
			return err
		}
		if issued.State != job.Done {
			return apperr.InvalidField("issuance", "アカウントの作成が終わっていません。", "the issuance job is not done")
		}
		return nil
	}
}

// Validate counts the accounts.
func (h *NotifyJob) Validate(ctx context.Context, j *job.Job) error {
	issued, err := h.store.GetJob(ctx, j.Params["issuance"])
	if err != nil {
		return err
	}
	j.RowsTotal, j.RowsDone, j.Cursor = issued.RowsTotal, 0, ""
	return nil
}

// notifyStepFor bounds one step's sending, well inside the job's lease
// (renewed between steps): with many notice jobs sharing the send rate a
// chunk of mails can take minutes, and a lease running out under a step
// lets the sweeper start a second runner on the same job.
const notifyStepFor = 30 * time.Second

// Step sends the mails of the next chunk of accounts, for at most
// notifyStepFor. Throttling by SES is retried with backoff; an account
// whose mail fails otherwise is counted as failed and left unmarked for a
// later job.
func (h *NotifyJob) Step(ctx context.Context, j *job.Job) (done bool, err error) {
	issuance := j.Params["issuance"]
	rows, err := h.store.Rows(ctx, issuance, AccountPrefix, j.Cursor, accountChunk)
	if err != nil {
		return false, err
	}
	if len(rows) == 0 {
		return true, nil
	}
	pws, err := passwords(ctx, h.store, issuance, j.Cursor, len(rows))
	if err != nil {
		return false, err
	}
	// The password keys of the accounts notified, deleted however the
	// step ends: the mail has carried them.
	var sent []string
	defer func() {
		if derr := h.store.DeleteRows(context.WithoutCancel(ctx), issuance, sent); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	gap := time.Second / time.Duration(h.rate)
	started := h.s.now()
	// An attempt is this call: a retried invocation (same request ID)
	// is another attempt, and finds the marks this one leaves.
	attempt := j.ID + "/" + job.NewID()
	for i, r := range rows {
		if i > 0 && h.s.now().Sub(started) >= notifyStepFor {
			return false, nil // the rest in the next step
		}
		j.RowsDone++
		j.Cursor = r.Key
		if r.Fields["registered"] != "" {
			j.Add("alreadyRegistered", 1) // no new account, no mail
			continue
		}
		pw, kept := pws[r.Line]
		if r.Done {
			j.Add("alreadySent", 1)
			if kept {
				// Mailed by a step that ended before deleting it.
				sent = append(sent, pw.Key)
			}
			continue
		}
		if !kept || pw.Expired(h.s.now()) {
			j.Add("passwordExpired", 1) // no password left to send
			continue
		}
		resend := r.Fields["sending"] != ""
		if resend && j.Params[ResendUnconfirmed] != "true" {
			h.logger.Warn("notice mail unconfirmed: not sent again", "job_id", j.ID, "issuance", issuance, "user_id", r.Fields["userId"], "attempt", r.Fields["sending"])
			j.Add("unconfirmed", 1)
			continue
		}
		if err := h.marks.MarkSending(ctx, issuance, r.Key, attempt, resend); err != nil {
			if apperr.CodeOf(err) != apperr.Conflict {
				return false, err
			}
			// Done or being sent by another job meanwhile.
			h.logger.Warn("notice mail taken by another attempt: not sent", "job_id", j.ID, "issuance", issuance, "user_id", r.Fields["userId"])
			j.Add("unconfirmed", 1)
			continue
		}
		if resend {
			h.logger.Warn("notice mail sent again after an unconfirmed attempt, as asked", "job_id", j.ID, "issuance", issuance, "user_id", r.Fields["userId"], "attempt", r.Fields["sending"])
		}
		initial, err := h.s.box.Open(pw.Sealed)
		if err != nil {
			return false, err
		}
		body := fmt.Sprintf("%s 様\n\n医療機関等情報支援システムのアカウントを発行しました。\n\n利用者ID: %s\n初期パスワード: %s\nURL: %s\n\n初回ログイン時にパスワードの変更が必要です。このメールは他の人に転送しないでください。\n",
			r.Fields["name"], r.Fields["userId"], initial, h.s.loginURL)
		if err := h.send(ctx, r.Fields["mail"], body, gap); err != nil {
			if ns := (*notSent)(nil); errors.As(err, &ns) {
				// Nothing left: the mark goes, and the job is retried.
				if cerr := h.marks.ClearSending(context.WithoutCancel(ctx), issuance, r.Key, attempt); cerr != nil {
					return false, errors.Join(ns.err, cerr)
				}
				return false, ns.err
			}
			if !refused(err) {
				// No answer, or an unclear one: the mail may have left. The
				// mark stays, so no later job sends it again unasked.
				h.logger.Warn("notice mail unconfirmed: no clear answer from SES", "job_id", j.ID, "issuance", issuance,
					"user_id", r.Fields["userId"], "error", err.Error())
				j.Add("unconfirmed", 1)
				continue
			}
			j.Add("failed", 1)
			if err := h.marks.ClearSending(ctx, issuance, r.Key, attempt); err != nil {
				return false, err
			}
			continue
		}
		if err := h.store.MarkRow(ctx, issuance, r.Key); err != nil {
			return false, err
		}
		j.Add("sent", 1)
		sent = append(sent, pw.Key)
		detail := map[string]string{"job": issuance}
		if resend {
			detail["resentAfter"] = r.Fields["sending"]
		}
		if err := h.s.audit.Record(ctx, audit.Event{At: h.s.now(), UserID: r.Fields["userId"], Actor: j.Owner, Action: audit.InitialPasswordMailed,
			Detail: detail}); err != nil {
			return false, err
		}
	}
	// The deferred delete runs after the rows were marked: a crash in
	// between leaves passwords that no download serves, and the next
	// step or download deletes them.
	return false, nil
}

// send sends one mail at the configured rate, within the shared budget,
// retrying throttling.
func (h *NotifyJob) send(ctx context.Context, to, body string, gap time.Duration) error {
	wait := gap
	for attempt := 0; ; attempt++ {
		h.sleep(wait)
		if h.budget != nil {
			if err := h.budget.Take(ctx); err != nil {
				return &notSent{err}
			}
		}
		err := h.s.mail.Mail(ctx, to, "【医療機関等情報支援システム】アカウント発行のお知らせ", body)
		if err == nil || attempt >= 5 || !throttled(err) {
			return err
		}
		wait = gap << (attempt + 1)
	}
}

// notSent is a failure before the mail was handed to SES.
type notSent struct{ err error }

func (e *notSent) Error() string { return "mail not sent: " + e.err.Error() }

// refused reports an answer from SES that says the mail was not sent
// (a 4xx error it names), as opposed to a timeout or a server error,
// after which the mail may or may not have left.
func refused(err error) bool {
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) {
		return false
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}

// throttled reports SES's "Throttling" (maximum sending rate exceeded).
func throttled(err error) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && (ae.ErrorCode() == "Throttling" || ae.ErrorCode() == "ThrottlingException")
}
