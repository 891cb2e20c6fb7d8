package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/httpapi"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/maintenance"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/plaintext"
	"github.com/gmis-oss/gmis/shared/sos"
)

type windowStore interface {
	maintenance.Lister
	PutWindow(ctx context.Context, w maintenance.Window) error
	EndWindow(ctx context.Context, id string) error
}

type operator struct {
	db      dynamo.TransactClient
	tables  map[string]string // environment name → table name
	surveys string            // the surveys table, whose status items are the search's read model
	masters *master.Service
	windows windowStore
	users   interface {
		Unlock(ctx context.Context, id string) error
	}
	// sosRollover re-runs the SOS rollover for a given business day.
	sosRollover interface {
		RunFor(ctx context.Context, day string, now time.Time) (sos.RunResult, error)
	}
	audit audit.Log
	// jobs runs master imports as jobs of the jobs function; files holds
	// their CSV as an upload would.
	jobs  *job.Service
	files interface {
		Put(ctx context.Context, key string, data []byte, contentType string) error
	}
	logger *slog.Logger
	now    func() time.Time
}

// AuditSOSRollover is the audit action of an operator's re-run of the
// SOS rollover.
const AuditSOSRollover = "sos_rollover_rerun"

// Operator is who acts in commands: whoever may invoke the function is a
// national operator (IAM decides that, not this code).
var Operator = authz.Principal{UserID: "operator", Role: authz.National}

// command is the JSON an operator sends.
type command struct {
	Command string `json:"command"`
	Kind    string `json:"kind,omitempty"`
	CSV     string `json:"csv,omitempty"`
	ID      string `json:"id,omitempty"`
	UserID  string `json:"userId,omitempty"`
	Start   string `json:"start,omitempty"` // RFC 3339, or YYYY/MM/DD HH:MM in JST
	End     string `json:"end,omitempty"`
	Message string `json:"message,omitempty"`
	// Prefecture is the prefecture code of rebuild-search.
	Prefecture string `json:"prefecture,omitempty"`
	// Date is the business day (YYYY-MM-DD) of sos-rollover.
	Date string `json:"date,omitempty"`
}

// reply is the JSON an operator gets back.
type reply struct {
	Command string `json:"command"`
	Result  any    `json:"result"`
}

var commands = []string{"import-master", "finish-moves", "schedule-window", "list-windows", "end-window", "unlock-user", "table-counts", "rebuild-search", "sos-rollover"}

// handle runs one command. A bad command is an error that names what is
// wrong; `aws lambda invoke` shows it as the FunctionError payload.
func (o *operator) handle(ctx context.Context, raw json.RawMessage) (reply, error) {
	var c command
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return reply{}, fmt.Errorf("the event is not a command: %v (send {\"command\": one of %s})", err, strings.Join(commands, ", "))
	}
	res, err := o.run(ctx, c)
	if err != nil {
		if e := apperr.As(err); e != nil && e.Code != apperr.Internal {
			return reply{}, fmt.Errorf("%s: %s", c.Command, e.MessageEn)
		}
		o.logger.ErrorContext(ctx, "command", slog.String("command", c.Command), slog.String("error", err.Error()))
		return reply{}, fmt.Errorf("%s failed: %v", c.Command, err)
	}
	o.logger.InfoContext(ctx, "command", slog.String("command", c.Command))
	return reply{Command: c.Command, Result: res}, nil
}

// usage is a mistake in the command itself, answered without "failed".
func usage(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return apperr.New(apperr.Invalid, msg, msg)
}

func (o *operator) run(ctx context.Context, c command) (any, error) {
	switch c.Command {
	case "import-master":
		if c.CSV == "" {
			return nil, usage("csv is required: the master's CSV text, header row first")
		}
		return o.importMaster(ctx, master.Kind(c.Kind), []byte(c.CSV))
	case "finish-moves":
		// A move whose function stopped half-way is otherwise finished by
		// the next request about that institution, which may never come.
		moves, err := o.masters.FinishMoves(ctx)
		return map[string]any{"finished": moves}, err
	case "schedule-window":
		start, err := httpapi.ParseDateTime("start", c.Start)
		if err != nil {
			return nil, usage("%s", apperr.As(err).MessageEn)
		}
		end, err := httpapi.ParseDateTime("end", c.End)
		if err != nil {
			return nil, usage("%s", apperr.As(err).MessageEn)
		}
		if start.IsZero() || !end.After(start) || !end.After(time.Now()) {
			return nil, usage("start and end (%s) are required, end after start and in the future", httpapi.DateTimeForms)
		}
		if err := plaintext.Check("message", c.Message, true); err != nil {
			return nil, usage("%s", apperr.As(err).MessageEn)
		}
		// Two windows with one start are told apart by what else they say;
		// the same command twice names the same window.
		sum := sha256.Sum256([]byte(c.Start + "\x00" + c.End + "\x00" + c.Message))
		w := maintenance.Window{ID: maintenance.WindowID(start, "op"+hex.EncodeToString(sum[:3])), Start: start.UTC(), End: end.UTC(),
			Message: c.Message, CreatedBy: Operator.UserID}
		if err := o.windows.PutWindow(ctx, w); err != nil {
			if apperr.CodeOf(err) == apperr.Conflict {
				return nil, usage("this window is scheduled already: %s", w.ID)
			}
			return nil, err
		}
		return w, o.audit.Record(ctx, audit.Event{At: time.Now(), UserID: Operator.UserID, Actor: Operator.UserID, Action: audit.MaintenanceSet,
			Detail: map[string]string{"window": w.ID, "start": w.Start.In(maintenance.JST).Format(time.RFC3339), "end": w.End.In(maintenance.JST).Format(time.RFC3339)}})
	case "list-windows":
		return o.windows.ListWindows(ctx)
	case "end-window":
		if c.ID == "" {
			return nil, usage("id is required (list-windows shows them)")
		}
		if err := o.windows.EndWindow(ctx, c.ID); err != nil {
			return nil, err
		}
		return map[string]string{"ended": c.ID}, o.audit.Record(ctx, audit.Event{At: time.Now(), UserID: Operator.UserID, Actor: Operator.UserID,
			Action: audit.MaintenanceEnded, Detail: map[string]string{"window": c.ID}})
	case "unlock-user":
		if c.UserID == "" {
			return nil, usage("userId is required")
		}
		if err := o.users.Unlock(ctx, c.UserID); err != nil {
			return nil, err
		}
		return map[string]string{"unlocked": c.UserID}, o.audit.Record(ctx, audit.Event{At: time.Now(), UserID: c.UserID,
			Actor: Operator.UserID, Action: audit.AccountUnlocked})
	case "table-counts":
		counts := map[string]int64{}
		names := make([]string, 0, len(o.tables))
		for _, t := range o.tables {
			names = append(names, t)
		}
		sort.Strings(names)
		for _, t := range names {
			n, err := dynamo.CountItems(ctx, o.db, t)
			if err != nil {
				return nil, err
			}
			counts[t] = n
		}
		return map[string]any{"tables": counts}, nil
	case "rebuild-search":
		// Recovery: the institutions' master fields written into their
		// status items again from the masters (the surveys' part of the
		// items is written only by survey writes).
		if c.Prefecture == "" {
			return nil, usage("prefecture is required: the prefecture code (01-47) whose institutions to write again")
		}
		rep, err := dynamo.RebuildSearch(ctx, o.db, o.tables["MASTERS_TABLE"], o.surveys, c.Prefecture)
		return map[string]any{"prefecture": c.Prefecture, "written": rep.Written, "changed": rep.Changed, "changedCodes": rep.ChangedCodes}, err
	case "sos-rollover":
		// Recovery: the SOS rollover as of the date's 13:00 JST, as its
		// schedule would have run it. It closes that window and any
		// earlier one left open, oldest first, and sends the mails not
		// sent; once everything is done it changes and sends nothing.
		if c.Date == "" {
			return nil, usage("date is required: the business day (YYYY-MM-DD) whose 13:00 JST window to close")
		}
		res, err := o.sosRollover.RunFor(ctx, c.Date, o.now())
		if err != nil {
			return nil, err
		}
		if err := o.audit.Record(ctx, audit.Event{At: o.now(), UserID: Operator.UserID, Actor: Operator.UserID, Action: AuditSOSRollover,
			Detail: map[string]string{"date": c.Date, "closed": strings.Join(res.Closed, ","), "mails": fmt.Sprint(res.Mails)}}); err != nil {
			return nil, err
		}
		return res, nil
	case "":
		return nil, usage("command is required: one of %s", strings.Join(commands, ", "))
	}
	return nil, usage("unknown command %q: use one of %s", c.Command, strings.Join(commands, ", "))
}
