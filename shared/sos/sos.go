// Package sos holds the SOS emergency supply requests (緊急配布要請): their
// fields and validation, the eligibility check against the institution's
// latest surveys (seed 004 §1-2), the 13:00 JST windows they are handled
// in, and the Service institutions and reviewers use. Storage is behind
// Store.
package sos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/calendar"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// Status is where a request stands (対応ステータス).
type Status string

// The statuses (seed 004 §4-1).
const (
	// StatusDraft is 未申請: saved, not applied.
	StatusDraft Status = "draft"
	// StatusError is エラー有り: applied, and the check found the
	// institution not eligible.
	StatusError Status = "error"
	// StatusUnderReview is 都道府県・国確認中: applied and eligible.
	StatusUnderReview Status = "under_review"
	// StatusAccepted is 受付完了: accepted by the national administrators;
	// it can no longer be changed.
	StatusAccepted Status = "accepted"
)

// Label is the status's Japanese name.
func (s Status) Label() string {
	switch s {
	case StatusDraft:
		return "未申請"
	case StatusError:
		return "エラー有り"
	case StatusUnderReview:
		return "都道府県・国確認中"
	case StatusAccepted:
		return "受付完了"
	}
	return string(s)
}

// Known reports whether s is one of the statuses.
func (s Status) Known() bool {
	switch s {
	case StatusDraft, StatusError, StatusUnderReview, StatusAccepted:
		return true
	}
	return false
}

// Editable reports whether a request in status s may still be changed.
func (s Status) Editable() bool { return s != StatusAccepted }

// MaxComment is the longest comment, in characters.
const MaxComment = 1000

// MaxQuantity is the largest quantity of one item.
const MaxQuantity = 10_000_000

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 16 << 10

// Item is one supply requested, with an optional quantity.
type Item struct {
	Supply   survey.Supply `json:"supply" dynamodbav:"supply"`
	Quantity *int64        `json:"quantity,omitempty" dynamodbav:"quantity,omitempty"`
}

// Problem is one failed eligibility condition.
type Problem struct {
	Condition string `json:"condition" dynamodbav:"condition"` // "②", "③", "daily_on_file", "weekly_on_file", "category"
	Survey    string `json:"survey,omitempty" dynamodbav:"survey,omitempty"`
	Field     string `json:"field,omitempty" dynamodbav:"field,omitempty"`
	Message   string `json:"message" dynamodbav:"message"`
	MessageEn string `json:"messageEn" dynamodbav:"messageEn"`
}

// Request is one SOS request of one institution.
type Request struct {
	ID               string    `json:"id"`
	InstitutionCode  string    `json:"institutionCode"`
	InstitutionName  string    `json:"institutionName"`
	Category         string    `json:"category"`
	PrefectureCode   string    `json:"prefectureCode"`
	HealthCenterCode string    `json:"healthCenterCode,omitempty"`
	Title            string    `json:"title"`
	Status           Status    `json:"status"`
	StatusLabel      string    `json:"statusLabel"`
	ConfirmedGeneral bool      `json:"confirmedGeneral"`
	ConfirmedN95     bool      `json:"confirmedN95"`
	Items            []Item    `json:"items"`
	Comment          string    `json:"comment"`
	Version          int64     `json:"version"`
	CreatedAt        time.Time `json:"createdAt"`
	CreatedBy        string    `json:"createdBy"`
	UpdatedAt        time.Time `json:"updatedAt"`
	UpdatedBy        string    `json:"updatedBy"`
	// AppliedAt is 申請日時, set by the server at the first successful
	// apply; BusinessDay is the window (JST date) it joined.
	AppliedAt   *time.Time `json:"appliedAt,omitempty"`
	AppliedBy   string     `json:"appliedBy,omitempty"`
	BusinessDay string     `json:"businessDay,omitempty"`
	Problems    []Problem  `json:"problems,omitempty"`
	// CheckedAt and the survey periods and versions the last check read.
	CheckedAt     *time.Time `json:"checkedAt,omitempty"`
	CheckedDaily  string     `json:"checkedDaily,omitempty"`  // "<date>@v<version>"
	CheckedWeekly string     `json:"checkedWeekly,omitempty"` // "<week>@v<version>"
	// PrefectureConfirmed* is 都道府県確認済: shown to reviewers only.
	PrefectureConfirmedAt *time.Time `json:"prefectureConfirmedAt,omitempty"`
	PrefectureConfirmedBy string     `json:"prefectureConfirmedBy,omitempty"`
	PrefectureNote        string     `json:"prefectureNote,omitempty"`
	AcceptedAt            *time.Time `json:"acceptedAt,omitempty"`
	AcceptedBy            string     `json:"acceptedBy,omitempty"`
	AcceptedNote          string     `json:"acceptedNote,omitempty"`
	// History is every step of the request, oldest first (reviewers only).
	History []Change `json:"history,omitempty"`
	// EditedAfterClose is set once the institution changed the request
	// after its window closed (reviewers only): the window's list was
	// handed over with the earlier content.
	EditedAfterClose bool `json:"editedAfterClose,omitempty"`
}

// Requests reports whether r asks for supply s.
func (r Request) Requests(s survey.Supply) bool {
	for _, it := range r.Items {
		if it.Supply == s {
			return true
		}
	}
	return false
}

// Title is the request's title: YYYY/MM/DD_<institution name>_緊急配布要請,
// with the JST date of its creation.
func Title(created time.Time, institution string) string {
	return created.In(calendar.JST).Format("2006/01/02") + "_" + institution + "_緊急配布要請"
}

// Input is what an institution writes: the confirmations, the items and
// the comment, with the version it read (0: a new request).
type Input struct {
	Version          int64                 `json:"version"`
	ConfirmedGeneral bool                  `json:"confirmedGeneral"`
	ConfirmedN95     bool                  `json:"confirmedN95"`
	Items            map[string]*ItemInput `json:"items"`
	Comment          string                `json:"comment"`
}

// ItemInput is one requested item of an Input.
type ItemInput struct {
	Quantity *int64 `json:"quantity,omitempty"`
}

// Message of the general conditions' check box (seed 004 §3-1).
const (
	msgGeneral = "「上記の緊急配布条件を満たしていることを確認した」にチェックをしてください。"
	msgN95     = "N95マスクを要請するには「上記の緊急配布条件を満たしていることを確認した」（N95マスク）にチェックをしてください。"
)

// Validate checks an Input and returns its items in form order.
func (in Input) Validate() ([]Item, error) {
	if !in.ConfirmedGeneral {
		return nil, apperr.InvalidField("confirmedGeneral", msgGeneral, "confirm that the general conditions of an emergency distribution are met")
	}
	known := map[string]bool{}
	for _, c := range survey.Supplies {
		known[c.Code] = true
	}
	for code := range in.Items {
		if !known[code] {
			return nil, apperr.InvalidField("items."+code, "要請できない物資です。", "no such supply: "+code)
		}
	}
	var items []Item
	for _, c := range survey.Supplies {
		it, ok := in.Items[c.Code]
		if !ok {
			continue
		}
		var q *int64
		if it != nil && it.Quantity != nil {
			if *it.Quantity < 1 || *it.Quantity > MaxQuantity {
				return nil, apperr.InvalidField("items."+c.Code+".quantity",
					fmt.Sprintf("%sの数量は1〜%dで入力してください。", c.Label, MaxQuantity),
					fmt.Sprintf("quantity must be 1 to %d", MaxQuantity))
			}
			q = it.Quantity
		}
		items = append(items, Item{Supply: survey.Supply(c.Code), Quantity: q})
	}
	if len(items) == 0 {
		return nil, apperr.InvalidField("items", "要請する物資を1つ以上選んでください。", "request at least one supply")
	}
	if _, n95 := in.Items[string(survey.N95Mask)]; n95 && !in.ConfirmedN95 {
		return nil, apperr.InvalidField("confirmedN95", msgN95, "confirm the conditions of N95 masks to request them")
	}
	if n := utf8.RuneCountInString(in.Comment); n > MaxComment || !utf8.ValidString(in.Comment) {
		return nil, apperr.InvalidField("comment", fmt.Sprintf("コメントは%d文字以内で入力してください。", MaxComment),
			fmt.Sprintf("comment must be at most %d characters", MaxComment))
	}
	return items, nil
}

// ParseInput reads a request body; unknown fields are refused.
func ParseInput(data []byte) (Input, error) {
	var in Input
	dec := json.NewDecoder(bytesReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Input{}, apperr.InvalidField("body", "入力の形式が正しくありません。", "malformed body: "+err.Error())
	}
	return in, nil
}

// supplyLabel is the Japanese name of a supply.
func supplyLabel(s survey.Supply) string {
	for _, c := range survey.Supplies {
		if c.Code == string(s) {
			return c.Label
		}
	}
	return string(s)
}

// urgent reports whether an outlook qualifies for condition ③: within 1
// week or 2–3 weeks; none in stock is the most urgent case.
func urgent(outlook string) bool {
	return outlook == survey.OutlookNone || outlook == survey.OutlookOneWeek || outlook == survey.OutlookTwoThree
}

// Check evaluates the eligibility of a request for supplies items of an
// institution of category against its latest surveys (seed 004 §1-2) and
// returns every failed condition (none: eligible).
func Check(category string, items []Item, st survey.Status) []Problem {
	var out []Problem
	needDaily := func() {
		if st.Daily == nil {
			out = append(out, Problem{Condition: "daily_on_file", Survey: "daily",
				Message: "日次調査が登録されていません。日次調査を回答してから申請してください。", MessageEn: "no daily survey on file: answer the daily survey first"})
		}
	}
	needWeekly := func() bool {
		if st.Weekly == nil {
			out = append(out, Problem{Condition: "weekly_on_file", Survey: "weekly",
				Message: "週次調査が登録されていません。週次調査を回答してから申請してください。", MessageEn: "no weekly survey on file: answer the weekly survey first"})
			return false
		}
		return true
	}
	condition3 := func() {
		if !needWeekly() {
			return
		}
		for _, it := range items {
			stock := st.Weekly.Values.Items[it.Supply]
			if stock != nil && urgent(stock.Outlook) {
				continue
			}
			out = append(out, Problem{Condition: "③", Survey: "weekly", Field: "items." + string(it.Supply) + ".outlook",
				Message:   fmt.Sprintf("③ 週次調査（%s）の「%s」の備蓄見通しが1週間以内または2〜3週間ではありません。", survey.Week(st.Weekly.Period).Label(), supplyLabel(it.Supply)),
				MessageEn: fmt.Sprintf("condition 3: the weekly survey (%s) does not give an outlook of %s within 1 week or 2-3 weeks", st.Weekly.Period, it.Supply)})
		}
	}
	switch category {
	case master.CategoryHospital:
		if st.Daily == nil {
			out = append(out, Problem{Condition: "②", Survey: "daily",
				Message: "② 日次調査が登録されていません。", MessageEn: "condition 2: no daily survey on file"})
		} else if d := st.Daily.Values; !(d.Tests.AntigenQuantitative >= 1 || d.Tests.AntigenQualitative >= 1 ||
			d.Patients.Confirmed+d.Patients.Suspected >= 1 || d.Beds.CovidAvailable >= 1 || d.Flags.DesignatedClinic || d.Flags.PCRAvailable) {
			out = append(out, Problem{Condition: "②", Survey: "daily",
				Field:     "tests.antigenQuantitative,tests.antigenQualitative,patients.confirmed,patients.suspected,beds.covidAvailable,flags.designatedClinic,flags.pcrAvailable",
				Message:   fmt.Sprintf("② 最新の日次調査（%s）で、抗原定量・定性検査実施人数、入院中の患者（疑い含む）、新型コロナ患者受入可能数のいずれも1以上でなく、診療・検査医療機関のチェックもPCR検査「可能」もありません。", survey.DayLabel(st.Daily.Period)),
				MessageEn: fmt.Sprintf("condition 2: the latest daily survey (%s) shows no antigen tests, no COVID inpatients (incl. suspected), no COVID beds available, no designated-clinic flag and no PCR", st.Daily.Period)})
		}
		condition3()
	case master.CategoryClinic, master.CategoryTestCenter:
		needDaily()
		condition3()
	case master.CategoryAggregator:
		needWeekly()
	default:
		out = append(out, Problem{Condition: "category", Message: "この医療機関の区分は緊急配布要請の対象ではありません。", MessageEn: "institutions of this category cannot file SOS requests"})
	}
	return out
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
