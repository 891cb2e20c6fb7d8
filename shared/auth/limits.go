package auth

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/session"
)

// window is a fixed-window counter seen together with the window before
// it. Each window is one counter item that callers only ever ADD to, so a
// whole hospital behind one address never conflicts on it; the estimate of
// the last full window weights the previous window by the part of it that
// still falls inside (the sliding-window approximation).
type window struct {
	cur, prev string    // counter keys
	frac      float64   // how much of the current window has passed
	expires   time.Time // when the current window's counter is no longer read
}

func newWindow(prefix string, now time.Time, size time.Duration) window {
	n := now.UnixNano() / size.Nanoseconds()
	start := time.Unix(0, n*size.Nanoseconds())
	return window{cur: prefix + "#" + strconv.FormatInt(n, 10), prev: prefix + "#" + strconv.FormatInt(n-1, 10),
		frac: float64(now.Sub(start)) / float64(size), expires: start.Add(2 * size)}
}

func (w window) keys() []string { return []string{w.cur, w.prev} }

// estimate is the number of events in the last window's length.
func (w window) estimate(cur, prev int64) float64 {
	return float64(prev)*(1-w.frac) + float64(cur)
}

// room is how many more events the current window may count under max.
func (w window) room(max, prev int64) int64 {
	return max - int64(math.Ceil(float64(prev)*(1-w.frac)))
}

var errIPLimited = apperr.New(apperr.TooManyRequests, "試行回数が多すぎます。しばらく待ってからもう一度お試しください。",
	"too many failed attempts from this address; wait and try again")

// ipWindow counts the failures (wrong passwords and codes, unknown IDs,
// bad reset links) from one source address: a nurse with the right
// password and code is not refused because colleagues at the same address
// logged in, only when the address keeps failing.
func (s *Service) ipWindow(kind string, c Client) (window, bool) {
	if c.IP == "" {
		return window{}, false
	}
	return newWindow("ipfail#"+kind+"#"+c.IP, s.cfg.Now(), s.cfg.IPWindow), true
}

// ipKeys are the counters Load reads for the address's limit.
func (s *Service) ipKeys(kind string, c Client) []string {
	if w, ok := s.ipWindow(kind, c); ok {
		return w.keys()
	}
	return nil
}

// ipLimited says whether the address is over its failure limit, given the
// counts Load read for ipKeys (the first two).
func (s *Service) ipLimited(kind string, c Client, counts []int64) bool {
	w, ok := s.ipWindow(kind, c)
	return ok && len(counts) >= 2 && w.estimate(counts[0], counts[1]) >= float64(s.cfg.IPLimit)
}

// ipFailed counts a failure from the address.
func (s *Service) ipFailed(ctx context.Context, kind string, c Client) error {
	w, ok := s.ipWindow(kind, c)
	if !ok {
		return nil
	}
	_, err := s.store.Count(ctx, w.cur, s.cfg.Now(), w.expires, 0)
	return err
}

// limitIP refuses an address over its failure limit (one read).
func (s *Service) limitIP(ctx context.Context, kind string, c Client) error {
	keys := s.ipKeys(kind, c)
	if keys == nil {
		return nil
	}
	snap, err := s.store.Load(ctx, "", "", keys)
	if err != nil {
		return err
	}
	if s.ipLimited(kind, c, snap.Counts) {
		return errIPLimited
	}
	return nil
}

func (s *Service) sendWindow(userID string) window {
	return newWindow("send#"+userID, s.cfg.Now(), s.cfg.SendWindow)
}

func (s *Service) errTooManySends() error {
	return apperr.New(apperr.TooManyRequests,
		fmt.Sprintf("認証コードの送信回数が上限に達しました。%d分ほど待ってからもう一度お試しください。", int(s.cfg.SendWindow.Minutes())),
		"too many codes sent; wait and try again")
}

// sendLimit is the ceiling for the current send window of a user given the
// previous window's count; ok is false when no send is left.
func (s *Service) sendLimit(w window, prev int64) (Limit, bool) {
	room := w.room(int64(s.cfg.MaxSends), prev)
	return Limit{Key: w.cur, Max: room, Expires: w.expires}, room > 0
}

// sendLimitOf reads the user's send counters and returns the limit.
func (s *Service) sendLimitOf(ctx context.Context, userID string) (Limit, error) {
	w := s.sendWindow(userID)
	snap, err := s.store.Load(ctx, "", "", w.keys())
	if err != nil {
		return Limit{}, err
	}
	l, ok := s.sendLimit(w, snap.Counts[1])
	if !ok || snap.Counts[0] >= l.Max {
		return Limit{}, s.errTooManySends()
	}
	return l, nil
}

// endSessions ends every session of the account, recording each with why.
func (s *Service) endSessions(ctx context.Context, c Client, actor, userID, why string) error {
	ids, err := s.store.EndUserSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.audit.Record(ctx, audit.Event{At: s.cfg.Now(), UserID: userID, Actor: actor, Action: audit.SessionEnded,
			SourceIP: c.IP, UserAgent: c.UserAgent, Detail: map[string]string{"reason": why, "session": audit.SessionRef(id)}}); err != nil {
			return fmt.Errorf("audit %s: %w", audit.SessionEnded, err)
		}
	}
	return nil
}

// RecordExpiry is a session.Config.Ended that writes session_ended to the
// audit log for sessions found expired on use.
func RecordExpiry(log audit.Log, now func() time.Time) func(ctx context.Context, s session.Session, reason string) error {
	return func(ctx context.Context, s session.Session, reason string) error {
		return log.Record(ctx, audit.Event{At: now(), UserID: s.UserID, Action: audit.SessionEnded,
			Detail: map[string]string{"reason": reason, "session": audit.SessionRef(s.ID)}})
	}
}
