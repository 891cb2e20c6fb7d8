package authz

import (
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
)

func withFlag(p Principal) Principal {
	p.CanDownload = true
	return p
}

func TestAllowed(t *testing.T) {
	instA := Scope{InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"}
	instB := Scope{InstitutionCode: "2710000001", PrefectureCode: "27", HealthCenterCode: "2701"}
	instA2 := Scope{InstitutionCode: "1310000002", PrefectureCode: "13", HealthCenterCode: "1302"}
	var (
		national = Principal{UserID: "n", Role: National}
		pref13   = Principal{UserID: "p", Role: PrefectureAdmin, PrefectureCode: "13"}
		hc1301   = Principal{UserID: "h", Role: HealthCenterAdmin, PrefectureCode: "13", HealthCenterCode: "1301"}
		managerA = Principal{UserID: "m", Role: InstitutionManager, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"}
		userA    = Principal{UserID: "u", Role: InstitutionUser, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"}
		nobody   = Principal{UserID: "x", Role: "janitor"}
		emptyPre = Principal{UserID: "e", Role: PrefectureAdmin} // misconfigured: no prefecture
	)
	for _, tc := range []struct {
		name string
		p    Principal
		a    Action
		s    Scope
		want bool
	}{
		{"national reads anywhere", national, ReadInstitution, instB, true},
		{"national operates", national, OperateSystem, Scope{}, true},
		{"national accepts SOS", national, AcceptSOS, instB, true},
		{"prefecture reads inside", pref13, ReadInstitution, instA2, true},
		{"prefecture reads outside", pref13, ReadInstitution, instB, false},
		{"prefecture manages accounts inside", pref13, ManageAccounts, instA, true},
		{"prefecture manages accounts outside", pref13, ManageAccounts, instB, false},
		{"prefecture reviews SOS inside", pref13, ReviewSOS, instA, true},
		{"prefecture does not accept SOS", pref13, AcceptSOS, instA, false},
		{"prefecture does not write surveys", pref13, WriteInstitution, instA, false},
		{"prefecture does not operate", pref13, OperateSystem, Scope{}, false},
		{"prefecture without code matches nothing", emptyPre, ReadInstitution, Scope{}, false},
		{"health centre inside its area", hc1301, ManageAccounts, instA, true},
		{"health centre, other centre same prefecture", hc1301, ManageAccounts, instA2, false},
		{"health centre, other prefecture", hc1301, ReadInstitution, instB, false},
		{"health centre does not review SOS", hc1301, ReviewSOS, instA, false},
		{"manager reads own", managerA, ReadInstitution, instA, true},
		{"manager writes own", managerA, WriteInstitution, instA, true},
		{"manager views own accounts", managerA, ViewAccounts, instA, true},
		{"manager does not manage accounts", managerA, ManageAccounts, instA, false},
		{"manager on another institution", managerA, ReadInstitution, instA2, false},
		{"user writes own", userA, WriteInstitution, instA, true},
		{"user on institution B", userA, ReadInstitution, instB, false},
		{"user does not view accounts", userA, ViewAccounts, instA, false},
		{"unknown role", nobody, ReadInstitution, instA, false},
		{"user writes own survey", userA, WriteSurvey, instA, true},
		{"manager writes own survey", managerA, WriteSurvey, instA, true},
		{"user does not write B's survey", userA, WriteSurvey, instB, false},
		{"user does not read B's survey", userA, ReadSurvey, instB, false},
		{"national does not write surveys", national, WriteSurvey, instA, false},
		{"prefecture does not write surveys either", pref13, WriteSurvey, instA, false},
		{"national reads surveys anywhere", national, ReadSurvey, instB, true},
		{"prefecture reads surveys inside", pref13, ReadSurvey, instA2, true},
		{"prefecture reads no survey outside", pref13, ReadSurvey, instB, false},
		{"health centre reads surveys of its area", hc1301, ReadSurvey, instA, true},
		{"health centre reads no survey of another centre", hc1301, ReadSurvey, instA2, false},
		{"prefecture lists non-responders inside", pref13, ListNonResponders, Scope{PrefectureCode: "13"}, true},
		{"prefecture lists no non-responders outside", pref13, ListNonResponders, Scope{PrefectureCode: "27"}, false},
		{"users list no non-responders", userA, ListNonResponders, instA, false},
		{"download without the flag", pref13, DownloadSurveys, Scope{PrefectureCode: "13"}, false},
		{"download with the flag", withFlag(pref13), DownloadSurveys, Scope{PrefectureCode: "13"}, true},
		{"download with the flag, outside", withFlag(pref13), DownloadSurveys, Scope{PrefectureCode: "27"}, false},
		{"national download needs the flag too", national, DownloadSurveys, instB, false},
		{"user downloads own with the flag", withFlag(userA), DownloadSurveys, instA, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.p, tc.a, tc.s); got != tc.want {
				t.Errorf("Allowed = %v, want %v", got, tc.want)
			}
			err := Authorize(tc.p, tc.a, tc.s)
			if (err == nil) != tc.want {
				t.Errorf("Authorize = %v, want allowed=%v", err, tc.want)
			}
			if err != nil && apperr.CodeOf(err) != apperr.Forbidden {
				t.Errorf("Authorize error code = %s, want forbidden", apperr.CodeOf(err))
			}
		})
	}
}

func TestRoleValid(t *testing.T) {
	for _, r := range Roles {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
	}
	if Role("admin").Valid() {
		t.Error(`Role("admin") is valid`)
	}
}

func TestCanManageRole(t *testing.T) {
	for _, tc := range []struct {
		actor  Role
		target Role
		self   bool
		want   bool
	}{
		{National, National, false, true},
		{National, InstitutionUser, true, false},
		{PrefectureAdmin, PrefectureAdmin, false, false},
		{PrefectureAdmin, HealthCenterAdmin, false, true},
		{PrefectureAdmin, InstitutionUser, false, true},
		{HealthCenterAdmin, HealthCenterAdmin, false, false},
		{HealthCenterAdmin, InstitutionManager, false, true},
		{InstitutionManager, InstitutionUser, false, true},
		{InstitutionUser, InstitutionUser, false, false},
		{PrefectureAdmin, National, false, false},
	} {
		p := Principal{UserID: "actor", Role: tc.actor}
		target := "other"
		if tc.self {
			target = "actor"
		}
		if got := CanManageRole(p, target, tc.target); got != tc.want {
			t.Errorf("CanManageRole(%s → %s, self=%v) = %v, want %v", tc.actor, tc.target, tc.self, got, tc.want)
		}
	}
}

func TestPermitsAgreesWithAllowed(t *testing.T) {
	actions := []Action{ReadInstitution, WriteInstitution, ViewAccounts, ManageAccounts, ManageMasters, ReviewSOS, AcceptSOS, OperateSystem}
	for _, r := range Roles {
		p := Principal{UserID: "U", Role: r, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"}
		own := Scope{InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"}
		for _, a := range actions {
			if Allowed(p, a, own) && !Permits(r, a) {
				t.Errorf("%s may %s in its own scope but Permits says no", r, a)
			}
			if err := AuthorizeRole(p, a); (err == nil) != Permits(r, a) {
				t.Errorf("AuthorizeRole(%s, %s) = %v", r, a, err)
			}
		}
	}
	if Permits(InstitutionUser, ManageMasters) || Permits(InstitutionManager, ManageAccounts) || Permits(HealthCenterAdmin, OperateSystem) {
		t.Error("a role is permitted an action it never has")
	}
}

func TestUnknownLooksLikeForeignBelowNational(t *testing.T) {
	notFound := apperr.New(apperr.NotFound, "見つかりません。", "not found")
	for _, r := range Roles {
		p := Principal{UserID: "U", Role: r, PrefectureCode: "13", HealthCenterCode: "1301", InstitutionCode: "1310000001"}
		got := Unknown(p, ManageMasters, notFound)
		foreign := Authorize(p, ManageMasters, Scope{PrefectureCode: "27", HealthCenterCode: "2701"})
		want := apperr.CodeOf(foreign)
		if r == National {
			want = apperr.NotFound
		}
		if apperr.CodeOf(got) != want {
			t.Errorf("%s asking for an unknown record gets %v, want %v", r, apperr.CodeOf(got), want)
		}
		if r != National && got.Error() != foreign.Error() {
			t.Errorf("%s: unknown %q and foreign %q differ", r, got, foreign)
		}
	}
}

func TestSearchHospitalsEveryRoleAnywhere(t *testing.T) {
	elsewhere := Scope{InstitutionCode: "2710000001", PrefectureCode: "27", HealthCenterCode: "2701"}
	for _, r := range Roles {
		p := Principal{UserID: "U", Role: r, InstitutionCode: "1310000001", PrefectureCode: "13", HealthCenterCode: "1301"}
		if !Allowed(p, SearchHospitals, elsewhere) {
			t.Errorf("%s may not search hospitals of another prefecture", r)
		}
		if Allowed(p, ReadSurvey, elsewhere) && r != National {
			t.Errorf("%s reads another prefecture's surveys", r)
		}
	}
	if Allowed(Principal{UserID: "x", Role: "janitor"}, SearchHospitals, elsewhere) {
		t.Error("an unknown role may search")
	}
}
