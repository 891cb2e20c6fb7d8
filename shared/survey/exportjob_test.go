package survey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/job"
	"github.com/gmis-oss/gmis/shared/master"
)

// areaStore is an AreaStore over a fixed set of daily surveys.
type areaStore struct {
	AreaStore
	daily map[string][]Record[Daily] // by day, in code order
}

func (s areaStore) EachInstitution(_ context.Context, _ string, fn func(master.Record) error) error {
	return fn(master.Record{Code: "1310000001", Fields: map[string]string{"name": "=病院"}})
}

func (s areaStore) EachDaily(_ context.Context, day, _, after string, fn func(Record[Daily], authz.Scope) error) error {
	for _, r := range s.daily[day] {
		if r.InstitutionCode <= after {
			continue
		}
		if err := fn(r, authz.Scope{PrefectureCode: "13", HealthCenterCode: "1301"}); err != nil {
			return err
		}
	}
	return nil
}

// parts keeps parts in memory; failPut fails the put of that part once.
type parts struct {
	whole    []byte
	uploads  int
	parts    map[int32][]byte
	finished []byte
	failPut  int32
}

func (p *parts) PutWhole(_ context.Context, _, _, _ string, data []byte) error {
	p.whole = bytes.Clone(data)
	return nil
}

func (p *parts) BeginParts(context.Context, string, string, string) (string, error) {
	p.uploads++
	p.parts = map[int32][]byte{}
	return fmt.Sprint("upload", p.uploads), nil
}

func (p *parts) PutPart(_ context.Context, _, _ string, n int32, data []byte) (string, error) {
	if n == p.failPut {
		p.failPut = 0
		return "", errors.New("lost")
	}
	p.parts[n] = bytes.Clone(data)
	return fmt.Sprintf(`"etag%d-%d"`, n, len(data)), nil
}

func (p *parts) FinishParts(_ context.Context, _, _ string, etags []string) error {
	p.finished = nil
	for i, e := range etags {
		n := int32(i + 1)
		if e != fmt.Sprintf(`"etag%d-%d"`, n, len(p.parts[n])) {
			return fmt.Errorf("part %d: etag %s", n, e)
		}
		p.finished = append(p.finished, p.parts[n]...)
	}
	return nil
}

func exportStore(days, perDay int) areaStore {
	s := areaStore{daily: map[string][]Record[Daily]{}}
	for d := range days {
		day := AddDays("2026-11-01", d)
		for i := range perDay {
			s.daily[day] = append(s.daily[day], Record[Daily]{InstitutionCode: fmt.Sprintf("13100%05d", i), Period: day, Version: 1,
				UpdatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, JST), UpdatedBy: "U1", Values: Daily{Staffing: StaffNormal}})
		}
	}
	return s
}

// TestExportJobInParts runs an export whose file takes several parts, with
// an invocation lost in the middle, and compares the file with the
// synchronous download of the same range.
func TestExportJobInParts(t *testing.T) {
	store := exportStore(3, 40)
	x := NewExports(store, []byte("k"))
	e := Export{Kind: DailyKind.Name, Area: Area{PrefectureCode: "13"}, From: "2026-11-01", To: "2026-11-03"}
	var want bytes.Buffer
	rows, err := x.CSV(context.Background(), e, &want)
	if err != nil || rows != 120 {
		t.Fatalf("CSV = %d rows, %v", rows, err)
	}
	p := &parts{failPut: 3}
	h := NewExportJob(x, p, func(job.Job) string { return "exports/u/j.csv" }, 2000)
	j := job.Job{ID: "j", Params: ExportParams(e), Counts: map[string]int{}}
	if err := h.Validate(context.Background(), &j); err != nil || j.RowsTotal != 3 {
		t.Fatalf("Validate = %v, %d periods", err, j.RowsTotal)
	}
	steps, lost := 0, 0
	for done := false; !done; steps++ {
		saved := j
		saved.Params, saved.Counts = clone(j.Params), clone(j.Counts)
		done, err = h.Step(context.Background(), &j)
		if err != nil {
			j, lost = saved, lost+1 // the checkpoint was not saved: resume from the last one
			continue
		}
		if steps > 200 {
			t.Fatal("the export does not end")
		}
		if !done && (j.RowsDone < 0 || j.RowsDone >= 3) {
			t.Errorf("step %d: %d of 3 periods done", steps, j.RowsDone)
		}
	}
	if lost != 1 || p.uploads != 1 || len(p.parts) < 3 || p.whole != nil {
		t.Fatalf("lost %d, uploads %d, parts %d, whole %v", lost, p.uploads, len(p.parts), p.whole != nil)
	}
	if !bytes.Equal(p.finished, want.Bytes()) {
		t.Errorf("the file in parts differs from the download:\n%q\nwant\n%q", p.finished, want.Bytes())
	}
	if j.Counts["rows"] != 120 || j.RowsDone != 3 || !strings.HasPrefix(string(p.finished), "\ufeff調査日,") || strings.Count(string(p.finished), "\ufeff") != 1 {
		t.Errorf("rows %d, periods %d", j.Counts["rows"], j.RowsDone)
	}
}

// TestExportJobSmall writes a file that fits one part in one piece.
func TestExportJobSmall(t *testing.T) {
	x := NewExports(exportStore(1, 2), []byte("k"))
	e := Export{Kind: DailyKind.Name, Area: Area{PrefectureCode: "13"}, From: "2026-11-01", To: "2026-11-01"}
	p := &parts{}
	h := NewExportJob(x, p, func(job.Job) string { return "k" }, 0)
	j := job.Job{ID: "j", Params: ExportParams(e), Counts: map[string]int{}}
	done, err := h.Step(context.Background(), &j)
	if err != nil || !done || p.uploads != 0 || strings.Count(string(p.whole), "\r\n") != 3 || j.Counts["rows"] != 2 {
		t.Errorf("done %v, err %v, uploads %d, file %q", done, err, p.uploads, p.whole)
	}
}

func TestExportPages(t *testing.T) {
	x := NewExports(exportStore(2, 3), []byte("k"))
	e := Export{Kind: DailyKind.Name, Area: Area{PrefectureCode: "13"}, From: "2026-11-01", To: "2026-11-02"}
	var got []string
	cursor := ""
	for range 10 {
		page, err := x.Page(context.Background(), e, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Surveys {
			got = append(got, s.Period+"/"+s.InstitutionCode[8:])
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if want := "2026-11-01/00,2026-11-01/01,2026-11-01/02,2026-11-02/00,2026-11-02/01,2026-11-02/02"; strings.Join(got, ",") != want {
		t.Errorf("pages = %v, want %s", got, want)
	}
	page, _ := x.Page(context.Background(), e, "", 4)
	other := e
	other.Area.HealthCenterCode = "1302"
	for name, tc := range map[string]struct {
		e      Export
		cursor string
	}{
		"another area": {other, page.NextCursor},
		"forged":       {e, x.sealCursor(e, "2026-11-01", "1310000002") + "x"},
		"another key":  {e, NewExports(nil, []byte("other")).sealCursor(e, "2026-11-01", "1310000002")},
	} {
		if _, err := x.Page(context.Background(), tc.e, tc.cursor, 4); err == nil {
			t.Errorf("%s cursor accepted", name)
		}
	}
}

func clone[V any](m map[string]V) map[string]V {
	out := map[string]V{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
