// Package calendar is the business calendar (営業日) of the SOS deadline:
// JST days without Saturdays, Sundays, Japanese national holidays
// (国民の祝日, computed by rule) and the year-end holidays of Dec 29 –
// Jan 3, and the 13:00 JST cutoff that decides which business day a
// request belongs to. It depends on nothing but the standard library.
package calendar

import (
	"math"
	"time"
)

// JST is Japan Standard Time (UTC+9, no daylight saving), fixed so that
// the calendar does not depend on the system's zone database.
var JST = time.FixedZone("JST", 9*60*60)

// Layout is how a business day is written: a JST date.
const Layout = "2006-01-02"

// CutoffHour is the hour (JST) of the daily deadline: a request applied
// before 13:00 is handled that business day, later ones the next (注1).
const CutoffHour = 13

// Date returns midnight JST of y-m-d.
func Date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, JST) }

// DayOf returns midnight JST of t's JST date.
func DayOf(t time.Time) time.Time {
	t = t.In(JST)
	return Date(t.Year(), t.Month(), t.Day())
}

// Parse reads a JST date written as Layout.
func Parse(s string) (time.Time, error) { return time.ParseInLocation(Layout, s, JST) }

// Format writes t's JST date as Layout.
func Format(t time.Time) string { return t.In(JST).Format(Layout) }

// IsYearEnd reports whether t's JST date is in Dec 29 – Jan 3 (年末年始).
func IsYearEnd(t time.Time) bool {
	t = t.In(JST)
	return (t.Month() == time.December && t.Day() >= 29) || (t.Month() == time.January && t.Day() <= 3)
}

// IsBusinessDay reports whether t's JST date is a business day (営業日).
func IsBusinessDay(t time.Time) bool {
	t = DayOf(t)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	if IsYearEnd(t) {
		return false
	}
	_, holiday := Holiday(t)
	return !holiday
}

// NextBusinessDay returns the first business day after t's JST date.
func NextBusinessDay(t time.Time) time.Time {
	d := DayOf(t).AddDate(0, 0, 1)
	for !IsBusinessDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// PrevBusinessDay returns the last business day before t's JST date.
func PrevBusinessDay(t time.Time) time.Time {
	d := DayOf(t).AddDate(0, 0, -1)
	for !IsBusinessDay(d) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

// Deadline returns 13:00 JST of business day day: the end (excluded) of
// its window.
func Deadline(day time.Time) time.Time {
	d := DayOf(day)
	return time.Date(d.Year(), d.Month(), d.Day(), CutoffHour, 0, 0, 0, JST)
}

// WindowStart returns the start (included) of business day day's window:
// 13:00 JST of the business day before it.
func WindowStart(day time.Time) time.Time { return Deadline(PrevBusinessDay(day)) }

// BusinessDayOf returns the business day a request applied at t belongs
// to: t's JST date when that is a business day and t is before its 13:00,
// otherwise the next business day.
func BusinessDayOf(t time.Time) time.Time {
	d := DayOf(t)
	if IsBusinessDay(d) && t.Before(Deadline(d)) {
		return d
	}
	return NextBusinessDay(d)
}

// Holiday returns the name of the national holiday (国民の祝日 or 休日) on
// t's JST date, if it is one. The rules are those in force from 2000 on.
func Holiday(t time.Time) (string, bool) {
	t = DayOf(t)
	if name, ok := named(t); ok {
		return name, true
	}
	y := t.Year()
	// 振替休日: up to 2006 the Monday after a Sunday holiday; from 2007
	// the first day after it that is not itself a holiday.
	if y < 2007 {
		if t.Weekday() == time.Monday {
			if _, ok := named(t.AddDate(0, 0, -1)); ok {
				return "休日", true
			}
		}
	} else {
		for p := t.AddDate(0, 0, -1); ; p = p.AddDate(0, 0, -1) {
			if _, ok := named(p); !ok {
				break
			}
			if p.Weekday() == time.Sunday {
				return "休日", true
			}
		}
	}
	// 国民の休日: a day between two holidays. Up to 2006 a Sunday or a
	// substitute holiday was not one.
	_, before := named(t.AddDate(0, 0, -1))
	_, after := named(t.AddDate(0, 0, 1))
	if before && after && (y >= 2007 || t.Weekday() != time.Sunday) {
		return "休日", true
	}
	return "", false
}

// nthMonday returns the day of month of the n-th Monday of y-m.
func nthMonday(y int, m time.Month, n int) int {
	first := Date(y, m, 1).Weekday()
	return 1 + (int(time.Monday)-int(first)+7)%7 + 7*(n-1)
}

// equinox returns the day of March (vernal) or September (autumnal) of
// the equinox in year y, by the formula for 1980–2099 used to announce
// them.
func equinox(y int, base float64) int {
	n := float64(y - 1980)
	return int(math.Floor(base + 0.242194*n - math.Floor(n/4)))
}

// named returns the 国民の祝日 of t (midnight JST), without substitute and
// citizens' holidays.
func named(t time.Time) (string, bool) {
	y, m, d := t.Year(), t.Month(), t.Day()
	switch m {
	case time.January:
		if d == 1 {
			return "元日", true
		}
		if d == nthMonday(y, m, 2) {
			return "成人の日", true
		}
	case time.February:
		if d == 11 {
			return "建国記念の日", true
		}
		if d == 23 && y >= 2020 {
			return "天皇誕生日", true
		}
	case time.March:
		if d == equinox(y, 20.8431) {
			return "春分の日", true
		}
	case time.April:
		if d == 29 {
			if y >= 2007 {
				return "昭和の日", true
			}
			return "みどりの日", true
		}
	case time.May:
		switch {
		case y == 2019 && d == 1:
			return "天皇の即位の日", true
		case d == 3:
			return "憲法記念日", true
		case d == 4 && y >= 2007:
			return "みどりの日", true
		case d == 5:
			return "こどもの日", true
		}
	case time.July:
		switch {
		case y == 2020:
			if d == 23 {
				return "海の日", true
			}
			if d == 24 {
				return "スポーツの日", true
			}
		case y == 2021:
			if d == 22 {
				return "海の日", true
			}
			if d == 23 {
				return "スポーツの日", true
			}
		case y < 2003 && d == 20, y >= 2003 && d == nthMonday(y, m, 3):
			return "海の日", true
		}
	case time.August:
		switch {
		case y == 2020:
			if d == 10 {
				return "山の日", true
			}
		case y == 2021:
			if d == 8 {
				return "山の日", true
			}
		case y >= 2016 && d == 11:
			return "山の日", true
		}
	case time.September:
		if (y < 2003 && d == 15) || (y >= 2003 && d == nthMonday(y, m, 3)) {
			return "敬老の日", true
		}
		if d == equinox(y, 23.2488) {
			return "秋分の日", true
		}
	case time.October:
		if y == 2019 && d == 22 {
			return "即位礼正殿の儀", true
		}
		if y != 2020 && y != 2021 && d == nthMonday(y, m, 2) {
			if y >= 2020 {
				return "スポーツの日", true
			}
			return "体育の日", true
		}
	case time.November:
		if d == 3 {
			return "文化の日", true
		}
		if d == 23 {
			return "勤労感謝の日", true
		}
	case time.December:
		if d == 23 && y >= 1989 && y <= 2018 {
			return "天皇誕生日", true
		}
	}
	return "", false
}
