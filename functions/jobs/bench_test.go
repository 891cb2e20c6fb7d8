package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/template"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/uploads"
)

// bench is the jobs' work in this process over DynamoDB Local and moto,
// with every DynamoDB call counted.
type bench struct {
	calls     atomic.Int64
	db        *dynamodb.Client
	jobsTable string
	jobs      *dynamo.JobStore
	files     *uploads.Store
	masters   *master.Service
	bulk      *issuance.Service
	users     *dynamo.AuthStore
	starts    *queue
	runner    *job.Runner
	mail      *mailbox
}

// mailbox is the notice mails' SES: it records each mail it accepts, and
// crash, when set, runs after a mail is accepted.
type mailbox struct {
	mu    sync.Mutex
	got   map[string]int
	crash func(n int)
}

func (m *mailbox) Mail(_ context.Context, to, _, _ string) error {
	m.mu.Lock()
	m.got[to]++
	n, crash := len(m.got), m.crash
	m.mu.Unlock()
	if crash != nil {
		crash(n)
	}
	return nil
}

// queue collects the jobs a runner starts; drain runs them here.
type queue struct {
	mu  sync.Mutex
	ids []string
}

func (q *queue) Start(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, id)
	return nil
}

func (b *bench) drain(tb testing.TB, ctx context.Context) {
	for n := 0; ; n++ {
		b.starts.mu.Lock()
		ids := b.starts.ids
		b.starts.ids = nil
		b.starts.mu.Unlock()
		if len(ids) == 0 {
			return
		}
		for _, id := range ids {
			if err := b.runner.Run(ctx, id, fmt.Sprintf("bench-%d", n)); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

type nopLog struct{}

func (nopLog) Record(context.Context, audit.Event) error { return nil }

func startBench(tb testing.TB) *bench {
	tb.Helper()
	root, err := services.RepoRoot(".")
	if err != nil {
		tb.Fatal(err)
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
			tb.Cleanup(p.Stop)
		}
	}
	if err := errors.Join(ddbErr, motErr); err != nil {
		tb.Fatal(err)
	}
	tmpl, err := template.Load(filepath.Join(root, "template.yaml"), template.Options{Parameters: map[string]string{"AuthSecret": "a-bench-secret-of-at-least-32-characters"}})
	if err != nil {
		tb.Fatal(err)
	}
	ep := services.Endpoints{DynamoDB: ddb.Endpoint, Moto: moto.Endpoint, Region: "ap-northeast-1"}
	if _, err := services.CreateTables(ctx, ep.DynamoDBClient(), tmpl.Tables); err != nil {
		tb.Fatal(err)
	}
	if _, err := services.CreateBuckets(ctx, ep.S3Client(), ep.Region, tmpl.Buckets); err != nil {
		tb.Fatal(err)
	}
	var env map[string]string
	for _, f := range tmpl.Functions {
		if f.LogicalID == "JobsFunction" {
			env = f.Env
		}
	}
	b := &bench{starts: &queue{}, mail: &mailbox{got: map[string]int{}}}
	db := ep.CountingDynamoDBClient(func(context.Context) *atomic.Int64 { return &b.calls })
	b.db, b.jobsTable = db, env["JOBS_TABLE"]
	log := dynamo.NewAuditLog(db, env["AUDIT_TABLE"])
	b.users = dynamo.NewAuthStore(db, dynamo.AuthTables{Users: env["USERS_TABLE"], Sessions: env["SESSIONS_TABLE"], AuthState: env["AUTH_STATE_TABLE"], Audit: env["AUDIT_TABLE"]})
	movers := dynamo.NewAccountMover(db, b.users, dynamo.MoveTables{Users: env["USERS_TABLE"], Masters: env["MASTERS_TABLE"], Audit: env["AUDIT_TABLE"]}, nil)
	store := dynamo.NewMasterStore(db, env["MASTERS_TABLE"])
	b.masters = master.NewService(store, movers, log, nil)
	b.jobs = dynamo.NewJobStore(db, env["JOBS_TABLE"])
	b.files = uploads.New(ep.S3Client(), env["UPLOADS_BUCKET"])
	accounts, err := auth.NewService(b.users, log, nil, []byte(env["AUTH_SECRET"]), auth.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	if b.bulk, err = issuance.NewService(accounts, b.users, store, log, b.mail, []byte(env["AUTH_SECRET"]), "http://127.0.0.1:3000/", nil); err != nil {
		tb.Fatal(err)
	}
	b.runner = job.NewRunner(b.jobs, b.starts, map[job.Kind]job.Handler{
		job.MasterImport: master.NewImportJob(b.masters, b.jobs, b.files),
		job.Issuance:     issuance.NewIssuanceJob(b.bulk, b.jobs, b.files),
		job.Notify:       issuance.NewNotifyJob(b.bulk, b.jobs, b.jobs, nil, 1000, nil),
	}, job.Config{})
	for _, kind := range []string{"prefectures", "health-centers", "institutions"} {
		data, err := os.ReadFile(filepath.Join(root, "infra", "local", "demo", kind+".csv"))
		if err != nil {
			tb.Fatal(err)
		}
		b.run(tb, job.MasterImport, map[string]string{"kind": kind}, data)
	}
	return b
}

var national = authz.Principal{UserID: "bench-national", Role: authz.National}

// run creates a job over data and works it to the end; it returns the
// job, the time taken and the DynamoDB calls made.
func (b *bench) run(tb testing.TB, kind job.Kind, params map[string]string, data []byte) (job.Job, time.Duration, int64) {
	tb.Helper()
	ctx := context.Background()
	key := uploads.Key(national.UserID, job.NewID())
	if err := b.files.Put(ctx, key, data, "text/csv"); err != nil {
		tb.Fatal(err)
	}
	svc := job.NewService(b.jobs, b.starts, b.files, map[job.Kind]job.Check{
		job.MasterImport: master.CheckImport, job.Issuance: issuance.CheckIssuance}, nil, nil)
	began, calls := time.Now(), b.calls.Load()
	j, err := svc.Create(ctx, national, kind, params, key, int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	b.drain(tb, ctx)
	took, made := time.Since(began), b.calls.Load()-calls
	if j, err = b.jobs.GetJob(ctx, j.ID); err != nil {
		tb.Fatal(err)
	}
	if j.State != job.Done {
		tb.Fatalf("job %s: %s %+v", j.ID, j.State, j.Failure)
	}
	return j, took, made
}

// BenchmarkIssuanceJob issues 500 and 2,000 accounts from application
// forms and reports accounts per second and DynamoDB calls per account.
func BenchmarkIssuanceJob(b *testing.B) {
	e := startBench(b)
	for _, n := range []int{500, 2000} {
		var form bytes.Buffer
		for i := range n {
			cells := make([]string, 40)
			cells[1], cells[2], cells[3], cells[4] = fmt.Sprintf("計測 太郎%d-%d", n, i), "03-5555-0001", fmt.Sprintf("bench%d-%d@hospital.example.jp", n, i), "09"
			cells[10], cells[32], cells[35], cells[39], cells[38] = "1301", "0", "1310000001", "1", cells[3]
			form.WriteString(strings.Join(cells, ",") + "\r\n")
		}
		j, took, calls := e.run(b, job.Issuance, nil, form.Bytes())
		if j.Counts["created"] != n {
			b.Fatalf("%d accounts created, want %d", j.Counts["created"], n)
		}
		fmt.Printf("BENCH issuance_rows_per_s %.1f accounts/s (%d rows)\n", float64(n)/took.Seconds(), n)
		fmt.Printf("BENCH issuance_calls_per_account %.2f calls/account (%d rows)\n", float64(calls)/float64(n), n)
	}
}

// BenchmarkMasterImportJob imports 100,000 institutions, then the same
// file again, and reports rows per second and the DynamoDB calls per
// unchanged row.
func BenchmarkMasterImportJob(b *testing.B) {
	e := startBench(b)
	const n = 100000
	var data bytes.Buffer
	data.WriteString("医療機関コード,名称,カナ,郵便番号,住所,電話番号,許可病床数,保険医療機関コード,区分,都道府県コード,市区町村コード,保健所コード\r\n")
	for i := range n {
		fmt.Fprintf(&data, "13%08d,計測病院%d,ケイソクビョウイン,101-1001,東京都みどり区1丁目%d,03-5555-1001,20,0000001,clinic,13,13101,1301\r\n", 60000000+i, i, i)
	}
	params := map[string]string{"kind": "institutions"}
	j, took, _ := e.run(b, job.MasterImport, params, data.Bytes())
	if j.Counts["created"] != n {
		b.Fatalf("counts %v", j.Counts)
	}
	fmt.Printf("BENCH master_import_rows_per_s %.0f rows/s (%d new rows)\n", float64(n)/took.Seconds(), n)
	j, took, calls := e.run(b, job.MasterImport, map[string]string{"kind": "institutions"}, data.Bytes())
	if j.Counts["unchanged"] != n {
		b.Fatalf("re-import counts %v", j.Counts)
	}
	fmt.Printf("BENCH master_reimport_rows_per_s %.0f rows/s (%d unchanged rows)\n", float64(n)/took.Seconds(), n)
	fmt.Printf("BENCH master_unchanged_calls_per_row %.3f calls/row\n", float64(calls)/float64(n))
}
