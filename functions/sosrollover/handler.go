package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gmis-oss/gmis/shared/sos"
)

// Event is what the schedule sends: its Input, with EventBridge
// Scheduler's <aws.scheduler.scheduled-time> filled in.
type Event struct {
	ScheduledTime string `json:"scheduledTime"`
}

// runner is the part of sos.Rollover the handler calls.
type runner interface {
	Run(ctx context.Context, now time.Time) (sos.RunResult, error)
}

type handler struct {
	rollover runner
	logger   *slog.Logger
}

// Handle runs the rollover as of the event's scheduled time, never the
// function's own clock: a retried or late invocation closes the windows
// due at the time it was scheduled for.
func (h handler) Handle(ctx context.Context, ev Event) (sos.RunResult, error) {
	now, err := time.Parse(time.RFC3339, ev.ScheduledTime)
	if err != nil {
		return sos.RunResult{}, fmt.Errorf("scheduledTime %q: want RFC 3339", ev.ScheduledTime)
	}
	res, err := h.rollover.Run(ctx, now)
	if err != nil {
		h.logger.Error("sos rollover", slog.String("scheduled_time", ev.ScheduledTime), slog.String("error", err.Error()))
		return res, err
	}
	h.logger.Info("sos rollover", slog.String("scheduled_time", ev.ScheduledTime), slog.Any("closed", res.Closed), slog.Int("mails", res.Mails))
	return res, nil
}
