// Package schedule parses Amazon EventBridge Scheduler schedule expressions
// — cron(...), rate(...) and at(...) — and computes their fire times, for a
// local emulator of AWS schedules.
//
// Where AWS leaves behaviour open, this package makes these choices:
//
//   - cron and at wall-clock times are evaluated in the schedule's time zone
//     (the loc given to Parse; nil means UTC, the AWS default).
//   - A cron wall time that does not exist on a given day, because it falls
//     into a daylight-saving gap, is skipped for that day: cron(30 2 * * ? *)
//     in America/New_York does not fire on the day clocks jump from 02:00 to
//     03:00. A wall time that occurs twice, when clocks fall back, fires once,
//     at its earlier instant.
//   - An at time that falls into a gap is moved forward by the length of the
//     gap (02:30 becomes 03:30), so the one-time schedule still fires; an
//     ambiguous at time uses the earlier instant.
//   - rate schedules fire at every multiple of the period counted from the
//     Unix epoch (1970-01-01T00:00:00Z), because a local emulator has no
//     creation time to count from. So rate(1 day) fires at 00:00 UTC whatever
//     the time zone, and rate(1 hour) fires on the hour.
//   - In cron expressions the special day tokens L, LW, nW, nL and n#k must
//     be the only element of their field (AWS documents this for #; Quartz,
//     whose syntax AWS's resembles, also rejects lists for the others), ranges must be
//     ascending (FRI-MON is rejected), and nW does not fire in a month that
//     has no day n. L alone in day-of-week means Saturday (7).
//   - cron fire times are searched up to the end of year 2199, the last year
//     an expression can name; after that Next reports false.
package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Expression is a parsed schedule expression.
type Expression interface {
	// Next returns the first fire time strictly after `after`, and false when the schedule never fires again.
	Next(after time.Time) (time.Time, bool)
}

// Parse parses "cron(...)", "rate(...)" or "at(...)" evaluated in loc (the schedule's time zone).
// A nil loc means UTC. Times returned by Next are in loc.
func Parse(expr string, loc *time.Location) (Expression, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := strings.TrimSpace(expr)
	for _, kind := range []string{"cron", "rate", "at"} {
		inner, ok := strings.CutPrefix(s, kind+"(")
		if !ok {
			continue
		}
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return nil, fmt.Errorf("schedule %q: missing closing parenthesis", expr)
		}
		switch kind {
		case "cron":
			return parseCron(inner, loc)
		case "rate":
			return parseRate(inner, loc)
		default:
			return parseAt(inner, loc)
		}
	}
	return nil, fmt.Errorf("schedule %q: must be cron(...), rate(...) or at(...)", expr)
}

// rateExpr fires every period seconds, counted from the Unix epoch.
type rateExpr struct {
	period int64 // seconds
	loc    *time.Location
}

func parseRate(inner string, loc *time.Location) (Expression, error) {
	parts := strings.Fields(inner)
	if len(parts) != 2 {
		return nil, fmt.Errorf("rate %q: want \"value unit\", such as \"5 minutes\"", inner)
	}
	valueTok, unit := parts[0], parts[1]
	value, err := strconv.ParseInt(valueTok, 10, 64)
	if err != nil || !isDigits(valueTok) || value < 1 {
		return nil, fmt.Errorf("rate value %q: must be a positive integer", valueTok)
	}
	var seconds int64
	singular := strings.TrimSuffix(unit, "s")
	switch singular {
	case "minute":
		seconds = 60
	case "hour":
		seconds = 60 * 60
	case "day":
		seconds = 24 * 60 * 60
	default:
		return nil, fmt.Errorf("rate unit %q: must be minute, minutes, hour, hours, day or days", unit)
	}
	switch plural := unit != singular; {
	case value == 1 && plural:
		return nil, fmt.Errorf("rate %q: unit %q must be singular %q when the value is 1", inner, unit, singular)
	case value != 1 && !plural:
		return nil, fmt.Errorf("rate %q: unit %q must be plural %q when the value is not 1", inner, unit, singular+"s")
	}
	if value > math.MaxInt64/seconds {
		return nil, fmt.Errorf("rate value %q: too large", valueTok)
	}
	return &rateExpr{period: value * seconds, loc: loc}, nil
}

// Next returns the first multiple of the period, counted from the Unix
// epoch, that is strictly after after.
func (r *rateExpr) Next(after time.Time) (time.Time, bool) {
	s := after.Unix()
	q := s / r.period
	if s%r.period < 0 { // floor division for instants before 1970
		q--
	}
	// q*period <= s <= after < s+1 <= (q+1)*period.
	if q+1 > math.MaxInt64/r.period {
		return time.Time{}, false
	}
	return time.Unix((q+1)*r.period, 0).In(r.loc), true
}

// atExpr fires once.
type atExpr struct {
	t time.Time
}

func parseAt(inner string, loc *time.Location) (Expression, error) {
	const layout = "2006-01-02T15:04:05"
	w, err := time.Parse(layout, inner)
	if err == nil && w.Format(layout) != inner {
		// time.Parse also accepts fractional seconds; AWS does not.
		err = fmt.Errorf("extra text after the seconds")
	}
	if err != nil {
		return nil, fmt.Errorf("at %q: want yyyy-mm-ddThh:mm:ss: %v", inner, err)
	}
	t, _ := resolve(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), loc)
	return &atExpr{t: t}, nil
}

// Next returns the at time when it is strictly after after.
func (a *atExpr) Next(after time.Time) (time.Time, bool) {
	if a.t.After(after) {
		return a.t, true
	}
	return time.Time{}, false
}

// probe is more than the largest UTC offset in use (±14h), so the offsets in
// effect at w-probe and w+probe are those on either side of any transition
// that could make wall time w ambiguous or nonexistent.
const probe = 15 * 60 * 60

// resolve maps the wall-clock time y-mo-d h:mi:s in loc to an instant. When
// the wall time occurs twice it returns the earlier instant. When it does not
// occur (a daylight-saving gap) exists is false and t is the wall time moved
// forward by the length of the gap.
//
// Unlike time.Date, whose choice in those two cases is unspecified, the
// result is deterministic.
func resolve(y int, mo time.Month, d, h, mi, s int, loc *time.Location) (t time.Time, exists bool) {
	w := time.Date(y, mo, d, h, mi, s, 0, time.UTC).Unix()
	var best int64
	for _, p := range [...]int64{w - probe, w, w + probe} {
		_, off := time.Unix(p, 0).In(loc).Zone()
		u := w - int64(off)
		// The wall time of u is w exactly when the offset in effect at u is off.
		if _, uoff := time.Unix(u, 0).In(loc).Zone(); uoff != off {
			continue
		}
		if !exists || u < best {
			best, exists = u, true
		}
	}
	if !exists {
		_, off := time.Unix(w-probe, 0).In(loc).Zone() // offset before the gap
		best = w - int64(off)
	}
	return time.Unix(best, 0).In(loc), exists
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
