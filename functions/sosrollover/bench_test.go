package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// copyTable creates an empty table with table's keys and indexes in
// DynamoDB Local.
func copyTable(b *testing.B, db *dynamodb.Client, table, name string) {
	b.Helper()
	ctx := context.Background()
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		b.Fatal(err)
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: d.Table.AttributeDefinitions, KeySchema: d.Table.KeySchema}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection})
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRollover closes windows of 5,000 requests across the 47
// prefectures (each prefecture's reviewer mailed once, by an in-process
// mailer) against DynamoDB Local, in two sos tables side by side: one
// holds only the windows, the other the same windows and 50,000 requests
// of other days (ten times as many). Eight windows are closed in each,
// alternating between the two tables, so that the machine's load weighs
// on both alike. The times printed are the medians; the ratio is the
// median of the eight paired ratios (same window, same moment), and shows
// that a close's cost follows its window's requests, not the table.
func BenchmarkRollover(b *testing.B) {
	const perWindow, otherDays, rounds = 5000, 50000, 8
	e := shared.Env(b)
	ctx := context.Background()
	env := e.Stack.FunctionEnv("SosRolloverFunction")
	plain := e.Stack.Endpoints.DynamoDBClient()
	large, small := env["SOS_TABLE"], env["SOS_TABLE"]+"-bench-small"
	copyTable(b, plain, large, small)
	var calls atomic.Int64
	counted := e.Stack.Endpoints.CountingDynamoDBClient(func(context.Context) *atomic.Int64 { return &calls })
	mailer := &countingMailer{}
	accounts := dynamo.NewAuthStore(counted, dynamo.AuthTables{Users: env["USERS_TABLE"]})
	rollovers := map[string]*sos.Rollover{}
	for _, t := range []string{small, large} {
		rollovers[t] = sos.NewRollover(dynamo.NewSOSStore(counted, t), mailer, accounts, "http://127.0.0.1", slog.New(slog.DiscardHandler))
	}
	for _, p := range sos.Prefectures {
		reviewer(b, e, p)
	}

	// rounds consecutive business days to close, and the 10 business days
	// after them for the requests of other days.
	var days []time.Time
	for d := calendar.Date(2033, 2, 1); len(days) < rounds+10; d = d.AddDate(0, 0, 1) {
		if calendar.IsBusinessDay(d) {
			days = append(days, d)
		}
	}
	start := time.Now()
	for i, d := range days[:rounds] {
		loadWindow(b, plain, small, d, perWindow, i*perWindow)
		loadWindow(b, plain, large, d, perWindow, i*perWindow)
	}
	seq := rounds * perWindow
	for i, d := range days[rounds:] {
		loadWindow(b, plain, large, d, otherDays/10, seq+i*otherDays/10)
	}
	b.Logf("loaded %d requests into one table, %d into the other, in %s", rounds*perWindow, rounds*perWindow+otherDays, time.Since(start).Round(time.Second))
	// Every earlier window (empty) closed first, untimed.
	for _, r := range rollovers {
		if _, err := r.Run(ctx, calendar.Deadline(calendar.PrevBusinessDay(days[0]))); err != nil {
			b.Fatal(err)
		}
	}

	closeDay := func(table string, day time.Time) (time.Duration, int64) {
		b.Helper()
		calls.Store(0)
		before := len(mailer.to)
		start := time.Now()
		res, err := rollovers[table].Run(ctx, calendar.Deadline(day))
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if !slices.Equal(res.Closed, []string{calendar.Format(day)}) || len(res.Windows) != 1 || res.Windows[0].Requests != perWindow ||
			len(res.Windows[0].Prefectures) != len(sos.Prefectures) || len(mailer.to)-before != len(sos.Prefectures) {
			b.Fatalf("close %s in %s = %+v, %d mails", calendar.Format(day), table, res.Closed, len(mailer.to)-before)
		}
		return took, calls.Load()
	}
	durations := map[string][]time.Duration{}
	callsOf := map[string]int64{}
	var ratios []float64
	for i, d := range days[:rounds] {
		order := []string{small, large}
		if i%2 == 1 {
			order = []string{large, small}
		}
		for _, t := range order {
			dt, n := closeDay(t, d)
			durations[t] = append(durations[t], dt.Round(time.Millisecond))
			callsOf[t] = n
		}
		ratios = append(ratios, float64(durations[large][i])/float64(durations[small][i]))
	}
	b.Logf("closes without other days %v, with 50,000 requests of other days %v", durations[small], durations[large])
	median := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return (xs[(len(xs)-1)/2] + xs[len(xs)/2]) / 2
	}
	ms := func(ds []time.Duration) float64 {
		xs := make([]float64, len(ds))
		for i, d := range ds {
			xs[i] = float64(d.Microseconds()) / 1000
		}
		return median(xs)
	}
	ratio := median(ratios)
	fmt.Printf("BENCH rollover_close_5000_ms %.0f\n", ms(durations[small]))
	fmt.Printf("BENCH rollover_close_calls %d\n", callsOf[small])
	fmt.Printf("BENCH rollover_close_5000_with_50000_other_ms %.0f\n", ms(durations[large]))
	fmt.Printf("BENCH rollover_scaling_ratio %.2f\n", ratio)
	if callsOf[large] != callsOf[small] {
		b.Errorf("a close made %d DynamoDB calls with 50,000 requests of other days in the table, %d without", callsOf[large], callsOf[small])
	}
	if ratio > 1.5 {
		b.Errorf("rollover scaling ratio %.2f, want at most 1.5", ratio)
	}
}
