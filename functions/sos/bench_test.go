package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/survey"
)

// benchHandler is the sos function's handler in this process: the SOS,
// survey, master and audit stores count their DynamoDB calls into calls;
// sessions and maintenance windows are read through a client that does
// not.
func benchHandler(b *testing.B, e *authtest.Env, calls *atomic.Int64) *handler {
	ep := e.Stack.Endpoints
	fnEnv := e.Stack.FunctionEnv("SosFunction")
	plain := ep.DynamoDBClient()
	counted := ep.CountingDynamoDBClient(func(context.Context) *atomic.Int64 { return calls })
	auth := dynamo.NewAuthStore(plain, dynamo.AuthTables{Users: fnEnv["USERS_TABLE"], Sessions: fnEnv["SESSIONS_TABLE"], AuthState: fnEnv["AUTH_STATE_TABLE"]})
	auditLog := httpapi.Audited(dynamo.NewAuditLog(counted, fnEnv["AUDIT_TABLE"]))
	store := dynamo.NewSOSStore(counted, fnEnv["SOS_TABLE"]).WithApply(fnEnv["AUDIT_TABLE"], fnEnv["MASTERS_TABLE"], fnEnv["SURVEYS_TABLE"])
	svc := sos.NewService(sos.Deps{Store: store, Reader: store, Surveys: dynamo.NewSurveyStatusStore(counted, fnEnv["SURVEYS_TABLE"]),
		Insts: dynamo.NewMasterStore(counted, fnEnv["MASTERS_TABLE"]), Audit: auditLog})
	return &handler{svc: svc, gate: maintenance.NewGate(dynamo.NewWindowStore(plain, fnEnv["SYSTEM_TABLE"], nil), time.Minute, nil), audit: auditLog,
		sessions: session.NewManager(auth, session.Config{}), logger: slog.New(slog.DiscardHandler), now: time.Now}
}

// BenchmarkApply is システムチェック&申請 through the sos handler in this
// process: a hospital with qualifying daily and weekly surveys applies 21
// drafts one after the other. It reports the median time of an apply and
// its DynamoDB calls after the session read, audit record included.
func BenchmarkApply(b *testing.B) {
	const applies = 21
	e := shared.Env(b)
	hosp := institution{"4710000901", "47", master.CategoryHospital}
	addInstitution(b, e, hosp)
	api := staff(b, e, hosp) // through the local API: the surveys function writes the surveys
	if w := api.Do("PUT", "/surveys/institutions/"+hosp.code+"/daily/"+survey.Today(time.Now()), daily(false)); w.Status != 200 {
		b.Fatalf("daily survey = %d %s", w.Status, w.Body)
	}
	if w := api.Do("PUT", "/surveys/institutions/"+hosp.code+"/weekly/"+string(survey.WeekOf(time.Now())), weekly("within_1_week")); w.Status != 200 {
		b.Fatalf("weekly survey = %d %s", w.Status, w.Body)
	}

	var calls atomic.Int64
	h := benchHandler(b, e, &calls)
	srv := httptest.NewServer(httpapi.New(h.routes(), httpapi.Config{}))
	defer srv.Close()
	c := &authtest.Client{T: b, Base: srv.URL, Cookie: api.Cookie}
	var took []time.Duration
	var perApply []int64
	for range applies {
		r := c.Do("POST", path(hosp.code), map[string]any{"confirmedGeneral": true, "items": masks})
		if r.Status != 201 {
			b.Fatalf("save = %d %s", r.Status, r.Body)
		}
		calls.Store(0)
		start := time.Now()
		r = c.Do("POST", path(hosp.code, "/", r.String("id"), "/apply"), map[string]any{"version": 1})
		took = append(took, time.Since(start))
		perApply = append(perApply, calls.Load())
		if r.Status != 200 || r.String("status") != string(sos.StatusUnderReview) {
			b.Fatalf("apply = %d %s", r.Status, r.Body)
		}
	}
	slices.Sort(took)
	slices.Sort(perApply)
	fmt.Printf("BENCH sos_apply_p50_ms %.1f\n", float64(took[len(took)/2].Microseconds())/1000)
	fmt.Printf("BENCH sos_apply_calls %d\n", perApply[len(perApply)-1])
	if perApply[0] != perApply[len(perApply)-1] {
		b.Errorf("an apply made from %d to %d DynamoDB calls", perApply[0], perApply[len(perApply)-1])
	}
	if n := perApply[len(perApply)-1]; n > 3 {
		b.Errorf("an apply made %d DynamoDB calls after the session read, want at most 3", n)
	}
}
