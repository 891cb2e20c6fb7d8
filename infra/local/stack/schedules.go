package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA zones; do not depend on the host's zoneinfo

	"github.com/gmis-oss/gmis/infra/local/invokeapi"
	"github.com/gmis-oss/gmis/infra/local/sandbox"
	"github.com/gmis-oss/gmis/infra/local/schedule"
	"github.com/gmis-oss/gmis/infra/local/template"
)

func (st *Stack) findSchedule(name string) (template.Schedule, bool) {
	for _, s := range st.Template.Schedules {
		if s.Name() == name {
			return s, true
		}
	}
	return template.Schedule{}, false
}

func parseSchedule(s template.Schedule) (schedule.Expression, error) {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: time zone %q: %w", s.Name(), s.Timezone, err)
	}
	expr, err := schedule.Parse(s.Expression, loc)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: %w", s.Name(), err)
	}
	return expr, nil
}

// Schedules lists the template's schedules with their next fire time.
func (st *Stack) Schedules() []invokeapi.ScheduleInfo {
	var out []invokeapi.ScheduleInfo
	now := st.opts.Now()
	for _, s := range st.Template.Schedules {
		info := invokeapi.ScheduleInfo{Name: s.Name(), Expression: s.Expression, Timezone: s.Timezone, Enabled: s.Enabled}
		if expr, err := parseSchedule(s); err == nil {
			if next, ok := expr.Next(now); ok {
				info.Next = next
			}
		}
		out = append(out, info)
	}
	return out
}

// FireSchedule invokes a schedule's function now with the event its
// scheduler would send for this moment.
func (st *Stack) FireSchedule(ctx context.Context, name string) (sandbox.Result, error) {
	s, ok := st.findSchedule(name)
	if !ok {
		return sandbox.Result{}, fmt.Errorf("no schedule %s in the template (names are Function/Event)", name)
	}
	return st.fire(ctx, s, st.opts.Now().Truncate(time.Minute))
}

func (st *Stack) fire(ctx context.Context, s template.Schedule, at time.Time) (sandbox.Result, error) {
	payload, err := ScheduleEvent(s, at, st.Endpoints.Region)
	if err != nil {
		return sandbox.Result{}, err
	}
	return st.Invoke(ctx, s.Function, payload)
}

// ScheduleEvent is the payload a schedule's target receives for a firing at
// the given time. EventBridge Scheduler sends the schedule's Input with its
// context attributes filled in; an EventBridge rule sends a Scheduled Event.
func ScheduleEvent(s template.Schedule, at time.Time, region string) ([]byte, error) {
	arn := fmt.Sprintf("arn:aws:scheduler:%s:123456789012:schedule/default/%s-%s", region, s.Function, s.EventName)
	executionID := fmt.Sprintf("local-%s-%d", strings.ReplaceAll(s.Name(), "/", "-"), at.Unix())
	if s.Kind == "Schedule" {
		if s.Input != "" {
			return []byte(s.Input), nil
		}
		return json.Marshal(map[string]any{
			"version": "0", "id": executionID, "detail-type": "Scheduled Event", "source": "aws.events",
			"account": "123456789012", "time": at.UTC().Format(time.RFC3339), "region": region,
			"resources": []string{fmt.Sprintf("arn:aws:events:%s:123456789012:rule/%s-%s", region, s.Function, s.EventName)},
			"detail":    map[string]any{},
		})
	}
	if s.Input == "" {
		return []byte("{}"), nil
	}
	r := strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", at.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", executionID,
		"<aws.scheduler.attempt-number>", "1",
		"<aws.scheduler.schedule-arn>", arn,
	)
	return []byte(r.Replace(s.Input)), nil
}

// startScheduler fires every enabled schedule at its times until Close.
func (st *Stack) startScheduler() {
	ctx, cancel := context.WithCancel(context.Background())
	st.stopSched = cancel
	for _, s := range st.Template.Schedules {
		if !s.Enabled {
			continue
		}
		expr, err := parseSchedule(s)
		if err != nil {
			fmt.Fprintf(st.opts.Out, "schedule %s not started: %v\n", s.Name(), err)
			continue
		}
		st.schedWG.Go(func() { st.runSchedule(ctx, s, expr) })
	}
}

func (st *Stack) runSchedule(ctx context.Context, s template.Schedule, expr schedule.Expression) {
	after := st.opts.Now()
	for {
		next, ok := expr.Next(after)
		if !ok {
			return
		}
		fmt.Fprintf(st.opts.Out, "schedule %s: next at %s\n", s.Name(), next.Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return
		case <-st.opts.After(next.Sub(st.opts.Now())):
		}
		res, err := st.fire(ctx, s, next)
		switch {
		case err != nil:
			fmt.Fprintf(st.opts.Out, "schedule %s: %v\n", s.Name(), err)
		case res.FunctionError != "":
			fmt.Fprintf(st.opts.Out, "schedule %s: function error %s\n", s.Name(), res.Payload)
		default:
			fmt.Fprintf(st.opts.Out, "schedule %s: fired (%dms)\n", s.Name(), res.Duration.Milliseconds())
		}
		after = next
	}
}
