package job_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/template"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/uploads"
)

// env is DynamoDB Local and moto with the template's tables and bucket.
type env struct {
	db      *dynamodb.Client
	fnEnv   map[string]string
	jobs    *dynamo.JobStore
	masters *dynamo.MasterStore
	files   *uploads.Store
	service *master.Service
}

func startEnv(t *testing.T) env {
	t.Helper()
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var (
		wg             sync.WaitGroup
		ddb, moto      *services.Process
		ddbErr, motErr error
	)
	wg.Go(func() { ddb, ddbErr = services.StartDynamoDB(ctx, services.DynamoDBOptions{Root: root}) })
	wg.Go(func() { moto, motErr = services.StartMoto(ctx, services.MotoOptions{}) })
	wg.Wait()
	for _, p := range []*services.Process{ddb, moto} {
		if p != nil {
			t.Cleanup(p.Stop)
		}
	}
	if err := errors.Join(ddbErr, motErr); err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.Load(filepath.Join(root, "template.yaml"), template.Options{
		Parameters: map[string]string{"AuthSecret": "a-test-secret-of-at-least-32-characters"}})
	if err != nil {
		t.Fatal(err)
	}
	ep := services.Endpoints{DynamoDB: ddb.Endpoint, Moto: moto.Endpoint, Region: "ap-northeast-1"}
	if _, err := services.CreateTables(ctx, ep.DynamoDBClient(), tmpl.Tables); err != nil {
		t.Fatal(err)
	}
	if _, err := services.CreateBuckets(ctx, ep.S3Client(), ep.Region, tmpl.Buckets); err != nil {
		t.Fatal(err)
	}
	var fnEnv map[string]string
	for _, f := range tmpl.Functions {
		if f.LogicalID == "JobsFunction" {
			fnEnv = f.Env
		}
	}
	db := ep.DynamoDBClient()
	masters := dynamo.NewMasterStore(db, fnEnv["MASTERS_TABLE"])
	return env{db: db, fnEnv: fnEnv, jobs: dynamo.NewJobStore(db, fnEnv["JOBS_TABLE"]), masters: masters,
		files:   uploads.New(ep.S3Client(), fnEnv["UPLOADS_BUCKET"]),
		service: master.NewService(masters, nil, nopLog{}, nil)}
}

type nopLog struct{}

func (nopLog) Record(context.Context, audit.Event) error { return nil }

// starts records the jobs a Runner started instead of invoking anything.
type starts struct {
	mu  sync.Mutex
	ids []string
}

func (s *starts) Start(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
	return nil
}

func (s *starts) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.ids
	s.ids = nil
	return ids
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var national = authz.Principal{UserID: "u-national", Role: authz.National}

func seedMasters(t *testing.T, e env) {
	t.Helper()
	for _, f := range []struct {
		kind master.Kind
		csv  string
	}{
		{master.Prefectures, "都道府県コード,都道府県名\n13,東京都\n"},
		{master.HealthCenters, "保健所コード,保健所名,都道府県コード\n1301,みどり区保健所,13\n"},
	} {
		if j := importMaster(t, e, f.kind, f.csv); j.Counts["rejected"] > 0 {
			t.Fatalf("seed %s: %v", f.kind, j.Counts)
		}
	}
}

// importMaster imports a master CSV as a job, run here to its end.
func importMaster(t *testing.T, e env, kind master.Kind, csv string) job.Job {
	t.Helper()
	ctx := context.Background()
	key := "uploads/u-national/" + job.NewID()
	if err := e.files.Put(ctx, key, []byte(csv), "text/csv"); err != nil {
		t.Fatal(err)
	}
	st := &starts{}
	svc := job.NewService(e.jobs, st, e.files, map[job.Kind]job.Check{job.MasterImport: master.CheckImport}, nil, nil)
	j, err := svc.Create(ctx, national, job.MasterImport, map[string]string{"kind": string(kind)}, key, int64(len(csv)))
	if err != nil {
		t.Fatal(err)
	}
	runner := job.NewRunner(e.jobs, st, map[job.Kind]job.Handler{job.MasterImport: master.NewImportJob(e.service, e.jobs, e.files)}, job.Config{})
	if err := runner.Run(ctx, j.ID, "seed"); err != nil {
		t.Fatal(err)
	}
	if j, err = e.jobs.GetJob(ctx, j.ID); err != nil || j.State != job.Done {
		t.Fatalf("import %s: %s %+v %v", kind, j.State, j.Failure, err)
	}
	return j
}

func institutions(n int) []byte {
	var b bytes.Buffer
	b.WriteString("医療機関コード,名称,区分,都道府県コード,保健所コード\n")
	for i := range n {
		fmt.Fprintf(&b, "13%08d,病院%d,clinic,13,1301\n", i, i)
	}
	return b.Bytes()
}

// TestCrashedImportResumesFromItsCheckpoint stops an invocation after
// its third chunk without handing the job over, as a crash would; the
// sweeper finds the lease expired and a new invocation finishes the job:
// every row is written once, and the counts say so.
func TestCrashedImportResumesFromItsCheckpoint(t *testing.T) {
	e := startEnv(t)
	seedMasters(t, e)
	ctx := context.Background()
	const rows = 1000
	if err := e.files.Put(ctx, "uploads/u-national/f1", institutions(rows), "text/csv"); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	st := &starts{}
	svc := job.NewService(e.jobs, st, e.files, map[job.Kind]job.Check{job.MasterImport: master.CheckImport}, clk.Now, nil)
	j, err := svc.Create(ctx, national, job.MasterImport, map[string]string{"kind": "institutions"}, "uploads/u-national/f1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.take(); len(got) != 1 || got[0] != j.ID {
		t.Fatalf("started %v, want the job", got)
	}

	steps := 0
	crashing := job.NewRunner(e.jobs, st, map[job.Kind]job.Handler{job.MasterImport: master.NewImportJob(e.service, e.jobs, e.files)},
		job.Config{Now: clk.Now, Lease: time.Minute, AfterStep: func(job.Job) error {
			if steps++; steps == 3 {
				return errors.New("killed")
			}
			return nil
		}})
	if err := crashing.Run(ctx, j.ID, "first"); !errors.Is(err, job.ErrStopped) {
		t.Fatalf("first run = %v, want stopped", err)
	}
	mid, err := e.jobs.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.State != job.Running || mid.RowsDone != 3*master.ImportChunk || mid.RowsTotal != rows {
		t.Fatalf("after the crash: state %s, %d of %d rows", mid.State, mid.RowsDone, mid.RowsTotal)
	}

	runner := job.NewRunner(e.jobs, st, map[job.Kind]job.Handler{job.MasterImport: master.NewImportJob(e.service, e.jobs, e.files)},
		job.Config{Now: clk.Now, Lease: time.Minute})
	// The lease still holds: neither the sweeper nor another invocation takes the job.
	if n, err := runner.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep during the lease = %d, %v", n, err)
	}
	if err := runner.Run(ctx, j.ID, "intruder"); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.jobs.GetJob(ctx, j.ID); again.RowsDone != mid.RowsDone {
		t.Fatalf("an invocation without the lease worked: %d rows", again.RowsDone)
	}

	clk.Add(2 * time.Minute)
	if n, err := runner.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the lease = %d, %v", n, err)
	}
	if got := st.take(); len(got) != 1 || got[0] != j.ID {
		t.Fatalf("sweeper started %v", got)
	}
	if err := runner.Run(ctx, j.ID, "second"); err != nil {
		t.Fatal(err)
	}
	done, err := e.jobs.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"created": rows, "updated": 0, "unchanged": 0, "rejected": 0}
	if done.State != job.Done || done.RowsDone != rows || fmt.Sprint(done.Counts) != fmt.Sprint(want) || done.Invocations != 2 {
		t.Fatalf("finished job: state %s, %d rows, counts %v, %d invocations", done.State, done.RowsDone, done.Counts, done.Invocations)
	}
	for _, code := range []string{"1300000000", "1300000299", "1300000300", "1300000999"} {
		rec, err := e.masters.GetRecord(ctx, master.Institutions, code)
		if err != nil || rec.Version != 1 {
			t.Errorf("record %s: version %d, %v (want written once)", code, rec.Version, err)
		}
	}
	if n, _ := runner.Sweep(ctx); n != 0 {
		t.Errorf("the sweeper still sees the finished job")
	}
}

// TestChunkDoneTwiceCountsOnce replays a chunk whose checkpoint was lost
// (the rows were written, the job was not saved): nothing is written
// again and the rows count as what they were.
func TestChunkDoneTwiceCountsOnce(t *testing.T) {
	e := startEnv(t)
	seedMasters(t, e)
	ctx := context.Background()
	data := institutions(150)
	data = append(data, []byte("1300000003,重複,clinic,13,1301\n")...)
	if err := e.files.Put(ctx, "uploads/u-national/f2", data, "text/csv"); err != nil {
		t.Fatal(err)
	}
	h := master.NewImportJob(e.service, e.jobs, e.files)
	j := job.Job{ID: "0123456789abcdef01234567", Kind: job.MasterImport, Owner: national.UserID, OwnerRole: national.Role,
		Params: map[string]string{"kind": "institutions"}, File: "uploads/u-national/f2"}
	if err := h.Validate(ctx, &j); err != nil {
		t.Fatal(err)
	}
	start := j
	if _, err := h.Step(ctx, &j); err != nil {
		t.Fatal(err)
	}
	// The same chunk again, by a fresh invocation, from the old checkpoint.
	replay := start
	replay.Counts, replay.Params = nil, map[string]string{"kind": "institutions"}
	h2 := master.NewImportJob(e.service, e.jobs, e.files)
	if _, err := h2.Step(ctx, &replay); err != nil {
		t.Fatal(err)
	}
	if replay.Counts["created"] != master.ImportChunk || replay.Counts["unchanged"] != 0 {
		t.Errorf("replayed chunk counts %v, want %d created as before", replay.Counts, master.ImportChunk)
	}
	for {
		done, err := h2.Step(ctx, &replay)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
	}
	if replay.Counts["rejected"] != 1 || replay.Counts["created"] != 150 {
		t.Errorf("counts %v, want 150 created and the duplicate of row 5 rejected", replay.Counts)
	}
	rej, err := e.jobs.Rows(ctx, j.ID, master.RejectionPrefix, "", 0)
	if err != nil || len(rej) != 1 || rej[0].Line != 152 {
		t.Fatalf("rejections %+v, %v", rej, err)
	}
}

// TestCrashedIssuanceOpensEveryAccountOnce kills an issuance job after
// its second chunk and again in the middle of a chunk whose accounts were
// opened but whose checkpoint was not saved; the resumed job opens every
// account exactly once.
func TestCrashedIssuanceOpensEveryAccountOnce(t *testing.T) {
	e := startEnv(t)
	seedMasters(t, e)
	ctx := context.Background()
	if j := importMaster(t, e, master.Institutions, "医療機関コード,名称,区分,都道府県コード,保健所コード\n1310000001,中央病院,hospital,13,1301\n"); j.Counts["created"] != 1 {
		t.Fatalf("seed institution: %v", j.Counts)
	}
	users := dynamo.NewAuthStore(e.db, dynamo.AuthTables{Users: e.fnEnv["USERS_TABLE"], Sessions: e.fnEnv["SESSIONS_TABLE"], AuthState: e.fnEnv["AUTH_STATE_TABLE"], Audit: e.fnEnv["AUDIT_TABLE"]})
	secret := []byte("a-test-secret-of-at-least-32-characters")
	accounts, err := auth.NewService(users, nopLog{}, nil, secret, auth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// One clock for the jobs and the service: initial passwords expire 7
	// days after the job was created.
	clk := &clock{now: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	bulk, err := issuance.NewService(accounts, users, e.masters, nopLog{}, nil, secret, "http://127.0.0.1:3000/", clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var b bytes.Buffer
	for i := range n {
		cells := make([]string, 40)
		cells[1], cells[2], cells[3], cells[4] = fmt.Sprintf("再開 太郎%d", i), "03-5555-0001", fmt.Sprintf("resume%d@hospital.example.jp", i), "09"
		cells[10], cells[32], cells[35], cells[39] = "1301", "0", "1310000001", "1"
		cells[38] = cells[3]
		b.WriteString(strings.Join(cells, ",") + "\n")
	}
	if err := e.files.Put(ctx, "uploads/u-national/form", b.Bytes(), "text/csv"); err != nil {
		t.Fatal(err)
	}
	st := &starts{}
	svc := job.NewService(e.jobs, st, e.files, map[job.Kind]job.Check{job.Issuance: issuance.CheckIssuance}, clk.Now, nil)
	j, err := svc.Create(ctx, national, job.Issuance, nil, "uploads/u-national/form", 0)
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[job.Kind]job.Handler{job.Issuance: issuance.NewIssuanceJob(bulk, e.jobs, e.files)}
	steps := 0
	crashing := job.NewRunner(e.jobs, st, handlers, job.Config{Now: clk.Now, Lease: time.Minute, AfterStep: func(job.Job) error {
		if steps++; steps == 2 {
			return errors.New("killed")
		}
		return nil
	}})
	if err := crashing.Run(ctx, j.ID, "first"); !errors.Is(err, job.ErrStopped) {
		t.Fatalf("first run = %v", err)
	}
	// A step whose accounts were opened but whose checkpoint was lost.
	mid, err := e.jobs.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	lost := mid
	if _, err := handlers[job.Issuance].Step(ctx, &lost); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	runner := job.NewRunner(e.jobs, st, handlers, job.Config{Now: clk.Now, Lease: time.Minute})
	if n, err := runner.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	if err := runner.Run(ctx, j.ID, "second"); err != nil {
		t.Fatal(err)
	}
	done, err := e.jobs.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != job.Done || done.RowsDone != n || done.Counts["created"] != n {
		t.Fatalf("job: state %s, rows %d, counts %v", done.State, done.RowsDone, done.Counts)
	}
	opened := map[string]int{}
	cursor := ""
	for {
		page, next, err := users.ListUsers(ctx, "institution", "1310000001", 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			opened[u.Mail]++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(opened) != n {
		t.Errorf("%d people have accounts, want %d", len(opened), n)
	}
	for mail, c := range opened {
		if c != 1 {
			t.Errorf("%s has %d accounts", mail, c)
		}
	}

	// Seven days after the job, its passwords are not served, whether or
	// not DynamoDB's TTL has deleted them yet (DynamoDB Local never does);
	// the download that finds them deletes them.
	download := func() []string {
		t.Helper()
		var buf bytes.Buffer
		w, err := csvio.NewWriter(&buf)
		if err == nil {
			err = bulk.AccountsCSV(ctx, national, e.jobs, done, w)
		}
		rows, _, rerr := csvio.Read(buf.Bytes(), 1<<20)
		if err != nil || rerr != nil || len(rows) != n+1 {
			t.Fatalf("accounts CSV: %v %v, %d rows", err, rerr, len(rows))
		}
		out := make([]string, n)
		for i, r := range rows[1:] {
			out[i] = r.Field(3)
		}
		return out
	}
	kept := func() int {
		t.Helper()
		pws, err := e.jobs.Rows(ctx, j.ID, issuance.PasswordPrefix, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(pws)
	}
	clk.Add(issuance.PasswordsKeptFor - time.Hour)
	if got := download(); strings.HasPrefix(got[0], "（") || strings.HasPrefix(got[n-1], "（") || kept() != n {
		t.Errorf("before 7 days: passwords %q … %q, %d kept; want them served and kept (not mailed yet)", got[0], got[n-1], kept())
	}
	clk.Add(2 * time.Hour)
	if got := download(); !strings.Contains(got[0], "7日を過ぎた") || !strings.Contains(got[n-1], "7日を過ぎた") {
		t.Errorf("after 7 days: passwords %q … %q, want none served", got[0], got[n-1])
	}
	if k := kept(); k != 0 {
		t.Errorf("%d expired passwords left after a download found them", k)
	}
}
