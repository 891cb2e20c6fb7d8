package master

import (
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/job"
)

func TestRejectedRowNamesEveryProblem(t *testing.T) {
	header := csvio.Row{Line: 1, Fields: []string{"医療機関コード", "名称", "郵便番号", "許可病床数", "区分", "都道府県コード", "保健所コード"}}
	cols, err := HeaderMap(Institutions, header)
	if err != nil {
		t.Fatal(err)
	}
	im := &Importer{kind: Institutions, cols: cols}
	row := csvio.Row{Line: 7, Fields: []string{"1310000001", "笑顔😀病院", "123-45678", "abc", "hospital", "13", "1301"}}
	_, problems := parseRow(Institutions, cols, row)
	var res ImportResult
	im.reject(&res, row.Line, problems...)
	if res.Rejected != 1 {
		t.Errorf("rejected = %d, want 1 row", res.Rejected)
	}
	want := []struct{ field, column, message string }{
		{"name", "B列（名称）", "名称：環境依存文字「😀」"},
		{"postalCode", "C列（郵便番号）", "郵便番号は7桁"},
		{"permittedBeds", "D列（許可病床数）", "許可病床数：0以上の整数"},
	}
	if len(res.Rejections) != len(want) {
		t.Fatalf("rejections %+v, want %d", res.Rejections, len(want))
	}
	for i, w := range want {
		got := res.Rejections[i]
		if got.Row != 7 || got.Field != w.field || got.Column != w.column || !strings.HasPrefix(got.Message, w.message) {
			t.Errorf("problem %d = %+v, want row 7 %s %s %q…", i, got, w.field, w.column, w.message)
		}
	}
}

func TestRequiredCellNamesItsHeaderOnce(t *testing.T) {
	cols, err := HeaderMap(Institutions, csvio.Row{Fields: []string{"医療機関コード", "名称", "区分", "都道府県コード", "保健所コード"}})
	if err != nil {
		t.Fatal(err)
	}
	_, problems := parseRow(Institutions, cols, csvio.Row{Line: 2, Fields: []string{"1310000001", "", "hospital", "13", ""}})
	var res ImportResult
	(&Importer{kind: Institutions, cols: cols}).reject(&res, 2, problems...)
	var got []string
	for _, p := range res.Rejections {
		got = append(got, p.Message)
	}
	want := []string{"名称を入力してください。", "保健所コードを入力してください。"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q, want %q", got, want)
	}
}

func TestRejectedRowsGroupProblemsByLine(t *testing.T) {
	cols, _ := HeaderMap(Institutions, csvio.Row{Fields: []string{"医療機関コード", "名称", "郵便番号", "区分", "都道府県コード", "保健所コード"}})
	rows := []csvio.Row{
		{Line: 2, Fields: []string{"1310000001", "笑顔😀病院", "1", "hospital", "13", "1301"}},
		{Line: 3, Fields: []string{"x", "病院", "", "hospital", "13", "1301", "余分"}},
	}
	im := &Importer{kind: Institutions, cols: cols}
	var res ImportResult
	for _, r := range rows {
		_, ps := parseRow(Institutions, cols, r)
		im.reject(&res, r.Line, ps...)
	}
	stored, err := rejectedRows(res.Rejections, rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[0].Line != 2 || stored[1].Line != 3 {
		t.Fatalf("stored rows %+v, want lines 2 and 3", stored)
	}
	if ps := rowProblems(stored[0]); len(ps) != 2 || ps[0].Field != "name" || ps[1].Field != "postalCode" {
		t.Errorf("row 2's problems %+v, want name and postalCode", ps)
	}
	if ps := rowProblems(stored[1]); len(ps) != 1 || ps[0].Field != "code" || ps[0].Column != "A列（医療機関コード）" {
		t.Errorf("row 3's problems %+v, want code", ps)
	}
	if got := rowCells(stored[1]); len(got) != 7 || got[6] != "余分" {
		t.Errorf("row 3's cells %q", got)
	}
	// A cell may hold any character, the old separator too.
	odd, err := rejectedRows([]apperr.Problem{{Row: 9, Field: "name"}}, []csvio.Row{{Line: 9, Fields: []string{"a\x1fb", "c"}}})
	if err != nil || len(odd) != 1 {
		t.Fatal(odd, err)
	}
	if got := rowCells(odd[0]); len(got) != 2 || got[0] != "a\x1fb" {
		t.Errorf("cells with a unit separator %q", got)
	}
	if got := rowCells(job.Row{Fields: map[string]string{"raw": "x" + unitSep + "y"}}); len(got) != 2 || got[1] != "y" {
		t.Errorf("cells of an old row %q", got)
	}
	if got, want := strings.Join(headerLabels(Institutions, cols), ","), "医療機関コード,名称,郵便番号,区分,都道府県コード,保健所コード"; got != want {
		t.Errorf("header labels %q, want %q", got, want)
	}
	// A row stored before rows kept all their problems still reads.
	old := stored[0]
	old.Fields = map[string]string{"column": "B列（名称）", "field": "name", "message": "名称：x", "raw": ""}
	if ps := rowProblems(old); len(ps) != 1 || ps[0].Row != 2 || ps[0].Message != "名称：x" {
		t.Errorf("legacy row's problems %+v", ps)
	}
}
