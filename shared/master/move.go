package master

import (
	"context"
	"fmt"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
)

// Move is an institution's change of prefecture or health centre, which
// its accounts must follow: administrators manage accounts by the
// jurisdiction the account carries.
//
// A move cannot be lost. The store writes it, pending, in the same
// transaction as the record that moves the institution (see MoveOf); the
// service then gives each account the new jurisdiction, ends the accounts'
// sessions (the next login carries the new jurisdiction) and removes the
// pending move. If that work stops half-way the pending move stays, and
// whatever touches the institution next finishes it: listing its
// accounts, editing or importing its record, or the operator command
// finish-moves, which finishes every pending move. Every step is
// idempotent, so finishing twice, or two finishers at once, is harmless.
type Move struct {
	Kind             Kind   `json:"kind"`
	Code             string `json:"code"`
	PrefectureCode   string `json:"prefectureCode"`   // where it belongs now
	HealthCenterCode string `json:"healthCenterCode"` // where it belongs now
	FromPrefecture   string `json:"fromPrefectureCode"`
	FromHealthCenter string `json:"fromHealthCenterCode"`
	// Version is the version of the record that made the move: a later
	// move of the same institution replaces a pending one, and only the
	// finisher of the current one may end it.
	Version int64     `json:"version"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// MoveOf reports whether next moves an institution (or sentinel
// institution) to another prefecture or health centre than prev, and the
// move it makes.
func MoveOf(prev, next Record) (Move, bool) {
	if next.Kind != Institutions && next.Kind != Sentinels {
		return Move{}, false
	}
	from, to := prev.Scope(), next.Scope()
	if from.PrefectureCode == to.PrefectureCode && from.HealthCenterCode == to.HealthCenterCode {
		return Move{}, false
	}
	return Move{Kind: next.Kind, Code: next.Code, PrefectureCode: to.PrefectureCode, HealthCenterCode: to.HealthCenterCode,
		FromPrefecture: from.PrefectureCode, FromHealthCenter: from.HealthCenterCode,
		Version: next.Version, By: next.UpdatedBy, At: next.UpdatedAt}, true
}

// Moves keeps pending moves. UpdateRecord of a Store leaves one whenever
// MoveOf says the update moves an institution.
type Moves interface {
	// PendingMove returns the institution's pending move; NotFound when
	// there is none.
	PendingMove(ctx context.Context, code string) (Move, error)
	// PendingMoves returns every pending move.
	PendingMoves(ctx context.Context) ([]Move, error)
	// EndMove removes m if it is still the institution's pending move.
	EndMove(ctx context.Context, m Move) error
}

// AccountRef is an account of an institution as a move sees it.
type AccountRef struct {
	UserID           string
	PrefectureCode   string
	HealthCenterCode string
}

// Accounts are the accounts that follow their institution.
type Accounts interface {
	// InstitutionAccounts returns a page of the institution's accounts
	// and the cursor of the next ("" at the end).
	InstitutionAccounts(ctx context.Context, code, cursor string) ([]AccountRef, string, error)
	// MoveAccount gives the account m's jurisdiction and records that in
	// the audit log, together and only while m is still pending; it
	// reports whether the account changed. Conflict when m is no longer
	// the institution's pending move.
	MoveAccount(ctx context.Context, a AccountRef, m Move) (bool, error)
	// EndUserSessions ends every session of the account and returns their
	// IDs.
	EndUserSessions(ctx context.Context, userID string) ([]string, error)
}

// MoveResult says what finishing a move did.
type MoveResult struct {
	Move     Move     `json:"move"`
	Moved    []string `json:"moved"`    // accounts given the new jurisdiction now
	Accounts int      `json:"accounts"` // accounts of the institution seen, moved or not
	Replaced bool     `json:"replaced"` // a later move took over before this one ended
}

// FinishMove brings the institution's accounts to m's jurisdiction, ends
// their sessions and removes the pending move.
func (s *Service) FinishMove(ctx context.Context, m Move) (MoveResult, error) {
	res := MoveResult{Move: m, Moved: []string{}}
	cursor := ""
	for {
		page, next, err := s.accounts.InstitutionAccounts(ctx, m.Code, cursor)
		if err != nil {
			return res, fmt.Errorf("move %s: %w", m.Code, err)
		}
		for _, a := range page {
			res.Accounts++
			// The index may lag behind the table, never run ahead of it:
			// an account it shows at the destination is there already.
			if a.PrefectureCode != m.PrefectureCode || a.HealthCenterCode != m.HealthCenterCode {
				changed, err := s.accounts.MoveAccount(ctx, a, m)
				if apperr.CodeOf(err) == apperr.Conflict {
					res.Replaced = true // the later move carries the accounts on
					return res, nil
				}
				if err != nil {
					return res, fmt.Errorf("move %s account %s: %w", m.Code, a.UserID, err)
				}
				if changed {
					res.Moved = append(res.Moved, a.UserID)
				}
			}
			// Every account's sessions end, moved now or earlier: a move
			// still pending may have stopped between the two steps.
			ended, err := s.accounts.EndUserSessions(ctx, a.UserID)
			if err != nil {
				return res, fmt.Errorf("move %s account %s: %w", m.Code, a.UserID, err)
			}
			for _, id := range ended {
				if err := s.audit.Record(ctx, audit.Event{At: s.now(), UserID: a.UserID, Actor: m.By, Action: audit.SessionEnded,
					Detail: map[string]string{"reason": "institution_moved", "session": audit.SessionRef(id)}}); err != nil {
					return res, fmt.Errorf("move %s account %s: %w", m.Code, a.UserID, err)
				}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if err := s.moves.EndMove(ctx, m); err != nil {
		return res, fmt.Errorf("end move %s: %w", m.Code, err)
	}
	return res, nil
}

// FinishPending finishes the institution's pending move, if it has one.
func (s *Service) FinishPending(ctx context.Context, code string) error {
	m, err := s.moves.PendingMove(ctx, code)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.FinishMove(ctx, m)
	return err
}

// FinishMoves finishes every pending move: the operator's recovery after
// a failure left some half-done.
func (s *Service) FinishMoves(ctx context.Context) ([]MoveResult, error) {
	moves, err := s.moves.PendingMoves(ctx)
	if err != nil {
		return nil, err
	}
	results := []MoveResult{}
	for _, m := range moves {
		res, err := s.FinishMove(ctx, m)
		if err != nil {
			return results, err
		}
		results = append(results, res)
	}
	return results, nil
}

// AuthorizeAccounts decides whether actor may do a to the accounts of an
// institution by where the institution is now, as its master record says,
// and then finishes a move of it left pending, so that the accounts agree
// with the record. found is false when no master has the code.
func (s *Service) AuthorizeAccounts(ctx context.Context, actor authz.Principal, a authz.Action, code string) (found bool, err error) {
	for _, kind := range []Kind{Institutions, Sentinels} {
		rec, err := s.store.GetRecord(ctx, kind, code)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return false, err
		}
		if err := authz.Authorize(actor, a, rec.Scope()); err != nil {
			return true, err
		}
		return true, s.FinishPending(ctx, code)
	}
	return false, nil
}

// afterUpdate finishes the move an update of prev to next made, or else a
// move of the institution an earlier failure left pending.
func (s *Service) afterUpdate(ctx context.Context, prev, next Record) error {
	if m, ok := MoveOf(prev, next); ok {
		_, err := s.FinishMove(ctx, m)
		return err
	}
	if next.Kind == Institutions || next.Kind == Sentinels {
		return s.FinishPending(ctx, next.Code)
	}
	return nil
}
