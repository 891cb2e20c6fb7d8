package sos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/calendar"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// Store keeps requests and the windows they join.
type Store interface {
	// Get reads one request; NotFound when absent.
	Get(ctx context.Context, code, id string) (Request, error)
	// List reads a page of an institution's requests, newest first, and
	// the cursor of the next page ("" at the end).
	List(ctx context.Context, code string, limit int, cursor string) ([]Request, string, error)
	// Put writes r if the stored version is still prev (0: r is new) and
	// the stored request is not accepted; Conflict otherwise.
	Put(ctx context.Context, r Request, prev int64) error
	// Join writes r like Put, with its membership of the window
	// r.BusinessDay and the audit event ev, in one transaction with a
	// check that the window is still open: ErrWindowClosed when it is not.
	Join(ctx context.Context, r Request, prev int64, ev audit.Event) error
	// Delete removes the draft r at version prev, and its membership of a
	// window if it joined one.
	Delete(ctx context.Context, r Request, prev int64) error
	// Day reads the requests of one prefecture's window, oldest first.
	Day(ctx context.Context, prefecture, day string) ([]Request, error)
}

// ApplyRead is what an apply reads: the institution's master record (nil
// when it is not in the master), the request (nil when there is none) and
// the institution's latest surveys as they are now.
type ApplyRead struct {
	Institution *master.Record
	Request     *Request
	Surveys     survey.Status
}

// ApplyReader reads an apply's ApplyRead in one round trip.
type ApplyReader interface {
	ReadApply(ctx context.Context, code, id string) (ApplyRead, error)
}

// ErrWindowClosed is Join's error when the window closed meanwhile.
var ErrWindowClosed = errors.New("window closed")

// Surveys reads an institution's latest daily and weekly surveys.
type Surveys interface {
	GetStatus(ctx context.Context, code string) (survey.Status, error)
}

// Institutions finds institutions in the master: one, or many at once
// (absent codes are left out).
type Institutions interface {
	GetRecord(ctx context.Context, kind master.Kind, code string) (master.Record, error)
	GetRecords(ctx context.Context, kind master.Kind, codes []string) (map[string]master.Record, error)
}

// Mailer sends one mail.
type Mailer interface {
	Mail(ctx context.Context, to, subject, body string) error
}

// Accounts finds the accounts of an institution (for the mail on 受付完了).
type Accounts interface {
	Mails(ctx context.Context, by, code string, role ...authz.Role) ([]string, error)
}

// Audit actions of SOS requests.
const (
	AuditCreated   = "sos_created"
	AuditUpdated   = "sos_updated"
	AuditApplied   = "sos_applied"
	AuditDeleted   = "sos_deleted"
	AuditConfirmed = "sos_prefecture_confirmed"
	AuditAccepted  = "sos_accepted"
)

// Service files, checks and reviews requests.
type Service struct {
	store     Store
	surveys   Surveys
	insts     Institutions
	audit     audit.Log
	mail      Mailer
	accounts  Accounts
	directory Directory
	reader    ApplyReader
	now       func() time.Time
}

// Deps are a Service's dependencies; Mailer and Accounts may be nil (no
// mail on acceptance), Directory too (reviewers see applicants' IDs
// without names), Now defaults to time.Now.
type Deps struct {
	Store     Store
	Surveys   Surveys
	Insts     Institutions
	Audit     audit.Log
	Mail      Mailer
	Accounts  Accounts
	Directory Directory
	// Reader reads what an apply needs in one round trip; nil: Insts,
	// Store and Surveys one after the other.
	Reader ApplyReader
	Now    func() time.Time
}

// serialReader is the ApplyReader of three reads.
type serialReader struct {
	store   Store
	surveys Surveys
	insts   Institutions
}

func (r serialReader) ReadApply(ctx context.Context, code, id string) (ApplyRead, error) {
	var out ApplyRead
	rec, err := r.insts.GetRecord(ctx, master.Institutions, code)
	if err == nil {
		out.Institution = &rec
	} else if apperr.CodeOf(err) != apperr.NotFound {
		return out, fmt.Errorf("find institution %s: %w", code, err)
	}
	req, err := r.store.Get(ctx, code, id)
	if err == nil {
		out.Request = &req
	} else if apperr.CodeOf(err) != apperr.NotFound {
		return out, err
	}
	out.Surveys, err = r.surveys.GetStatus(ctx, code)
	if err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return out, fmt.Errorf("read surveys of %s: %w", code, err)
	}
	return out, nil
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Reader == nil {
		d.Reader = serialReader{store: d.Store, surveys: d.Surveys, insts: d.Insts}
	}
	return &Service{store: d.Store, surveys: d.Surveys, insts: d.Insts, audit: d.Audit, mail: d.Mail, accounts: d.Accounts, directory: d.Directory, reader: d.Reader, now: d.Now}
}

// Window is the open window: the business day it belongs to, its
// deadline and the time left.
type Window struct {
	BusinessDay string    `json:"businessDay"`
	Deadline    time.Time `json:"deadline"`
	SecondsLeft int64     `json:"secondsLeft"`
	// LastClosedDay is the business day of the window closed last (the
	// one before BusinessDay): what reviewers look at once it closed.
	LastClosedDay string `json:"lastClosedDay"`
}

// OpenWindow returns the window a request applied now would join.
func OpenWindow(now time.Time) Window {
	day := calendar.BusinessDayOf(now)
	dl := calendar.Deadline(day)
	return Window{BusinessDay: calendar.Format(day), Deadline: dl, SecondsLeft: int64(dl.Sub(now) / time.Second),
		LastClosedDay: calendar.Format(calendar.PrevBusinessDay(day))}
}

// Window answers the open window.
func (s *Service) Window() Window { return OpenWindow(s.now()) }

func newID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	// Sorts by creation time: a Query newest first lists newest first.
	return fmt.Sprintf("%013d%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// mayAct is what can be decided about p acting on institution code before
// reading anything.
func mayAct(p authz.Principal, a authz.Action, code string) error {
	if err := survey.CheckInstitution(code); err != nil {
		return err
	}
	if err := authz.AuthorizeRole(p, a); err != nil {
		return err
	}
	if p.InstitutionCode != "" && p.InstitutionCode != code {
		return authz.Authorize(p, a, authz.Scope{InstitutionCode: code})
	}
	return nil
}

// mayActOn decides p acting on the institution read (nil: not in the
// master).
func mayActOn(p authz.Principal, a authz.Action, rec *master.Record) error {
	if rec == nil {
		return authz.Unknown(p, a, apperr.New(apperr.NotFound, "医療機関が見つかりません。", "no such institution"))
	}
	return authz.Authorize(p, a, rec.Scope())
}

func (s *Service) institution(ctx context.Context, p authz.Principal, a authz.Action, code string) (master.Record, error) {
	if err := mayAct(p, a, code); err != nil {
		return master.Record{}, err
	}
	rec, err := s.insts.GetRecord(ctx, master.Institutions, code)
	if apperr.CodeOf(err) == apperr.NotFound {
		return master.Record{}, mayActOn(p, a, nil)
	}
	if err != nil {
		return master.Record{}, fmt.Errorf("find institution %s: %w", code, err)
	}
	return rec, mayActOn(p, a, &rec)
}

func (s *Service) event(p authz.Principal, action string, r Request, extra map[string]string) audit.Event {
	d := map[string]string{"institutionCode": r.InstitutionCode, "requestId": r.ID, "status": string(r.Status), "version": fmt.Sprint(r.Version)}
	for k, v := range extra {
		d[k] = v
	}
	return audit.Event{At: s.now().UTC(), UserID: p.UserID, Action: action, Detail: d}
}

func (s *Service) record(ctx context.Context, p authz.Principal, action string, r Request, extra map[string]string) {
	// The audit log wrapper logs its own failures; a write never fails
	// for want of its audit record after the fact.
	_ = s.audit.Record(ctx, s.event(p, action, r, extra))
}

// Create saves a new request (未申請) of institution code.
func (s *Service) Create(ctx context.Context, p authz.Principal, code string, in Input) (Request, error) {
	inst, err := s.institution(ctx, p, authz.FileSOS, code)
	if err != nil {
		return Request{}, err
	}
	items, err := in.Validate()
	if err != nil {
		return Request{}, err
	}
	now := s.now().UTC()
	name := inst.Fields["name"]
	r := Request{ID: newID(now), InstitutionCode: code, InstitutionName: name, Category: inst.Fields["category"],
		PrefectureCode: inst.Fields["prefectureCode"], HealthCenterCode: inst.Fields["healthCenterCode"],
		Title: Title(now, name), Status: StatusDraft, ConfirmedGeneral: in.ConfirmedGeneral, ConfirmedN95: in.ConfirmedN95,
		Items: items, Comment: in.Comment, Version: 1, CreatedAt: now, CreatedBy: p.UserID, UpdatedAt: now, UpdatedBy: p.UserID}
	r.note(now, p.UserID, ChangeCreated)
	if err := s.store.Put(ctx, r, 0); err != nil {
		return Request{}, err
	}
	s.record(ctx, p, AuditCreated, r, nil)
	return r.view(p), nil
}

// view hides what the institution does not see: the prefecture's
// confirmation is for reviewers.
func (r Request) view(p authz.Principal) Request {
	if p.InstitutionCode != "" {
		r.PrefectureConfirmedAt, r.PrefectureConfirmedBy, r.PrefectureNote = nil, "", ""
		r.History, r.EditedAfterClose = nil, false
	}
	r.StatusLabel = r.Status.Label()
	return r
}

// Get reads one request.
func (s *Service) Get(ctx context.Context, p authz.Principal, code, id string) (Request, error) {
	if _, err := s.institution(ctx, p, authz.ReadInstitution, code); err != nil {
		return Request{}, err
	}
	r, err := s.store.Get(ctx, code, id)
	if err != nil {
		return Request{}, err
	}
	return r.view(p), nil
}

// List reads a page of an institution's requests, newest first.
func (s *Service) List(ctx context.Context, p authz.Principal, code string, limit int, cursor string) ([]Request, string, error) {
	if _, err := s.institution(ctx, p, authz.ReadInstitution, code); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	rs, next, err := s.store.List(ctx, code, limit, cursor)
	for i := range rs {
		rs[i] = rs[i].view(p)
	}
	return rs, next, err
}

func accepted() error {
	return apperr.New(apperr.Conflict, "「受付完了」の場合は要請内容を変更できません。", "an accepted request cannot be changed")
}

func checkVersion(r Request, v int64) error {
	if v != r.Version {
		return &apperr.Error{Code: apperr.Conflict, Field: "version",
			Message:   fmt.Sprintf("この要請は他の方が更新しました（現在のバージョン %d）。最新の内容を読み込んでから入力し直してください。", r.Version),
			MessageEn: fmt.Sprintf("the request was changed; the current version is %d: read it again", r.Version),
			Detail:    map[string]string{"currentVersion": fmt.Sprint(r.Version), "updatedBy": r.UpdatedBy}}
	}
	return nil
}

// Update edits a request at the version read. An applied request is
// checked again and keeps its window.
func (s *Service) Update(ctx context.Context, p authz.Principal, code, id string, in Input) (Request, error) {
	if _, err := s.institution(ctx, p, authz.FileSOS, code); err != nil {
		return Request{}, err
	}
	items, err := in.Validate()
	if err != nil {
		return Request{}, err
	}
	r, err := s.store.Get(ctx, code, id)
	if err != nil {
		return Request{}, err
	}
	if !r.Status.Editable() {
		return Request{}, accepted()
	}
	if err := checkVersion(r, in.Version); err != nil {
		return Request{}, err
	}
	prev := r.Version
	r.ConfirmedGeneral, r.ConfirmedN95, r.Items, r.Comment = in.ConfirmedGeneral, in.ConfirmedN95, items, in.Comment
	r.Version++
	r.UpdatedAt, r.UpdatedBy = s.now().UTC(), p.UserID
	if r.Status == StatusUnderReview {
		if err := s.check(ctx, &r); err != nil {
			return Request{}, err
		}
	}
	r.note(r.UpdatedAt, p.UserID, ChangeUpdated)
	if err := s.store.Put(ctx, r, prev); err != nil {
		return Request{}, err
	}
	s.record(ctx, p, AuditUpdated, r, map[string]string{"businessDay": r.BusinessDay})
	return r.view(p), nil
}

// check runs the eligibility check on r against the surveys as they are
// now and sets its status, problems and the survey versions read.
func (s *Service) check(ctx context.Context, r *Request) error {
	st, err := s.surveys.GetStatus(ctx, r.InstitutionCode)
	if err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return fmt.Errorf("read surveys of %s: %w", r.InstitutionCode, err)
	}
	s.judge(r, st)
	return nil
}

// judge runs the eligibility check on r against st, the surveys read.
func (s *Service) judge(r *Request, st survey.Status) {
	now := s.now().UTC()
	r.CheckedAt = &now
	r.CheckedDaily, r.CheckedWeekly = "", ""
	if st.Daily != nil {
		r.CheckedDaily = fmt.Sprintf("%s@v%d", st.Daily.Period, st.Daily.Version)
	}
	if st.Weekly != nil {
		r.CheckedWeekly = fmt.Sprintf("%s@v%d", st.Weekly.Period, st.Weekly.Version)
	}
	r.Problems = Check(r.Category, r.Items, st)
	if len(r.Problems) > 0 {
		r.Status = StatusError
	} else {
		r.Status = StatusUnderReview
	}
}

// Apply is システムチェック&申請: it checks eligibility and, when the
// institution is eligible, joins the open window. The institution, the
// request and the surveys are read in one round trip, and joining the
// window is one transaction with the request, its membership and its
// audit record.
func (s *Service) Apply(ctx context.Context, p authz.Principal, code, id string, version int64) (Request, error) {
	if err := mayAct(p, authz.FileSOS, code); err != nil {
		return Request{}, err
	}
	read, err := s.reader.ReadApply(ctx, code, id)
	if err != nil {
		return Request{}, err
	}
	if err := mayActOn(p, authz.FileSOS, read.Institution); err != nil {
		return Request{}, err
	}
	if read.Request == nil {
		return Request{}, apperr.New(apperr.NotFound, "要請が見つかりません。", "no such request")
	}
	inst, r := *read.Institution, *read.Request
	if !r.Status.Editable() {
		return Request{}, accepted()
	}
	if err := checkVersion(r, version); err != nil {
		return Request{}, err
	}
	prev := r.Version
	r.Category = inst.Fields["category"]
	r.Version++
	r.UpdatedAt, r.UpdatedBy = s.now().UTC(), p.UserID
	s.judge(&r, read.Surveys)
	if r.Status != StatusUnderReview || r.BusinessDay != "" {
		// Failing, or already in a window: an ordinary versioned write.
		r.note(r.UpdatedAt, p.UserID, ChangeApplied)
		if err := s.store.Put(ctx, r, prev); err != nil {
			return Request{}, err
		}
		s.record(ctx, p, AuditApplied, r, map[string]string{"businessDay": r.BusinessDay, "problems": fmt.Sprint(len(r.Problems))})
		return r.view(p), nil
	}
	now := s.now()
	day := calendar.BusinessDayOf(now)
	for range 3 {
		at := now.UTC()
		r.AppliedAt, r.AppliedBy, r.BusinessDay = &at, p.UserID, calendar.Format(day)
		joined := r
		joined.note(at, p.UserID, ChangeApplied)
		err = s.store.Join(ctx, joined, prev, s.event(p, AuditApplied, joined, map[string]string{"businessDay": joined.BusinessDay, "problems": "0"}))
		if err == nil {
			r = joined
		}
		if !errors.Is(err, ErrWindowClosed) {
			break
		}
		// The rollover closed this window meanwhile: the next one.
		day = calendar.NextBusinessDay(day)
	}
	if err != nil {
		return Request{}, err
	}
	return r.view(p), nil
}

// Delete removes a draft (未申請 or エラー有り) at the version read.
func (s *Service) Delete(ctx context.Context, p authz.Principal, code, id string, version int64) error {
	if _, err := s.institution(ctx, p, authz.FileSOS, code); err != nil {
		return err
	}
	r, err := s.store.Get(ctx, code, id)
	if err != nil {
		return err
	}
	if r.Status != StatusDraft && r.Status != StatusError {
		return apperr.New(apperr.Conflict, "申請済みの要請は削除できません。", "only drafts can be deleted")
	}
	if err := checkVersion(r, version); err != nil {
		return err
	}
	if err := s.store.Delete(ctx, r, version); err != nil {
		return err
	}
	s.record(ctx, p, AuditDeleted, r, nil)
	return nil
}

// Day lists the requests of a prefecture's window (business day day),
// optionally of one status, for reviewers.
func (s *Service) Day(ctx context.Context, p authz.Principal, prefecture, day string, status Status) ([]Request, error) {
	if err := authz.AuthorizeRole(p, authz.ReviewSOS); err != nil {
		return nil, err
	}
	if prefecture == "" {
		prefecture = p.PrefectureCode
	}
	if !validPrefecture(prefecture) {
		return nil, apperr.InvalidField("prefectureCode", "都道府県コード（01〜47）を指定してください。", "give prefectureCode (01 to 47)")
	}
	if err := authz.Authorize(p, authz.ReviewSOS, authz.Scope{PrefectureCode: prefecture}); err != nil {
		return nil, err
	}
	if _, err := calendar.Parse(day); err != nil {
		return nil, apperr.InvalidField("day", "日付は 2026-01-05 のように指定してください。", "day must be YYYY-MM-DD")
	}
	if status != "" && !status.Known() {
		return nil, apperr.InvalidField("status", "状態は 未申請（draft）・エラー有り（error）・都道府県・国確認中（under_review）・受付完了（accepted）のいずれかで指定してください。",
			"status must be one of draft, error, under_review, accepted")
	}
	rs, err := s.store.Day(ctx, prefecture, day)
	if err != nil {
		return nil, err
	}
	out := rs[:0]
	for _, r := range rs {
		if status == "" || r.Status == status {
			out = append(out, r.view(p))
		}
	}
	return out, nil
}

// Review is a reviewer's step: the version read and a note.
type Review struct {
	Version int64  `json:"version"`
	Note    string `json:"note"`
}

func (s *Service) reviewed(ctx context.Context, p authz.Principal, a authz.Action, code, id string, in Review) (Request, int64, error) {
	if err := authz.AuthorizeRole(p, a); err != nil {
		return Request{}, 0, err
	}
	if len([]rune(in.Note)) > MaxComment {
		return Request{}, 0, apperr.InvalidField("note", fmt.Sprintf("メモは%d文字以内で入力してください。", MaxComment), fmt.Sprintf("note must be at most %d characters", MaxComment))
	}
	if _, err := s.institution(ctx, p, a, code); err != nil {
		return Request{}, 0, err
	}
	r, err := s.store.Get(ctx, code, id)
	if err != nil {
		return Request{}, 0, err
	}
	if r.Status != StatusUnderReview {
		if r.Status == StatusAccepted {
			return Request{}, 0, accepted()
		}
		return Request{}, 0, apperr.New(apperr.Conflict, "確認中の要請ではありません。", "the request is not under review")
	}
	if err := checkVersion(r, in.Version); err != nil {
		return Request{}, 0, err
	}
	prev := r.Version
	r.Version++
	return r, prev, nil
}

// Confirm records the prefecture's confirmation (都道府県確認済).
func (s *Service) Confirm(ctx context.Context, p authz.Principal, code, id string, in Review) (Request, error) {
	r, prev, err := s.reviewed(ctx, p, authz.ReviewSOS, code, id, in)
	if err != nil {
		return Request{}, err
	}
	now := s.now().UTC()
	r.PrefectureConfirmedAt, r.PrefectureConfirmedBy, r.PrefectureNote = &now, p.UserID, in.Note
	r.note(now, p.UserID, ChangeConfirmed)
	if err := s.store.Put(ctx, r, prev); err != nil {
		return Request{}, err
	}
	s.record(ctx, p, AuditConfirmed, r, nil)
	return r.view(p), nil
}

// Accept sets 受付完了 (national administrators only) and mails the
// institution's accounts.
func (s *Service) Accept(ctx context.Context, p authz.Principal, code, id string, in Review) (Request, error) {
	r, prev, err := s.reviewed(ctx, p, authz.AcceptSOS, code, id, in)
	if err != nil {
		return Request{}, err
	}
	now := s.now().UTC()
	r.Status, r.AcceptedAt, r.AcceptedBy, r.AcceptedNote = StatusAccepted, &now, p.UserID, in.Note
	r.note(now, p.UserID, ChangeAccepted)
	if err := s.store.Put(ctx, r, prev); err != nil {
		return Request{}, err
	}
	s.record(ctx, p, AuditAccepted, r, nil)
	if s.mail != nil && s.accounts != nil {
		mails, err := s.accounts.Mails(ctx, "institution", code, authz.InstitutionManager, authz.InstitutionUser)
		if err != nil {
			return r.view(p), fmt.Errorf("accounts of %s: %w", code, err)
		}
		for _, to := range mails {
			body := fmt.Sprintf("%s 様\n\n緊急配布要請「%s」を受け付けました。\n都道府県にて内容を確認し追って連絡いたします。\n", r.InstitutionName, r.Title)
			if err := s.mail.Mail(ctx, to, "【G-MIS】緊急配布要請 受付完了", body); err != nil {
				return r.view(p), fmt.Errorf("mail %s: %w", code, err)
			}
		}
	}
	return r.view(p), nil
}

// validPrefecture reports whether code is a prefecture's: 01 to 47.
func validPrefecture(code string) bool {
	return len(code) == 2 && code >= "01" && code <= "47" && code[0] >= '0' && code[0] <= '4' && code[1] >= '0' && code[1] <= '9'
}
