package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// field describes one of the six cron fields.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for the value min+i
}

var (
	minuteField = field{name: "minutes", min: 0, max: 59}
	hourField   = field{name: "hours", min: 0, max: 23}
	domField    = field{name: "day-of-month", min: 1, max: 31}
	monthField  = field{name: "month", min: 1, max: 12, names: []string{
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	dowField  = field{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	yearField = field{name: "year", min: 1970, max: 2199}
)

func (f field) errorf(tok, format string, args ...any) error {
	return fmt.Errorf("cron %s %q: %s", f.name, tok, fmt.Sprintf(format, args...))
}

// bitset holds the values of a field, offset by the field's minimum.
type bitset [4]uint64

func (b *bitset) add(i int)      { b[i/64] |= 1 << (i % 64) }
func (b *bitset) has(i int) bool { return i >= 0 && i < 256 && b[i/64]&(1<<(i%64)) != 0 }

// dayKind says how a day-of-month or day-of-week field selects days.
type dayKind int

const (
	dayAny         dayKind = iota // ?
	daySet                        // values, ranges, steps, *
	dayLast                       // L in day-of-month
	dayLastWeekday                // LW in day-of-month
	dayNearest                    // nW in day-of-month
	dayLastOf                     // nL in day-of-week
	dayNth                        // n#k in day-of-week
)

type daySpec struct {
	kind   dayKind
	set    bitset // daySet, offset by 1
	weekly bool   // daySet: set holds days of the week rather than of the month
	n      int    // dayNearest: day of month; dayLastOf, dayNth: day of week 1-7
	k      int    // dayNth: occurrence 1-5
}

type cronExpr struct {
	minutes, hours, months, years bitset // offset by the field's minimum
	dom, dow                      daySpec
	loc                           *time.Location
}

func parseCron(inner string, loc *time.Location) (Expression, error) {
	fs := strings.Fields(inner)
	if len(fs) != 6 {
		return nil, fmt.Errorf("cron %q: want 6 fields (minutes hours day-of-month month day-of-week year), got %d", inner, len(fs))
	}
	c := &cronExpr{loc: loc}
	var err error
	if c.minutes, err = parseSet(minuteField, fs[0]); err != nil {
		return nil, err
	}
	if c.hours, err = parseSet(hourField, fs[1]); err != nil {
		return nil, err
	}
	if c.dom, err = parseDOM(fs[2]); err != nil {
		return nil, err
	}
	if c.months, err = parseSet(monthField, fs[3]); err != nil {
		return nil, err
	}
	if c.dow, err = parseDOW(fs[4]); err != nil {
		return nil, err
	}
	if c.years, err = parseSet(yearField, fs[5]); err != nil {
		return nil, err
	}
	switch {
	case c.dom.kind == dayAny && c.dow.kind == dayAny:
		return nil, fmt.Errorf(`cron %q: day-of-month and day-of-week cannot both be "?"`, inner)
	case c.dom.kind != dayAny && c.dow.kind != dayAny:
		return nil, fmt.Errorf(`cron %q: one of day-of-month %q and day-of-week %q must be "?"`, inner, fs[2], fs[4])
	}
	return c, nil
}

// parseValue parses a number or, for month and day-of-week, a name.
func parseValue(f field, tok string) (int, error) {
	for i, name := range f.names {
		if strings.EqualFold(tok, name) {
			return f.min + i, nil
		}
	}
	if !isDigits(tok) {
		if f.names != nil {
			return 0, f.errorf(tok, "invalid value: want %d-%d or %s-%s", f.min, f.max, f.names[0], f.names[len(f.names)-1])
		}
		return 0, f.errorf(tok, "invalid value: want %d-%d", f.min, f.max)
	}
	v, err := strconv.Atoi(tok)
	if err != nil || v < f.min || v > f.max {
		return 0, f.errorf(tok, "out of range %d-%d", f.min, f.max)
	}
	return v, nil
}

// parseSet parses a comma-separated list of *, values, ranges and steps.
func parseSet(f field, s string) (bitset, error) {
	var set bitset
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return set, f.errorf(s, "empty list element")
		}
		if item == "?" {
			if f.name == domField.name || f.name == dowField.name {
				return set, f.errorf(s, `"?" must be the only value of the field`)
			}
			return set, f.errorf(item, `"?" is only allowed in day-of-month and day-of-week`)
		}
		if strings.Contains(item, "#") {
			return set, f.errorf(item, `"#" is only allowed in day-of-week, as the only value of the field`)
		}
		base, stepTok, hasStep := strings.Cut(item, "/")
		var lo, hi int
		var err error
		switch {
		case base == "*":
			lo, hi = f.min, f.max
		case strings.Contains(base, "-"):
			a, b, _ := strings.Cut(base, "-")
			if a == "" || b == "" {
				return set, f.errorf(item, "invalid range")
			}
			if lo, err = parseValue(f, a); err != nil {
				return set, err
			}
			if hi, err = parseValue(f, b); err != nil {
				return set, err
			}
			if lo > hi {
				return set, f.errorf(item, "range start %s is after end %s", a, b)
			}
		default:
			if lo, err = parseValue(f, base); err != nil {
				return set, err
			}
			hi = lo
			if hasStep { // "5/15" means 5, 20, 35, ... up to the maximum
				hi = f.max
			}
		}
		step := 1
		if hasStep {
			step, err = strconv.Atoi(stepTok)
			if err != nil || !isDigits(stepTok) || step < 1 {
				return set, f.errorf(item, "step %q must be a positive integer", stepTok)
			}
		}
		for v := lo; ; v += step {
			set.add(v - f.min)
			if step > hi-v { // also stops a huge step from overflowing v
				break
			}
		}
	}
	return set, nil
}

// parseDOM parses the day-of-month field.
func parseDOM(s string) (daySpec, error) {
	up := strings.ToUpper(s)
	switch {
	case s == "?":
		return daySpec{kind: dayAny}, nil
	case up == "L":
		return daySpec{kind: dayLast}, nil
	case up == "LW":
		return daySpec{kind: dayLastWeekday}, nil
	case strings.ContainsAny(up, "LW") && strings.ContainsAny(s, ",-/*"):
		return daySpec{}, domField.errorf(s, "L and W must be the only value of the field")
	case strings.HasSuffix(up, "W"):
		if len(s) == 1 {
			return daySpec{}, domField.errorf(s, "W needs a day of the month, as in 15W")
		}
		n, err := parseValue(domField, s[:len(s)-1])
		if err != nil {
			return daySpec{}, err
		}
		return daySpec{kind: dayNearest, n: n}, nil
	}
	set, err := parseSet(domField, s)
	return daySpec{kind: daySet, set: set}, err
}

// parseDOW parses the day-of-week field.
func parseDOW(s string) (daySpec, error) {
	up := strings.ToUpper(s)
	switch {
	case s == "?":
		return daySpec{kind: dayAny}, nil
	case up == "L": // last day of the week: Saturday
		var set bitset
		set.add(7 - dowField.min)
		return daySpec{kind: daySet, set: set, weekly: true}, nil
	case strings.Contains(s, "#"):
		if strings.ContainsAny(s, ",-/*") {
			return daySpec{}, dowField.errorf(s, `"#" must be the only value of the field`)
		}
		a, b, _ := strings.Cut(s, "#")
		if a == "" {
			return daySpec{}, dowField.errorf(s, "# needs a day of the week, as in 6#3")
		}
		n, err := parseValue(dowField, a)
		if err != nil {
			return daySpec{}, err
		}
		k, err := strconv.Atoi(b)
		if err != nil || !isDigits(b) || k < 1 || k > 5 {
			return daySpec{}, dowField.errorf(s, "occurrence %q out of range 1-5", b)
		}
		return daySpec{kind: dayNth, n: n, k: k}, nil
	case strings.HasSuffix(up, "L"):
		if strings.ContainsAny(s, ",-/*") {
			return daySpec{}, dowField.errorf(s, "L must be the only value of the field")
		}
		n, err := parseValue(dowField, s[:len(s)-1])
		if err != nil {
			return daySpec{}, err
		}
		return daySpec{kind: dayLastOf, n: n}, nil
	}
	set, err := parseSet(dowField, s)
	return daySpec{kind: daySet, set: set, weekly: true}, err
}

// Next walks the calendar in the schedule's time zone day by day, skipping
// whole years and months that cannot match, and within a matching day tries
// the matching hours and minutes in order. The walk stops at the end of 2199.
func (c *cronExpr) Next(after time.Time) (time.Time, bool) {
	a := after.In(c.loc)
	y, mo, d := a.Date()
	h, mi := a.Hour(), a.Minute()
	if y < yearField.min {
		y, mo, d, h, mi = yearField.min, time.January, 1, 0, 0
	}
	for y <= yearField.max {
		switch {
		case !c.years.has(y - yearField.min):
			y, mo, d, h, mi = y+1, time.January, 1, 0, 0
		case !c.months.has(int(mo)-monthField.min) || d > daysIn(y, mo):
			if mo == time.December {
				y, mo = y+1, time.January
			} else {
				mo++
			}
			d, h, mi = 1, 0, 0
		default:
			if c.dayMatches(y, mo, d) {
				if t, ok := c.onDay(y, mo, d, h, mi, after); ok {
					return t, true
				}
			}
			d, h, mi = d+1, 0, 0
		}
	}
	return time.Time{}, false
}

// onDay returns the first matching time on day y-mo-d at or after wall time
// h0:m0 that is strictly after after. Wall times in a daylight-saving gap are
// skipped; resolve picks the earlier instant of repeated wall times.
func (c *cronExpr) onDay(y int, mo time.Month, d, h0, m0 int, after time.Time) (time.Time, bool) {
	for h := h0; h <= hourField.max; h++ {
		if !c.hours.has(h - hourField.min) {
			continue
		}
		m := minuteField.min
		if h == h0 {
			m = m0
		}
		for ; m <= minuteField.max; m++ {
			if !c.minutes.has(m - minuteField.min) {
				continue
			}
			if t, exists := resolve(y, mo, d, h, m, 0, c.loc); exists && t.After(after) {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func (c *cronExpr) dayMatches(y int, mo time.Month, d int) bool {
	if c.dom.kind == dayAny {
		return c.dow.matches(y, mo, d)
	}
	return c.dom.matches(y, mo, d)
}

func (s daySpec) matches(y int, mo time.Month, d int) bool {
	last := daysIn(y, mo)
	wd := int(weekday(y, mo, d)) + 1 // 1 = Sunday, as in cron
	switch s.kind {
	case daySet:
		if s.weekly {
			return s.set.has(wd - dowField.min)
		}
		return s.set.has(d - domField.min)
	case dayLast:
		return d == last
	case dayLastWeekday:
		return d == nearestWeekday(y, mo, last)
	case dayNearest:
		return s.n <= last && d == nearestWeekday(y, mo, s.n)
	case dayLastOf:
		return wd == s.n && d+7 > last
	case dayNth:
		return wd == s.n && (d-1)/7+1 == s.k
	}
	return false
}

// nearestWeekday returns the Monday-to-Friday day closest to day n of the
// month, without leaving the month.
func nearestWeekday(y int, mo time.Month, n int) int {
	switch weekday(y, mo, n) {
	case time.Saturday:
		if n == 1 {
			return 3 // Monday the 3rd rather than Friday of the month before
		}
		return n - 1
	case time.Sunday:
		if n == daysIn(y, mo) {
			return n - 2 // Friday rather than Monday of the month after
		}
		return n + 1
	}
	return n
}

func weekday(y int, mo time.Month, d int) time.Weekday {
	return time.Date(y, mo, d, 12, 0, 0, 0, time.UTC).Weekday()
}

func daysIn(y int, mo time.Month) int {
	return time.Date(y, mo+1, 0, 12, 0, 0, 0, time.UTC).Day()
}
