package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// TestApplyWritesMembershipAndAudit applies through the local API: the
// passing apply writes, in its one transaction, the request, its
// membership of the window and its audit record; a failing apply (エラー有り)
// is audited too and joins no window; an unknown request is 404 and an
// institution not in the master is refused without reading further.
func TestApplyWritesMembershipAndAudit(t *testing.T) {
	e := shared.Env(t)
	hosp := institution{"4610000901", "46", master.CategoryHospital}
	addInstitution(t, e, hosp)
	u, pw := e.Account(t, auth.NewAccount{Role: authz.InstitutionUser, InstitutionCode: hosp.code, PrefectureCode: hosp.pref, HealthCenterCode: hosp.pref + "01"})
	c := e.LoginChanged(t, u, pw)
	since := time.Now().Add(-time.Minute)

	r := c.Do("POST", path(hosp.code), map[string]any{"confirmedGeneral": true, "items": masks})
	if r.Status != 201 {
		t.Fatalf("save = %d %s", r.Status, r.Body)
	}
	id := r.String("id")
	// No surveys: エラー有り, audited, no window.
	r = c.Do("POST", path(hosp.code, "/", id, "/apply"), map[string]any{"version": 1})
	if r.Status != 200 || r.String("status") != "error" || r.String("businessDay") != "" {
		t.Fatalf("failing apply = %d %s", r.Status, r.Body)
	}
	if w := c.Do("PUT", "/surveys/institutions/"+hosp.code+"/daily/"+survey.Today(time.Now()), daily(false)); w.Status != 200 {
		t.Fatalf("daily = %d %s", w.Status, w.Body)
	}
	if w := c.Do("PUT", "/surveys/institutions/"+hosp.code+"/weekly/"+string(survey.WeekOf(time.Now())), weekly("none")); w.Status != 200 {
		t.Fatalf("weekly = %d %s", w.Status, w.Body)
	}
	r = c.Do("POST", path(hosp.code, "/", id, "/apply"), map[string]any{"version": 2})
	day := r.String("businessDay")
	if r.Status != 200 || r.String("status") != "under_review" || day == "" || num(r, "version") != 3 {
		t.Fatalf("passing apply = %d %s", r.Status, r.Body)
	}

	evs := e.AuditOf(t, u.ID, "sos_applied", since)
	if len(evs) != 2 {
		t.Fatalf("audit records of the applies = %+v, want 2", evs)
	}
	last := evs[0]
	if evs[1].At.After(last.At) {
		last = evs[1]
	}
	if last.Detail["requestId"] != id || last.Detail["businessDay"] != day || last.Detail["status"] != "under_review" || last.Detail["version"] != "3" {
		t.Errorf("audit record of the passing apply = %+v", last)
	}

	fn := e.Stack.FunctionEnv("SosFunction")
	out, err := e.Stack.Endpoints.DynamoDBClient().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(fn["SOS_TABLE"]), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "window#" + day}, "sk": &types.AttributeValueMemberS{Value: hosp.pref + "#" + id}}})
	if err != nil || out.Item == nil {
		t.Fatalf("membership of %s in window %s: %v %v", id, day, out, err)
	}
	if v, _ := out.Item["institutionCode"].(*types.AttributeValueMemberS); v == nil || v.Value != hosp.code {
		t.Errorf("membership item = %v", out.Item)
	}

	if r := c.Do("POST", path(hosp.code, "/", "0000000000000ffffffff", "/apply"), map[string]any{"version": 1}); r.Status != 404 {
		t.Errorf("apply of an unknown request = %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", path("4610000999", "/", id, "/apply"), map[string]any{"version": 1}); r.Status != 403 {
		t.Errorf("apply for another institution = %d %s", r.Status, r.Body)
	}
}
