package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/sos"
)

// SOSStore keeps SOS requests in the sos table:
//   - a request at pk "inst#<code>", sk "req#<id>" (ids sort by creation
//     time); once applied it carries day "<prefecture>#<business day>" and
//     applied "<appliedAt>#<id>" for the day-index;
//   - a window at pk "window", sk "<business day>" (closedAt once closed);
//     absent means open;
//   - a window's membership at pk "window#<business day>", sk
//     "<prefecture>#<id>" (institution code, applied time): written in the
//     transaction that checks the window open, read by the rollover with a
//     consistent Query after the close.
type SOSStore struct {
	db    BatchClient
	table string
	// The tables an apply reads and writes besides the sos table (WithApply).
	audit, masters, surveys string
}

var (
	_ sos.Store       = (*SOSStore)(nil)
	_ sos.ApplyReader = (*SOSStore)(nil)
)

// NewSOSStore returns an SOSStore.
func NewSOSStore(db BatchClient, table string) *SOSStore { return &SOSStore{db: db, table: table} }

// WithApply returns s with the tables of an apply: the audit table, whose
// record Join writes in its transaction, and the masters and surveys
// tables, which ReadApply reads with the request in one BatchGetItem.
func (s *SOSStore) WithApply(audit, masters, surveys string) *SOSStore {
	c := *s
	c.audit, c.masters, c.surveys = audit, masters, surveys
	return &c
}

// ReadApply reads the institution's master record, the request and the
// institution's survey status in one consistent BatchGetItem.
func (s *SOSStore) ReadApply(ctx context.Context, code, id string) (sos.ApplyRead, error) {
	var out sos.ApplyRead
	if s.masters == "" || s.surveys == "" {
		return out, wrap("read sos apply", errors.New("the store has no masters or surveys table (WithApply)"))
	}
	req := map[string]types.KeysAndAttributes{
		s.table:   {Keys: []map[string]types.AttributeValue{sosKey(code, id)}, ConsistentRead: aws.Bool(true)},
		s.masters: {Keys: []map[string]types.AttributeValue{{"pk": str(masterPK(master.Institutions, code)), "sk": str("current")}}, ConsistentRead: aws.Bool(true)},
		s.surveys: {Keys: []map[string]types.AttributeValue{{"pk": str(surveyPK(code)), "sk": str("status")}}, ConsistentRead: aws.Bool(true)},
	}
	got := map[string]map[string]types.AttributeValue{}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 8 {
			return out, wrap("read sos apply", errors.New("keys left unprocessed"))
		}
		if attempt > 0 {
			time.Sleep(time.Duration(25<<attempt) * time.Millisecond)
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return out, wrap("read sos apply", err)
		}
		for table, items := range res.Responses {
			for _, it := range items {
				got[table] = it
			}
		}
		req = res.UnprocessedKeys
	}
	if it, ok := got[s.masters]; ok {
		var m masterItem
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			return out, wrap("decode master record", err)
		}
		if m.Fields == nil {
			m.Fields = map[string]string{}
		}
		rec := m.record()
		out.Institution = &rec
	}
	if it, ok := got[s.table]; ok {
		r, err := decodeRequest(it)
		if err != nil {
			return out, err
		}
		out.Request = &r
	}
	var st statusItem
	if err := attributevalue.UnmarshalMap(got[s.surveys], &st); err != nil {
		return out, wrap("decode survey status", err)
	}
	out.Surveys = st.status(code)
	return out, nil
}

func sosKey(code, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("inst#" + code), "sk": str("req#" + id)}
}

func sosItem(r sos.Request) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return nil, err
	}
	for k, v := range sosKey(r.InstitutionCode, r.ID) {
		item[k] = v
	}
	if r.BusinessDay != "" && r.AppliedAt != nil {
		item["day"] = str(r.PrefectureCode + "#" + r.BusinessDay)
		item["applied"] = str(r.AppliedAt.UTC().Format(time.RFC3339Nano) + "#" + r.ID)
	}
	return item, nil
}

func decodeRequest(item map[string]types.AttributeValue) (sos.Request, error) {
	var r sos.Request
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return sos.Request{}, wrap("decode sos request", err)
	}
	return r, nil
}

// Get reads one request.
func (s *SOSStore) Get(ctx context.Context, code, id string) (sos.Request, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: sosKey(code, id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return sos.Request{}, wrap("get sos request", err)
	}
	if out.Item == nil {
		return sos.Request{}, apperr.New(apperr.NotFound, "要請が見つかりません。", "no such request")
	}
	return decodeRequest(out.Item)
}

// List reads a page of an institution's requests, newest first.
func (s *SOSStore) List(ctx context.Context, code string, limit int, cursor string) ([]sos.Request, string, error) {
	in := &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :r)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("inst#" + code), ":r": str("req#")},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))}
	if cursor != "" {
		start, err := decodeCursor(cursor)
		pk, ok := start["pk"].(*types.AttributeValueMemberS)
		if err != nil || !ok || pk.Value != "inst#"+code || len(start) != 2 {
			return nil, "", apperr.InvalidField("cursor", "ページの指定が正しくありません。", "malformed cursor")
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", wrap("list sos requests", err)
	}
	rs := make([]sos.Request, 0, len(out.Items))
	for _, it := range out.Items {
		r, err := decodeRequest(it)
		if err != nil {
			return nil, "", err
		}
		rs = append(rs, r)
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		next = encodeCursor(out.LastEvaluatedKey)
	}
	return rs, next, nil
}

func (s *SOSStore) put(r sos.Request, prev int64) (*types.Put, error) {
	item, err := sosItem(r)
	if err != nil {
		return nil, wrap("encode sos request", err)
	}
	p := &types.Put{TableName: &s.table, Item: item}
	if prev == 0 {
		p.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		p.ConditionExpression = aws.String("Version = :v AND #st <> :acc")
		p.ExpressionAttributeNames = map[string]string{"#st": "Status"}
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(prev), ":acc": str(string(sos.StatusAccepted))}
	}
	return p, nil
}

func changed() error {
	return &apperr.Error{Code: apperr.Conflict, Field: "version",
		Message: "この要請は他の方が更新しました。最新の内容を読み込んでから入力し直してください。", MessageEn: "the request was changed meanwhile: read it again"}
}

// Put writes r if the stored version is still prev.
func (s *SOSStore) Put(ctx context.Context, r sos.Request, prev int64) error {
	p, err := s.put(r, prev)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression,
		ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues})
	if isConditionFailed(err) {
		return changed()
	}
	if err != nil {
		return wrap("put sos request", err)
	}
	return nil
}

func memberKey(day, prefecture, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("window#" + day), "sk": str(prefecture + "#" + id)}
}

func memberItem(r sos.Request) map[string]types.AttributeValue {
	item := memberKey(r.BusinessDay, r.PrefectureCode, r.ID)
	item["institutionCode"] = str(r.InstitutionCode)
	item["appliedAt"] = str(r.AppliedAt.UTC().Format(time.RFC3339Nano))
	return item
}

// SOSItems are the items an applied request is stored as — the request
// and its window membership — for loaders that write them in bulk.
func SOSItems(r sos.Request) ([]map[string]types.AttributeValue, error) {
	item, err := sosItem(r)
	if err != nil {
		return nil, wrap("encode sos request", err)
	}
	if r.BusinessDay == "" || r.AppliedAt == nil {
		return []map[string]types.AttributeValue{item}, nil
	}
	return []map[string]types.AttributeValue{item, memberItem(r)}, nil
}

// Join writes r and its membership of the window r.BusinessDay in one
// transaction with the check that the window is open: a request is a
// member of the window exactly when its apply committed before the close.
func (s *SOSStore) Join(ctx context.Context, r sos.Request, prev int64, ev audit.Event) error {
	p, err := s.put(r, prev)
	if err != nil {
		return err
	}
	if r.AppliedAt == nil {
		return wrap("join sos window", errors.New("request without an applied time"))
	}
	if s.audit == "" {
		return wrap("join sos window", errors.New("the store has no audit table (WithApply)"))
	}
	record, err := auditPut(s.audit, audit.Complete(ctx, ev))
	if err != nil {
		return err
	}
	member := memberItem(r)
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: windowKey(r.BusinessDay),
			ConditionExpression: aws.String("attribute_not_exists(closedAt)")}},
		{Put: p},
		{Put: &types.Put{TableName: &s.table, Item: member, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: record},
	}})
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		if len(tc.CancellationReasons) > 0 && aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
			return sos.ErrWindowClosed
		}
		return changed()
	}
	if err != nil {
		return wrap("join sos window", err)
	}
	return nil
}

// Delete removes a draft at version prev. A draft that joined a window
// (applied, then failing the check on an edit) leaves the window's
// membership in the same transaction.
func (s *SOSStore) Delete(ctx context.Context, r sos.Request, prev int64) error {
	del := &dynamodb.DeleteItemInput{TableName: &s.table, Key: sosKey(r.InstitutionCode, r.ID),
		ConditionExpression:       aws.String("Version = :v AND (#st = :d OR #st = :e)"),
		ExpressionAttributeNames:  map[string]string{"#st": "Status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(prev), ":d": str(string(sos.StatusDraft)), ":e": str(string(sos.StatusError))}}
	var err error
	if r.BusinessDay == "" {
		_, err = s.db.DeleteItem(ctx, del)
	} else {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: del.TableName, Key: del.Key, ConditionExpression: del.ConditionExpression,
				ExpressionAttributeNames: del.ExpressionAttributeNames, ExpressionAttributeValues: del.ExpressionAttributeValues}},
			{Delete: &types.Delete{TableName: &s.table, Key: memberKey(r.BusinessDay, r.PrefectureCode, r.ID)}},
		}})
	}
	var tc *types.TransactionCanceledException
	if isConditionFailed(err) || errors.As(err, &tc) {
		return changed()
	}
	if err != nil {
		return wrap("delete sos request", err)
	}
	return nil
}

// Day reads the requests of one prefecture's window, oldest first.
func (s *SOSStore) Day(ctx context.Context, prefecture, day string) ([]sos.Request, error) {
	var rs []sos.Request
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String("day-index"),
		KeyConditionExpression:    aws.String("#d = :d"),
		ExpressionAttributeNames:  map[string]string{"#d": "day"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(prefecture + "#" + day)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query sos day", err)
		}
		for _, it := range page.Items {
			r, err := decodeRequest(it)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
	}
	return rs, nil
}

func windowKey(day string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("window"), "sk": str(day)}
}

var _ sos.RolloverStore = (*SOSStore)(nil)

// Members reads the membership of day's window, every prefecture, with
// a consistent Query of its partition: after the window's close it is
// every request whose apply committed before the close, and no other.
func (s *SOSStore) Members(ctx context.Context, day string) ([]sos.Member, error) {
	var ms []sos.Member
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("window#" + day)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query sos window members", err)
		}
		for _, it := range page.Items {
			var m struct {
				SK              string `dynamodbav:"sk"`
				InstitutionCode string `dynamodbav:"institutionCode"`
			}
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, wrap("decode sos window member", err)
			}
			pref, id, ok := strings.Cut(m.SK, "#")
			if !ok {
				return nil, wrap("decode sos window member", fmt.Errorf("sort key %q", m.SK))
			}
			ms = append(ms, sos.Member{Day: day, PrefectureCode: pref, RequestID: id, InstitutionCode: m.InstitutionCode})
		}
	}
	return ms, nil
}

// Windows reads the window records of days from..to (inclusive): one Query.
func (s *SOSStore) Windows(ctx context.Context, from, to string) ([]sos.WindowRecord, error) {
	return queryAll[sos.WindowRecord](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("window"), ":from": str(from), ":to": str(to)}}, "sos windows", 0)
}

// Close sets the window's closedAt unless it is set already, and answers
// whether it set it.
func (s *SOSStore) Close(ctx context.Context, day string, at time.Time) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: windowKey(day),
		UpdateExpression:          aws.String("SET closedAt = :at"),
		ConditionExpression:       aws.String("attribute_not_exists(closedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(at.UTC().Format(time.RFC3339Nano))}})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("close sos window", err)
	}
	return true, nil
}

// Done marks the window finished: summaries written and mailed.
func (s *SOSStore) Done(ctx context.Context, day string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: windowKey(day),
		UpdateExpression:          aws.String("SET doneAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(closedAt) AND attribute_not_exists(doneAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(at.UTC().Format(time.RFC3339Nano))}})
	if err != nil && !isConditionFailed(err) {
		return wrap("finish sos window", err)
	}
	return nil
}

func summaryKey(day, prefecture string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("summary#" + day), "sk": str(prefecture)}
}

// PutSummary writes sum unless its prefecture and day have one, and
// returns the stored summary.
func (s *SOSStore) PutSummary(ctx context.Context, sum sos.Summary) (sos.Summary, error) {
	item, err := attributevalue.MarshalMap(sum)
	if err != nil {
		return sos.Summary{}, wrap("encode sos summary", err)
	}
	for k, v := range summaryKey(sum.Day, sum.PrefectureCode) {
		item[k] = v
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var stored sos.Summary
		if err := attributevalue.UnmarshalMap(ccf.Item, &stored); err != nil {
			return sos.Summary{}, wrap("decode sos summary", err)
		}
		return stored, nil
	}
	if err != nil {
		return sos.Summary{}, wrap("put sos summary", err)
	}
	return sum, nil
}

// Summaries reads the summaries of day's window: one consistent Query.
func (s *SOSStore) Summaries(ctx context.Context, day string) ([]sos.Summary, error) {
	return queryAll[sos.Summary](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("summary#" + day)}}, "sos summaries", 0)
}

// ClaimMail records the intent to send a summary's mail, unless it was
// sent or another claim younger than lease holds.
func (s *SOSStore) ClaimMail(ctx context.Context, day, prefecture string, at time.Time, lease time.Duration) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: summaryKey(day, prefecture),
		UpdateExpression:    aws.String("SET mailClaimedAt = :at"),
		ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(mailedAt) AND (attribute_not_exists(mailClaimedAt) OR mailClaimedAt < :stale)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(at.UTC().Format(time.RFC3339Nano)),
			":stale": str(at.Add(-lease).UTC().Format(time.RFC3339Nano))}})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("claim sos mail", err)
	}
	return true, nil
}

// Mailed records that a summary's mail went to n addresses.
func (s *SOSStore) Mailed(ctx context.Context, day, prefecture string, at time.Time, n int) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: summaryKey(day, prefecture),
		UpdateExpression:          aws.String("SET mailedAt = :at, mailedTo = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(at.UTC().Format(time.RFC3339Nano)), ":n": num(int64(n))}})
	if err != nil {
		return wrap("mark sos mail sent", err)
	}
	return nil
}

// Summary reads one prefecture's summary of a closed window.
func (s *SOSStore) Summary(ctx context.Context, day, prefecture string) (sos.Summary, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: summaryKey(day, prefecture), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return sos.Summary{}, wrap("get sos summary", err)
	}
	if out.Item == nil {
		return sos.Summary{}, notFound("sos summary")
	}
	var sum sos.Summary
	if err := attributevalue.UnmarshalMap(out.Item, &sum); err != nil {
		return sos.Summary{}, wrap("decode sos summary", err)
	}
	return sum, nil
}
