package survey

import (
	"fmt"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// JST is Japan Standard Time: survey days are JST days.
var JST = time.FixedZone("JST", 9*60*60)

// DefaultBackfillDays is how far back a survey may be entered (seed 003:
// the days of a maintenance window are entered afterwards).
const DefaultBackfillDays = 90

// DayLayout is how a survey day is written: a JST date.
const DayLayout = "2006-01-02"

// Today is the JST date of t.
func Today(t time.Time) string { return t.In(JST).Format(DayLayout) }

// ParseDay reads a JST date (YYYY-MM-DD) given in field.
func ParseDay(field, v string) (time.Time, error) {
	d, err := time.ParseInLocation(DayLayout, v, JST)
	if err != nil || d.Format(DayLayout) != v {
		return time.Time{}, apperr.InvalidField(field, fmt.Sprintf("%s は日付（YYYY-MM-DD）で指定してください。", field),
			field+" must be a date (YYYY-MM-DD)")
	}
	return d, nil
}

// AddDays returns the JST date n days after day (which must be valid).
func AddDays(day string, n int) string {
	d, _ := time.ParseInLocation(DayLayout, day, JST)
	return d.AddDate(0, 0, n).Format(DayLayout)
}

// CheckDay refuses a day after today (JST) and one further back than
// backfillDays.
func CheckDay(field, day string, now time.Time, backfillDays int) error {
	if _, err := ParseDay(field, day); err != nil {
		return err
	}
	today := Today(now)
	if day > today {
		return apperr.InvalidField(field, fmt.Sprintf("未来の日付（%s）の調査は入力できません。今日は %s です。", day, today),
			fmt.Sprintf("%s is in the future (today is %s in JST)", day, today))
	}
	if oldest := AddDays(today, -backfillDays); day < oldest {
		return apperr.InvalidField(field, fmt.Sprintf("%d日より前（%s より前）の調査は入力できません。", backfillDays, oldest),
			fmt.Sprintf("surveys can be entered back to %s (%d days)", oldest, backfillDays))
	}
	return nil
}

// Week is an ISO week (Monday start) written as 2026-W05.
type Week string

// WeekOf is the ISO week of t's JST date.
func WeekOf(t time.Time) Week {
	y, w := t.In(JST).ISOWeek()
	return Week(fmt.Sprintf("%04d-W%02d", y, w))
}

// ParseWeek reads an ISO week (YYYY-Www) given in field and returns its Monday.
func ParseWeek(field, v string) (time.Time, error) {
	var y, w int
	bad := apperr.InvalidField(field, fmt.Sprintf("%s は ISO 週（例 2026-W05）で指定してください。", field), field+" must be an ISO week such as 2026-W05")
	if n, err := fmt.Sscanf(v, "%4d-W%2d", &y, &w); err != nil || n != 2 || len(v) != 8 || w < 1 || w > 53 {
		return time.Time{}, bad
	}
	// Jan 4 is always in week 1.
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, JST)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+(w-1)*7)
	if WeekOf(monday) != Week(v) {
		return time.Time{}, bad // week 53 of a year that has 52
	}
	return monday, nil
}

// CheckWeek refuses a week that starts after today and one that ended more
// than backfillDays ago.
func CheckWeek(field, week string, now time.Time, backfillDays int) error {
	monday, err := ParseWeek(field, week)
	if err != nil {
		return err
	}
	today := Today(now)
	if monday.Format(DayLayout) > today {
		return apperr.InvalidField(field, fmt.Sprintf("未来の週（%s）の調査は入力できません。", week), week+" is in the future")
	}
	if sunday := monday.AddDate(0, 0, 6).Format(DayLayout); sunday < AddDays(today, -backfillDays) {
		return apperr.InvalidField(field, fmt.Sprintf("%d日より前の週の調査は入力できません。", backfillDays),
			fmt.Sprintf("surveys can be entered back %d days", backfillDays))
	}
	return nil
}
