package job

import (
	"fmt"
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
)

func TestVisible(t *testing.T) {
	hcJob := Job{Kind: Issuance, Owner: "hc", OwnerRole: authz.HealthCenterAdmin, OwnerScope: authz.Scope{PrefectureCode: "13", HealthCenterCode: "1301"}}
	natJob := Job{Kind: MasterImport, Owner: "nat", OwnerRole: authz.National}
	exportJob := Job{Kind: Export, Owner: "hc", OwnerRole: authz.HealthCenterAdmin, OwnerScope: authz.Scope{PrefectureCode: "13", HealthCenterCode: "1301"}}
	tests := []struct {
		name string
		p    authz.Principal
		j    Job
		want bool
	}{
		{"creator", authz.Principal{UserID: "hc", Role: authz.HealthCenterAdmin, PrefectureCode: "13", HealthCenterCode: "1301"}, hcJob, true},
		{"prefecture above", authz.Principal{UserID: "p", Role: authz.PrefectureAdmin, PrefectureCode: "13"}, hcJob, true},
		{"other prefecture", authz.Principal{UserID: "p", Role: authz.PrefectureAdmin, PrefectureCode: "27"}, hcJob, false},
		{"national above", authz.Principal{UserID: "n", Role: authz.National}, hcJob, true},
		{"peer health centre", authz.Principal{UserID: "hc2", Role: authz.HealthCenterAdmin, PrefectureCode: "13", HealthCenterCode: "1301"}, hcJob, false},
		{"institution manager", authz.Principal{UserID: "m", Role: authz.InstitutionManager, PrefectureCode: "13", HealthCenterCode: "1301", InstitutionCode: "1310000001"}, hcJob, false},
		{"another national", authz.Principal{UserID: "n2", Role: authz.National}, natJob, false},
		{"export's creator", authz.Principal{UserID: "hc", Role: authz.HealthCenterAdmin, PrefectureCode: "13", HealthCenterCode: "1301"}, exportJob, true},
		{"prefecture above an export", authz.Principal{UserID: "p", Role: authz.PrefectureAdmin, PrefectureCode: "13", CanDownload: true}, exportJob, false},
		{"national above an export", authz.Principal{UserID: "n", Role: authz.National, CanDownload: true}, exportJob, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Visible(tt.p, tt.j); got != tt.want {
				t.Errorf("Visible = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewFailureSortsAndCaps(t *testing.T) {
	var ps []apperr.Problem
	for i := MaxProblems + 500; i > 0; i-- {
		ps = append(ps, apperr.Problem{Row: i, Message: fmt.Sprint(i)})
	}
	f := NewFailure("誤り", "errors", ps)
	if f.ProblemCount != MaxProblems+500 || len(f.Problems) != MaxProblems {
		t.Fatalf("count %d, listed %d", f.ProblemCount, len(f.Problems))
	}
	if f.Problems[0].Row != 1 || f.Problems[MaxProblems-1].Row != MaxProblems {
		t.Errorf("rows %d..%d, want 1..%d", f.Problems[0].Row, f.Problems[MaxProblems-1].Row, MaxProblems)
	}
}
