package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/search"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/survey"
)

// benchHandler is the search function's handler in this process: its
// read model is read through a client that counts its calls; sessions and
// maintenance windows through one that does not.
func benchHandler(b testing.TB, e *authtest.Env, calls *atomic.Int64) (*handler, *dynamodb.Client) {
	ep := e.Stack.Endpoints
	fnEnv := e.Stack.FunctionEnv("SearchFunction")
	plain := ep.DynamoDBClient()
	counted := ep.CountingDynamoDBClient(func(context.Context) *atomic.Int64 { return calls })
	table := fnEnv["SURVEYS_TABLE"]
	auth := dynamo.NewAuthStore(plain, dynamo.AuthTables{Users: fnEnv["USERS_TABLE"], Sessions: fnEnv["SESSIONS_TABLE"], AuthState: fnEnv["AUTH_STATE_TABLE"]})
	return &handler{
		search:   search.NewService(dynamo.NewSearchStore(counted, table), dynamo.NewSurveyStore(counted, table, survey.DailyKind), search.Config{CursorKey: []byte("bench")}),
		gate:     maintenance.NewGate(dynamo.NewWindowStore(plain, fnEnv["SYSTEM_TABLE"], nil), time.Minute, nil),
		sessions: session.NewManager(auth, session.Config{}), logger: slog.New(slog.DiscardHandler), now: time.Now,
	}, plain
}

// load writes n institutions of a prefecture with their status items,
// most of which answered today.
func load(b testing.TB, db *dynamodb.Client, table, pref string, first, n int) {
	now := time.Now()
	rnd := rand.New(rand.NewPCG(uint64(first), 1))
	kana := []rune("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ")
	items := make([]map[string]types.AttributeValue, 0, n)
	for i := range n {
		code := fmt.Sprintf("%s%08d", pref, first+i)
		k := string([]rune{kana[rnd.IntN(len(kana))], kana[rnd.IntN(len(kana))], kana[rnd.IntN(len(kana))]})
		f := map[string]string{"name": fmt.Sprintf("ベンチ%s病院%05d", k, i), "kana": "ベンチ" + k + "ビョウイン", "category": master.CategoryHospital,
			"prefectureCode": pref, "healthCenterCode": fmt.Sprintf("%s%02d", pref, 1+i%30), "municipalityCode": fmt.Sprintf("%s%03d", pref, 101+i%60),
			"phone": "0355550000", "address": "ベンチ県ベンチ市1-2-3"}
		if i%10 != 0 {
			f["latitude"] = fmt.Sprintf("%.5f", 35.5+rnd.Float64()*0.4)
			f["longitude"] = fmt.Sprintf("%.5f", 139.4+rnd.Float64()*0.5)
		}
		var daily *survey.Record[survey.Daily]
		if i%5 != 0 {
			day := survey.Today(now)
			if i%7 == 0 {
				day = survey.AddDays(day, -4)
			}
			daily = &survey.Record[survey.Daily]{Period: day, Version: 1, UpdatedAt: now, UpdatedBy: "bench",
				Values: survey.Daily{Services: survey.Services{Outpatient: "normal", Inpatient: "normal", Emergency: "normal", Surgery: "normal"}, Staffing: "normal",
					Beds:  survey.Beds{Permitted: 200, CovidSecured: 20, CovidOccupied: 5, CovidAvailable: int64(rnd.IntN(15))},
					Flags: survey.Flags{PCRAvailable: i%2 == 0}}}
		}
		it, err := dynamo.SearchItem(master.Record{Kind: master.Institutions, Code: code, Fields: f}, daily)
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, it)
	}
	authtest.BatchWrite(b, db, table, items)
}

// measure runs a search n times through the handler and returns the p50,
// the p95 and the DynamoDB calls of one search.
func measure(b testing.TB, c *authtest.Client, calls *atomic.Int64, q string, n int) (time.Duration, time.Duration, float64) {
	took := make([]time.Duration, 0, n)
	calls.Store(0)
	for range n {
		t0 := time.Now()
		r := c.Do("GET", "/search/hospitals?"+q, nil)
		took = append(took, time.Since(t0))
		if r.Status != http.StatusOK {
			b.Fatalf("%s = %d %s", q, r.Status, r.Body)
		}
	}
	slices.Sort(took)
	return took[len(took)/2], took[len(took)*95/100], float64(calls.Load()) / float64(n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// BenchmarkSearch measures the search through its handler over DynamoDB
// Local: a prefecture of 1,000 institutions before and after 99,000 more
// are added elsewhere (the index is by prefecture, so the country's size
// must not matter), then Tokyo's 13,000 sorted by beds, searched by kana,
// sorted by distance and sorted by name.
func BenchmarkSearch(b *testing.B) {
	const runs = 50
	e := shared.Env(b)
	var calls atomic.Int64
	h, db := benchHandler(b, e, &calls)
	table := e.Stack.FunctionEnv("SearchFunction")["SURVEYS_TABLE"]
	srv := httptest.NewServer(httpapi.New(h.routes(), httpapi.Config{}))
	defer srv.Close()
	staffClient := staff(b, e, inst{code: "4600000001", pref: "46", hc: "4601"})
	c := &authtest.Client{T: b, Base: srv.URL, Cookie: staffClient.Cookie}

	start := time.Now()
	load(b, db, table, "46", 0, 1000)
	small, _, _ := measure(b, c, &calls, "prefecture=46", runs)
	load(b, db, table, "13", 0, 13000)
	for i, pref := range []string{"01", "14", "23", "27", "40", "28", "11", "12"} {
		load(b, db, table, pref, 0, []int{10000, 11000, 11000, 11000, 11000, 11000, 11000, 10000}[i])
	}
	b.Logf("loaded 100,000 institutions in %s", time.Since(start).Round(time.Second))
	large, _, _ := measure(b, c, &calls, "prefecture=46", runs)
	fmt.Printf("BENCH search_1000_p50_ms %s\n", ms(small))
	fmt.Printf("BENCH search_1000_after_100000_p50_ms %s\n", ms(large))
	fmt.Printf("BENCH search_scaling_ratio %.2f\n", float64(large)/float64(small))

	for _, s := range []struct{ name, q string }{
		{"first_page", "prefecture=13"},
		{"text", "prefecture=13&q=" + url.QueryEscape("ｱｲ")},
		{"distance", "prefecture=13&near=35.68,139.76&withinKm=5"},
		// By name: the whole prefecture too (current ones first, then
		// the stale ones, both in kana order).
		{"name", "prefecture=13&sort=name"},
	} {
		p50, p95, perSearch := measure(b, c, &calls, s.q, runs)
		fmt.Printf("BENCH search_tokyo_%s_p50_ms %s\n", s.name, ms(p50))
		fmt.Printf("BENCH search_tokyo_%s_p95_ms %s\n", s.name, ms(p95))
		fmt.Printf("BENCH search_tokyo_%s_dynamodb_calls %.1f\n", s.name, perSearch)
	}
}
