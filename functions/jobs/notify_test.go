package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/issuance"
	"github.com/gmis-oss/gmis/shared/job"
)

type crash struct{}

// runCrashing runs a job's invocation, which may crash (panic) midway.
func (b *bench) runCrashing(t *testing.T, r *job.Runner, id, invocation string) (crashed bool) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(crash); !ok {
				panic(v)
			}
			crashed = true
		}
	}()
	if err := r.Run(t.Context(), id, invocation); err != nil {
		t.Fatal(err)
	}
	return false
}

// A notify job that crashes after SES accepted a mail and before the
// account was marked is resumed without sending that mail again: the
// row is reported unconfirmed, and only a job asked to resend such rows
// sends it again.
func TestNotifyCrashAfterSendNeverResendsUnasked(t *testing.T) {
	e := startBench(t)
	ctx := context.Background()
	var form bytes.Buffer
	for i := range 5 {
		cells := make([]string, 40)
		cells[1], cells[2], cells[3], cells[4] = fmt.Sprintf("通知 太郎%d", i), "03-5555-0001", fmt.Sprintf("notice-%d@hospital.example.jp", i), "09"
		cells[10], cells[32], cells[35], cells[39], cells[38] = "1301", "0", "1310000001", "1", cells[3]
		form.WriteString(strings.Join(cells, ",") + "\r\n")
	}
	issued, _, _ := e.run(t, job.Issuance, nil, form.Bytes())

	svc := job.NewService(e.jobs, e.starts, e.files, map[job.Kind]job.Check{job.Notify: issuance.NewNotifyCheck(e.jobs)}, nil, nil)
	notify := func(params map[string]string) job.Job {
		t.Helper()
		params["issuance"] = issued.ID
		j, err := svc.Create(ctx, national, job.Notify, params, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		e.starts.mu.Lock()
		e.starts.ids = nil
		e.starts.mu.Unlock()
		return j
	}
	j := notify(map[string]string{})
	e.mail.crash = func(n int) {
		if n == 3 {
			panic(crash{})
		}
	}
	if !e.runCrashing(t, e.runner, j.ID, "first") {
		t.Fatal("the first invocation did not crash")
	}
	e.mail.crash = nil
	// The lease has expired by the time the sweeper starts it again.
	later := job.NewRunner(e.jobs, e.starts, map[job.Kind]job.Handler{job.Notify: issuance.NewNotifyJob(e.bulk, e.jobs, e.jobs, nil, 1000, nil)},
		job.Config{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if e.runCrashing(t, later, j.ID, "resumed") {
		t.Fatal("crashed again")
	}
	got, err := e.jobs.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.Done || got.Counts["unconfirmed"] != 1 || got.Counts["sent"]+got.Counts["alreadySent"] != 4 {
		t.Errorf("resumed job: %s %v", got.State, got.Counts)
	}
	for i := range 5 {
		if n := e.mail.got[fmt.Sprintf("notice-%d@hospital.example.jp", i)]; n != 1 {
			t.Errorf("notice-%d received %d mails, want 1", i, n)
		}
	}

	// A later job without the decision leaves it; with it, sends it again.
	for _, params := range []map[string]string{{}, {issuance.ResendUnconfirmed: "true"}} {
		k := notify(params)
		if err := later.Run(ctx, k.ID, "again"); err != nil {
			t.Fatal(err)
		}
		if got, err = e.jobs.GetJob(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"alreadySent": 4, "unconfirmed": 1}
		if params[issuance.ResendUnconfirmed] != "" {
			want = map[string]int{"alreadySent": 4, "sent": 1}
		}
		if fmt.Sprint(got.Counts) != fmt.Sprint(want) {
			t.Errorf("notify job %v: counts %v, want %v", params, got.Counts, want)
		}
	}
	if n := e.mail.got["notice-2@hospital.example.jp"]; n != 2 {
		t.Errorf("the unconfirmed mail was sent %d times in all, want 2 (once more when asked)", n)
	}
	// Every account is mailed: no initial password is left, not even those
	// mailed by the step that crashed.
	if pws, err := e.jobs.Rows(ctx, issued.ID, issuance.PasswordPrefix, "", 0); err != nil || len(pws) != 0 {
		t.Errorf("%d initial passwords kept after every account was mailed (%v), want none", len(pws), err)
	}
}
