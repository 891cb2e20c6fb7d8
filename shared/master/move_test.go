package master

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
)

// memStore keeps records and pending moves as the DynamoDB store does:
// an update that moves an institution leaves its move pending.
type memStore struct {
	recs  map[string]Record
	moves map[string]Move
}

func newMemStore(recs ...Record) *memStore {
	s := &memStore{recs: map[string]Record{}, moves: map[string]Move{}}
	for _, r := range recs {
		s.recs[string(r.Kind)+"#"+r.Code] = r
	}
	return s
}

func (s *memStore) GetRecords(ctx context.Context, kind Kind, codes []string) (map[string]Record, error) {
	out := map[string]Record{}
	for _, c := range codes {
		if r, err := s.GetRecord(ctx, kind, c); err == nil {
			out[c] = r
		}
	}
	return out, nil
}

func (s *memStore) GetRecord(_ context.Context, kind Kind, code string) (Record, error) {
	r, ok := s.recs[string(kind)+"#"+code]
	if !ok {
		return Record{}, apperr.New(apperr.NotFound, "なし", "not found")
	}
	r.Fields = maps.Clone(r.Fields)
	return r, nil
}

func (s *memStore) CreateRecord(_ context.Context, r Record) error {
	s.recs[string(r.Kind)+"#"+r.Code] = r
	return nil
}

func (s *memStore) UpdateRecord(_ context.Context, prev, next Record) error {
	if s.recs[string(prev.Kind)+"#"+prev.Code].Version != prev.Version {
		return apperr.New(apperr.Conflict, "競合", "conflict")
	}
	s.recs[string(next.Kind)+"#"+next.Code] = next
	if m, ok := MoveOf(prev, next); ok {
		s.moves[m.Code] = m
	}
	return nil
}

func (s *memStore) History(context.Context, Kind, string) ([]Record, error) { return nil, nil }
func (s *memStore) NextSerial(context.Context, string) (int64, error)       { return 1, nil }

func (s *memStore) PendingMove(_ context.Context, code string) (Move, error) {
	m, ok := s.moves[code]
	if !ok {
		return Move{}, apperr.New(apperr.NotFound, "なし", "not found")
	}
	return m, nil
}

func (s *memStore) PendingMoves(context.Context) ([]Move, error) {
	return slices.Collect(maps.Values(s.moves)), nil
}

func (s *memStore) EndMove(_ context.Context, m Move) error {
	if s.moves[m.Code].Version == m.Version {
		delete(s.moves, m.Code)
	}
	return nil
}

// memAccounts are accounts of institutions; a move checks the store's
// pending move as the DynamoDB transaction does.
type memAccounts struct {
	store    *memStore
	accounts map[string]AccountRef // by user ID
	inst     map[string]string     // user ID → institution
	sessions map[string]int        // user ID → sessions ended
	fail     error                 // MoveAccount fails with it when set
	audits   int
}

func (a *memAccounts) InstitutionAccounts(_ context.Context, code, _ string) ([]AccountRef, string, error) {
	var out []AccountRef
	for _, id := range slices.Sorted(maps.Keys(a.accounts)) {
		if a.inst[id] == code {
			out = append(out, a.accounts[id])
		}
	}
	return out, "", nil
}

func (a *memAccounts) MoveAccount(_ context.Context, acc AccountRef, m Move) (bool, error) {
	if a.fail != nil {
		return false, a.fail
	}
	if p, ok := a.store.moves[m.Code]; !ok || p.Version != m.Version {
		return false, apperr.New(apperr.Conflict, "競合", "conflict")
	}
	cur := a.accounts[acc.UserID]
	if cur.PrefectureCode == m.PrefectureCode && cur.HealthCenterCode == m.HealthCenterCode {
		return false, nil
	}
	a.accounts[acc.UserID] = AccountRef{UserID: acc.UserID, PrefectureCode: m.PrefectureCode, HealthCenterCode: m.HealthCenterCode}
	a.audits++
	return true, nil
}

func (a *memAccounts) EndUserSessions(_ context.Context, id string) ([]string, error) {
	a.sessions[id]++
	return nil, nil
}

type nopLog struct{}

func (nopLog) Record(context.Context, audit.Event) error { return nil }

func institution(code, pref, hc string, version int64) Record {
	return Record{Kind: Institutions, Code: code, Version: version,
		Fields: map[string]string{"name": "うつりかわり病院", "category": "hospital", "prefectureCode": pref, "healthCenterCode": hc}}
}

func fixture(t *testing.T) (*Service, *memStore, *memAccounts) {
	t.Helper()
	store := newMemStore(
		Record{Kind: Prefectures, Code: "13", Fields: map[string]string{"name": "東京都"}, Version: 1},
		Record{Kind: Prefectures, Code: "27", Fields: map[string]string{"name": "大阪府"}, Version: 1},
		Record{Kind: HealthCenters, Code: "1301", Fields: map[string]string{"name": "a", "prefectureCode": "13"}, Version: 1},
		Record{Kind: HealthCenters, Code: "2701", Fields: map[string]string{"name": "b", "prefectureCode": "27"}, Version: 1},
		institution("1310000001", "13", "1301", 1))
	acc := &memAccounts{store: store, accounts: map[string]AccountRef{}, inst: map[string]string{}, sessions: map[string]int{}}
	for _, id := range []string{"A", "B", "C"} {
		acc.accounts[id] = AccountRef{UserID: id, PrefectureCode: "13", HealthCenterCode: "1301"}
		acc.inst[id] = "1310000001"
	}
	acc.inst["C"] = "1310000002" // another institution's account stays
	return NewService(store, acc, nopLog{}, func() time.Time { return time.Unix(0, 0) }), store, acc
}

var nationalAdmin = authz.Principal{UserID: "N", Role: authz.National}

func moveFields(pref, hc string) map[string]string {
	return institution("", pref, hc, 0).Fields
}

func TestMoveOf(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prev, next Record
		want       bool
	}{
		{"same place", institution("1", "13", "1301", 1), institution("1", "13", "1301", 2), false},
		{"other health centre", institution("1", "13", "1301", 1), institution("1", "13", "1302", 2), true},
		{"other prefecture", institution("1", "13", "1301", 1), institution("1", "27", "2701", 2), true},
		{"health centre record", Record{Kind: HealthCenters, Code: "1301", Fields: map[string]string{"prefectureCode": "13"}},
			Record{Kind: HealthCenters, Code: "1301", Fields: map[string]string{"prefectureCode": "27"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, got := MoveOf(tc.prev, tc.next)
			if got != tc.want {
				t.Fatalf("MoveOf = %v, want %v", got, tc.want)
			}
			if got && (m.PrefectureCode != tc.next.Fields["prefectureCode"] || m.FromHealthCenter != tc.prev.Fields["healthCenterCode"] || m.Version != tc.next.Version) {
				t.Errorf("move = %+v", m)
			}
		})
	}
}

func TestEditMovesTheAccounts(t *testing.T) {
	s, store, acc := fixture(t)
	if _, err := s.EditInstitution(context.Background(), nationalAdmin, "1310000001", 1, moveFields("27", "2701")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"A", "B"} {
		if got := acc.accounts[id]; got.PrefectureCode != "27" || got.HealthCenterCode != "2701" || acc.sessions[id] != 1 {
			t.Errorf("account %s = %+v, sessions ended %d", id, got, acc.sessions[id])
		}
	}
	if got := acc.accounts["C"]; got.PrefectureCode != "13" || acc.sessions["C"] != 0 {
		t.Errorf("another institution's account moved: %+v", got)
	}
	if len(store.moves) != 0 || acc.audits != 2 {
		t.Errorf("pending moves %v, audits %d", store.moves, acc.audits)
	}
}

func TestFailedMoveStaysPendingAndIsFinishedLater(t *testing.T) {
	s, store, acc := fixture(t)
	ctx := context.Background()
	acc.fail = errors.New("connection reset")
	if _, err := s.EditInstitution(ctx, nationalAdmin, "1310000001", 1, moveFields("27", "2701")); err == nil {
		t.Fatal("the edit hid the failed move")
	}
	if _, ok := store.moves["1310000001"]; !ok || acc.accounts["A"].PrefectureCode != "13" {
		t.Fatalf("after the failure: pending %v, account %+v", store.moves, acc.accounts["A"])
	}
	acc.fail = nil
	res, err := s.FinishMoves(ctx)
	if err != nil || len(res) != 1 || len(res[0].Moved) != 2 || res[0].Accounts != 2 {
		t.Fatalf("FinishMoves = %+v, %v", res, err)
	}
	if len(store.moves) != 0 || acc.accounts["B"].PrefectureCode != "27" {
		t.Errorf("after recovery: pending %v, account %+v", store.moves, acc.accounts["B"])
	}
	// Nothing is pending now: the next listing changes nothing.
	if found, err := s.AuthorizeAccounts(ctx, authz.Principal{Role: authz.PrefectureAdmin, PrefectureCode: "27"}, authz.ViewAccounts, "1310000001"); !found || err != nil {
		t.Errorf("the new prefecture may not list: %v %v", found, err)
	}
	if _, err := s.AuthorizeAccounts(ctx, authz.Principal{Role: authz.PrefectureAdmin, PrefectureCode: "13"}, authz.ViewAccounts, "1310000001"); apperr.CodeOf(err) != apperr.Forbidden {
		t.Errorf("the old prefecture lists: %v", err)
	}
	if acc.audits != 2 || acc.sessions["A"] != 1 {
		t.Errorf("audits %d, sessions of A ended %d times", acc.audits, acc.sessions["A"])
	}
}

func TestLaterMoveTakesOver(t *testing.T) {
	s, store, acc := fixture(t)
	ctx := context.Background()
	first := institution("1310000001", "27", "2701", 2)
	if err := store.UpdateRecord(ctx, institution("1310000001", "13", "1301", 1), first); err != nil {
		t.Fatal(err)
	}
	stale, _ := store.PendingMove(ctx, "1310000001")
	// A second move lands before the first one's accounts moved.
	if _, err := s.EditInstitution(ctx, nationalAdmin, "1310000001", 2, moveFields("13", "1301")); err != nil {
		t.Fatal(err)
	}
	res, err := s.FinishMove(ctx, stale)
	if err != nil || !res.Replaced || len(res.Moved) != 0 {
		t.Fatalf("finishing the replaced move = %+v, %v", res, err)
	}
	if got := acc.accounts["A"]; got.PrefectureCode != "13" || len(store.moves) != 0 {
		t.Errorf("account %+v, pending %v: the replaced move must not win", got, store.moves)
	}
}
