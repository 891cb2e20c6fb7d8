package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/audit"
)

// jst is Japan Standard Time: business days, and so audit days, are JST
// dates. A fixed zone needs no tz database in the function.
var jst = time.FixedZone("JST", 9*60*60)

// AuditLog appends audit events to the audit table: pk "USER#<id>", sk
// "<UTC time>#<random>", and a day-index on the JST date. It only ever
// puts new items; its IAM policy allows nothing else.
type AuditLog struct {
	db    Client
	table string
}

var _ audit.Log = (*AuditLog)(nil)

// NewAuditLog returns an AuditLog over db.
func NewAuditLog(db Client, table string) *AuditLog {
	return &AuditLog{db: db, table: table}
}

type auditItem struct {
	PK        string            `dynamodbav:"pk"`
	SK        string            `dynamodbav:"sk"`
	Day       string            `dynamodbav:"day"`
	UserID    string            `dynamodbav:"userId"`
	Actor     string            `dynamodbav:"actor,omitempty"`
	Action    string            `dynamodbav:"action"`
	SourceIP  string            `dynamodbav:"sourceIp,omitempty"`
	UserAgent string            `dynamodbav:"userAgent,omitempty"`
	Detail    map[string]string `dynamodbav:"detail,omitempty"`
}

// Record appends e; an existing item is never overwritten.
func (l *AuditLog) Record(ctx context.Context, e audit.Event) error {
	put, err := auditPut(l.table, e)
	if err != nil {
		return err
	}
	_, err = l.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression})
	if err != nil {
		return wrap("put audit event", err)
	}
	return nil
}

// auditPut is the append of e, for Record or for a transaction that must
// not happen without its audit record.
func auditPut(table string, e audit.Event) (*types.Put, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	at := e.At.UTC()
	user := e.UserID
	if len(user) > 64 {
		user = user[:64] // an attacker's ID of any length must not bloat the key
	}
	item, err := attributevalue.MarshalMap(auditItem{PK: "USER#" + user, SK: at.Format(time.RFC3339Nano) + "#" + hex.EncodeToString(b[:]),
		Day: at.In(jst).Format("2006-01-02"), UserID: user, Actor: e.Actor, Action: e.Action,
		SourceIP: e.SourceIP, UserAgent: truncate(e.UserAgent, 512), Detail: e.Detail})
	if err != nil {
		return nil, wrap("encode audit event", err)
	}
	return &types.Put{TableName: aws.String(table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (it auditItem) event() audit.Event {
	at, _ := time.Parse(time.RFC3339Nano, it.SK[:len(it.SK)-13])
	return audit.Event{At: at, UserID: it.UserID, Actor: it.Actor, Action: it.Action,
		SourceIP: it.SourceIP, UserAgent: it.UserAgent, Detail: it.Detail}
}

// ByUser returns a user's events from the given time on, oldest first.
func (l *AuditLog) ByUser(ctx context.Context, userID string, from time.Time, limit int) ([]audit.Event, error) {
	return l.query(ctx, &dynamodb.QueryInput{TableName: &l.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk >= :from"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("USER#" + userID),
			":from": str(from.UTC().Format(time.RFC3339Nano))},
		Limit: aws.Int32(int32(limit))}, limit)
}

// ByDay returns the events of a JST day ("2006-01-02"), oldest first.
func (l *AuditLog) ByDay(ctx context.Context, day string, limit int) ([]audit.Event, error) {
	return l.query(ctx, &dynamodb.QueryInput{TableName: &l.table, IndexName: aws.String("day-index"),
		KeyConditionExpression:    aws.String("#day = :day"),
		ExpressionAttributeNames:  map[string]string{"#day": "day"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":day": str(day)},
		Limit:                     aws.Int32(int32(limit))}, limit)
}

func (l *AuditLog) query(ctx context.Context, in *dynamodb.QueryInput, limit int) ([]audit.Event, error) {
	items, err := queryAll[auditItem](ctx, l.db, in, "audit", limit)
	if err != nil {
		return nil, err
	}
	events := make([]audit.Event, len(items))
	for i, it := range items {
		events[i] = it.event()
	}
	return events, nil
}
