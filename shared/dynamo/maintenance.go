package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/maintenance"
)

// WindowStore keeps maintenance windows in the system table under
// pk "maintenance", sk <window ID>.
type WindowStore struct {
	db    Client
	table string
	now   func() time.Time
}

// NewWindowStore returns a WindowStore.
func NewWindowStore(db Client, table string, now func() time.Time) *WindowStore {
	if now == nil {
		now = time.Now
	}
	return &WindowStore{db: db, table: table, now: now}
}

type windowItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Start     string `dynamodbav:"start"`
	End       string `dynamodbav:"end"`
	Message   string `dynamodbav:"message"`
	CreatedBy string `dynamodbav:"createdBy"`
	EndedAt   string `dynamodbav:"endedAt,omitempty"`
	ExpiresAt int64  `dynamodbav:"expiresAt"` // TTL: a month after the end
}

// PutWindow stores a new window.
func (s *WindowStore) PutWindow(ctx context.Context, w maintenance.Window) error {
	item, err := attributevalue.MarshalMap(windowItem{PK: "maintenance", SK: w.ID, Start: timeString(w.Start), End: timeString(w.End),
		Message: w.Message, CreatedBy: w.CreatedBy, ExpiresAt: w.End.Add(30 * 24 * time.Hour).Unix()})
	if err != nil {
		return wrap("encode window", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return conflict("maintenance window")
	}
	if err != nil {
		return wrap("put window", err)
	}
	return nil
}

// ListWindows returns the windows that have not ended yet (Query on the
// one partition, filtered by end time).
func (s *WindowStore) ListWindows(ctx context.Context) ([]maintenance.Window, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		FilterExpression:          aws.String("#end > :now AND attribute_not_exists(endedAt)"),
		ExpressionAttributeNames:  map[string]string{"#end": "end"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("maintenance"), ":now": str(timeString(s.now()))},
		ConsistentRead:            aws.Bool(true)})
	if err != nil {
		return nil, wrap("query windows", err)
	}
	var items []windowItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, wrap("decode windows", err)
	}
	ws := make([]maintenance.Window, 0, len(items))
	for _, it := range items {
		ws = append(ws, maintenance.Window{ID: it.SK, Start: parseTime(it.Start), End: parseTime(it.End), Message: it.Message,
			CreatedBy: it.CreatedBy, EndedAt: parseTime(it.EndedAt)})
	}
	return ws, nil
}

// EndWindow ends a window now; NotFound if there is none or it has ended.
func (s *WindowStore) EndWindow(ctx context.Context, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                       map[string]types.AttributeValue{"pk": str("maintenance"), "sk": str(id)},
		UpdateExpression:          aws.String("SET endedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(endedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(timeString(s.now()))}})
	if isConditionFailed(err) {
		return notFound("maintenance window")
	}
	if err != nil {
		return wrap("end window", err)
	}
	return nil
}
