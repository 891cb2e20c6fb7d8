package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
)

// benchHandler is the surveys function's handler in this process: its
// survey stores count their DynamoDB calls into calls, while sessions and
// maintenance windows are read through a client that does not.
func benchHandler(b *testing.B, e *authtest.Env, calls *atomic.Int64) (*handler, *dynamodb.Client) {
	ep := e.Stack.Endpoints
	fnEnv := e.Stack.FunctionEnv("SurveysFunction")
	plain := ep.DynamoDBClient()
	counted := ep.CountingDynamoDBClient(func(context.Context) *atomic.Int64 { return calls })
	table, masters := fnEnv["SURVEYS_TABLE"], fnEnv["MASTERS_TABLE"]
	auth := dynamo.NewAuthStore(plain, dynamo.AuthTables{Users: fnEnv["USERS_TABLE"], Sessions: fnEnv["SESSIONS_TABLE"], AuthState: fnEnv["AUTH_STATE_TABLE"]})
	statuses := dynamo.NewSurveyStatusStore(counted, table)
	mstore := dynamo.NewMasterStore(counted, masters)
	areaStore := dynamo.NewSurveyAreaStore(counted, table, masters)
	areas, err := survey.NewAreas(areaStore, statuses, auth, nil, survey.AreaConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return &handler{
		daily:    survey.NewService(survey.DailyKind, dynamo.NewSurveyStore(counted, table, survey.DailyKind), mstore, survey.Config{}),
		weekly:   survey.NewService(survey.WeeklyKind, dynamo.NewSurveyStore(counted, table, survey.WeeklyKind), mstore, survey.Config{}),
		statuses: statuses, masters: mstore, areas: areas, exports: survey.NewExports(areaStore, []byte("bench")),
		gate:     maintenance.NewGate(dynamo.NewWindowStore(plain, fnEnv["SYSTEM_TABLE"], nil), time.Minute, nil),
		sessions: session.NewManager(auth, session.Config{}), logger: slog.New(slog.DiscardHandler), now: time.Now,
	}, counted
}

// BenchmarkSurveys is one prefecture at full size: 13,000 Tokyo
// institutions, all of which answered the last 7 days and 5,000 of which
// answered today. It reports the DynamoDB calls of one survey write, the
// median latency of the non-responder count and first page, and the peak
// heap of the 7-day export (about 91,000 rows).
func BenchmarkSurveys(b *testing.B) {
	const institutions, answeredToday, days = 13000, 5000, 7
	e := shared.Env(b)
	var calls atomic.Int64
	h, db := benchHandler(b, e, &calls)
	fnEnv := e.Stack.FunctionEnv("SurveysFunction")
	now := time.Now()
	values := survey.Daily{Services: survey.Services{Outpatient: "normal", Inpatient: "normal", Emergency: "normal", Surgery: "normal"}, Staffing: "normal",
		Beds: survey.Beds{Permitted: 200, CovidSecured: 20, CovidOccupied: 5, CovidAvailable: 15, ICU: 8, ICUOccupied: 2}}
	var masterItems, surveyItems []map[string]types.AttributeValue
	store := dynamo.NewSurveyStore(db, fnEnv["SURVEYS_TABLE"], survey.DailyKind)
	for i := range institutions {
		code := fmt.Sprintf("13%08d", 50000000+i)
		hc := fmt.Sprintf("13%02d", 1+i%30)
		it, err := dynamo.MasterItem(master.Record{Kind: master.Institutions, Code: code, Version: 1, UpdatedAt: now, UpdatedBy: "bench",
			Fields: map[string]string{"name": fmt.Sprintf("ベンチ病院%05d", i), "category": master.CategoryHospital, "prefectureCode": "13", "healthCenterCode": hc, "phone": "0355550000"}})
		if err != nil {
			b.Fatal(err)
		}
		masterItems = append(masterItems, it)
		where := authz.Scope{InstitutionCode: code, PrefectureCode: "13", HealthCenterCode: hc}
		for d := 1; d <= days; d++ {
			it, err := store.Item(survey.Record[survey.Daily]{Kind: "daily", InstitutionCode: code, Period: survey.AddDays(survey.Today(now), -d), Version: 1,
				Values: values, UpdatedAt: now, UpdatedBy: "bench", Source: "api"}, where)
			if err != nil {
				b.Fatal(err)
			}
			surveyItems = append(surveyItems, it)
		}
		if i < answeredToday {
			it, _ := store.Item(survey.Record[survey.Daily]{Kind: "daily", InstitutionCode: code, Period: survey.Today(now), Version: 1,
				Values: values, UpdatedAt: now, UpdatedBy: "bench", Source: "api"}, where)
			surveyItems = append(surveyItems, it)
		}
	}
	start := time.Now()
	authtest.BatchWrite(b, db, fnEnv["MASTERS_TABLE"], masterItems)
	authtest.BatchWrite(b, db, fnEnv["SURVEYS_TABLE"], surveyItems)
	b.Logf("loaded %d institutions and %d surveys in %s", len(masterItems), len(surveyItems), time.Since(start).Round(time.Second))
	masterItems, surveyItems = nil, nil

	// One survey write through the handler, after its session is read.
	inst := institution{code: "1310000901", pref: "13", hc: "1301"}
	c := staff(b, e, inst, "")
	routes := httpapi.New(h.routes(), httpapi.Config{})
	srv := httptest.NewServer(routes)
	defer srv.Close()
	w := &authtest.Client{T: b, Base: srv.URL, Cookie: c.Cookie}
	calls.Store(0)
	if r := w.Do("PUT", dailyPath(inst.code, survey.Today(now)), dailyBody(0, 10)); r.Status != http.StatusOK {
		b.Fatalf("write = %d %s", r.Status, r.Body)
	}
	fmt.Printf("BENCH survey_write_calls %d\n", calls.Load())

	area := survey.Area{PrefectureCode: "13"}
	var took []time.Duration
	var list survey.NonResponders
	for range 5 {
		t0 := time.Now()
		var err error
		list, err = h.areas.NonResponders(context.Background(), area, survey.Today(now), "", 50)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	if list.Expected != institutions || list.Answered != answeredToday || len(list.Institutions) != 50 {
		b.Errorf("non-responders: %d/%d answered, page of %d", list.Answered, list.Expected, len(list.Institutions))
	}
	fmt.Printf("BENCH survey_nonresponders_ms %d\n", took[len(took)/2].Milliseconds())

	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	var bytes countingWriter
	rows, err := h.exports.CSV(context.Background(), survey.Export{Kind: survey.DailyKind.Name, Area: area,
		From: survey.AddDays(survey.Today(now), -days), To: survey.AddDays(survey.Today(now), -1)}, &bytes)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if rows != institutions*days {
		b.Errorf("export wrote %d rows, want %d", rows, institutions*days)
	}
	mib := float64(peak.Load()) / (1 << 20)
	fmt.Printf("BENCH survey_csv_rows %d\n", rows)
	fmt.Printf("BENCH survey_csv_bytes %d\n", bytes.n)
	fmt.Printf("BENCH survey_csv_peak_mib %.1f\n", mib)
	if mib >= 128 {
		b.Errorf("export peak heap %.1f MiB, want under 128", mib)
	}

	// The same range as an export job writes it, a part at a time.
	ex := survey.Export{Kind: survey.DailyKind.Name, Area: area, From: survey.AddDays(survey.Today(now), -days), To: survey.AddDays(survey.Today(now), -1)}
	parts := &countingParts{}
	x := survey.NewExportJob(h.exports, parts, func(job.Job) string { return "exports/bench.csv" }, 0)
	j := job.Job{ID: "bench", Params: survey.ExportParams(ex), Counts: map[string]int{}}
	runtime.GC()
	peak.Store(0)
	stop = make(chan struct{})
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	err = x.Validate(context.Background(), &j)
	for done := false; err == nil && !done; {
		done, err = x.Step(context.Background(), &j)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if parts.n != bytes.n || j.Counts["rows"] != rows {
		b.Errorf("the job wrote %d bytes, %d rows; the download %d bytes, %d rows", parts.n, j.Counts["rows"], bytes.n, rows)
	}
	jobMiB := float64(peak.Load()) / (1 << 20)
	fmt.Printf("BENCH survey_export_job_parts %d\n", j.Counts["parts"])
	fmt.Printf("BENCH survey_export_job_peak_mib %.1f\n", jobMiB)
	if jobMiB >= 128 {
		b.Errorf("export job peak heap %.1f MiB, want under 128", jobMiB)
	}
}

// countingParts counts what an export job writes and keeps nothing.
type countingParts struct{ n int64 }

func (c *countingParts) PutWhole(_ context.Context, _, _, _ string, data []byte) error {
	c.n += int64(len(data))
	return nil
}

func (c *countingParts) BeginParts(context.Context, string, string, string) (string, error) {
	return "upload", nil
}

func (c *countingParts) PutPart(_ context.Context, _, _ string, n int32, data []byte) (string, error) {
	c.n += int64(len(data))
	return fmt.Sprint(n), nil
}

func (c *countingParts) FinishParts(context.Context, string, string, []string) error { return nil }

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
