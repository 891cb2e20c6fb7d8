// Package authz is the one place that answers "may this caller do this":
// it knows the roles and their jurisdictions (prefecture, health centre,
// institution) and nothing about HTTP or storage. Every function asks it,
// through the session middleware's Principal, before touching data.
package authz

import (
	"github.com/gmis-oss/gmis/shared/apperr"
)

// Role is what an account may do.
type Role string

// The roles.
const (
	// National is 厚生労働省: everything, nationwide.
	National Role = "national"
	// PrefectureAdmin is システム利用統括責任者 / 利用者認証実施者 (都道府県): one prefecture.
	PrefectureAdmin Role = "prefecture_admin"
	// HealthCenterAdmin is 利用者認証実施者 (保健所): one health centre's area.
	HealthCenterAdmin Role = "health_center_admin"
	// InstitutionManager is 利用機関内システム利用管理者: its own institution, including its accounts.
	InstitutionManager Role = "institution_manager"
	// InstitutionUser is システム一般利用者: its own institution's surveys, SOS and search.
	InstitutionUser Role = "institution_user"
)

// Roles lists every role, most powerful first.
var Roles = []Role{National, PrefectureAdmin, HealthCenterAdmin, InstitutionManager, InstitutionUser}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Principal is the authenticated caller.
type Principal struct {
	UserID           string
	Role             Role
	InstitutionCode  string // institution roles
	PrefectureCode   string // prefecture and health-centre admins, and institutions
	HealthCenterCode string // health-centre admins, and institutions
	// CanDownload is the account's 個票・CSVダウンロードフラグ (the form's
	// column AG): it may download surveys as CSV.
	CanDownload bool
}

// Scope is where a piece of data belongs: an institution and its
// jurisdiction, or a jurisdiction alone (an empty field matches nothing
// narrower: a prefecture scope has no institution).
type Scope struct {
	InstitutionCode  string
	PrefectureCode   string
	HealthCenterCode string
}

// Action is something a caller wants to do to data in a Scope.
type Action string

// The actions.
const (
	// ReadInstitution reads an institution's surveys, requests and status.
	ReadInstitution Action = "read_institution"
	// WriteInstitution writes an institution's surveys and SOS requests.
	WriteInstitution Action = "write_institution"
	// ViewAccounts sees accounts (users) in the scope.
	ViewAccounts Action = "view_accounts"
	// ManageAccounts issues, stops, resumes and deletes accounts in the scope.
	ManageAccounts Action = "manage_accounts"
	// ManageMasters imports and edits master data in the scope.
	ManageMasters Action = "manage_masters"
	// ReviewSOS moves SOS requests through review in the scope.
	ReviewSOS Action = "review_sos"
	// AcceptSOS gives final acceptance of SOS requests (national only).
	AcceptSOS Action = "accept_sos"
	// OperateSystem schedules maintenance and posts notices (national only).
	OperateSystem Action = "operate_system"
	// WriteSurvey writes an institution's daily and weekly surveys (日次調査・
	// 週次調査): its own users and managers only, nobody else, not even
	// national administrators.
	WriteSurvey Action = "write_survey"
	// ReadSurvey reads an institution's surveys and their history.
	ReadSurvey Action = "read_survey"
	// ListNonResponders lists the institutions of an area that have not
	// answered a day's survey (未回答), and sends them reminders.
	ListNonResponders Action = "list_non_responders"
	// DownloadSurveys downloads the surveys of an area as CSV: only for
	// accounts with the download flag (CanDownload).
	DownloadSurveys Action = "download_surveys"
	// FileSOS creates, edits, applies and deletes an institution's SOS
	// requests (緊急配布要請): its own users and managers only.
	FileSOS Action = "file_sos"
	// SearchHospitals searches hospitals and sees their master fields and
	// accepting status (受入可能医療機関検索): every logged-in user, of any
	// institution or area. The other survey figures stay behind ReadSurvey.
	SearchHospitals Action = "search_hospitals"
)

// Permits reports whether role r may do a anywhere at all. A caller whose
// role never may is refused before anything is looked up, so that the
// answer cannot depend on what exists.
func Permits(r Role, a Action) bool {
	if a == SearchHospitals {
		_, known := rank[r]
		return known
	}
	switch r {
	case National:
		return a != WriteSurvey && a != FileSOS
	case PrefectureAdmin:
		switch a {
		case ReadInstitution, ViewAccounts, ManageAccounts, ManageMasters, ReviewSOS, ReadSurvey, ListNonResponders, DownloadSurveys:
			return true
		}
	case HealthCenterAdmin:
		switch a {
		case ReadInstitution, ViewAccounts, ManageAccounts, ManageMasters, ReadSurvey, ListNonResponders, DownloadSurveys:
			return true
		}
	case InstitutionManager:
		switch a {
		case FileSOS, ReadInstitution, WriteInstitution, ViewAccounts, WriteSurvey, ReadSurvey, DownloadSurveys:
			return true
		}
	case InstitutionUser:
		switch a {
		case FileSOS, ReadInstitution, WriteInstitution, WriteSurvey, ReadSurvey, DownloadSurveys:
			return true
		}
	}
	return false
}

// flagged reports whether p's account flags allow a: downloads need the
// download flag on top of the role.
func flagged(p Principal, a Action) bool {
	if a == DownloadSurveys {
		return p.CanDownload
	}
	return true
}

// Allowed reports whether p may do a to data in s.
func Allowed(p Principal, a Action, s Scope) bool {
	if !Permits(p.Role, a) || !flagged(p, a) {
		return false
	}
	if a == SearchHospitals {
		return true
	}
	switch p.Role {
	case National:
		return true
	case PrefectureAdmin:
		return p.PrefectureCode != "" && s.PrefectureCode == p.PrefectureCode
	case HealthCenterAdmin:
		// Health-centre codes are compared within the prefecture: a code
		// alone does not name one centre nationwide.
		return p.HealthCenterCode != "" && s.HealthCenterCode == p.HealthCenterCode &&
			s.PrefectureCode == p.PrefectureCode
	case InstitutionManager, InstitutionUser:
		return ownInstitution(p, s)
	}
	return false
}

func ownInstitution(p Principal, s Scope) bool {
	return p.InstitutionCode != "" && s.InstitutionCode == p.InstitutionCode
}

// rank orders the roles: an administrator manages only accounts of roles
// below their own (a prefecture admin does not stop a fellow prefecture
// admin, or themself).
var rank = map[Role]int{National: 0, PrefectureAdmin: 1, HealthCenterAdmin: 2, InstitutionManager: 3, InstitutionUser: 4}

// CanManageRole reports whether p may manage an account with role target:
// national administrators any account but their own, others only roles
// below theirs.
func CanManageRole(p Principal, targetID string, target Role) bool {
	if targetID == p.UserID {
		return false
	}
	if p.Role == National {
		return true
	}
	r, ok := rank[p.Role]
	t, tok := rank[target]
	return ok && tok && r < t
}

// Authorize is Allowed as an error: nil, or a Forbidden error for the client.
func Authorize(p Principal, a Action, s Scope) error {
	if Allowed(p, a, s) {
		return nil
	}
	return forbidden()
}

// AuthorizeRole is Permits as an error: call it before looking anything up.
func AuthorizeRole(p Principal, a Action) error {
	if Permits(p.Role, a) && flagged(p, a) {
		return nil
	}
	return forbidden()
}

// Unknown is what p is told when the thing it asked to do a to does not
// exist (notFound). National callers, who may see everything, learn that;
// anyone else gets the very answer of something outside their
// jurisdiction, so that asking does not reveal what exists elsewhere.
func Unknown(p Principal, a Action, notFound error) error {
	if p.Role == National && Permits(p.Role, a) {
		return notFound
	}
	return forbidden()
}

func forbidden() error {
	return apperr.New(apperr.Forbidden, "この操作を行う権限がありません。", "you are not allowed to do this")
}
