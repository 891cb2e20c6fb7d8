package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
)

// movingInstitution adds an institution of Tokyo's health centre 1301 with
// a user and a manager, and returns its code, its fields and the accounts
// with their initial passwords.
func movingInstitution(t *testing.T, e *authtest.Env, nat *authtest.Client) (string, map[string]string, []auth.User, []string) {
	t.Helper()
	fields := map[string]string{"name": "うつりかわり病院", "category": "hospital", "prefectureCode": "13", "healthCenterCode": "1301"}
	r := nat.Do("POST", "/admin/institutions", map[string]any{"fields": fields})
	if r.Status != 201 {
		t.Fatalf("add institution = %d %s", r.Status, r.Body)
	}
	code := r.String("code")
	var users []auth.User
	var pws []string
	for _, role := range []authz.Role{authz.InstitutionUser, authz.InstitutionManager} {
		u, pw := e.Account(t, auth.NewAccount{Role: role, InstitutionCode: code, PrefectureCode: "13", HealthCenterCode: "1301"})
		users, pws = append(users, u), append(pws, pw)
	}
	return code, fields, users, pws
}

func admin(t *testing.T, e *authtest.Env, role authz.Role, pref, hc string) *authtest.Client {
	t.Helper()
	u, pw := e.Account(t, auth.NewAccount{Role: role, PrefectureCode: pref, HealthCenterCode: hc})
	return e.LoginChanged(t, u, pw)
}

// listed checks that c may list the institution's accounts and that each
// carries the jurisdiction.
func listed(t *testing.T, c *authtest.Client, code, pref, hc string, n int) {
	t.Helper()
	r := c.Do("GET", "/admin/users?institutionCode="+code, nil)
	users, _ := r.JSON["users"].([]any)
	if r.Status != 200 || len(users) != n {
		t.Fatalf("list of %s = %d %s, want %d accounts", code, r.Status, r.Body, n)
	}
	for _, x := range users {
		u := x.(map[string]any)
		if u["prefectureCode"] != pref || u["healthCenterCode"] != hc {
			t.Errorf("account %v carries %v/%v, want %s/%s", u["userId"], u["prefectureCode"], u["healthCenterCode"], pref, hc)
		}
	}
}

func jurisdictionOf(t *testing.T, e *authtest.Env, id string) string {
	t.Helper()
	u, err := e.Store.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.PrefectureCode + "/" + u.HealthCenterCode
}

func moveAudits(t *testing.T, e *authtest.Env, id string, since time.Time) []audit.Event {
	t.Helper()
	events, err := e.Audit.ByUser(context.Background(), id, since, 100)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(events, func(ev audit.Event) bool { return ev.Action != audit.AccountMoved })
}

func TestInstitutionMoveCarriesItsAccounts(t *testing.T) {
	e := stackEnv(t)
	nat := national(t, e)
	loadMasters(t, e, nat)
	start := time.Now().Add(-time.Second)
	code, fields, users, pws := movingInstitution(t, e, nat)
	live := e.LoginChanged(t, users[0], pws[0])
	hc1301 := admin(t, e, authz.HealthCenterAdmin, "13", "1301")
	hc1302 := admin(t, e, authz.HealthCenterAdmin, "13", "1302")
	pref13 := admin(t, e, authz.PrefectureAdmin, "13", "")
	pref27 := admin(t, e, authz.PrefectureAdmin, "27", "")
	listed(t, hc1301, code, "13", "1301", 2)

	// A health centre of another prefecture is refused and moves nothing
	// (the prefecture's own administrator may not move it out at all).
	if r := pref13.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 1, "fields": map[string]string{"prefectureCode": "27"}}); r.Status != 403 && r.Status != 400 {
		t.Errorf("prefecture 13 moving an institution to 27 = %d %s, want refused", r.Status, r.Body)
	}
	bad := maps.Clone(fields)
	bad["prefectureCode"] = "27"
	if r := nat.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 1, "fields": bad}); r.Status != 400 || r.ErrorField() != "healthCenterCode" {
		t.Errorf("move to 27 with health centre 1301 = %d %s, want 400 naming healthCenterCode", r.Status, r.Body)
	}
	if got := jurisdictionOf(t, e, users[0].ID); got != "13/1301" {
		t.Errorf("after a refused move the account is in %s", got)
	}

	// To another health centre of the same prefecture.
	fields["healthCenterCode"] = "1302"
	if r := pref13.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 1, "fields": fields}); r.Status != 200 {
		t.Fatalf("move to 1302 = %d %s", r.Status, r.Body)
	}
	listed(t, hc1302, code, "13", "1302", 2)
	if r := hc1301.Do("GET", "/admin/users?institutionCode="+code, nil); r.Status != 403 {
		t.Errorf("the old health centre lists the moved institution's accounts: %d", r.Status)
	}
	if r := hc1301.Do("POST", "/admin/users/"+users[1].ID+"/stop", nil); r.Status != 403 {
		t.Errorf("the old health centre stops a moved account: %d", r.Status)
	}
	if r := hc1302.Do("POST", "/admin/users/"+users[1].ID+"/stop", nil); r.Status != 200 || r.String("status") != "stopped" {
		t.Errorf("the new health centre stops a moved account: %d %s", r.Status, r.Body)
	}
	if r := live.Do("GET", "/auth/me", nil); r.Status != 401 {
		t.Errorf("a session from before the move = %d, want 401 (ended)", r.Status)
	}
	ended := e.AuditOf(t, users[0].ID, audit.SessionEnded, start)
	if len(ended) == 0 || ended[len(ended)-1].Detail["reason"] != "institution_moved" || ended[len(ended)-1].SourceIP == "" {
		t.Errorf("the session the move ended is not audited with its reason and source: %+v", ended)
	}
	if moved := e.AuditOf(t, users[0].ID, audit.AccountMoved, start); len(moved) == 0 || moved[0].SourceIP == "" {
		t.Errorf("account_moved without a source IP: %+v", moved)
	}

	// To another prefecture.
	fields["prefectureCode"], fields["healthCenterCode"] = "27", "2701"
	if r := nat.Do("PUT", "/admin/institutions/"+code, map[string]any{"version": 2, "fields": fields}); r.Status != 200 {
		t.Fatalf("move to 27 = %d %s", r.Status, r.Body)
	}
	listed(t, pref27, code, "27", "2701", 2)
	if r := pref13.Do("GET", "/admin/users?institutionCode="+code, nil); r.Status != 403 {
		t.Errorf("the old prefecture lists the moved institution's accounts: %d", r.Status)
	}
	if r := pref13.Do("POST", "/admin/users/"+users[0].ID+"/stop", nil); r.Status != 403 {
		t.Errorf("the old prefecture stops a moved account: %d", r.Status)
	}
	if r := pref27.Do("POST", "/admin/users/"+users[0].ID+"/stop", nil); r.Status != 200 || r.String("status") != "stopped" {
		t.Errorf("the new prefecture stops a moved account: %d %s", r.Status, r.Body)
	}
	if got := jurisdictionOf(t, e, users[1].ID); got != "27/2701" {
		t.Errorf("the stopped account is in %s, want 27/2701", got)
	}

	// A master import row moves it too.
	csv := "医療機関コード,名称,区分,都道府県コード,保健所コード\n" + code + ",うつりかわり病院,hospital,27,2702\n"
	if r := importJob(t, pref27, "institutions", []byte(csv)); jobCounts(r) != "created 0 updated 1 unchanged 0 rejected 0" {
		t.Fatalf("import moving the institution to 2702 = %d %s", r.Status, r.Body)
	}
	listed(t, admin(t, e, authz.HealthCenterAdmin, "27", "2702"), code, "27", "2702", 2)

	for _, u := range users {
		var got []string
		for _, ev := range moveAudits(t, e, u.ID, start) {
			d := ev.Detail
			got = append(got, d["fromPrefectureCode"]+"/"+d["fromHealthCenterCode"]+">"+d["prefectureCode"]+"/"+d["healthCenterCode"])
			if d["institutionCode"] != code || ev.Actor == "" {
				t.Errorf("audit of the move of %s = %+v", u.ID, ev)
			}
		}
		if strings.Join(got, " ") != "13/1301>13/1302 13/1302>27/2701 27/2701>27/2702" {
			t.Errorf("moves audited for %s: %v", u.ID, got)
		}
	}
}

// TestPendingMoveIsFinished leaves moves as a function that stops right
// after the master's transaction would (the record moved, the accounts
// not) and checks that the recovery paths finish them.
func TestPendingMoveIsFinished(t *testing.T) {
	e := stackEnv(t)
	nat := national(t, e)
	loadMasters(t, e, nat)
	ctx := context.Background()
	db, env := e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("AdminFunction")
	store := dynamo.NewMasterStore(db, env["MASTERS_TABLE"])
	mover := dynamo.NewAccountMover(db, e.Store, dynamo.MoveTables{Users: env["USERS_TABLE"], Masters: env["MASTERS_TABLE"], Audit: env["AUDIT_TABLE"]}, nil)
	crash := func(code string) master.Move {
		t.Helper()
		prev, err := store.GetRecord(ctx, master.Institutions, code)
		if err != nil {
			t.Fatal(err)
		}
		next := prev
		next.Fields = maps.Clone(prev.Fields)
		next.Fields["prefectureCode"], next.Fields["healthCenterCode"] = "27", "2701"
		next.Version, next.UpdatedAt, next.UpdatedBy = prev.Version+1, time.Now(), "test"
		if err := store.UpdateRecord(ctx, prev, next); err != nil {
			t.Fatal(err)
		}
		m, err := store.PendingMove(ctx, code)
		if err != nil {
			t.Fatalf("no pending move after the update: %v", err)
		}
		return m
	}
	pref13 := admin(t, e, authz.PrefectureAdmin, "13", "")
	pref27 := admin(t, e, authz.PrefectureAdmin, "27", "")
	start := time.Now().Add(-time.Second)

	t.Run("listing", func(t *testing.T) {
		code, _, users, pws := movingInstitution(t, e, nat)
		live := e.LoginChanged(t, users[0], pws[0])
		crash(code)
		if got := jurisdictionOf(t, e, users[0].ID); got != "13/1301" {
			t.Fatalf("the account moved without the service: %s", got)
		}
		stale, err := e.Store.GetUser(ctx, users[1].ID) // a profile update in flight
		if err != nil {
			t.Fatal(err)
		}
		if r := pref13.Do("GET", "/admin/users?institutionCode="+code, nil); r.Status != 403 {
			t.Errorf("the old prefecture lists a moved institution's accounts: %d", r.Status)
		}
		listed(t, pref27, code, "27", "2701", 2)
		if got := jurisdictionOf(t, e, users[0].ID); got != "27/2701" {
			t.Errorf("after the listing the account is in %s", got)
		}
		stale.Name += "（改姓）"
		if _, err := e.Store.UpdateUser(ctx, stale); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("a profile update read before the move = %v, want a conflict", err)
		}
		if got := jurisdictionOf(t, e, users[1].ID); got != "27/2701" {
			t.Errorf("after a stale profile update the account is in %s", got)
		}
		if r := live.Do("GET", "/auth/me", nil); r.Status != 401 {
			t.Errorf("a session from before the move = %d, want 401", r.Status)
		}
		if _, err := store.PendingMove(ctx, code); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("the move is still pending: %v", err)
		}
		if n := len(moveAudits(t, e, users[1].ID, start)); n != 1 {
			t.Errorf("%d audit records of the move, want 1", n)
		}
	})

	t.Run("finish-moves", func(t *testing.T) {
		code, _, users, pws := movingInstitution(t, e, nat)
		live := e.LoginChanged(t, users[0], pws[0])
		m := crash(code)
		// Half-way: one account moved, its session not yet ended.
		if changed, err := mover.MoveAccount(ctx, master.AccountRef{UserID: users[0].ID, PrefectureCode: "13", HealthCenterCode: "1301"}, m); err != nil || !changed {
			t.Fatalf("move one account = %v %v", changed, err)
		}
		if r := live.Do("GET", "/auth/me", nil); r.Status != 200 {
			t.Fatalf("session before recovery = %d", r.Status)
		}
		root, _ := services.RepoRoot(".")
		payload, err := os.ReadFile(filepath.Join(root, "events", "maintenance", "finish-moves.json"))
		if err != nil {
			t.Fatal(err)
		}
		client := lambda.New(lambda.Options{Region: "ap-northeast-1", BaseEndpoint: aws.String(e.Stack.InvokeURL),
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("MaintenanceFunction"), Payload: payload})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("finish-moves: %v %s", err, out.Payload)
		}
		var body struct {
			Result struct {
				Finished []master.MoveResult `json:"finished"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out.Payload, &body); err != nil {
			t.Fatal(err)
		}
		var mine *master.MoveResult
		for i, f := range body.Result.Finished {
			if f.Move.Code == code {
				mine = &body.Result.Finished[i]
			}
		}
		if mine == nil || mine.Accounts != 2 || strings.Join(mine.Moved, ",") != users[1].ID {
			t.Fatalf("finish-moves = %s, want %s with 2 accounts, %s moved now", out.Payload, code, users[1].ID)
		}
		for _, u := range users {
			if got := jurisdictionOf(t, e, u.ID); got != "27/2701" {
				t.Errorf("after finish-moves %s is in %s", u.ID, got)
			}
			if n := len(moveAudits(t, e, u.ID, start)); n != 1 {
				t.Errorf("%d audit records of the move of %s, want 1", n, u.ID)
			}
		}
		if r := live.Do("GET", "/auth/me", nil); r.Status != 401 {
			t.Errorf("the session of the account moved before the failure = %d, want 401", r.Status)
		}
		if _, err := store.PendingMove(ctx, code); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("the move is still pending: %v", err)
		}
		listed(t, pref27, code, "27", "2701", 2)
	})
}
