package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/sos"
)

// operatorRerun is the maintenance function's answer to sos-rollover.
type operatorRerun struct {
	Command string        `json:"command"`
	Result  sos.RunResult `json:"result"`
}

// maintenance invokes the maintenance function through the local Invoke
// API, as `aws lambda invoke --function-name MaintenanceFunction` does, and
// returns its answer or the error it failed with.
func maintenance(t *testing.T, e *authtest.Env, payload []byte) (operatorRerun, string) {
	t.Helper()
	res, err := e.Stack.Invoke(context.Background(), "MaintenanceFunction", payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, e.Out.String())
	}
	if res.FunctionError != "" {
		var fail struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.Payload, &fail)
		return operatorRerun{}, fail.ErrorMessage
	}
	var out operatorRerun
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("answer %s: %v", res.Payload, err)
	}
	return out, ""
}

func windowReport(res sos.RunResult, day string) (sos.WindowReport, bool) {
	for _, w := range res.Windows {
		if w.Day == day {
			return w, true
		}
	}
	return sos.WindowReport{}, false
}

// TestMaintenanceRerunsTheRollover runs events/maintenance/sos-rollover.json
// (the window of Thursday 26 November 2026) through the maintenance
// function twice: the first closes the 25th's and the 26th's windows,
// oldest first, mails the reviewers once each and reports it per window
// and prefecture; the second changes and sends nothing. The 27th's window
// stays open. A holiday, a Saturday, a day to come and a missing date are
// refused naming the date.
func TestMaintenanceRerunsTheRollover(t *testing.T) {
	e := shared.Env(t)
	const pref = "05"
	rev := reviewer(t, e, pref)
	x := applyAt(t, e, "0510000001", pref, jst(2026, 11, 25, 10, 0, 0))
	y := applyAt(t, e, "0510000002", pref, jst(2026, 11, 26, 12, 59, 59))
	z := applyAt(t, e, "0510000003", pref, jst(2026, 11, 26, 13, 0, 0))
	if x.BusinessDay != "2026-11-25" || y.BusinessDay != "2026-11-26" || z.BusinessDay != "2026-11-27" {
		t.Fatalf("days = %s %s %s", x.BusinessDay, y.BusinessDay, z.BusinessDay)
	}
	sample, err := os.ReadFile("../../events/maintenance/sos-rollover.json")
	if err != nil {
		t.Fatal(err)
	}

	first, fail := maintenance(t, e, sample)
	if fail != "" {
		t.Fatalf("sos-rollover failed: %s", fail)
	}
	n := len(first.Result.Closed)
	if first.Command != "sos-rollover" || n < 2 || strings.Join(first.Result.Closed[n-2:], ",") != "2026-11-25,2026-11-26" || first.Result.Mails != 2 {
		t.Fatalf("first run = %+v", first)
	}
	for day, id := range map[string]string{"2026-11-25": x.ID, "2026-11-26": y.ID} {
		w, ok := windowReport(first.Result, day)
		want := sos.PrefectureReport{PrefectureCode: pref, Count: 1, Mail: sos.MailSent, MailedTo: 1}
		if !ok || w.Action != sos.ActionClosed || w.Requests != 1 || len(w.Prefectures) != 1 || w.Prefectures[0] != want || w.Empty != 46 {
			t.Errorf("report of %s = %+v, want closed with %+v", day, w, want)
		}
		if s := summary(t, e, day, pref); s.Count != 1 || s.RequestIDs[0] != id {
			t.Errorf("summary %s = %+v", day, s)
		}
	}
	if _, err := sosStore(e).Summary(context.Background(), "2026-11-27", pref); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("the 27th's window was closed: %v", err)
	}
	mails := rolloverMails(e, rev)
	if len(mails) != 2 || !strings.Contains(mails[0], "2026-11-25") || !strings.Contains(mails[1], "2026-11-26") {
		t.Fatalf("reviewer's mails, oldest first = %q", mails)
	}

	again, fail := maintenance(t, e, sample)
	if fail != "" {
		t.Fatalf("second sos-rollover failed: %s", fail)
	}
	w, ok := windowReport(again.Result, "2026-11-26")
	if len(again.Result.Closed) != 0 || again.Result.Mails != 0 || len(again.Result.Windows) != 1 || !ok ||
		w.Action != sos.ActionDone || len(w.Prefectures) != 1 || w.Prefectures[0].Mail != sos.MailBefore || w.Prefectures[0].Count != 1 {
		t.Fatalf("second run = %+v", again.Result)
	}
	if got := rolloverMails(e, rev); len(got) != 2 {
		t.Fatalf("the second run mailed: %q", got)
	}

	for _, tc := range []struct{ payload, want string }{
		{`{"command": "sos-rollover", "date": "2026-11-23"}`, "2026-11-23 is not a business day"}, // 勤労感謝の日
		{`{"command": "sos-rollover", "date": "2026-11-28"}`, "2026-11-28 is not a business day"}, // a Saturday
		{`{"command": "sos-rollover", "date": "2099-01-06"}`, "2099-01-06 13:00 JST is still to come"},
		{`{"command": "sos-rollover", "date": "26-11-2026"}`, "date must be"},
		{`{"command": "sos-rollover"}`, "date is required"},
	} {
		if _, fail := maintenance(t, e, []byte(tc.payload)); !strings.Contains(fail, tc.want) {
			t.Errorf("%s failed with %q, want %q", tc.payload, fail, tc.want)
		}
	}
	if _, err := sosStore(e).Summary(context.Background(), "2026-11-27", pref); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("a refused command closed the 27th's window: %v", err)
	}
}
