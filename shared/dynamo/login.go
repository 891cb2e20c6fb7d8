package dynamo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/session"
)

// maxSessionsInDelete bounds the sessions ended in the transaction that
// deletes an account (a transaction holds 100 items); more are ended after.
const maxSessionsInDelete = 90

func sessionsOut(m map[string]time.Time) map[string]int64 {
	out := make(map[string]int64, len(m))
	for id, t := range m {
		out[id] = t.Unix()
	}
	return out
}

func sessionsIn(m map[string]int64) map[string]time.Time {
	if m == nil {
		return nil
	}
	out := make(map[string]time.Time, len(m))
	for id, t := range m {
		out[id] = time.Unix(t, 0)
	}
	return out
}

// decodeUser decodes a stored user. Sessions is nil only when the item has
// no sessions map at all (an account stored before it existed), which
// StartSession must create before it can add to it.
func decodeUser(raw map[string]types.AttributeValue) (auth.User, error) {
	var it userItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return auth.User{}, wrap("decode user", err)
	}
	u := it.user()
	if _, ok := raw["sessions"]; ok && u.Sessions == nil {
		u.Sessions = map[string]time.Time{}
	}
	return u, nil
}

func userKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"userId": str(id)}
}

func counterKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("count#" + key)}
}

var (
	boolTrue  = &types.AttributeValueMemberBOOL{Value: true}
	boolFalse = &types.AttributeValueMemberBOOL{}
)

// Load reads the user, the challenge and the counters a login step needs in
// one strongly consistent BatchGetItem.
func (s *AuthStore) Load(ctx context.Context, userID, challengeID string, counterKeys []string) (auth.Snapshot, error) {
	req := map[string]types.KeysAndAttributes{}
	if userID != "" {
		req[s.tables.Users] = types.KeysAndAttributes{Keys: []map[string]types.AttributeValue{userKey(userID)}, ConsistentRead: aws.Bool(true)}
	}
	var state []map[string]types.AttributeValue
	if challengeID != "" {
		state = append(state, challengeKey(challengeID))
	}
	for _, k := range counterKeys {
		state = append(state, counterKey(k))
	}
	if len(state) > 0 {
		req[s.tables.AuthState] = types.KeysAndAttributes{Keys: state, ConsistentRead: aws.Bool(true)}
	}
	snap := auth.Snapshot{Counts: make([]int64, len(counterKeys)), Lasts: make([]time.Time, len(counterKeys))}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
		}
		if attempt == 6 {
			return auth.Snapshot{}, fmt.Errorf("dynamodb load: keys left unprocessed")
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return auth.Snapshot{}, wrap("load", err)
		}
		for _, raw := range out.Responses[s.tables.Users] {
			u, err := decodeUser(raw)
			if err != nil {
				return auth.Snapshot{}, err
			}
			snap.User, snap.HasUser = u, true
		}
		for _, raw := range out.Responses[s.tables.AuthState] {
			pk, _ := raw["pk"].(*types.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			if challengeID != "" && pk.Value == "challenge#"+challengeID {
				ch, err := decodeChallenge(challengeID, raw)
				if err != nil {
					return auth.Snapshot{}, err
				}
				snap.Challenge, snap.HasChallenge = ch, true
				continue
			}
			for i, k := range counterKeys {
				if pk.Value == "count#"+k {
					if n, ok := raw["n"].(*types.AttributeValueMemberN); ok {
						snap.Counts[i], _ = strconv.ParseInt(n.Value, 10, 64)
					}
					if last, ok := raw["last"].(*types.AttributeValueMemberN); ok {
						ms, _ := strconv.ParseInt(last.Value, 10, 64)
						snap.Lasts[i] = time.UnixMilli(ms)
					}
				}
			}
		}
		req = out.UnprocessedKeys
	}
	return snap, nil
}

// Count adds one to a fixed-window counter with an atomic ADD: callers
// never conflict, and the item stays one number however busy the key.
func (s *AuthStore) Count(ctx context.Context, key string, at, expires time.Time, max int64) (int64, error) {
	in := &dynamodb.UpdateItemInput{TableName: &s.tables.AuthState, Key: counterKey(key),
		UpdateExpression:          aws.String("ADD #n :one SET expiresAt = :ttl, #last = :at"),
		ExpressionAttributeNames:  map[string]string{"#n": "n", "#last": "last"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(expires.Unix()), ":at": num(at.UnixMilli())},
		ReturnValues:              types.ReturnValueUpdatedNew}
	if max > 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#n) OR #n < :max")
		in.ExpressionAttributeValues[":max"] = num(max)
	}
	out, err := s.db.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return max, tooMany()
	}
	if err != nil {
		return 0, wrap("count "+key, err)
	}
	var n int64
	if err := attributevalue.Unmarshal(out.Attributes["n"], &n); err != nil {
		return 0, wrap("decode count", err)
	}
	return n, nil
}

// ForgetCount removes a counter.
func (s *AuthStore) ForgetCount(ctx context.Context, key string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.tables.AuthState, Key: counterKey(key)}); err != nil {
		return wrap("forget count "+key, err)
	}
	return nil
}

func tooMany() error {
	return apperr.New(apperr.TooManyRequests, "回数の上限に達しました。しばらく待ってからお試しください。", "rate limit reached")
}

func (s *AuthStore) countUpdate(l auth.Limit) *types.Update {
	return &types.Update{TableName: &s.tables.AuthState, Key: counterKey(l.Key),
		UpdateExpression:          aws.String("ADD #n :one SET expiresAt = :ttl"),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :max"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(l.Expires.Unix()), ":max": num(l.Max)}}
}

// ReserveAttempt counts an attempt if the account's failure count is
// still seen, and against its source, dated at, in one transaction: other
// attempts from that source wait for its delay meanwhile. It does not
// lock: a right password must not lock the account it proves.
func (s *AuthStore) ReserveAttempt(ctx context.Context, r auth.Reservation, at time.Time) (int, error) {
	next := r.Seen + 1
	cond := "attribute_exists(userId) AND failedAttempts = :seen"
	if r.Seen == 0 {
		cond = "attribute_exists(userId) AND (attribute_not_exists(failedAttempts) OR failedAttempts = :seen)"
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.tables.Users, Key: userKey(r.UserID),
			UpdateExpression:          aws.String("SET failedAttempts = :next"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: map[string]types.AttributeValue{":seen": num(int64(r.Seen)), ":next": num(int64(next))}}},
		{Update: &types.Update{TableName: &s.tables.AuthState, Key: counterKey(r.SourceKey),
			UpdateExpression:          aws.String("ADD #n :one SET expiresAt = :ttl, #last = :at"),
			ExpressionAttributeNames:  map[string]string{"#n": "n", "#last": "last"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(r.Expires.Unix()), ":at": num(at.UnixMilli())}}},
	}})
	if cancelledAt(err) != nil {
		return 0, conflict("failure count")
	}
	if err != nil {
		return 0, wrap("reserve attempt", err)
	}
	return next, nil
}

// Lock locks an account.
func (s *AuthStore) Lock(ctx context.Context, userID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users, Key: userKey(userID),
		UpdateExpression:          aws.String("SET #locked = :true"),
		ConditionExpression:       aws.String("attribute_exists(userId)"),
		ExpressionAttributeNames:  map[string]string{"#locked": "locked"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":true": boolTrue}})
	if isConditionFailed(err) {
		return notFound("user")
	}
	if err != nil {
		return wrap("lock user", err)
	}
	return nil
}

func (s *AuthStore) challengePut(c auth.Challenge) (*types.Put, error) {
	item, err := attributevalue.MarshalMap(challengeItem{PK: "challenge#" + c.ID, UserID: c.UserID, Purpose: string(c.Purpose),
		Method: string(c.Method), Destination: c.Destination, CodeHash: c.CodeHash, TOTPSecret: c.TOTPSecret, SessionID: c.SessionID,
		Attempts: c.Attempts, Sends: c.Sends, Consumed: c.Consumed, CreatedAt: timeString(c.CreatedAt),
		CodeExpiresAt: c.ExpiresAt.UnixMilli(), ExpiresAt: c.ExpiresAt.Add(24 * time.Hour).Unix()})
	if err != nil {
		return nil, wrap("encode challenge", err)
	}
	return &types.Put{TableName: &s.tables.AuthState, Item: item}, nil
}

// IssueChallenge stores the challenge, counts the send and gives back the
// reserved attempt in one transaction: a login with the right password
// costs one write here whatever it changes. If the failure count moved in
// between (a concurrent success cleared it), there is nothing to give
// back and the challenge is stored without it.
func (s *AuthStore) IssueChallenge(ctx context.Context, c auth.Challenge, send auth.Limit, release *auth.Reservation) error {
	put, err := s.challengePut(c)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Put: put}, {Update: s.countUpdate(send)}}
	if release != nil {
		items = append(items, s.releaseItems(*release, true)...)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	failed := cancelledAt(err)
	if failed == nil {
		return wrap("issue challenge", err)
	}
	if failed[1] {
		if release != nil {
			if err := s.ReleaseAttempt(ctx, *release); err != nil {
				return err
			}
		}
		return tooMany()
	}
	if release != nil && failed[2] {
		// The account's count moved (a success elsewhere cleared it): give
		// back only what was counted against the source.
		items = append(items[:2], s.releaseItems(*release, false)...)
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if failed := cancelledAt(err); failed != nil && failed[1] {
			return tooMany()
		}
		if err != nil {
			return wrap("issue challenge", err)
		}
		return nil
	}
	return wrap("issue challenge", err)
}

// cancelledAt says which items of a cancelled transaction failed their
// condition; nil if err is not a cancelled transaction.
func cancelledAt(err error) map[int]bool {
	var canceled *types.TransactionCanceledException
	if !asErr(err, &canceled) {
		return nil
	}
	failed := map[int]bool{}
	for i, r := range canceled.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed[i] = true
		}
	}
	return failed
}

func (s *AuthStore) sessionPut(sess session.Session) (*types.Put, error) {
	item, err := attributevalue.MarshalMap(sessionItem{ID: sess.ID, UserID: sess.UserID, Role: string(sess.Role),
		InstitutionCode: sess.InstitutionCode, PrefectureCode: sess.PrefectureCode, HealthCenterCode: sess.HealthCenterCode,
		MustChangePassword: sess.MustChangePassword, CanDownload: sess.CanDownload, CreatedAt: timeString(sess.CreatedAt), LastSeenAt: timeString(sess.LastSeenAt),
		ExpiresAt: sess.ExpiresAt.Unix()})
	if err != nil {
		return nil, wrap("encode session", err)
	}
	return &types.Put{TableName: &s.tables.Sessions, Item: item, ConditionExpression: aws.String("attribute_not_exists(id)")}, nil
}

// sessionUserUpdate adds sess to the account if it is active, unlocked and
// unchanged since u was read,
// clears its failures and drops the sessions of u that have ended.
func (s *AuthStore) sessionUserUpdate(u auth.User, sess session.Session, totpStep int64) *types.Update {
	names := map[string]string{"#status": "status", "#locked": "locked", "#sessions": "sessions", "#sid": sess.ID, "#version": "version"}
	values := map[string]types.AttributeValue{":active": str(string(auth.StatusActive)), ":false": boolFalse,
		":zero": num(0), ":one": num(1), ":exp": num(sess.ExpiresAt.Unix()), ":version": num(u.Version)}
	set := "SET failedAttempts = :zero, #sessions.#sid = :exp"
	// The session carries the account's role and jurisdiction as read: the
	// version makes sure no change (a move of its institution) came since.
	cond := "attribute_exists(userId) AND #status = :active AND (attribute_not_exists(#locked) OR #locked = :false) AND #version = :version"
	if totpStep != 0 {
		set += ", totpLastStep = :step"
		cond += " AND (attribute_not_exists(totpLastStep) OR totpLastStep < :step)"
		values[":step"] = num(totpStep)
	}
	remove := " REMOVE lastFailureAt"
	ended := slices.Sorted(maps.Keys(u.Sessions))
	n := 0
	for _, id := range ended {
		if id == sess.ID || sess.CreatedAt.Before(u.Sessions[id]) || n == 50 {
			continue
		}
		ref := "#e" + strconv.Itoa(n)
		names[ref] = id
		remove += ", #sessions." + ref
		n++
	}
	return &types.Update{TableName: &s.tables.Users, Key: userKey(u.ID),
		UpdateExpression:    aws.String(set + " ADD sessionSeq :one" + remove),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values}
}

// ensureSessionsMap gives an account stored before sessions were kept on
// it an empty map, so a session can be added by path.
func (s *AuthStore) ensureSessionsMap(ctx context.Context, u auth.User) error {
	if u.Sessions != nil {
		return nil
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users, Key: userKey(u.ID),
		UpdateExpression:          aws.String("SET #sessions = if_not_exists(#sessions, :empty)"),
		ConditionExpression:       aws.String("attribute_exists(userId)"),
		ExpressionAttributeNames:  map[string]string{"#sessions": "sessions"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}})
	if isConditionFailed(err) {
		return conflict("user")
	}
	if err != nil {
		return wrap("add sessions map", err)
	}
	return nil
}

// StartSession consumes the login challenge, stores the session and adds
// it to the active, unlocked account in one transaction.
func (s *AuthStore) StartSession(ctx context.Context, u auth.User, sess session.Session, challengeID string, totpStep int64, sourceKey string) error {
	if err := s.ensureSessionsMap(ctx, u); err != nil {
		return err
	}
	put, err := s.sessionPut(sess)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.tables.AuthState, Key: challengeKey(challengeID),
			UpdateExpression:          aws.String("SET #consumed = :true"),
			ConditionExpression:       aws.String("attribute_exists(pk) AND #consumed = :false"),
			ExpressionAttributeNames:  map[string]string{"#consumed": "consumed"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": boolTrue, ":false": boolFalse}}},
		{Put: put},
		{Update: s.sessionUserUpdate(u, sess, totpStep)},
		{Delete: &types.Delete{TableName: &s.tables.AuthState, Key: counterKey(sourceKey)}},
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if cancelledAt(err) != nil {
		return conflict("login")
	}
	if err != nil {
		return wrap("start session", err)
	}
	return nil
}

// CreateSession stores a session and adds it to the active, unlocked
// account in one transaction.
func (s *AuthStore) CreateSession(ctx context.Context, u auth.User, sess session.Session) error {
	if err := s.ensureSessionsMap(ctx, u); err != nil {
		return err
	}
	put, err := s.sessionPut(sess)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: put}, {Update: s.sessionUserUpdate(u, sess, 0)}}})
	if cancelledAt(err) != nil {
		return conflict("session")
	}
	if err != nil {
		return wrap("create session", err)
	}
	return nil
}

// EndUserSessions ends every session of an account: those kept on the
// account (read consistently, so none created before this call is missed)
// and, for sessions older than that record, those the session index shows.
// It returns the IDs of the sessions that were still there.
func (s *AuthStore) EndUserSessions(ctx context.Context, userID string) ([]string, error) {
	ids := map[string]bool{}
	u, err := s.GetUser(ctx, userID)
	switch apperr.CodeOf(err) {
	case "":
		for id := range u.Sessions {
			ids[id] = true
		}
	case apperr.NotFound:
	default:
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.tables.Sessions, IndexName: aws.String("user-index"),
		KeyConditionExpression:    aws.String("userId = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query sessions", err)
		}
		for _, item := range page.Items {
			if id, ok := item["id"].(*types.AttributeValueMemberS); ok {
				ids[id.Value] = true
			}
		}
	}
	var ended []string
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.tables.Sessions,
			Key: map[string]types.AttributeValue{"id": str(id)}, ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return nil, wrap("delete session", err)
		}
		if out.Attributes != nil {
			ended = append(ended, id)
		}
	}
	if len(u.Sessions) > 0 {
		if err := s.forgetSessions(ctx, userID, slices.Sorted(maps.Keys(u.Sessions))); err != nil {
			return nil, err
		}
	}
	return ended, nil
}

// forgetSessions removes ended sessions from the account's record.
func (s *AuthStore) forgetSessions(ctx context.Context, userID string, ids []string) error {
	for chunk := range slices.Chunk(ids, 100) {
		names := map[string]string{"#sessions": "sessions"}
		expr := "REMOVE "
		for i, id := range chunk {
			ref := "#s" + strconv.Itoa(i)
			names[ref] = id
			if i > 0 {
				expr += ", "
			}
			expr += "#sessions." + ref
		}
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users, Key: userKey(userID),
			UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(#sessions)"),
			ExpressionAttributeNames: names})
		if err != nil && !isConditionFailed(err) {
			return wrap("forget sessions", err)
		}
	}
	return nil
}

// DeleteUser removes an account, the one-person-per-institution keys it
// holds and its sessions. The delete is conditional on the account's session count
// read with it, so a login that slips in between makes it read again
// rather than leave that session alive on a deleted account.
func (s *AuthStore) DeleteUser(ctx context.Context, userID string) error {
	for range 5 {
		u, err := s.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		ids := slices.Sorted(maps.Keys(u.Sessions))
		inTx := ids[:min(len(ids), maxSessionsInDelete)]
		items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: &s.tables.Users, Key: userKey(userID),
			ConditionExpression:       aws.String("attribute_exists(userId) AND (attribute_not_exists(sessionSeq) OR sessionSeq = :seq)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":seq": num(u.SessionSeq)}}}}
		keys, err := s.heldPersonKeys(ctx, u)
		if err != nil {
			return err
		}
		for _, k := range keys {
			// Only the account's own key: another's is never dropped.
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.tables.AuthState,
				Key:                       map[string]types.AttributeValue{"pk": str(k)},
				ConditionExpression:       aws.String("attribute_not_exists(pk) OR userId = :id"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(u.ID)}}})
		}
		for _, id := range inTx {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.tables.Sessions,
				Key: map[string]types.AttributeValue{"id": str(id)}}})
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if cancelledAt(err) != nil {
			continue // a session was added, or the account went: read again
		}
		if err != nil {
			return wrap("delete user", err)
		}
		for _, id := range ids[len(inTx):] {
			if err := s.DeleteSession(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
	return conflict("user")
}

type resetItem struct {
	PK         string `dynamodbav:"pk"`
	UserID     string `dynamodbav:"userId"`
	ValidUntil int64  `dynamodbav:"validUntil"` // unix ms
	ExpiresAt  int64  `dynamodbav:"expiresAt"`  // TTL, unix s
}

func resetLatestKey(userID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("resetlatest#" + userID)}
}

// PutResetToken stores a reset token by its hash and makes it the
// account's newest link, which every older link must be to work.
func (s *AuthStore) PutResetToken(ctx context.Context, t auth.ResetToken) error {
	item, err := attributevalue.MarshalMap(resetItem{PK: "reset#" + t.ID, UserID: t.UserID,
		ValidUntil: t.ExpiresAt.UnixMilli(), ExpiresAt: t.ExpiresAt.Add(time.Hour).Unix()})
	if err != nil {
		return wrap("encode reset token", err)
	}
	latest := resetLatestKey(t.UserID)
	latest["token"] = str(t.ID)
	latest["expiresAt"] = num(t.ExpiresAt.Add(time.Hour).Unix())
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.AuthState, Item: item}},
		{Put: &types.Put{TableName: &s.tables.AuthState, Item: latest}},
	}})
	if err != nil {
		return wrap("put reset token", err)
	}
	return nil
}

// CancelResetLinks removes the account's newest-link record, which every
// link must match to work.
func (s *AuthStore) CancelResetLinks(ctx context.Context, userID string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.tables.AuthState, Key: resetLatestKey(userID)}); err != nil {
		return wrap("cancel reset links", err)
	}
	return nil
}

// GetResetToken reads a live reset token that is its account's newest.
func (s *AuthStore) GetResetToken(ctx context.Context, id string, now time.Time) (auth.ResetToken, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.AuthState,
		Key: map[string]types.AttributeValue{"pk": str("reset#" + id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return auth.ResetToken{}, wrap("get reset token", err)
	}
	var it resetItem
	if out.Item == nil {
		return auth.ResetToken{}, notFound("reset token")
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return auth.ResetToken{}, wrap("decode reset token", err)
	}
	if now.UnixMilli() >= it.ValidUntil {
		return auth.ResetToken{}, notFound("reset token")
	}
	latest, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.AuthState, Key: resetLatestKey(it.UserID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return auth.ResetToken{}, wrap("get newest reset token", err)
	}
	if v, ok := latest.Item["token"].(*types.AttributeValueMemberS); !ok || v.Value != id {
		return auth.ResetToken{}, notFound("reset token")
	}
	return auth.ResetToken{ID: id, UserID: it.UserID, ExpiresAt: time.UnixMilli(it.ValidUntil)}, nil
}

// ConsumeResetToken deletes a live token and the account's newest-link
// record together, so only one caller succeeds and no other link of the
// account works after it.
func (s *AuthStore) ConsumeResetToken(ctx context.Context, id string, now time.Time) (auth.ResetToken, error) {
	t, err := s.GetResetToken(ctx, id, now)
	if err != nil {
		return auth.ResetToken{}, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.tables.AuthState, Key: map[string]types.AttributeValue{"pk": str("reset#" + id)},
			ConditionExpression:       aws.String("attribute_exists(pk) AND validUntil > :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())}}},
		{Delete: &types.Delete{TableName: &s.tables.AuthState, Key: resetLatestKey(t.UserID),
			ConditionExpression:       aws.String("#token = :id"),
			ExpressionAttributeNames:  map[string]string{"#token": "token"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)}}},
	}})
	if cancelledAt(err) != nil {
		return auth.ResetToken{}, notFound("reset token")
	}
	if err != nil {
		return auth.ResetToken{}, wrap("consume reset token", err)
	}
	return t, nil
}
