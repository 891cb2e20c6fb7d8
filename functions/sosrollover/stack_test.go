package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/calendar"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/survey"
)

// shared is one local stack of the project's template for this package's
// tests. Each test uses its own prefecture and dates more than
// sos.CatchUpDays apart, so their windows never meet.
var shared = authtest.NewShared(nil)

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

// weeklyOnFile answers that an institution has a weekly survey on file:
// enough for an aggregating organisation (とりまとめ団体) to apply.
type weeklyOnFile struct{}

func (weeklyOnFile) GetStatus(_ context.Context, code string) (survey.Status, error) {
	return survey.Status{InstitutionCode: code, Weekly: &survey.Record[survey.Weekly]{}}, nil
}

type noAudit struct{}

func (noAudit) Record(context.Context, audit.Event) error { return nil }

func jst(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, calendar.JST)
}

func sosStore(e *authtest.Env) *dynamo.SOSStore {
	fn := e.Stack.FunctionEnv("SosFunction")
	return dynamo.NewSOSStore(e.Stack.Endpoints.DynamoDBClient(), fn["SOS_TABLE"]).WithApply(fn["AUDIT_TABLE"], fn["MASTERS_TABLE"], fn["SURVEYS_TABLE"])
}

// applyAt files and applies a request of institution code (prefecture
// pref) with the sos service in this process, its clock at at.
func applyAt(t *testing.T, e *authtest.Env, code, pref string, at time.Time) sos.Request {
	t.Helper()
	db := e.Stack.Endpoints.DynamoDBClient()
	insts := dynamo.NewMasterStore(db, e.Stack.FunctionEnv("SosFunction")["MASTERS_TABLE"])
	err := insts.CreateRecord(context.Background(), master.Record{Kind: master.Institutions, Code: code, Version: 1, UpdatedAt: at, UpdatedBy: "test",
		Fields: map[string]string{"name": "テスト" + code, "category": master.CategoryAggregator, "prefectureCode": pref, "healthCenterCode": pref + "01"}})
	if err != nil && apperr.CodeOf(err) != apperr.Conflict {
		t.Fatal(err)
	}
	svc := sos.NewService(sos.Deps{Store: sosStore(e), Surveys: weeklyOnFile{}, Insts: insts, Audit: noAudit{}, Now: func() time.Time { return at }})
	p := authz.Principal{UserID: "u-" + code, Role: authz.InstitutionUser, InstitutionCode: code, PrefectureCode: pref, HealthCenterCode: pref + "01"}
	ctx := context.Background()
	r, err := svc.Create(ctx, p, code, sos.Input{ConfirmedGeneral: true, Items: map[string]*sos.ItemInput{"surgical_mask": nil}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	r, err = svc.Apply(ctx, p, code, r.ID, r.Version)
	if err != nil || r.Status != sos.StatusUnderReview {
		t.Fatalf("apply at %s = %+v, %v", at, r, err)
	}
	return r
}

// rollover invokes the function through the local stack as its schedule
// would at scheduled.
func rollover(t *testing.T, e *authtest.Env, scheduled time.Time) sos.RunResult {
	t.Helper()
	payload, _ := json.Marshal(Event{ScheduledTime: scheduled.UTC().Format(time.RFC3339)})
	return invoke(t, e, payload)
}

func invoke(t *testing.T, e *authtest.Env, payload []byte) sos.RunResult {
	t.Helper()
	res, err := e.Stack.Invoke(context.Background(), "SosRolloverFunction", payload)
	if err != nil || res.FunctionError != "" {
		t.Fatalf("invoke = %s %v\n%s", res.Payload, err, e.Out.String())
	}
	var out sos.RunResult
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("result %s: %v", res.Payload, err)
	}
	return out
}

func reviewer(t testing.TB, e *authtest.Env, pref string) auth.User {
	t.Helper()
	u, _ := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: pref})
	return u
}

func rolloverMails(e *authtest.Env, u auth.User) []string {
	var out []string
	for _, m := range e.Moto.Mails(u.Mail) {
		if strings.HasPrefix(m, "【緊急配布要請】") {
			out = append(out, m)
		}
	}
	return out
}

func summary(t *testing.T, e *authtest.Env, day, pref string) sos.Summary {
	t.Helper()
	s, err := sosStore(e).Summary(context.Background(), day, pref)
	if err != nil {
		t.Fatalf("summary %s %s: %v", day, pref, err)
	}
	return s
}

func TestRolloverClosesOnceAndMailsOnce(t *testing.T) {
	e := shared.Env(t)
	const pref = "01"
	rev := reviewer(t, e, pref)
	// Tuesday 4 February 2031: 12:59:59 belongs to the day, 13:00:00 to the next.
	before := applyAt(t, e, "0110000001", pref, jst(2031, 2, 4, 12, 59, 59))
	after := applyAt(t, e, "0110000002", pref, jst(2031, 2, 4, 13, 0, 0))
	if before.BusinessDay != "2031-02-04" || after.BusinessDay != "2031-02-05" {
		t.Fatalf("days = %s, %s", before.BusinessDay, after.BusinessDay)
	}

	got := rollover(t, e, jst(2031, 2, 4, 13, 0, 0))
	if n := len(got.Closed); n == 0 || got.Closed[n-1] != "2031-02-04" || got.Mails != 1 {
		t.Fatalf("first run = %+v", got)
	}
	s := summary(t, e, "2031-02-04", pref)
	if s.Count != 1 || s.RequestIDs[0] != before.ID || s.MailedAt == nil || s.MailedTo != 1 {
		t.Fatalf("summary = %+v", s)
	}
	if s := summary(t, e, "2031-02-04", "02"); s.Count != 0 || s.MailedAt != nil {
		t.Fatalf("a prefecture without requests = %+v", s)
	}

	// An apply whose clock still says 12:59:59 after the close lands in
	// the next business day: the window is closed.
	late := applyAt(t, e, "0110000003", pref, jst(2031, 2, 4, 12, 59, 59))
	if late.BusinessDay != "2031-02-05" {
		t.Fatalf("apply after the close joined %s", late.BusinessDay)
	}

	// Again (a retry): nothing closes, nothing is mailed, the summary stays.
	if got := rollover(t, e, jst(2031, 2, 4, 13, 0, 0)); len(got.Closed) != 0 || got.Mails != 0 {
		t.Fatalf("second run = %+v", got)
	}
	if s := summary(t, e, "2031-02-04", pref); s.Count != 1 {
		t.Fatalf("summary after the second run = %+v", s)
	}
	mails := rolloverMails(e, rev)
	if len(mails) != 1 || !strings.Contains(mails[0], "1 件") || !strings.Contains(mails[0], "day=2031-02-04&prefectureCode=01") {
		t.Fatalf("reviewer's mails = %q", mails)
	}
}

func TestRolloverCatchesUpMissedDays(t *testing.T) {
	e := shared.Env(t)
	const pref = "02"
	rev := reviewer(t, e, pref)
	// Tuesday 3 and Wednesday 4 June 2031; the runs of both were missed.
	tue := applyAt(t, e, "0210000001", pref, jst(2031, 6, 3, 10, 0, 0))
	wed := applyAt(t, e, "0210000002", pref, jst(2031, 6, 4, 10, 0, 0))
	got := rollover(t, e, jst(2031, 6, 5, 13, 0, 0))
	n := len(got.Closed)
	if n < 3 || strings.Join(got.Closed[n-3:], ",") != "2031-06-03,2031-06-04,2031-06-05" || got.Mails != 2 {
		t.Fatalf("run = %+v", got)
	}
	for day, id := range map[string]string{"2031-06-03": tue.ID, "2031-06-04": wed.ID} {
		if s := summary(t, e, day, pref); s.Count != 1 || s.RequestIDs[0] != id {
			t.Errorf("summary %s = %+v", day, s)
		}
	}
	mails := rolloverMails(e, rev)
	if len(mails) != 2 || !strings.Contains(mails[0], "2031-06-03") || !strings.Contains(mails[1], "2031-06-04") {
		t.Fatalf("reviewer's mails, oldest first = %q", mails)
	}
}

// TestScheduledEventSample runs events/sos-rollover/scheduled.json, the
// payload the schedule's Input becomes.
func TestScheduledEventSample(t *testing.T) {
	e := shared.Env(t)
	data, err := os.ReadFile("../../events/sos-rollover/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, ev.ScheduledTime)
	if err != nil || !at.Equal(calendar.Deadline(calendar.Date(2031, 9, 2))) {
		t.Fatalf("scheduledTime %q is not 13:00 JST of 2031-09-02 (%v)", ev.ScheduledTime, err)
	}
	got := invoke(t, e, data)
	if n := len(got.Closed); n == 0 || got.Closed[n-1] != "2031-09-02" {
		t.Fatalf("run = %+v", got)
	}
}

func TestHandlerRefusesAMissingTime(t *testing.T) {
	h := handler{rollover: nil}
	if _, err := h.Handle(context.Background(), Event{}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Handle without scheduledTime = %v", err)
	}
}
