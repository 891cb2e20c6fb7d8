package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/master"
)

// MasterStore keeps masters in the masters table: the current record at
// pk "<kind>#<code>", sk "current" (with jurisdiction "<kind>#<prefecture>"
// for the jurisdiction-index), earlier versions at sk "v<version>",
// counters at pk "counter#<name>", and pending institution moves at pk
// "move", sk "<code>" (move.go).
type MasterStore struct {
	db      TransactClient
	table   string
	surveys string // the surveys table whose status items it keeps current (search.go); "" for none
}

// TransactClient is Client plus transactions.
type TransactClient interface {
	Client
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

var _ master.Store = (*MasterStore)(nil)

// NewMasterStore returns a MasterStore.
func NewMasterStore(db TransactClient, table string) *MasterStore {
	return &MasterStore{db: db, table: table}
}

type masterItem struct {
	PK           string            `dynamodbav:"pk"`
	SK           string            `dynamodbav:"sk"`
	Kind         string            `dynamodbav:"kind"`
	Code         string            `dynamodbav:"code"`
	Fields       map[string]string `dynamodbav:"fields"`
	Version      int64             `dynamodbav:"version"`
	UpdatedAt    string            `dynamodbav:"updatedAt"`
	UpdatedBy    string            `dynamodbav:"updatedBy"`
	Jurisdiction string            `dynamodbav:"jurisdiction,omitempty"`
	Source       string            `dynamodbav:"source,omitempty"`
}

func masterPK(kind master.Kind, code string) string { return string(kind) + "#" + code }

func toMasterItem(r master.Record, sk string) masterItem {
	it := masterItem{PK: masterPK(r.Kind, r.Code), SK: sk, Kind: string(r.Kind), Code: r.Code, Fields: r.Fields,
		Version: r.Version, UpdatedAt: timeString(r.UpdatedAt), UpdatedBy: r.UpdatedBy, Source: r.Source}
	if sk == "current" {
		pref := r.Fields["prefectureCode"]
		if r.Kind == master.Prefectures {
			pref = r.Code
		}
		it.Jurisdiction = string(r.Kind) + "#" + pref
	}
	return it
}

func (it masterItem) record() master.Record {
	return master.Record{Kind: master.Kind(it.Kind), Code: it.Code, Fields: it.Fields, Version: it.Version,
		UpdatedAt: parseTime(it.UpdatedAt), UpdatedBy: it.UpdatedBy, Source: it.Source}
}

// GetRecord reads the current version of a record.
func (s *MasterStore) GetRecord(ctx context.Context, kind master.Kind, code string) (master.Record, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key: map[string]types.AttributeValue{"pk": str(masterPK(kind, code)), "sk": str("current")}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return master.Record{}, wrap("get master record", err)
	}
	if out.Item == nil {
		return master.Record{}, notFound(string(kind) + " " + code)
	}
	var it masterItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return master.Record{}, wrap("decode master record", err)
	}
	if it.Fields == nil {
		it.Fields = map[string]string{}
	}
	return it.record(), nil
}

// GetRecords reads the current versions of many records with
// BatchGetItem (100 keys a call, consistent), retrying unprocessed keys.
func (s *MasterStore) GetRecords(ctx context.Context, kind master.Kind, codes []string) (map[string]master.Record, error) {
	out := make(map[string]master.Record, len(codes))
	seen := map[string]bool{}
	for start := 0; start < len(codes); start += 100 {
		var keys []map[string]types.AttributeValue
		for _, c := range codes[start:min(start+100, len(codes))] {
			if seen[c] {
				continue
			}
			seen[c] = true
			keys = append(keys, map[string]types.AttributeValue{"pk": str(masterPK(kind, c)), "sk": str("current")})
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req[s.table].Keys) > 0; attempt++ {
			if attempt > 8 {
				return nil, fmt.Errorf("batch get %s: keys left unprocessed", s.table)
			}
			if attempt > 0 {
				time.Sleep(time.Duration(25<<attempt) * time.Millisecond)
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, wrap("batch get master records", err)
			}
			for _, item := range res.Responses[s.table] {
				var it masterItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return nil, wrap("decode master record", err)
				}
				if it.Fields == nil {
					it.Fields = map[string]string{}
				}
				out[it.Code] = it.record()
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// Names reads the names of a few records of different masters (codes by
// kind; an empty code is skipped) with one BatchGetItem, as of the last
// second (eventually consistent: names change rarely). Absent records are
// left out.
func (s *MasterStore) Names(ctx context.Context, codes map[master.Kind]string) (map[master.Kind]string, error) {
	var keys []map[string]types.AttributeValue
	for kind, code := range codes {
		if code != "" {
			keys = append(keys, map[string]types.AttributeValue{"pk": str(masterPK(kind, code)), "sk": str("current")})
		}
	}
	out := map[master.Kind]string{}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys,
		ProjectionExpression: aws.String("#kind, #fields.#name"), ExpressionAttributeNames: map[string]string{"#kind": "kind", "#fields": "fields", "#name": "name"}}}
	for attempt := 0; len(req[s.table].Keys) > 0; attempt++ {
		if attempt > 4 {
			return nil, fmt.Errorf("batch get %s: keys left unprocessed", s.table)
		}
		if attempt > 0 {
			time.Sleep(time.Duration(25<<attempt) * time.Millisecond)
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, wrap("batch get master names", err)
		}
		for _, item := range res.Responses[s.table] {
			var it masterItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, wrap("decode master name", err)
			}
			if name := it.Fields["name"]; name != "" {
				out[master.Kind(it.Kind)] = name
			}
		}
		req = res.UnprocessedKeys
	}
	return out, nil
}

// CreateRecord stores a new record; Conflict if the code exists.
func (s *MasterStore) CreateRecord(ctx context.Context, r master.Record) error {
	item, err := attributevalue.MarshalMap(toMasterItem(r, "current"))
	if err != nil {
		return wrap("encode master record", err)
	}
	if sw, err := s.searchWrite(r); err != nil || sw != nil {
		if err != nil {
			return err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}}, *sw}})
		var canceled *types.TransactionCanceledException
		if err != nil && asErr(err, &canceled) {
			return conflict(string(r.Kind) + " " + r.Code)
		}
		if err != nil {
			return wrap("create master record", err)
		}
		return nil
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return conflict(string(r.Kind) + " " + r.Code)
	}
	if err != nil {
		return wrap("create master record", err)
	}
	return nil
}

// UpdateRecord writes next over prev (if prev is still current) and keeps
// prev as a history item, in one transaction; if next moves an
// institution, the same transaction leaves the move pending.
func (s *MasterStore) UpdateRecord(ctx context.Context, prev, next master.Record) error {
	cur, err := attributevalue.MarshalMap(toMasterItem(next, "current"))
	if err != nil {
		return wrap("encode master record", err)
	}
	hist, err := attributevalue.MarshalMap(toMasterItem(prev, fmt.Sprintf("v%08d", prev.Version)))
	if err != nil {
		return wrap("encode master history", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: cur, ConditionExpression: aws.String("#v = :v"),
			ExpressionAttributeNames:  map[string]string{"#v": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(prev.Version)}}},
		{Put: &types.Put{TableName: &s.table, Item: hist, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}
	if m, ok := master.MoveOf(prev, next); ok {
		// Unconditional: the version condition above already orders the
		// record's updates, so a later move replaces an earlier one.
		put, err := s.movePut(m)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	sw, err := s.searchWrite(next)
	if err != nil {
		return err
	}
	if sw != nil {
		items = append(items, *sw)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if err != nil && asErr(err, &canceled) {
		return conflict(string(next.Kind) + " " + next.Code)
	}
	if err != nil {
		return wrap("update master record", err)
	}
	return nil
}

// History returns the earlier versions of a record, oldest first.
func (s *MasterStore) History(ctx context.Context, kind master.Kind, code string) ([]master.Record, error) {
	items, err := queryAll[masterItem](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :v)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(masterPK(kind, code)), ":v": str("v")}}, "master history", 0)
	if err != nil {
		return nil, err
	}
	recs := make([]master.Record, len(items))
	for i, it := range items {
		recs[i] = it.record()
	}
	return recs, nil
}

// NextSerial increments a counter atomically.
func (s *MasterStore) NextSerial(ctx context.Context, counter string) (int64, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                       map[string]types.AttributeValue{"pk": str("counter#" + counter), "sk": str("counter")},
		UpdateExpression:          aws.String("ADD #n :one"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		ReturnValues:              types.ReturnValueUpdatedNew})
	if err != nil {
		return 0, wrap("next serial", err)
	}
	n, ok := out.Attributes["n"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("counter %s has no number", counter)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

// CountItems counts a table's items with a paginated Scan (Select COUNT).
// Operators call it through the maintenance function; no request path does.
func CountItems(ctx context.Context, db TransactClient, table string) (int64, error) {
	var total int64
	var start map[string]types.AttributeValue
	for {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: &table, Select: types.SelectCount, ExclusiveStartKey: start})
		if err != nil {
			return 0, wrap("count "+table, err)
		}
		total += int64(out.Count)
		if out.LastEvaluatedKey == nil {
			return total, nil
		}
		start = out.LastEvaluatedKey
	}
}
