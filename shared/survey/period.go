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
		return time.Time{}, apperr.InvalidField(field, fmt.Sprintf("%sは 2026-01-05 のように指定してください。", dayFieldName(field)),
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
		return apperr.InvalidField(field, fmt.Sprintf("未来の日付（%s）の調査は入力できません。今日は%sです。", DayLabel(day), DayLabel(today)),
			fmt.Sprintf("%s is in the future (today is %s in JST)", day, today))
	}
	if oldest := AddDays(today, -backfillDays); day < oldest {
		return apperr.InvalidField(field, fmt.Sprintf("%d日より前（%sより前）の調査は入力できません。", backfillDays, DayLabel(oldest)),
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

// ParseWeek reads an ISO week (YYYY-Www) given in field and returns its
// Monday. A year has 52 or 53 ISO weeks; any other number is refused.
func ParseWeek(field, v string) (time.Time, error) {
	var y, w int
	bad := apperr.InvalidField(field, fmt.Sprintf("%sは 2026-W05 のように指定してください。", weekFieldName(field)),
		field+" must be an ISO week such as 2026-W05")
	if n, err := fmt.Sscanf(v, "%4d-W%2d", &y, &w); err != nil || n != 2 || len(v) != 8 || y < 1 {
		return time.Time{}, bad
	}
	if last := WeeksIn(y); w < 1 || w > last {
		return time.Time{}, apperr.InvalidField(field, fmt.Sprintf("%d年の週は第1週から第%d週までです（%sは %d-W%02d のように指定してください）。", y, last, weekFieldName(field), y, last),
			fmt.Sprintf("%s: %d has ISO weeks 1 to %d", field, y, last))
	}
	// Jan 4 is always in week 1.
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, JST)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+(w-1)*7)
	if WeekOf(monday) != Week(v) {
		return time.Time{}, bad // "+5" or " 5" for a week number
	}
	return monday, nil
}

// WeeksIn is the number of ISO weeks of year y: 52, or 53 when Dec 28
// (always in the last week) is in week 53.
func WeeksIn(y int) int {
	_, w := time.Date(y, 12, 28, 0, 0, 0, 0, JST).ISOWeek()
	return w
}

// Label is the week as Japanese users read it: 「2026年第5週」. A string
// that is not a week is returned as it is.
func (w Week) Label() string {
	var y, n int
	if c, err := fmt.Sscanf(string(w), "%4d-W%2d", &y, &n); err != nil || c != 2 {
		return string(w)
	}
	return fmt.Sprintf("%d年第%d週", y, n)
}

// DayLabel is a day (YYYY-MM-DD) as Japanese users read it: 「2026年1月5日」.
// A string that is not a day is returned as it is.
func DayLabel(day string) string {
	d, err := time.ParseInLocation(DayLayout, day, JST)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d年%d月%d日", d.Year(), int(d.Month()), d.Day())
}

// dayFieldName and weekFieldName are the Japanese words for the
// parameters that give a day or a week.
func dayFieldName(field string) string {
	switch field {
	case "from":
		return "開始日"
	case "to":
		return "終了日"
	}
	return "日付"
}

func weekFieldName(field string) string {
	switch field {
	case "from":
		return "開始週"
	case "to":
		return "終了週"
	}
	return "週"
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
		return apperr.InvalidField(field, fmt.Sprintf("未来の週（%s）の調査は入力できません。", Week(week).Label()), week+" is in the future")
	}
	if sunday := monday.AddDate(0, 0, 6).Format(DayLayout); sunday < AddDays(today, -backfillDays) {
		return apperr.InvalidField(field, fmt.Sprintf("%d日より前の週の調査は入力できません。", backfillDays),
			fmt.Sprintf("surveys can be entered back %d days", backfillDays))
	}
	return nil
}
