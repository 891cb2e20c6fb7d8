package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests do not depend on the machine's zoneinfo
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func TestNext(t *testing.T) {
	tokyo := mustLoad(t, "Asia/Tokyo")
	ny := mustLoad(t, "America/New_York")
	utc := time.UTC
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, loc)
	}
	// New York fall-back day 2025-11-02: 01:30 EDT, then 01:30 EST an hour later.
	firstOneThirty := time.Date(2025, 11, 2, 5, 30, 0, 0, time.UTC)
	secondOneThirty := firstOneThirty.Add(time.Hour)

	tests := []struct {
		name   string
		expr   string
		loc    *time.Location
		after  time.Time
		want   time.Time // zero when Next should report false
		wantOK bool
	}{
		// Weekdays at 13:00 in Tokyo. 2025-01-10 is a Friday.
		{"weekdays from Friday 13:00 exactly", "cron(0 13 ? * MON-FRI *)", tokyo,
			at(tokyo, 2025, 1, 10, 13, 0, 0), at(tokyo, 2025, 1, 13, 13, 0, 0), true},
		{"weekdays from Friday 12:59:59", "cron(0 13 ? * MON-FRI *)", tokyo,
			at(tokyo, 2025, 1, 10, 12, 59, 59), at(tokyo, 2025, 1, 10, 13, 0, 0), true},
		{"weekdays from Friday 13:00:00.5", "cron(0 13 ? * MON-FRI *)", tokyo,
			at(tokyo, 2025, 1, 10, 13, 0, 0).Add(500 * time.Millisecond), at(tokyo, 2025, 1, 13, 13, 0, 0), true},
		{"weekdays, after given in UTC", "cron(0 13 ? * MON-FRI *)", tokyo,
			at(utc, 2025, 1, 10, 3, 59, 0), at(tokyo, 2025, 1, 10, 13, 0, 0), true},
		{"weekday names lower case", "cron(0 13 ? * mon-Fri *)", tokyo,
			at(tokyo, 2025, 1, 11, 0, 0, 0), at(tokyo, 2025, 1, 13, 13, 0, 0), true},
		{"weekday numbers 2-6", "cron(0 13 ? * 2-6 *)", tokyo,
			at(tokyo, 2025, 1, 11, 0, 0, 0), at(tokyo, 2025, 1, 13, 13, 0, 0), true},
		{"weekday list", "cron(0 8 ? * SUN,WED *)", utc,
			at(utc, 2025, 1, 10, 0, 0, 0), at(utc, 2025, 1, 12, 8, 0, 0), true},
		{"L in day-of-week is Saturday", "cron(0 8 ? * L *)", utc,
			at(utc, 2025, 1, 6, 0, 0, 0), at(utc, 2025, 1, 11, 8, 0, 0), true},

		// Minute steps.
		{"*/15 from 10:07", "cron(*/15 * * * ? *)", utc,
			at(utc, 2025, 1, 1, 10, 7, 0), at(utc, 2025, 1, 1, 10, 15, 0), true},
		{"*/15 from 10:45", "cron(*/15 * * * ? *)", utc,
			at(utc, 2025, 1, 1, 10, 45, 0), at(utc, 2025, 1, 1, 11, 0, 0), true},
		{"*/15 across midnight and year", "cron(*/15 * * * ? *)", utc,
			at(utc, 2024, 12, 31, 23, 50, 0), at(utc, 2025, 1, 1, 0, 0, 0), true},
		{"0/15", "cron(0/15 * * * ? *)", utc,
			at(utc, 2025, 1, 1, 10, 30, 0), at(utc, 2025, 1, 1, 10, 45, 0), true},
		{"5/20", "cron(5/20 * * * ? *)", utc,
			at(utc, 2025, 1, 1, 10, 45, 0), at(utc, 2025, 1, 1, 11, 5, 0), true},
		{"huge step keeps only the start", "cron(7/9223372036854775807 * * * ? *)", utc,
			at(utc, 2025, 1, 1, 10, 7, 0), at(utc, 2025, 1, 1, 11, 7, 0), true},
		{"step larger than the range", "cron(0 0 1 1 ? 2025/300)", utc,
			at(utc, 2024, 1, 1, 0, 0, 0), at(utc, 2025, 1, 1, 0, 0, 0), true},
		{"10-50/10 at the end of the range", "cron(10-50/10 * * * ? *)", utc,
			at(utc, 2025, 1, 1, 10, 50, 0), at(utc, 2025, 1, 1, 11, 10, 0), true},
		{"hour list and range", "cron(30 9,17-18 * * ? *)", utc,
			at(utc, 2025, 1, 1, 9, 30, 0), at(utc, 2025, 1, 1, 17, 30, 0), true},

		// L, LW and W in day-of-month.
		{"L in a leap February", "cron(0 0 L * ? *)", utc,
			at(utc, 2024, 2, 1, 0, 0, 0), at(utc, 2024, 2, 29, 0, 0, 0), true},
		{"L in a common February", "cron(0 0 L * ? *)", utc,
			at(utc, 2025, 2, 1, 0, 0, 0), at(utc, 2025, 2, 28, 0, 0, 0), true},
		{"L from the last day itself", "cron(0 0 l * ? *)", utc,
			at(utc, 2025, 4, 30, 0, 0, 0), at(utc, 2025, 5, 31, 0, 0, 0), true},
		{"LW when the last day is a Saturday", "cron(0 9 LW * ? *)", utc, // 2025-05-31 is a Saturday
			at(utc, 2025, 5, 1, 0, 0, 0), at(utc, 2025, 5, 30, 9, 0, 0), true},
		{"LW when the last day is a Sunday", "cron(0 9 LW * ? *)", utc, // 2025-08-31 is a Sunday
			at(utc, 2025, 8, 1, 0, 0, 0), at(utc, 2025, 8, 29, 9, 0, 0), true},
		{"LW when the last day is a weekday", "cron(0 9 LW * ? *)", utc, // 2025-01-31 is a Friday
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 31, 9, 0, 0), true},
		{"15W when the 15th is a Saturday", "cron(0 9 15W * ? *)", utc, // 2025-02-15
			at(utc, 2025, 2, 1, 0, 0, 0), at(utc, 2025, 2, 14, 9, 0, 0), true},
		{"15W when the 15th is a Sunday", "cron(0 9 15W * ? *)", utc, // 2025-06-15
			at(utc, 2025, 6, 1, 0, 0, 0), at(utc, 2025, 6, 16, 9, 0, 0), true},
		{"15W when the 15th is a weekday", "cron(0 9 15w * ? *)", utc, // 2025-01-15 is a Wednesday
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 15, 9, 0, 0), true},
		{"1W on a Saturday does not go back a month", "cron(0 9 1W * ? *)", utc, // 2025-02-01
			at(utc, 2025, 1, 31, 0, 0, 0), at(utc, 2025, 2, 3, 9, 0, 0), true},
		{"30W on the last day, a Sunday, does not go forward a month", "cron(0 9 30W * ? *)", utc, // 2025-11-30
			at(utc, 2025, 11, 1, 0, 0, 0), at(utc, 2025, 11, 28, 9, 0, 0), true},
		{"31W skips months without a 31st", "cron(0 9 31W * ? *)", utc,
			at(utc, 2025, 4, 1, 0, 0, 0), at(utc, 2025, 5, 30, 9, 0, 0), true}, // 2025-05-31 is a Saturday
		{"day 31 skips short months", "cron(0 0 31 * ? *)", utc,
			at(utc, 2025, 4, 1, 0, 0, 0), at(utc, 2025, 5, 31, 0, 0, 0), true},
		{"day-of-month step", "cron(0 0 1/10 * ? *)", utc,
			at(utc, 2025, 1, 21, 0, 0, 0), at(utc, 2025, 1, 31, 0, 0, 0), true},

		// # and nL in day-of-week.
		{"6#3 third Friday", "cron(0 10 ? * 6#3 *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 17, 10, 0, 0), true},
		{"6#3 from the third Friday's fire time", "cron(0 10 ? * 6#3 *)", utc,
			at(utc, 2025, 1, 17, 10, 0, 0), at(utc, 2025, 2, 21, 10, 0, 0), true},
		{"FRI#3 by name", "cron(0 10 ? * fri#3 *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 17, 10, 0, 0), true},
		{"2#5 fifth Monday skips months without one", "cron(0 10 ? * 2#5 *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 3, 31, 10, 0, 0), true},
		{"6L last Friday of January", "cron(0 10 ? * 6L *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 31, 10, 0, 0), true},
		{"6L last Friday of February", "cron(0 10 ? * 6L *)", utc,
			at(utc, 2025, 1, 31, 10, 0, 0), at(utc, 2025, 2, 28, 10, 0, 0), true},
		{"FRIL by name", "cron(0 10 ? * FRIL *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 31, 10, 0, 0), true},

		// Months and years.
		{"month names", "cron(0 0 1 JAN,jul ? *)", utc,
			at(utc, 2025, 2, 1, 0, 0, 0), at(utc, 2025, 7, 1, 0, 0, 0), true},
		{"month name range", "cron(0 0 1 Mar-MAY ? *)", utc,
			at(utc, 2025, 5, 1, 0, 0, 0), at(utc, 2026, 3, 1, 0, 0, 0), true},
		{"month numbers with step", "cron(0 0 1 */3 ? *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 4, 1, 0, 0, 0), true},
		{"single year, before", "cron(0 0 1 1 ? 2025)", utc,
			at(utc, 2024, 6, 1, 0, 0, 0), at(utc, 2025, 1, 1, 0, 0, 0), true},
		{"single year, ended", "cron(0 0 1 1 ? 2025)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), time.Time{}, false},
		{"year range, ended", "cron(0 0 1 1 ? 2020-2022)", utc,
			at(utc, 2023, 1, 1, 0, 0, 0), time.Time{}, false},
		{"year list skips years", "cron(0 0 1 1 ? 2026,2030)", utc,
			at(utc, 2026, 1, 1, 0, 0, 0), at(utc, 2030, 1, 1, 0, 0, 0), true},
		{"year 2199 is the last", "cron(59 23 31 12 ? *)", utc,
			at(utc, 2199, 12, 31, 23, 59, 0), time.Time{}, false},
		{"after 2199", "cron(* * * * ? *)", utc,
			at(utc, 2300, 1, 1, 0, 0, 0), time.Time{}, false},
		{"before 1970 starts in 1970", "cron(0 0 1 1 ? *)", utc,
			at(utc, 1900, 5, 1, 0, 0, 0), at(utc, 1970, 1, 1, 0, 0, 0), true},
		{"February 30th never fires", "cron(0 0 30 FEB ? *)", utc,
			at(utc, 1970, 1, 1, 0, 0, 0), time.Time{}, false},
		{"February 29th in a non-leap final year never fires", "cron(0 0 29 2 ? 2197-2199)", utc,
			at(utc, 1970, 1, 1, 0, 0, 0), time.Time{}, false},
		{"February 29th", "cron(0 0 29 2 ? *)", utc,
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2028, 2, 29, 0, 0, 0), true},

		// Daylight saving time in New York: 2025-03-09 02:00 EST jumps to 03:00 EDT.
		{"wall time in the spring gap is skipped", "cron(30 2 * * ? *)", ny,
			at(ny, 2025, 3, 8, 12, 0, 0), at(ny, 2025, 3, 10, 2, 30, 0), true},
		{"every 30 minutes across the spring gap", "cron(0/30 * * * ? *)", ny,
			at(ny, 2025, 3, 9, 1, 30, 0), at(ny, 2025, 3, 9, 3, 0, 0), true},
		{"repeated wall time fires at its first instant", "cron(30 1 * * ? *)", ny,
			at(ny, 2025, 11, 2, 0, 0, 0), firstOneThirty, true},
		{"repeated wall time fires once", "cron(30 1 * * ? *)", ny,
			firstOneThirty, at(ny, 2025, 11, 3, 1, 30, 0), true},
		{"from inside the repeated hour", "cron(30 1 * * ? *)", ny,
			secondOneThirty.Add(-time.Minute), at(ny, 2025, 11, 3, 1, 30, 0), true},
		{"every 30 minutes across the fall-back hour", "cron(0/30 * * * ? *)", ny,
			firstOneThirty, at(ny, 2025, 11, 2, 2, 0, 0), true},

		// rate: multiples of the period since the Unix epoch.
		{"rate 5 minutes", "rate(5 minutes)", utc,
			at(utc, 2025, 1, 1, 10, 7, 30), at(utc, 2025, 1, 1, 10, 10, 0), true},
		{"rate 5 minutes on a multiple", "rate(5 minutes)", utc,
			at(utc, 2025, 1, 1, 10, 10, 0), at(utc, 2025, 1, 1, 10, 15, 0), true},
		{"rate 1 minute", "rate(1 minute)", utc,
			at(utc, 2025, 1, 1, 10, 7, 0).Add(time.Nanosecond), at(utc, 2025, 1, 1, 10, 8, 0), true},
		{"rate 1 hour", "rate(1 hour)", utc,
			at(utc, 2025, 1, 1, 10, 0, 0), at(utc, 2025, 1, 1, 11, 0, 0), true},
		{"rate 12 hours", "rate(12 hours)", utc,
			at(utc, 2025, 1, 1, 10, 0, 0), at(utc, 2025, 1, 1, 12, 0, 0), true},
		{"rate 1 day counts from the epoch, not local midnight", "rate(1 day)", tokyo,
			at(tokyo, 2025, 1, 1, 10, 0, 0), at(tokyo, 2025, 1, 2, 9, 0, 0), true},
		{"rate 7 days", "rate(7 days)", utc, // 1970-01-01 was a Thursday
			at(utc, 2025, 1, 1, 0, 0, 0), at(utc, 2025, 1, 2, 0, 0, 0), true},
		{"rate before 1970", "rate(1 hour)", utc,
			at(utc, 1969, 12, 31, 22, 30, 0), at(utc, 1969, 12, 31, 23, 0, 0), true},
		{"rate with extra spaces", "rate( 2  hours )", utc,
			at(utc, 2025, 1, 1, 1, 0, 0), at(utc, 2025, 1, 1, 2, 0, 0), true},

		// at: one time.
		{"at, before", "at(2025-03-01T10:00:00)", tokyo,
			at(tokyo, 2025, 3, 1, 9, 59, 59), at(tokyo, 2025, 3, 1, 10, 0, 0), true},
		{"at, exactly", "at(2025-03-01T10:00:00)", tokyo,
			at(tokyo, 2025, 3, 1, 10, 0, 0), time.Time{}, false},
		{"at, after", "at(2025-03-01T10:00:00)", tokyo,
			at(tokyo, 2025, 3, 2, 0, 0, 0), time.Time{}, false},
		{"at is evaluated in the schedule's zone", "at(2025-03-01T10:00:00)", tokyo,
			at(utc, 2025, 3, 1, 0, 59, 0), at(utc, 2025, 3, 1, 1, 0, 0), true},
		{"at in the spring gap moves forward", "at(2025-03-09T02:30:00)", ny,
			at(ny, 2025, 3, 9, 0, 0, 0), at(ny, 2025, 3, 9, 3, 30, 0), true},
		{"at repeated wall time uses the first instant", "at(2025-11-02T01:30:00)", ny,
			at(ny, 2025, 11, 2, 0, 0, 0), firstOneThirty, true},
		{"nil location is UTC", "at(2025-03-01T10:00:00)", nil,
			at(utc, 2025, 3, 1, 0, 0, 0), at(utc, 2025, 3, 1, 10, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.expr, tt.loc)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			got, gotOK := e.Next(tt.after)
			if gotOK != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("Parse(%q).Next(%v) = %v, %v; want %v, %v", tt.expr, tt.after, got, gotOK, tt.want, tt.wantOK)
			}
			wantLoc := tt.loc
			if wantLoc == nil {
				wantLoc = time.UTC
			}
			if gotOK && got.Location() != wantLoc {
				t.Errorf("Parse(%q).Next(%v) location = %v; want %v", tt.expr, tt.after, got.Location(), wantLoc)
			}
		})
	}
}

func TestNextSequence(t *testing.T) {
	tokyo := mustLoad(t, "Asia/Tokyo")
	tests := []struct {
		name  string
		expr  string
		after time.Time
		want  []string
		ends  bool // Next reports false after the last wanted fire time
	}{
		{"weekdays at 13:00", "cron(0 13 ? * MON-FRI *)", time.Date(2025, 1, 9, 0, 0, 0, 0, tokyo), []string{
			"2025-01-09T13:00:00+09:00", "2025-01-10T13:00:00+09:00", "2025-01-13T13:00:00+09:00", "2025-01-14T13:00:00+09:00",
		}, false},
		{"every 15 minutes", "cron(*/15 * * * ? *)", time.Date(2025, 1, 1, 23, 20, 0, 0, tokyo), []string{
			"2025-01-01T23:30:00+09:00", "2025-01-01T23:45:00+09:00", "2025-01-02T00:00:00+09:00", "2025-01-02T00:15:00+09:00",
		}, false},
		{"last Friday", "cron(0 10 ? * 6L 2025)", time.Date(2025, 10, 1, 0, 0, 0, 0, tokyo), []string{
			"2025-10-31T10:00:00+09:00", "2025-11-28T10:00:00+09:00", "2025-12-26T10:00:00+09:00",
		}, true},
		{"rate 20 minutes", "rate(20 minutes)", time.Date(2025, 1, 1, 0, 1, 0, 0, tokyo), []string{
			"2025-01-01T00:20:00+09:00", "2025-01-01T00:40:00+09:00", "2025-01-01T01:00:00+09:00",
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.expr, tokyo)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			var got []string
			next := tt.after
			for range tt.want {
				var ok bool
				if next, ok = e.Next(next); !ok {
					break
				}
				got = append(got, next.Format(time.RFC3339))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q; want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("fire %d = %s; want %s", i, got[i], tt.want[i])
				}
			}
			if after, ok := e.Next(next); ok == tt.ends {
				t.Errorf("Next(%v) = %v, %v; want ok = %v", next, after, ok, !tt.ends)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		// Expression shape.
		{"", `schedule "": must be cron(...), rate(...) or at(...)`},
		{"every(5 minutes)", `schedule "every(5 minutes)": must be cron(...), rate(...) or at(...)`},
		{"cron(0 13 * * ? *", `schedule "cron(0 13 * * ? *": missing closing parenthesis`},
		{"cron(0 13 * * ?)", `cron "0 13 * * ?": want 6 fields (minutes hours day-of-month month day-of-week year), got 5`},
		{"cron(0 13 * * ? * *)", `cron "0 13 * * ? * *": want 6 fields (minutes hours day-of-month month day-of-week year), got 7`},

		// "?" rules.
		{"cron(0 13 ? * ? *)", `cron "0 13 ? * ? *": day-of-month and day-of-week cannot both be "?"`},
		{"cron(0 13 * * * *)", `cron "0 13 * * * *": one of day-of-month "*" and day-of-week "*" must be "?"`},
		{"cron(0 13 1 * MON *)", `cron "0 13 1 * MON *": one of day-of-month "1" and day-of-week "MON" must be "?"`},
		{"cron(? 13 * * ? *)", `cron minutes "?": "?" is only allowed in day-of-month and day-of-week`},
		{"cron(0 13 ?,1 * ? *)", `cron day-of-month "?,1": "?" must be the only value of the field`},

		// Ranges of values.
		{"cron(60 13 * * ? *)", `cron minutes "60": out of range 0-59`},
		{"cron(0 24 * * ? *)", `cron hours "24": out of range 0-23`},
		{"cron(0 13 0 * ? *)", `cron day-of-month "0": out of range 1-31`},
		{"cron(0 13 32 * ? *)", `cron day-of-month "32": out of range 1-31`},
		{"cron(0 13 * 13 ? *)", `cron month "13": out of range 1-12`},
		{"cron(0 13 ? * 8 *)", `cron day-of-week "8": out of range 1-7`},
		{"cron(0 13 ? * 0 *)", `cron day-of-week "0": out of range 1-7`},
		{"cron(0 13 * * ? 1969)", `cron year "1969": out of range 1970-2199`},
		{"cron(0 13 * * ? 2200)", `cron year "2200": out of range 1970-2199`},
		{"cron(0 13 * * ? 2025-2200)", `cron year "2200": out of range 1970-2199`},
		{"cron(99999999999999999999 13 * * ? *)", `cron minutes "99999999999999999999": out of range 0-59`},

		// Bad tokens.
		{"cron(x 13 * * ? *)", `cron minutes "x": invalid value: want 0-59`},
		{"cron(-1 13 * * ? *)", `cron minutes "-1": invalid range`},
		{"cron(0 13 * FOO ? *)", `cron month "FOO": invalid value: want 1-12 or JAN-DEC`},
		{"cron(0 13 ? * MONDAY *)", `cron day-of-week "MONDAY": invalid value: want 1-7 or SUN-SAT`},
		{"cron(0 13 ? * JAN *)", `cron day-of-week "JAN": invalid value: want 1-7 or SUN-SAT`},
		{"cron(0 13 * JAN,,FEB ? *)", `cron month "JAN,,FEB": empty list element`},
		{"cron(0 22-2 * * ? *)", `cron hours "22-2": range start 22 is after end 2`},
		{"cron(0 13 ? * FRI-MON *)", `cron day-of-week "FRI-MON": range start FRI is after end MON`},
		{"cron(*/0 13 * * ? *)", `cron minutes "*/0": step "0" must be a positive integer`},
		{"cron(*/ 13 * * ? *)", `cron minutes "*/": step "" must be a positive integer`},
		{"cron(*/x 13 * * ? *)", `cron minutes "*/x": step "x" must be a positive integer`},
		{"cron(0 L * * ? *)", `cron hours "L": invalid value: want 0-23`},
		{"cron(0 13 * * ? */+1)", `cron year "*/+1": step "+1" must be a positive integer`},

		// L, W and #.
		{"cron(0 13 L,15 * ? *)", `cron day-of-month "L,15": L and W must be the only value of the field`},
		{"cron(0 13 1-15W * ? *)", `cron day-of-month "1-15W": L and W must be the only value of the field`},
		{"cron(0 13 32W * ? *)", `cron day-of-month "32": out of range 1-31`},
		{"cron(0 13 W * ? *)", `cron day-of-month "W": W needs a day of the month, as in 15W`},
		{"cron(0 13 ? * #3 *)", `cron day-of-week "#3": # needs a day of the week, as in 6#3`},
		{"cron(0 13 ? * 6# *)", `cron day-of-week "6#": occurrence "" out of range 1-5`},
		{"cron(0 13 L-3 * ? *)", `cron day-of-month "L-3": L and W must be the only value of the field`},
		{"cron(0 13 ? * 15W *)", `cron day-of-week "15W": invalid value: want 1-7 or SUN-SAT`},
		{"cron(0 13 ? * 8L *)", `cron day-of-week "8": out of range 1-7`},
		{"cron(0 13 ? * MON-FRIL *)", `cron day-of-week "MON-FRIL": L must be the only value of the field`},
		{"cron(0 13 ? * 6#6 *)", `cron day-of-week "6#6": occurrence "6" out of range 1-5`},
		{"cron(0 13 ? * 6#0 *)", `cron day-of-week "6#0": occurrence "0" out of range 1-5`},
		{"cron(0 13 ? * 8#1 *)", `cron day-of-week "8": out of range 1-7`},
		{"cron(0 13 ? * 3#1,6#3 *)", `cron day-of-week "3#1,6#3": "#" must be the only value of the field`},
		{"cron(0 13 1#1 * ? *)", `cron day-of-month "1#1": "#" is only allowed in day-of-week, as the only value of the field`},

		// rate.
		{"rate(1 minutes)", `rate "1 minutes": unit "minutes" must be singular "minute" when the value is 1`},
		{"rate(5 minute)", `rate "5 minute": unit "minute" must be plural "minutes" when the value is not 1`},
		{"rate(1 hours)", `rate "1 hours": unit "hours" must be singular "hour" when the value is 1`},
		{"rate(2 hour)", `rate "2 hour": unit "hour" must be plural "hours" when the value is not 1`},
		{"rate(1 days)", `rate "1 days": unit "days" must be singular "day" when the value is 1`},
		{"rate(3 day)", `rate "3 day": unit "day" must be plural "days" when the value is not 1`},
		{"rate(0 minutes)", `rate value "0": must be a positive integer`},
		{"rate(-5 minutes)", `rate value "-5": must be a positive integer`},
		{"rate(+5 minutes)", `rate value "+5": must be a positive integer`},
		{"rate(1.5 hours)", `rate value "1.5": must be a positive integer`},
		{"rate(5 seconds)", `rate unit "seconds": must be minute, minutes, hour, hours, day or days`},
		{"rate(2 weeks)", `rate unit "weeks": must be minute, minutes, hour, hours, day or days`},
		{"rate(5 Minutes)", `rate unit "Minutes": must be minute, minutes, hour, hours, day or days`},
		{"rate(5)", `rate "5": want "value unit", such as "5 minutes"`},
		{"rate(5 minutes now)", `rate "5 minutes now": want "value unit", such as "5 minutes"`},
		{"rate(9223372036854775807 days)", `rate value "9223372036854775807": too large`},

		// at.
		{"at(2025-13-01T00:00:00)", `at "2025-13-01T00:00:00": want yyyy-mm-ddThh:mm:ss: parsing time "2025-13-01T00:00:00": month out of range`},
		{"at(2025-02-30T00:00:00)", `at "2025-02-30T00:00:00": want yyyy-mm-ddThh:mm:ss: parsing time "2025-02-30T00:00:00": day out of range`},
		{"at(2025-03-01 10:00:00)", `at "2025-03-01 10:00:00": want yyyy-mm-ddThh:mm:ss: parsing time "2025-03-01 10:00:00" as "2006-01-02T15:04:05": cannot parse " 10:00:00" as "T"`},
		{"at(2025-03-01T10:00)", `at "2025-03-01T10:00": want yyyy-mm-ddThh:mm:ss: parsing time "2025-03-01T10:00" as "2006-01-02T15:04:05": cannot parse "" as ":"`},
		{"at(2025-03-01T10:00:00.5)", `at "2025-03-01T10:00:00.5": want yyyy-mm-ddThh:mm:ss: extra text after the seconds`},
		{"at(2025-03-01T10:00:00Z)", `at "2025-03-01T10:00:00Z": want yyyy-mm-ddThh:mm:ss: parsing time "2025-03-01T10:00:00Z": extra text: "Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr, time.UTC)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, nil; want error %q", tt.expr, e, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, expr := range []string{
		"cron(0 13 * * ? *)",
		"cron(0 13 ? * * *)",
		"cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0 0 1 jan-dec/2 ? 2025/5)",
		"cron(0 0 LW * ? *)",
		"cron(0 0 lw * ? *)",
		"cron(0 0 ? * sun,sat *)",
		"cron(0 0 ? * 1#5 *)",
		"cron(0 0 ? * SAT#1 *)",
		"cron(0 0 ? * 1L *)",
		"cron(0 0 ? * L *)",
		"cron(0\t0  ? * L *)",
		"  rate(1 day)  ",
		"rate(1440 minutes)",
		"at(2199-12-31T23:59:59)",
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := Parse(expr, time.UTC); err != nil {
				t.Errorf("Parse(%q): %v", expr, err)
			}
		})
	}
}

// TestNeverFiresIsBounded checks that schedules that never fire again stop
// quickly instead of searching forever.
func TestNeverFiresIsBounded(t *testing.T) {
	for _, expr := range []string{
		"cron(0 0 30 2 ? *)",
		"cron(0 0 31 4,6,9,11 ? *)",
		"cron(0 0 ? 2 2#5 2197-2199)", // no February in those years has five Mondays
		"cron(* * 29 FEB ? 2197-2199)",
	} {
		t.Run(expr, func(t *testing.T) {
			e, err := Parse(expr, time.UTC)
			if err != nil {
				t.Fatalf("Parse(%q): %v", expr, err)
			}
			start := time.Now()
			got, ok := e.Next(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
			if ok {
				t.Errorf("Next = %v, true; want false", got)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Next took %v", d)
			}
		})
	}
}
