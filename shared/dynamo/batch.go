package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/issuance"
)

// BatchStore keeps bulk issuances in the system table under
// pk "batch#<id>", sk "batch", for a week (TTL), sealed.
type BatchStore struct {
	db    Client
	table string
}

var _ issuance.Store = (*BatchStore)(nil)

// NewBatchStore returns a BatchStore.
func NewBatchStore(db Client, table string) *BatchStore { return &BatchStore{db: db, table: table} }

type batchItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Admin     string `dynamodbav:"admin"`
	Content   string `dynamodbav:"content"`
	Status    string `dynamodbav:"status"`
	Sealed    string `dynamodbav:"sealed"`
	CreatedAt string `dynamodbav:"createdAt"`
	Version   int64  `dynamodbav:"version"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

func batchKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("batch#" + id), "sk": str("batch")}
}

// GetBatch reads a batch.
func (s *BatchStore) GetBatch(ctx context.Context, id string) (issuance.Batch, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: batchKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return issuance.Batch{}, wrap("get batch", err)
	}
	if out.Item == nil {
		return issuance.Batch{}, notFound("batch")
	}
	var it batchItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return issuance.Batch{}, wrap("decode batch", err)
	}
	return issuance.Batch{ID: id, Admin: it.Admin, Content: it.Content, Status: it.Status, Sealed: it.Sealed, CreatedAt: parseTime(it.CreatedAt), Version: it.Version}, nil
}

func (s *BatchStore) item(b issuance.Batch, version int64) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(batchItem{PK: "batch#" + b.ID, SK: "batch", Admin: b.Admin, Content: b.Content, Status: b.Status, Sealed: b.Sealed,
		CreatedAt: timeString(b.CreatedAt), Version: version, ExpiresAt: b.CreatedAt.Add(7 * 24 * time.Hour).Unix()})
}

// CreateBatch stores a new batch; Conflict if it exists.
func (s *BatchStore) CreateBatch(ctx context.Context, b issuance.Batch) error {
	item, err := s.item(b, b.Version)
	if err != nil {
		return wrap("encode batch", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return conflict("batch")
	}
	if err != nil {
		return wrap("create batch", err)
	}
	return nil
}

// UpdateBatch replaces a batch if b.Version is current.
func (s *BatchStore) UpdateBatch(ctx context.Context, b issuance.Batch) error {
	item, err := s.item(b, b.Version+1)
	if err != nil {
		return wrap("encode batch", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(b.Version)}})
	if isConditionFailed(err) {
		return conflict("batch")
	}
	if err != nil {
		return wrap("update batch", err)
	}
	return nil
}
