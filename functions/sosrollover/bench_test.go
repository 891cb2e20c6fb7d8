package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/calendar"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/survey"
)

// loadWindow writes n applied requests of business day day, spread over
// the 47 prefectures, with their window membership, as applies would
// have; seq keeps the IDs of successive calls apart.
func loadWindow(b *testing.B, db *dynamodb.Client, table string, day time.Time, n, seq int) {
	b.Helper()
	deadline := calendar.Deadline(day)
	items := make([]map[string]types.AttributeValue, 0, 2*n)
	for i := range n {
		pref := sos.Prefectures[i%len(sos.Prefectures)]
		code := fmt.Sprintf("%s%08d", pref, i/len(sos.Prefectures))
		at := deadline.Add(-time.Duration(1+i%(20*60)) * time.Minute).UTC()
		id := fmt.Sprintf("%013d%08x", at.UnixMilli(), seq+i)
		q := int64(100)
		r := sos.Request{ID: id, InstitutionCode: code, InstitutionName: "ベンチ病院" + code, Category: master.CategoryHospital,
			PrefectureCode: pref, HealthCenterCode: pref + "01", Title: sos.Title(at, "ベンチ病院"+code), Status: sos.StatusUnderReview,
			ConfirmedGeneral: true, Items: []sos.Item{{Supply: survey.SurgicalMask, Quantity: &q}, {Supply: survey.IsolationGown}},
			Version: 2, CreatedAt: at, CreatedBy: "bench", UpdatedAt: at, UpdatedBy: "bench",
			AppliedAt: &at, AppliedBy: "bench", BusinessDay: calendar.Format(day), CheckedAt: &at, CheckedDaily: "2033-01-01@v1", CheckedWeekly: "2033-W01@v1"}
		its, err := dynamo.SOSItems(r)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, its...)
	}
	authtest.BatchWrite(b, db, table, items)
}

// BenchmarkRollover closes windows of 5,000 requests across the 47
// prefectures (each prefecture's reviewer mailed once, by an in-process
// mailer) against DynamoDB Local, then adds 50,000 requests of other days
// and closes windows of 5,000 again. The time of a close is the fastest
// of three; their ratio shows that a close's cost follows its window's
// requests, not the table.
func BenchmarkRollover(b *testing.B) {
	const perWindow, otherDays, rounds = 5000, 50000, 3
	e := shared.Env(b)
	ctx := context.Background()
	env := e.Stack.FunctionEnv("SosRolloverFunction")
	table := env["SOS_TABLE"]
	plain := e.Stack.Endpoints.DynamoDBClient()
	var calls atomic.Int64
	counted := e.Stack.Endpoints.CountingDynamoDBClient(func(context.Context) *atomic.Int64 { return &calls })
	mailer := &countingMailer{}
	r := sos.NewRollover(dynamo.NewSOSStore(counted, table), mailer, dynamo.NewAuthStore(counted, dynamo.AuthTables{Users: env["USERS_TABLE"]}),
		"http://127.0.0.1", slog.New(slog.DiscardHandler))
	for _, p := range sos.Prefectures {
		reviewer(b, e, p)
	}

	// 2×rounds consecutive business days to close, and the 10 business
	// days after them for the requests of other days.
	var days []time.Time
	for d := calendar.Date(2033, 2, 1); len(days) < 2*rounds+10; d = d.AddDate(0, 0, 1) {
		if calendar.IsBusinessDay(d) {
			days = append(days, d)
		}
	}
	// Every earlier window (empty) closed first, untimed.
	if _, err := r.Run(ctx, calendar.Deadline(calendar.PrevBusinessDay(days[0]))); err != nil {
		b.Fatal(err)
	}

	closeDay := func(day time.Time) (time.Duration, int64) {
		b.Helper()
		calls.Store(0)
		before := len(mailer.to)
		start := time.Now()
		res, err := r.Run(ctx, calendar.Deadline(day))
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if !slices.Equal(res.Closed, []string{calendar.Format(day)}) || len(res.Windows) != 1 || res.Windows[0].Requests != perWindow ||
			len(res.Windows[0].Prefectures) != len(sos.Prefectures) || len(mailer.to)-before != len(sos.Prefectures) {
			b.Fatalf("close %s = %+v, %d mails", calendar.Format(day), res.Closed, len(mailer.to)-before)
		}
		return took, calls.Load()
	}
	closeAll := func(days []time.Time) (time.Duration, int64) {
		var best time.Duration
		var n int64
		for _, d := range days {
			took, c := closeDay(d)
			if best == 0 || took < best {
				best = took
			}
			n = c
		}
		return best, n
	}

	start := time.Now()
	for i, d := range days[:rounds] {
		loadWindow(b, plain, table, d, perWindow, i*perWindow)
	}
	b.Logf("loaded %d requests in %s", rounds*perWindow, time.Since(start).Round(time.Second))
	small, smallCalls := closeAll(days[:rounds])
	fmt.Printf("BENCH rollover_close_5000_ms %d\n", small.Milliseconds())
	fmt.Printf("BENCH rollover_close_calls %d\n", smallCalls)

	start = time.Now()
	seq := rounds * perWindow
	for i, d := range days[rounds : 2*rounds] {
		loadWindow(b, plain, table, d, perWindow, seq+i*perWindow)
	}
	seq += rounds * perWindow
	for i, d := range days[2*rounds:] {
		loadWindow(b, plain, table, d, otherDays/10, seq+i*otherDays/10)
	}
	b.Logf("loaded %d more requests (%d of other days) in %s", rounds*perWindow+otherDays, otherDays, time.Since(start).Round(time.Second))
	large, largeCalls := closeAll(days[rounds : 2*rounds])
	ratio := float64(large) / float64(small)
	fmt.Printf("BENCH rollover_close_5000_after_50000_ms %d\n", large.Milliseconds())
	fmt.Printf("BENCH rollover_scaling_ratio %.2f\n", ratio)
	if largeCalls != smallCalls {
		b.Errorf("a close made %d DynamoDB calls with 50,000 more requests in the table, %d before", largeCalls, smallCalls)
	}
	if ratio > 1.5 {
		b.Errorf("rollover scaling ratio %.2f, want at most 1.5", ratio)
	}
}
