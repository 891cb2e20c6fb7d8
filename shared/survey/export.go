package survey

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/master"
)

// MaxExportDays is the longest range of a daily download.
const MaxExportDays = 31

// MaxExportWeeks is the longest range of a weekly download: a year.
const MaxExportWeeks = 53

// MaxExportPage is the largest page of surveys as JSON.
const MaxExportPage = 100

// Export is what a download (ダウンロード) covers: the surveys of one kind
// of an area, from..to (JST dates for daily surveys, ISO weeks for weekly
// ones), both included.
type Export struct {
	Kind string `json:"kind"`
	Area Area   `json:"area"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Check checks the kind and the range.
func (e Export) Check() error {
	var span func(from, to string) int
	limit := MaxExportDays
	switch e.Kind {
	case DailyKind.Name:
		if _, err := ParseDay("from", e.From); err != nil {
			return err
		}
		if _, err := ParseDay("to", e.To); err != nil {
			return err
		}
		span = DailyKind.span
	case WeeklyKind.Name:
		if _, err := ParseWeek("from", e.From); err != nil {
			return err
		}
		if _, err := ParseWeek("to", e.To); err != nil {
			return err
		}
		span, limit = WeeklyKind.span, MaxExportWeeks
	default:
		return apperr.InvalidField("kind", "調査の種類は日次（daily）か週次（weekly）です。", "kind must be daily or weekly")
	}
	if e.To < e.From {
		return apperr.InvalidField("to", "終了は開始以降にしてください。", "to must not be before from")
	}
	if n := span(e.From, e.To); n > limit {
		unit, unitEn := "日", "days"
		if e.Kind == WeeklyKind.Name {
			unit, unitEn = "週", "weeks"
		}
		return apperr.InvalidField("to", fmt.Sprintf("一度にダウンロードできるのは%d%s分までです。", limit, unit),
			fmt.Sprintf("a download covers at most %d %s", limit, unitEn))
	}
	return nil
}

// Periods is the number of days or weeks e covers.
func (e Export) Periods() int {
	if e.Kind == WeeklyKind.Name {
		return WeeklyKind.span(e.From, e.To)
	}
	return DailyKind.span(e.From, e.To)
}

// next is the period after p.
func (e Export) next(p string) string {
	if e.Kind == WeeklyKind.Name {
		monday, _ := ParseWeek("week", p)
		return string(WeekOf(monday.AddDate(0, 0, 7)))
	}
	return AddDays(p, 1)
}

// ExportRow is one survey of a download.
type ExportRow struct {
	Period           string    `json:"period"`
	InstitutionCode  string    `json:"institutionCode"`
	HealthCenterCode string    `json:"healthCenterCode"`
	Version          int64     `json:"version"`
	UpdatedAt        time.Time `json:"updatedAt"`
	UpdatedBy        string    `json:"updatedBy"`
	Values           any       `json:"values"` // Daily or Weekly
	cells            func(dst []string) []string
}

func rowOf[T any](s schema[T], rec Record[T], where authz.Scope) ExportRow {
	return ExportRow{Period: rec.Period, InstitutionCode: rec.InstitutionCode, HealthCenterCode: where.HealthCenterCode,
		Version: rec.Version, UpdatedAt: rec.UpdatedAt, UpdatedBy: rec.UpdatedBy, Values: rec.Values,
		cells: func(dst []string) []string {
			for _, f := range s.fields {
				dst = append(dst, cell(f, &rec.Values))
			}
			return dst
		}}
}

// header is a download's header row, one column per field.
func header[T any](first string, s schema[T]) []string {
	h := []string{first, "医療機関コード", "医療機関名", "保健所コード", "バージョン", "更新日時", "更新者"}
	for _, f := range s.fields {
		h = append(h, f.label)
	}
	return h
}

var (
	dailyHeader  = header("調査日", dailySchema)
	weeklyHeader = header("調査週", weeklySchema)
)

// Exports reads the surveys of an area for a range, a row at a time: as
// Excel CSV, as JSON pages for programs, or in parts for an export job.
type Exports struct {
	store AreaStore
	key   []byte
}

// NewExports returns Exports; cursorKey signs the cursors of JSON pages.
func NewExports(store AreaStore, cursorKey []byte) *Exports {
	return &Exports{store: store, key: cursorKey}
}

// errStop ends a walk over rows early.
var errStop = errors.New("stop")

// each calls fn with each survey of e after (afterPeriod, afterCode), in
// period and then institution code order.
func (x *Exports) each(ctx context.Context, e Export, afterPeriod, afterCode string, fn func(ExportRow) error) error {
	first := e.From
	if afterPeriod != "" {
		first = afterPeriod
	}
	for p := first; p <= e.To; p = e.next(p) {
		after := ""
		if p == afterPeriod {
			after = afterCode
		}
		var err error
		if e.Kind == WeeklyKind.Name {
			err = x.store.EachWeekly(ctx, p, e.Area.PrefectureCode, after, func(rec Record[Weekly], where authz.Scope) error {
				if e.Area.HealthCenterCode != "" && where.HealthCenterCode != e.Area.HealthCenterCode {
					return nil
				}
				return fn(rowOf(weeklySchema, rec, where))
			})
		} else {
			err = x.store.EachDaily(ctx, p, e.Area.PrefectureCode, after, func(rec Record[Daily], where authz.Scope) error {
				if e.Area.HealthCenterCode != "" && where.HealthCenterCode != e.Area.HealthCenterCode {
					return nil
				}
				return fn(rowOf(dailySchema, rec, where))
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Names reads the names of the institutions of a prefecture, which the
// CSV shows beside their codes.
func (x *Exports) Names(ctx context.Context, prefecture string) (map[string]string, error) {
	names := map[string]string{}
	err := x.store.EachInstitution(ctx, prefecture, func(r master.Record) error {
		names[r.Code] = r.Fields["name"]
		return nil
	})
	return names, err
}

// csvRows writes the rows of e after the position given through cw, and
// stops (returning errStop) once full reports true after a row.
type csvRows struct {
	cw    *csvio.Writer
	names map[string]string
	row   []string
}

func (c *csvRows) write(r ExportRow) error {
	c.row = append(c.row[:0], r.Period, r.InstitutionCode, c.names[r.InstitutionCode], r.HealthCenterCode,
		strconv.FormatInt(r.Version, 10), r.UpdatedAt.In(JST).Format("2006/01/02 15:04:05"), r.UpdatedBy)
	c.row = r.cells(c.row)
	return c.cw.Write(c.row)
}

func headerOf(kind string) []string {
	if kind == WeeklyKind.Name {
		return weeklyHeader
	}
	return dailyHeader
}

// CSV writes the surveys of e as Excel CSV (UTF-8 with BOM, CRLF,
// formula-safe), one row per institution and period, a row at a time:
// what it holds at once is one page of the store and the names of the
// prefecture's institutions. It returns the rows written.
func (x *Exports) CSV(ctx context.Context, e Export, w io.Writer) (int, error) {
	if err := e.Check(); err != nil {
		return 0, err
	}
	names, err := x.Names(ctx, e.Area.PrefectureCode)
	if err != nil {
		return 0, err
	}
	cw, err := csvio.NewWriter(w)
	if err != nil {
		return 0, err
	}
	if err := cw.Write(headerOf(e.Kind)); err != nil {
		return 0, err
	}
	out := &csvRows{cw: cw, names: names}
	rows := 0
	err = x.each(ctx, e, "", "", func(r ExportRow) error {
		rows++
		return out.write(r)
	})
	if err != nil {
		return rows, err
	}
	return rows, cw.Flush()
}

// Part writes, for an export job, the rows of e after (afterPeriod,
// afterCode) into buf until buf holds at least size bytes or the rows
// end; the first part (no position) starts with the BOM and the header.
// It returns the position after the last row written and whether the
// rows ended.
func (x *Exports) Part(ctx context.Context, e Export, names map[string]string, afterPeriod, afterCode string, buf *bytes.Buffer, size int) (period, code string, rows int, done bool, err error) {
	cw, err := csvio.NewWriter(buf)
	if err != nil {
		return "", "", 0, false, err
	}
	if afterPeriod == "" {
		if err := cw.Write(headerOf(e.Kind)); err != nil {
			return "", "", 0, false, err
		}
	} else {
		buf.Reset() // the BOM belongs to the first part only
	}
	out := &csvRows{cw: cw, names: names}
	period, code = afterPeriod, afterCode
	err = x.each(ctx, e, afterPeriod, afterCode, func(r ExportRow) error {
		if err := out.write(r); err != nil {
			return err
		}
		rows++
		period, code = r.Period, r.InstitutionCode
		cw.Flush()
		if buf.Len() >= size {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return period, code, rows, false, cw.Flush()
	}
	if err != nil {
		return "", "", rows, false, err
	}
	return period, code, rows, true, cw.Flush()
}

// ExportPage is one page of a download as JSON.
type ExportPage struct {
	Export
	Surveys    []ExportRow `json:"surveys"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// Page returns up to limit (1 to MaxExportPage) surveys of e after cursor
// ("" for the first page). The cursor is opaque and signed: it works only
// for the same question, and one changed by hand is refused.
func (x *Exports) Page(ctx context.Context, e Export, cursor string, limit int) (ExportPage, error) {
	if err := e.Check(); err != nil {
		return ExportPage{}, err
	}
	if limit < 1 || limit > MaxExportPage {
		return ExportPage{}, apperr.InvalidField("limit", fmt.Sprintf("limit は1〜%dで指定してください。", MaxExportPage),
			fmt.Sprintf("limit must be 1 to %d", MaxExportPage))
	}
	afterPeriod, afterCode := "", ""
	if cursor != "" {
		var err error
		if afterPeriod, afterCode, err = x.openCursor(e, cursor); err != nil {
			return ExportPage{}, err
		}
	}
	out := ExportPage{Export: e, Surveys: []ExportRow{}}
	more := false
	err := x.each(ctx, e, afterPeriod, afterCode, func(r ExportRow) error {
		if len(out.Surveys) == limit {
			more = true
			return errStop
		}
		out.Surveys = append(out.Surveys, r)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return ExportPage{}, err
	}
	if more {
		last := out.Surveys[limit-1]
		out.NextCursor = x.sealCursor(e, last.Period, last.InstitutionCode)
	}
	return out, nil
}

// cursorMAC binds a position to the question it was given for.
func (x *Exports) cursorMAC(e Export, pos string) []byte {
	m := hmac.New(sha256.New, x.key)
	fmt.Fprintf(m, "%s|%s|%s|%s|%s|%s", e.Kind, e.Area.PrefectureCode, e.Area.HealthCenterCode, e.From, e.To, pos)
	return m.Sum(nil)[:16]
}

func (x *Exports) sealCursor(e Export, period, code string) string {
	pos := period + "|" + code
	return base64.RawURLEncoding.EncodeToString([]byte(pos)) + "." + base64.RawURLEncoding.EncodeToString(x.cursorMAC(e, pos))
}

func (x *Exports) openCursor(e Export, cursor string) (string, string, error) {
	bad := apperr.InvalidField("cursor", "ページの指定（cursor）が正しくありません。最初のページから読み直してください。",
		"malformed cursor: start again from the first page")
	p, m, ok := strings.Cut(cursor, ".")
	if !ok || len(cursor) > 200 {
		return "", "", bad
	}
	pos, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, x.cursorMAC(e, string(pos))) {
		return "", "", bad
	}
	period, code, ok := strings.Cut(string(pos), "|")
	if !ok {
		return "", "", bad
	}
	return period, code, nil
}
