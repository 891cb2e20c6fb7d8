package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
)

func TestMeNamesTheJurisdiction(t *testing.T) {
	e := stackEnv(t)
	ctx := context.Background()
	masters := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("AuthFunction")["MASTERS_TABLE"])
	put := func(kind master.Kind, code string, fields map[string]string) {
		t.Helper()
		err := masters.CreateRecord(ctx, master.Record{Kind: kind, Code: code, Fields: fields, Version: 1, UpdatedAt: time.Now(), UpdatedBy: "test"})
		if err != nil && apperr.CodeOf(err) != apperr.Conflict {
			t.Fatal(err)
		}
	}
	put(master.Prefectures, "46", map[string]string{"name": "鹿児島県"})
	put(master.HealthCenters, "4691", map[string]string{"name": "なまえ保健所", "prefectureCode": "46"})
	put(master.Institutions, "4691000001", map[string]string{"name": "なまえ病院", "category": master.CategoryHospital, "prefectureCode": "46", "healthCenterCode": "4691"})
	pref, _ := masters.GetRecord(ctx, master.Prefectures, "46")

	names := func(a auth.NewAccount) string {
		t.Helper()
		u, pw := e.Account(t, a)
		r := e.LoginChanged(t, u, pw).Do("GET", "/auth/me", nil)
		if r.Status != 200 {
			t.Fatalf("me = %d %s", r.Status, r.Body)
		}
		b, _ := json.Marshal(r.JSON["scopeNames"])
		return string(b)
	}
	tests := []struct {
		name string
		a    auth.NewAccount
		want string
	}{
		{"institution user", auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: "4691000001", PrefectureCode: "46", HealthCenterCode: "4691"},
			`{"healthCenter":"なまえ保健所","institution":"なまえ病院","prefecture":"` + pref.Fields["name"] + `"}`},
		{"health centre administrator", auth.NewAccount{Role: authz.HealthCenterAdmin, PrefectureCode: "46", HealthCenterCode: "4691"},
			`{"healthCenter":"なまえ保健所","prefecture":"` + pref.Fields["name"] + `"}`},
		{"national administrator", auth.NewAccount{Role: authz.National}, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(tt.a); got != tt.want {
				t.Errorf("scopeNames = %s, want %s", got, tt.want)
			}
		})
	}
}
