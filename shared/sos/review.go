package sos

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/calendar"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// The steps a request's history records.
const (
	ChangeCreated   = "created"
	ChangeUpdated   = "updated"
	ChangeApplied   = "applied"
	ChangeConfirmed = "prefecture_confirmed"
	ChangeAccepted  = "accepted"
)

// MaxHistory bounds a request's history: the first step and the latest
// ones are kept.
const MaxHistory = 100

// Change is one step in a request's history: who did what when, and the
// status it left. AfterClose marks an institution's change made after the
// window the request belongs to closed (13:00 JST of its business day).
type Change struct {
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	Action     string    `json:"action"`
	Status     Status    `json:"status"`
	AfterClose bool      `json:"afterClose,omitempty"`
}

// AfterClose reports whether a change at t to a request of window day
// comes after that window closed.
func AfterClose(day string, t time.Time) bool {
	d, err := calendar.Parse(day)
	return err == nil && !t.Before(calendar.Deadline(d))
}

// note appends a step to r's history, with r's status after it.
func (r *Request) note(at time.Time, by, action string) {
	c := Change{At: at.UTC(), By: by, Action: action, Status: r.Status}
	if (action == ChangeUpdated || action == ChangeApplied) && r.BusinessDay != "" && AfterClose(r.BusinessDay, at) {
		c.AfterClose, r.EditedAfterClose = true, true
	}
	h := append(r.History, c)
	if len(h) > MaxHistory {
		h = append(h[:1:1], h[len(h)-MaxHistory+1:]...)
	}
	r.History = h
}

// Directory finds an account's name (the applicant shown to reviewers).
type Directory interface {
	// UserNames answers the names of accounts; one without a name, or
	// deleted, is left out.
	UserNames(ctx context.Context, ids []string) (map[string]string, error)
}

// Detail is what a reviewer sees of a request: the request with its
// history, the institution with its phone (seed 004 注2: reviewers
// telephone), the applicant and the institution's latest surveys as they
// are now.
type Detail struct {
	Request     Request           `json:"request"`
	Institution InstitutionView   `json:"institution"`
	Applicant   *Person           `json:"applicant,omitempty"`
	Surveys     LatestSurveysView `json:"latestSurveys"`
}

// InstitutionView is the institution beside a request.
type InstitutionView struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	Category       string `json:"category"`
	PrefectureCode string `json:"prefectureCode"`
	Phone          string `json:"phone"`
}

// Person is an account by ID and name.
type Person struct {
	UserID string `json:"userId"`
	Name   string `json:"name"`
}

// LatestSurveysView is the institution's latest daily and weekly survey
// (null when none is on file).
type LatestSurveysView struct {
	Daily  *survey.Record[survey.Daily]  `json:"daily"`
	Weekly *survey.Record[survey.Weekly] `json:"weekly"`
}

func (s *Service) person(ctx context.Context, id string) *Person {
	if id == "" {
		return nil
	}
	p := &Person{UserID: id}
	if s.directory != nil {
		// A deleted account leaves the ID: the request stays readable.
		if names, err := s.directory.UserNames(ctx, []string{id}); err == nil {
			p.Name = names[id]
		}
	}
	return p
}

// ReviewDetail reads a request for a reviewer of its prefecture (or a
// national administrator) with what the reviewer needs beside it.
func (s *Service) ReviewDetail(ctx context.Context, p authz.Principal, code, id string) (Detail, error) {
	inst, err := s.institution(ctx, p, authz.ReviewSOS, code)
	if err != nil {
		return Detail{}, err
	}
	r, err := s.store.Get(ctx, code, id)
	if err != nil {
		return Detail{}, err
	}
	st, err := s.surveys.GetStatus(ctx, code)
	if err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return Detail{}, fmt.Errorf("read surveys of %s: %w", code, err)
	}
	applicant := r.AppliedBy
	if applicant == "" {
		applicant = r.CreatedBy
	}
	return Detail{Request: r.view(p), Institution: institutionView(inst), Applicant: s.person(ctx, applicant),
		Surveys: LatestSurveysView{Daily: st.Daily, Weekly: st.Weekly}}, nil
}

// names finds the names of accounts ids in one batched read; an account
// without a name (or deleted), or all of them if the read fails, is shown
// by its ID.
func (s *Service) names(ctx context.Context, ids []string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		if id != "" {
			out[id] = id
		}
	}
	if s.directory == nil || len(out) == 0 {
		return out
	}
	found, err := s.directory.UserNames(ctx, ids)
	if err != nil {
		return out
	}
	for id, name := range found {
		out[id] = name
	}
	return out
}

func institutionView(rec master.Record) InstitutionView {
	return InstitutionView{Code: rec.Code, Name: rec.Fields["name"], Category: rec.Fields["category"],
		PrefectureCode: rec.Fields["prefectureCode"], Phone: rec.Fields["phone"]}
}

// AuditExported is the audit action of a review list download.
const AuditExported = "sos_review_exported"

// Export is a prefecture's review list of one business day as rows of the
// CSV download.
type Export struct {
	Filename string
	Rows     [][]string
}

// ExportHeader is the header row of the review list CSV: seed 004's list
// columns, then what the reviewers work with.
func ExportHeader() []string {
	h := []string{"タイトル", "申請日時", "医療機関名", "医療機関コード", "対応ステータス", "営業日", "都道府県コード", "要請物資"}
	for _, c := range survey.Supplies {
		h = append(h, c.Label+"数量")
	}
	return append(h, "コメント", "申請者", "電話番号", "都道府県確認", "都道府県確認日時", "都道府県確認者", "都道府県メモ", "締切後の変更", "受付完了日時")
}

func jst(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(calendar.JST).Format("2006/01/02 15:04:05")
}

// ExportDay lists a prefecture's window (optionally of one status) as the
// rows of the review list CSV, and records the download in the audit log.
func (s *Service) ExportDay(ctx context.Context, p authz.Principal, prefecture, day string, status Status) (Export, error) {
	rs, err := s.Day(ctx, p, prefecture, day, status)
	if err != nil {
		return Export{}, err
	}
	if prefecture == "" {
		prefecture = p.PrefectureCode
	}
	rows := [][]string{ExportHeader()}
	var codes, applicants []string
	for _, r := range rs {
		codes = append(codes, r.InstitutionCode)
		applicants = append(applicants, r.AppliedBy)
	}
	insts, err := s.insts.GetRecords(ctx, master.Institutions, codes)
	if err != nil {
		return Export{}, fmt.Errorf("find institutions: %w", err)
	}
	names := s.names(ctx, applicants)
	for _, r := range rs {
		var labels []string
		qty := make([]string, len(survey.Supplies))
		for _, it := range r.Items {
			labels = append(labels, supplyLabel(it.Supply))
			for i, c := range survey.Supplies {
				if c.Code == string(it.Supply) {
					qty[i] = "数量指定なし"
					if it.Quantity != nil {
						qty[i] = strconv.FormatInt(*it.Quantity, 10)
					}
				}
			}
		}
		confirmed, after := "", ""
		if r.PrefectureConfirmedAt != nil {
			confirmed = "都道府県確認済"
		}
		if r.EditedAfterClose {
			after = "有り"
		}
		row := []string{r.Title, jst(r.AppliedAt), r.InstitutionName, r.InstitutionCode, r.Status.Label(), r.BusinessDay, r.PrefectureCode,
			strings.Join(labels, "、")}
		row = append(row, qty...)
		row = append(row, r.Comment, names[r.AppliedBy], insts[r.InstitutionCode].Fields["phone"], confirmed, jst(r.PrefectureConfirmedAt),
			r.PrefectureConfirmedBy, r.PrefectureNote, after, jst(r.AcceptedAt))
		rows = append(rows, row)
	}
	// The audit log wrapper logs its own failures.
	_ = s.audit.Record(ctx, audit.Event{At: s.now().UTC(), UserID: p.UserID, Action: AuditExported, Detail: map[string]string{
		"prefectureCode": prefecture, "day": day, "status": string(status), "rows": strconv.Itoa(len(rs))}})
	name := "sos-" + prefecture + "-" + day
	if status != "" {
		name += "-" + string(status)
	}
	return Export{Filename: name + ".csv", Rows: rows}, nil
}

// WriteCSV writes e for Excel: UTF-8 with a BOM, CRLF, formula-safe.
func (e Export) WriteCSV(w io.Writer) error { return csvio.WriteExcel(w, e.Rows) }
