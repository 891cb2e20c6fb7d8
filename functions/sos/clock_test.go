package main

import (
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/calendar"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/notify"
	"github.com/gmis-oss/gmis/shared/session"
	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/survey"
)

// The tests in this file run the sos handler in this process on a clock
// they set, against the same DynamoDB Local and moto as the stack tests:
// the 13:00 JST deadline on any day. Sessions and surveys go through the
// stack on the wall clock.

// clockServer serves the sos routes with clock as the service's time and
// returns its base URL.
func clockServer(t *testing.T, e *authtest.Env, clock *authtest.Clock) string {
	t.Helper()
	fnEnv := e.Stack.FunctionEnv("SosFunction")
	ep := e.Stack.Endpoints
	db := ep.DynamoDBClient()
	store := dynamo.NewSOSStore(db, fnEnv["SOS_TABLE"]).WithApply(fnEnv["AUDIT_TABLE"], fnEnv["MASTERS_TABLE"], fnEnv["SURVEYS_TABLE"])
	svc := sos.NewService(sos.Deps{Store: store, Reader: store, Surveys: dynamo.NewSurveyStatusStore(db, fnEnv["SURVEYS_TABLE"]),
		Insts: dynamo.NewMasterStore(db, fnEnv["MASTERS_TABLE"]), Audit: httpapi.Audited(e.Audit),
		Mail: notify.New(ep.SESClient(), nil, nil, notify.Config{MailFrom: fnEnv["MAIL_FROM"]}), Accounts: e.Store,
		Directory: e.Store, Now: clock.Now})
	h := &handler{svc: svc, gate: maintenance.NewGate(dynamo.NewWindowStore(db, fnEnv["SYSTEM_TABLE"], nil), time.Second, nil),
		audit: httpapi.Audited(e.Audit), sessions: session.NewManager(e.Store, session.Config{}),
		allowedOrigins: strings.Split(fnEnv["ALLOWED_ORIGINS"], ","), logger: slog.New(slog.DiscardHandler), now: clock.Now}
	srv := httptest.NewServer(httpapi.New(h.routes(), httpapi.Config{MaxBodyBytes: sos.MaxBodyBytes}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// on returns a client of the in-process server with c's session.
func on(base string, c *authtest.Client) *authtest.Client {
	return &authtest.Client{T: c.T, Base: base, Origin: c.Origin, Cookie: c.Cookie}
}

// eligible gives in (a hospital) surveys that pass the check.
func eligible(t *testing.T, c *authtest.Client, in institution) {
	t.Helper()
	if w := c.Do("PUT", "/surveys/institutions/"+in.code+"/daily/"+survey.Today(time.Now()), daily(false)); w.Status != 200 {
		t.Fatalf("daily = %d %s", w.Status, w.Body)
	}
	if w := c.Do("PUT", "/surveys/institutions/"+in.code+"/weekly/"+string(survey.WeekOf(time.Now())), weekly("none")); w.Status != 200 {
		t.Fatalf("weekly = %d %s", w.Status, w.Body)
	}
}

// fileAndApply saves a request and applies it; it returns the answer of
// the apply.
func fileAndApply(t *testing.T, c *authtest.Client, code string) authtest.Response {
	t.Helper()
	r := c.Do("POST", path(code), map[string]any{"confirmedGeneral": true, "items": masks})
	if r.Status != 201 {
		t.Fatalf("save = %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", path(code, "/", r.String("id"), "/apply"), map[string]any{"version": 1})
	if r.Status != 200 || r.String("status") != "under_review" {
		t.Fatalf("apply = %d %s", r.Status, r.Body)
	}
	return r
}

func jstAt(day string, hh, mm, ss int) time.Time {
	d, err := calendar.Parse(day)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, 0, calendar.JST)
}

// deadlineIs reports whether a window's answer gives 13:00 JST of day as
// its deadline.
func deadlineIs(w authtest.Response, day string) bool {
	dl, err := time.Parse(time.RFC3339, w.String("deadline"))
	return err == nil && dl.Equal(jstAt(day, 13, 0, 0))
}

func ids(t *testing.T, c *authtest.Client, day string) []string {
	t.Helper()
	r := c.Do("GET", "/sos/review?prefectureCode=14&day="+day, nil)
	if r.Status != 200 {
		t.Fatalf("review list of %s = %d %s", day, r.Status, r.Body)
	}
	var out []string
	list, _ := r.JSON["requests"].([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any)["id"].(string))
	}
	return out
}

// TestDeadlineThroughTheHandler applies at 12:59:59 and 13:00:00 JST on the
// last business day before a weekend, Golden Week and the year end: the
// first joins that day's window, the second the next business day's, and
// the reviewers' lists of both days say so.
func TestDeadlineThroughTheHandler(t *testing.T) {
	e := shared.Env(t)
	in := institution{"1410000921", "14", master.CategoryHospital}
	addInstitution(t, e, in)
	c := staff(t, e, in)
	eligible(t, c, in)
	clock := &authtest.Clock{}
	base := clockServer(t, e, clock)
	ic := on(base, c)
	nat := on(base, admin(t, e, authz.National, ""))

	for _, tc := range []struct{ name, day, next string }{
		{"friday to monday", "2026-12-04", "2026-12-07"},
		{"before Golden Week", "2027-04-30", "2027-05-06"},
		{"year end", "2026-12-28", "2027-01-04"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ic.T, nat.T = t, t
			clock.Set(jstAt(tc.day, 12, 59, 59))
			w := ic.Do("GET", "/sos/window", nil)
			if w.Status != 200 || w.String("businessDay") != tc.day || num(w, "secondsLeft") != 1 || !deadlineIs(w, tc.day) {
				t.Fatalf("window at 12:59:59 = %d %s", w.Status, w.Body)
			}
			before := fileAndApply(t, ic, in.code)
			if got := before.String("businessDay"); got != tc.day {
				t.Fatalf("applied at 12:59:59 JST of %s: business day %s, want %s", tc.day, got, tc.day)
			}
			if got := before.String("appliedAt"); got != tc.day+"T03:59:59Z" {
				t.Errorf("appliedAt %s, want the server's time", got)
			}

			clock.Set(jstAt(tc.day, 13, 0, 0))
			w = ic.Do("GET", "/sos/window", nil)
			if w.Status != 200 || w.String("businessDay") != tc.next || !deadlineIs(w, tc.next) {
				t.Fatalf("window at 13:00:00 = %d %s, want %s", w.Status, w.Body, tc.next)
			}
			after := fileAndApply(t, ic, in.code)
			if got := after.String("businessDay"); got != tc.next {
				t.Fatalf("applied at 13:00:00 JST of %s: business day %s, want %s", tc.day, got, tc.next)
			}

			if got := ids(t, nat, tc.day); !slices.Contains(got, before.String("id")) || slices.Contains(got, after.String("id")) {
				t.Errorf("list of %s = %v, want %s and not %s", tc.day, got, before.String("id"), after.String("id"))
			}
			if got := ids(t, nat, tc.next); slices.Contains(got, before.String("id")) || !slices.Contains(got, after.String("id")) {
				t.Errorf("list of %s = %v, want %s and not %s", tc.next, got, after.String("id"), before.String("id"))
			}
		})
	}
}

// TestEditAfterCloseIsMarked edits an applied request before and after
// its window closed: it keeps its window, and the reviewers' history marks
// only the late edit; the institution does not see the marks.
func TestEditAfterCloseIsMarked(t *testing.T) {
	e := shared.Env(t)
	in := institution{"1410000922", "14", master.CategoryHospital}
	addInstitution(t, e, in)
	c := staff(t, e, in)
	eligible(t, c, in)
	clock := &authtest.Clock{}
	base := clockServer(t, e, clock)
	ic := on(base, c)
	rev := on(base, admin(t, e, authz.PrefectureAdmin, "14"))
	day := "2027-03-05" // a Friday

	clock.Set(jstAt(day, 12, 59, 0))
	r := fileAndApply(t, ic, in.code)
	id := r.String("id")
	edit := func(version int64, comment string) authtest.Response {
		t.Helper()
		r := ic.Do("PUT", path(in.code, "/", id), map[string]any{"version": version, "confirmedGeneral": true, "items": masks, "comment": comment})
		if r.Status != 200 || r.String("businessDay") != day || r.String("status") != "under_review" {
			t.Fatalf("edit = %d %s", r.Status, r.Body)
		}
		if _, ok := r.JSON["history"]; ok || r.JSON["editedAfterClose"] != nil {
			t.Errorf("the institution sees the history: %s", r.Body)
		}
		return r
	}
	clock.Set(jstAt(day, 12, 59, 59))
	edit(2, "締切前")
	detail := func() (map[string]any, []map[string]any) {
		t.Helper()
		d := rev.Do("GET", "/sos/review/institutions/"+in.code+"/requests/"+id, nil)
		if d.Status != 200 {
			t.Fatalf("detail = %d %s", d.Status, d.Body)
		}
		req := d.JSON["request"].(map[string]any)
		var hist []map[string]any
		for _, h := range req["history"].([]any) {
			hist = append(hist, h.(map[string]any))
		}
		return req, hist
	}
	req, hist := detail()
	if req["editedAfterClose"] != nil || len(hist) != 3 || hist[2]["action"] != "updated" || hist[2]["afterClose"] != nil {
		t.Fatalf("before the close: %v %v", req["editedAfterClose"], hist)
	}

	clock.Set(jstAt(day, 13, 0, 0))
	edit(3, "締切後")
	req, hist = detail()
	if req["editedAfterClose"] != true || len(hist) != 4 {
		t.Fatalf("after the close: %v %v", req["editedAfterClose"], hist)
	}
	var got []string
	for _, h := range hist {
		mark := ""
		if h["afterClose"] == true {
			mark = "*"
		}
		got = append(got, h["action"].(string)+mark)
	}
	if want := []string{"created", "applied", "updated", "updated*"}; !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	// The day's CSV says so too.
	x := rev.Do("GET", "/sos/review/export?day="+day, nil)
	if x.Status != 200 || !strings.Contains(string(x.Body), "締切後,") {
		t.Fatalf("export = %d %s", x.Status, x.Body)
	}
	for _, line := range strings.Split(string(x.Body), "\r\n") {
		if strings.Contains(line, "締切後,") && !strings.Contains(line, ",有り,") {
			t.Errorf("row without the mark: %s", line)
		}
	}
}
