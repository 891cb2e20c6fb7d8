// Package issuance opens accounts in bulk from the application form
// (システム利用申請様式, seed 001) that institutions fill in and
// administrators upload as CSV: every row is checked against the masters
// and the administrator's jurisdiction, every error is named by row and
// column, and with any error nothing is created. On success each person
// gets a generated ID and initial password, returned as an Excel-readable
// CSV, and, in a second step, a notice mail (seed 001 step ④).
package issuance

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/plaintext"
	"github.com/gmis-oss/gmis/shared/seal"
)

// The form's columns (seed 001) the system reads.
const (
	colName        = "B"  // 利用者名
	colPhone       = "C"  // 連絡先電話番号
	colMail        = "D"  // 連絡先メールアドレス
	colCategory    = "E"  // 所属機関分類コード
	colCoreCity    = "I"  // 中核市コード
	colHealthCtr   = "K"  // 保健所コード
	colDownload    = "AG" // 個票・CSVダウンロードフラグ
	colInstitution = "AJ" // 所属医療機関/動物診療施設コード
	colFactorPhone = "AL" // 二要素認証用電話番号
	colFactorMail  = "AM" // 二要素認証用メールアドレス
	colFactorCode  = "AN" // 二要素認証手段コード
)

var columnNames = map[string]string{
	colName: "利用者名", colPhone: "連絡先電話番号", colMail: "連絡先メールアドレス", colCategory: "所属機関分類コード",
	colCoreCity: "中核市コード", colHealthCtr: "保健所コード", colDownload: "個票・CSVダウンロードフラグ",
	colInstitution: "所属医療機関/動物診療施設コード", colFactorPhone: "二要素認証用電話番号",
	colFactorMail: "二要素認証用メールアドレス", colFactorCode: "二要素認証手段コード",
}

// Category codes of column E (所属機関分類コード).
const (
	categoryMedical    = "09" // 医療機関（全数）
	categorySentinel   = "16" // 医療機関管理者（定点）
	categoryVeterinary = "11" // 動物診療施設
)

// Users is what the duplicate check and account creation need.
type Users interface {
	ListUsers(ctx context.Context, by, code string, limit int, cursor string) ([]auth.User, string, error)
	GetUser(ctx context.Context, id string) (auth.User, error)
}

// Masters reads master records.
type Masters = master.Reader

// Mailer sends a plain-text mail.
type Mailer interface {
	Mail(ctx context.Context, to, subject, body string) error
}

// Service issues accounts in bulk.
type Service struct {
	accounts *auth.Service
	users    Users
	masters  Masters
	audit    audit.Log
	mail     Mailer
	box      *seal.Box
	loginURL string
	now      func() time.Time
}

// NewService returns a Service; secret seals the initial passwords kept
// until they are mailed and downloaded.
func NewService(accounts *auth.Service, users Users, masters Masters, log audit.Log, mail Mailer,
	secret []byte, loginURL string, now func() time.Time) (*Service, error) {
	box, err := seal.New(seal.DeriveKey(secret, "issuance-batch"))
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{accounts: accounts, users: users, masters: masters, audit: log, mail: mail,
		box: box, loginURL: loginURL, now: now}, nil
}

// problem is one error of the form, named by row and column.
func problem(line int, col, ja, en string) apperr.Problem {
	return apperr.Problem{Row: line, Column: col + "列（" + columnNames[col] + "）", Message: ja, MessageEn: en}
}

// DataRows drops what comes before the form's data: its header row (利用者名
// in column B) and any title lines above it.
func DataRows(rows []csvio.Row) []csvio.Row {
	for i, r := range rows[:min(len(rows), 5)] {
		if strings.Contains(r.Field(csvio.ColumnIndex(colName)), "利用者名") {
			return rows[i+1:]
		}
	}
	return rows
}

// checkRows checks every row; with any problem it returns them all.
// Otherwise it returns the accounts to open, their lines, and which of
// them (by index) are people already registered, with their user IDs.
func (s *Service) checkRows(ctx context.Context, actor authz.Principal, rows []csvio.Row) ([]auth.NewAccount, []int, map[int]string, error) {
	var (
		problems []apperr.Problem
		accounts []auth.NewAccount
		lines    []int
	)
	lookup := master.NewLookup(s.masters)
	for _, row := range rows {
		a, ps, err := s.checkRow(ctx, actor, row, lookup)
		if err != nil {
			return nil, nil, nil, err
		}
		problems = append(problems, ps...)
		if len(ps) == 0 {
			accounts = append(accounts, a)
			lines = append(lines, row.Line)
		}
	}
	dup, registered, err := s.duplicates(ctx, accounts, lines)
	if err != nil {
		return nil, nil, nil, err
	}
	problems = append(problems, dup...)
	if len(problems) > 0 {
		return nil, nil, nil, &apperr.Error{Code: apperr.Invalid, Field: "file",
			Message:   fmt.Sprintf("申請様式に%d件の誤りがあります。修正してもう一度アップロードしてください。アカウントは作成していません。", len(problems)),
			MessageEn: fmt.Sprintf("the form has %d errors; nothing was created", len(problems)), Problems: problems}
	}
	return accounts, lines, registered, nil
}

func (s *Service) checkRow(ctx context.Context, actor authz.Principal, row csvio.Row, lookup *master.Lookup) (auth.NewAccount, []apperr.Problem, error) {
	var ps []apperr.Problem
	refused := map[string]bool{}
	add := func(col, ja, en string) {
		if !refused[col] {
			ps = append(ps, problem(row.Line, col, ja, en))
		}
	}
	// A cell with a control character is named once, for that reason,
	// and then read as present but unusable, so no other rule speaks of it.
	for _, col := range []string{colName, colPhone, colMail, colCategory, colCoreCity, colHealthCtr, colDownload,
		colInstitution, colFactorPhone, colFactorMail, colFactorCode} {
		if r, bad := plaintext.Control(row.Field(csvio.ColumnIndex(col)), false); bad {
			ja, en := plaintext.Reason(r, false)
			add(col, columnNames[col]+"："+ja, "column "+col+": "+en)
			refused[col] = true
		}
	}
	cell := func(col string) string { return strings.TrimSpace(row.Field(csvio.ColumnIndex(col))) }
	a := auth.NewAccount{}

	name := csvio.NormalizeText(cell(colName))
	switch bad, ok := csvio.InJISX0208(name); {
	case name == "":
		add(colName, "利用者名を入力してください。", "name is required")
	case utf8.RuneCountInString(name) > 50:
		add(colName, "利用者名は50文字以内で入力してください。", "name longer than 50 characters")
	case !ok:
		add(colName, fmt.Sprintf("環境依存文字「%c」は使用できません。", bad), fmt.Sprintf("machine-dependent character %q", bad))
	}
	a.Name = name

	contact := func(col string, method auth.Method, required bool) string {
		v := cell(col)
		if v == "" {
			if required {
				add(col, columnNames[col]+"を入力してください。", columnNames[col]+" is required")
			}
			return ""
		}
		norm, err := auth.NormalizeDestination(method, v, col)
		if err != nil {
			e := apperr.As(err)
			add(col, e.Message, e.MessageEn)
			return ""
		}
		return norm
	}
	a.Phone = contact(colPhone, auth.MethodVoice, true)
	a.Mail = contact(colMail, auth.MethodMail, true)

	category := csvio.NormalizeDigits(cell(colCategory))
	if len(category) == 1 {
		category = "0" + category // Excel drops the leading zero
	}
	switch category {
	case categoryMedical, categorySentinel, categoryVeterinary:
	case "":
		add(colCategory, "所属機関分類コードを入力してください。", "category code is required")
	default:
		add(colCategory, "所属機関分類コードは 09・16・11 のいずれかを入力してください。", "category code must be 09, 16 or 11")
	}

	switch method, ok := auth.MethodFromCode(csvio.NormalizeDigits(cell(colFactorCode))); {
	case !ok:
		add(colFactorCode, "二要素認証手段コードは 1（メール）・2（SMS）・3（電話）のいずれかを入力してください。", "2FA method code must be 1, 2 or 3")
	case method == auth.MethodVoice && !s.accounts.VoiceAvailable():
		add(colFactorCode, "このシステムでは音声電話（3）で認証コードをお送りできません。1（メール）か 2（SMS）を入力してください。",
			"voice calls (3) are not configured on this system; use 1 (mail) or 2 (SMS)")
	case method == auth.MethodMail:
		a.Method, a.Destination = method, contact(colFactorMail, auth.MethodMail, true)
	default:
		a.Method, a.Destination = method, contact(colFactorPhone, method, true)
	}

	switch flag := csvio.NormalizeDigits(cell(colDownload)); flag {
	case "", "0":
	case "1":
		a.CanDownload = true
	default:
		add(colDownload, "ダウンロードフラグは 0 か 1 を入力してください。", "download flag must be 0 or 1")
	}

	hcCode := csvio.NormalizeDigits(cell(colHealthCtr))
	instCode := csvio.NormalizeDigits(cell(colInstitution))
	var hc, inst *master.Record
	var err error
	if hcCode == "" {
		add(colHealthCtr, "保健所コードを入力してください。", "health-centre code is required")
	} else if hc, err = lookup.Get(ctx, master.HealthCenters, hcCode); err != nil {
		return a, nil, err
	} else if hc == nil {
		if hc, err = padded(ctx, lookup, master.HealthCenters, hcCode, 4, 5, 6); err != nil {
			return a, nil, err
		}
	}
	if hcCode != "" && visible(actor, hc) == nil {
		hc = nil
		hint, hintEn := "", ""
		if len(hcCode) < 6 {
			hint, hintEn = "（Excelで先頭の0が消えていないか確認してください）", " (did Excel drop a leading zero?)"
		}
		add(colHealthCtr, "保健所コード "+hcCode+" は保健所マスタにありません。"+hint, "unknown health-centre code "+hcCode+hintEn)
	}
	if cc := csvio.NormalizeDigits(cell(colCoreCity)); cc != "" && hc != nil && hc.Fields["coreCityCode"] != cc {
		add(colCoreCity, "中核市コード "+cc+" は保健所マスタの中核市コードと一致しません。", "core-city code does not match the health centre")
	}
	kind := master.Institutions
	if category == categorySentinel {
		kind = master.Sentinels
	}
	switch {
	case instCode == "":
		add(colInstitution, "所属医療機関/動物診療施設コードを入力してください（マスタにない場合は、先にマスタに登録して発行されたコードを入力してください）。", "institution code is required (register a missing institution first)")
	default:
		if inst, err = lookup.Get(ctx, kind, instCode); err != nil {
			return a, nil, err
		}
		if inst == nil {
			if inst, err = padded(ctx, lookup, kind, instCode, 10); err != nil {
				return a, nil, err
			}
		}
		hint, hintEn := "", ""
		if len(instCode) < 10 {
			hint, hintEn = "（Excelで先頭の0が消えていないか確認してください）", " (did Excel drop a leading zero?)"
		}
		switch {
		case inst == nil && actor.Role == authz.National:
			add(colInstitution, "コード "+instCode+" は"+kindName(kind)+"にありません。"+hint, "code "+instCode+" is not in the "+string(kind)+" master"+hintEn)
		case visible(actor, inst) == nil:
			// One answer for unknown and foreign: the form must not be a
			// way to learn other jurisdictions' masters.
			inst = nil
			add(colInstitution, "コード "+instCode+" は管轄内の"+kindName(kind)+"にありません（管轄外か未登録です）。"+hint,
				"code "+instCode+" is not in the "+string(kind)+" master of your jurisdiction"+hintEn)
		}
	}
	if inst != nil && category != "" {
		vet := inst.Fields["category"] == master.CategoryVeterinary
		if category == categoryVeterinary && !vet {
			add(colInstitution, "所属機関分類コード 11 には動物診療施設のコードを入力してください。", "category 11 needs a veterinary facility")
		}
		if category == categoryMedical && vet {
			add(colInstitution, "動物診療施設の所属機関分類コードは 11 です。", "a veterinary facility takes category 11")
		}
	}
	if inst != nil && hc != nil && inst.Fields["healthCenterCode"] != hc.Code {
		add(colHealthCtr, "保健所コードが医療機関マスタの保健所コード "+inst.Fields["healthCenterCode"]+" と一致しません。", "health-centre code does not match the institution's")
	}
	if inst != nil {
		a.InstitutionCode = inst.Code
		a.PrefectureCode = inst.Fields["prefectureCode"]
		a.HealthCenterCode = inst.Fields["healthCenterCode"]
	}
	a.Role = authz.InstitutionUser
	if category == categorySentinel {
		a.Role = authz.InstitutionManager
	}
	return a, ps, nil
}

// padded finds the record a code names once Excel has dropped its leading
// zeros: the code padded with zeros to one of the lengths, if exactly one
// such record exists.
func padded(ctx context.Context, lookup *master.Lookup, kind master.Kind, code string, lengths ...int) (*master.Record, error) {
	var found *master.Record
	for _, n := range lengths {
		if len(code) >= n {
			continue
		}
		rec, err := lookup.Get(ctx, kind, strings.Repeat("0", n-len(code))+code)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			if found != nil {
				return nil, nil // more than one: do not guess
			}
			found = rec
		}
	}
	return found, nil
}

// visible returns rec if actor may manage accounts in its jurisdiction,
// otherwise nil, as if the master had no such record.
func visible(actor authz.Principal, rec *master.Record) *master.Record {
	if rec == nil || !authz.Allowed(actor, authz.ManageAccounts, rec.Scope()) {
		return nil
	}
	return rec
}

func kindName(k master.Kind) string {
	if k == master.Sentinels {
		return "医療機関マスタ（定点）"
	}
	return "医療機関マスタ（全数）"
}

// duplicates finds people twice in the file, and people already
// registered at the same institution: one account per person per
// institution (seed 001), a person being their mail there — two people of
// the same name are two people. A row of a registered person is no error
// (a cumulative form is sent again with new rows added): registered maps
// its index to the account's user ID, and it is not issued again.
func (s *Service) duplicates(ctx context.Context, accounts []auth.NewAccount, lines []int) ([]apperr.Problem, map[int]string, error) {
	var ps []apperr.Problem
	seen := map[string]int{}
	existing := map[string]string{}
	loaded := map[string]bool{}
	registered := map[int]string{}
	for i, a := range accounts {
		if !loaded[a.InstitutionCode] {
			loaded[a.InstitutionCode] = true
			cursor := ""
			for {
				users, next, err := s.users.ListUsers(ctx, "institution", a.InstitutionCode, 200, cursor)
				if err != nil {
					return nil, nil, err
				}
				for _, u := range users {
					if u.Mail != "" {
						existing[a.InstitutionCode+"\x00"+strings.ToLower(u.Mail)] = u.ID
					}
				}
				if next == "" {
					break
				}
				cursor = next
			}
		}
		key := a.InstitutionCode + "\x00" + strings.ToLower(a.Mail)
		if first, dup := seen[key]; dup {
			ps = append(ps, problem(lines[i], colMail, fmt.Sprintf("%d行目と同じ人（同じメールアドレス）の申請です（1人1アカウント）。", first), fmt.Sprintf("same person (same mail) as row %d", first)))
			continue
		}
		seen[key] = lines[i]
		if id, ok := existing[key]; ok {
			registered[i] = id
		}
	}
	return ps, registered, nil
}

// RegisteredPrefix starts the keys of an issuance job's notes on rows of
// people already registered.
const RegisteredPrefix = "reg#"

// Registered lists the rows of an issuance job that were not issued
// because the person is already registered, as notes naming the account.
func Registered(ctx context.Context, store job.Store, id string, limit int) ([]apperr.Problem, error) {
	rows, err := store.Rows(ctx, id, RegisteredPrefix, "", limit)
	if err != nil {
		return nil, err
	}
	out := make([]apperr.Problem, len(rows))
	for i, r := range rows {
		out[i] = registeredNote(r.Line, r.Fields["userId"])
	}
	return out, nil
}

func registeredNote(line int, userID string) apperr.Problem {
	return problem(line, colMail, "この機関に同じメールアドレスの方のアカウントが既にあります（登録済み、利用者ID "+userID+"）。この行は発行していません。",
		"already registered, user ID "+userID)
}
