package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/survey"
)

// switchedSurveys answers a weekly survey on file while on is true, and
// none otherwise: an aggregator's apply passes, then its edit fails.
type switchedSurveys struct{ on atomic.Bool }

func (s *switchedSurveys) GetStatus(_ context.Context, code string) (survey.Status, error) {
	if !s.on.Load() {
		return survey.Status{}, apperr.New(apperr.NotFound, "見つかりません。", "no surveys")
	}
	return survey.Status{InstitutionCode: code, Weekly: &survey.Record[survey.Weekly]{}}, nil
}

// countingMailer counts the mails of an in-process rollover.
type countingMailer struct {
	mu sync.Mutex
	to []string
}

func (m *countingMailer) Mail(_ context.Context, to, _, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.to = append(m.to, to)
	return nil
}

// closeSignal closes closing as the rollover sends the close of day's
// window: a test's applies start then.
type closeSignal struct {
	sos.RolloverStore
	day     string
	closing chan struct{}
}

func (s *closeSignal) Close(ctx context.Context, day string, at time.Time) (bool, error) {
	if day == s.day {
		close(s.closing)
	}
	return s.RolloverStore.Close(ctx, day, at)
}

// fixture files drafts of aggregators of one prefecture with the service
// in this process; its clock is set by the caller.
type fixture struct {
	t       *testing.T
	svc     *sos.Service
	surveys *switchedSurveys
	clock   atomic.Pointer[time.Time]
	pref    string
}

func newFixture(t *testing.T, e *authtest.Env, pref string) *fixture {
	t.Helper()
	f := &fixture{t: t, surveys: &switchedSurveys{}, pref: pref}
	f.surveys.on.Store(true)
	insts := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SosFunction")["MASTERS_TABLE"])
	f.svc = sos.NewService(sos.Deps{Store: sosStore(e), Surveys: f.surveys, Insts: insts, Audit: noAudit{},
		Now: func() time.Time { return *f.clock.Load() }})
	return f
}

func (f *fixture) at(t time.Time) { f.clock.Store(&t) }

func (f *fixture) principal(code string) authz.Principal {
	return authz.Principal{UserID: "u-" + code, Role: authz.InstitutionUser, InstitutionCode: code, PrefectureCode: f.pref, HealthCenterCode: f.pref + "01"}
}

// draft registers institution code and saves a draft of it.
func (f *fixture) draft(e *authtest.Env, code string) sos.Request {
	f.t.Helper()
	insts := dynamo.NewMasterStore(e.Stack.Endpoints.DynamoDBClient(), e.Stack.FunctionEnv("SosFunction")["MASTERS_TABLE"])
	err := insts.CreateRecord(context.Background(), master.Record{Kind: master.Institutions, Code: code, Version: 1, UpdatedAt: *f.clock.Load(), UpdatedBy: "test",
		Fields: map[string]string{"name": "テスト" + code, "category": master.CategoryAggregator, "prefectureCode": f.pref, "healthCenterCode": f.pref + "01"}})
	if err != nil && apperr.CodeOf(err) != apperr.Conflict {
		f.t.Fatal(err)
	}
	r, err := f.svc.Create(context.Background(), f.principal(code), code, sos.Input{ConfirmedGeneral: true, Items: map[string]*sos.ItemInput{"surgical_mask": nil}})
	if err != nil {
		f.t.Fatalf("create: %v", err)
	}
	return r
}

func members(t *testing.T, e *authtest.Env, day string) []sos.Member {
	t.Helper()
	ms, err := sosStore(e).Members(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func memberIDs(ms []sos.Member, pref string) []string {
	var ids []string
	for _, m := range ms {
		if m.PrefectureCode == pref {
			ids = append(ids, m.RequestID)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestMembershipIsWhatTheRolloverCounts: an apply writes the request's
// membership of its window in the base table; an edit keeps it and adds
// none; deleting a draft that had joined removes it; the rollover counts
// the members, read consistently after the close, and nothing else — not
// a request the day-index shows without a membership.
func TestMembershipIsWhatTheRolloverCounts(t *testing.T) {
	e := shared.Env(t)
	const pref, day = "03", "2031-11-04" // a Tuesday after Culture Day
	f := newFixture(t, e, pref)
	ctx := context.Background()

	f.at(jst(2031, 11, 4, 10, 0, 0))
	a := f.draft(e, "0310000001")
	a, err := f.svc.Apply(ctx, f.principal(a.InstitutionCode), a.InstitutionCode, a.ID, a.Version)
	if err != nil || a.BusinessDay != day {
		t.Fatalf("apply = %+v, %v", a, err)
	}
	if got := memberIDs(members(t, e, day), pref); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("members after the apply = %v, want [%s]", got, a.ID)
	}

	// An edit of the applied request re-runs the check and keeps its
	// window: no second membership, none in another window.
	f.at(jst(2031, 11, 4, 14, 0, 0)) // after the deadline: the open window is the next day's
	a, err = f.svc.Update(ctx, f.principal(a.InstitutionCode), a.InstitutionCode, a.ID,
		sos.Input{Version: a.Version, ConfirmedGeneral: true, Items: map[string]*sos.ItemInput{"surgical_mask": nil, "isolation_gown": nil}})
	if err != nil || a.BusinessDay != day || a.Status != sos.StatusUnderReview {
		t.Fatalf("edit = %+v, %v", a, err)
	}
	if got := memberIDs(members(t, e, day), pref); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("members after the edit = %v", got)
	}
	if got := memberIDs(members(t, e, "2031-11-05"), pref); len(got) != 0 {
		t.Fatalf("the edit joined the next window: %v", got)
	}

	// B joins, fails the check on an edit (エラー有り, a draft again) and is
	// deleted: its membership goes with it.
	f.at(jst(2031, 11, 4, 11, 0, 0))
	b := f.draft(e, "0310000002")
	b, err = f.svc.Apply(ctx, f.principal(b.InstitutionCode), b.InstitutionCode, b.ID, b.Version)
	if err != nil || b.BusinessDay != day {
		t.Fatalf("apply B = %+v, %v", b, err)
	}
	f.surveys.on.Store(false)
	b, err = f.svc.Update(ctx, f.principal(b.InstitutionCode), b.InstitutionCode, b.ID,
		sos.Input{Version: b.Version, ConfirmedGeneral: true, Items: map[string]*sos.ItemInput{"surgical_mask": nil}})
	f.surveys.on.Store(true)
	if err != nil || b.Status != sos.StatusError {
		t.Fatalf("failing edit of B = %+v, %v", b, err)
	}
	if err := f.svc.Delete(ctx, f.principal(b.InstitutionCode), b.InstitutionCode, b.ID, b.Version); err != nil {
		t.Fatalf("delete B: %v", err)
	}
	if got := memberIDs(members(t, e, day), pref); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("members after deleting B = %v", got)
	}

	// A request item the day-index shows for the day without a membership
	// (as if written outside an apply) is not a member and is not counted.
	db := e.Stack.Endpoints.DynamoDBClient()
	table := e.Stack.FunctionEnv("SosRolloverFunction")["SOS_TABLE"]
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "inst#0310000009"}, "sk": &types.AttributeValueMemberS{Value: "req#stray"},
		"day": &types.AttributeValueMemberS{Value: pref + "#" + day}, "applied": &types.AttributeValueMemberS{Value: "2031-11-04T01:00:00Z#stray"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := sosStore(e).Day(ctx, pref, day); err != nil || len(rs) != 2 {
		t.Fatalf("day-index shows %d requests (%v), want A and the stray item", len(rs), err)
	}

	// Closed twice: A is counted exactly once.
	for range 2 {
		rollover(t, e, jst(2031, 11, 4, 13, 0, 0))
	}
	if s := summary(t, e, day, pref); s.Count != 1 || !slices.Equal(s.RequestIDs, []string{a.ID}) {
		t.Fatalf("summary = %+v, want A only", s)
	}
}

// TestAppliesDuringTheCloseLandInOneWindow: applies racing the close each
// land in exactly one window, and the closed window's summary holds
// exactly those that joined it.
func TestAppliesDuringTheCloseLandInOneWindow(t *testing.T) {
	e := shared.Env(t)
	const pref, day, next = "04", "2032-03-09", "2032-03-10"
	f := newFixture(t, e, pref)
	ctx := context.Background()
	f.at(jst(2032, 3, 9, 12, 0, 0))
	var drafts []sos.Request
	for i := range 20 {
		drafts = append(drafts, f.draft(e, fmt.Sprintf("04100000%02d", i)))
	}
	// Every apply's clock says 12:59:59: the window of the 9th, unless the
	// close got there first.
	f.at(jst(2032, 3, 9, 12, 59, 59))
	db := e.Stack.Endpoints.DynamoDBClient()
	env := e.Stack.FunctionEnv("SosRolloverFunction")
	mailer := &countingMailer{}
	closing := make(chan struct{})
	// The racing applies start as the window before closes (the
	// rollover's previous step, about the time of 47 summaries) and are
	// spread over 360 ms: some join before the close, some after.
	store := &closeSignal{RolloverStore: dynamo.NewSOSStore(db, env["SOS_TABLE"]), day: "2032-03-08", closing: closing}
	r := sos.NewRollover(store, mailer, dynamo.NewAuthStore(db, dynamo.AuthTables{Users: env["USERS_TABLE"]}),
		"http://127.0.0.1", slog.New(slog.DiscardHandler))

	apply := func(d sos.Request) sos.Request {
		got, err := f.svc.Apply(ctx, f.principal(d.InstitutionCode), d.InstitutionCode, d.ID, d.Version)
		if err != nil {
			t.Errorf("apply %s: %v", d.ID, err)
		}
		return got
	}
	// The first five apply before the close, the last five after it, and
	// the ten between race it.
	applied := make([]sos.Request, len(drafts))
	for i := range 5 {
		applied[i] = apply(drafts[i])
	}
	var wg sync.WaitGroup
	for i := 5; i < 15; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-closing
			time.Sleep(time.Duration(i-5) * 40 * time.Millisecond)
			applied[i] = apply(drafts[i])
		}()
	}
	if _, err := r.Run(ctx, jst(2032, 3, 9, 13, 0, 0)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := 15; i < 20; i++ {
		applied[i] = apply(drafts[i])
	}
	for i, q := range applied {
		if i < 5 && q.BusinessDay != day || i >= 15 && q.BusinessDay != next {
			t.Errorf("apply %d (before the close: %t) joined %s", i, i < 5, q.BusinessDay)
		}
	}

	var inDay, inNext []string
	for _, q := range applied {
		switch q.BusinessDay {
		case day:
			inDay = append(inDay, q.ID)
		case next:
			inNext = append(inNext, q.ID)
		default:
			t.Errorf("%s joined %q", q.ID, q.BusinessDay)
		}
	}
	slices.Sort(inDay)
	slices.Sort(inNext)
	t.Logf("%d applies joined the closing window, %d the next", len(inDay), len(inNext))
	s := summary(t, e, day, pref)
	got := slices.Clone(s.RequestIDs)
	slices.Sort(got)
	if s.Count != len(inDay) || !slices.Equal(got, inDay) {
		t.Fatalf("summary of %s = %d %v, want the %d that joined it %v", day, s.Count, got, len(inDay), inDay)
	}
	if got := memberIDs(members(t, e, next), pref); !slices.Equal(got, inNext) {
		t.Fatalf("members of %s = %v, want %v", next, got, inNext)
	}
	if got := memberIDs(members(t, e, day), pref); !slices.Equal(got, inDay) {
		t.Fatalf("members of %s after the close = %v, want %v", day, got, inDay)
	}
}
