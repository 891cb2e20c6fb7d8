// Package dynamo stores the system's data in DynamoDB: the implementations
// of the storage interfaces the domain packages declare, over an injected
// client. Every access is a key lookup, a Query on a key or index, or a
// conditional write; the access patterns are listed in template.yaml next
// to each table.
package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/apperr"
)

// Client is the part of the DynamoDB API the stores use.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ Client = (*dynamodb.Client)(nil)

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func notFound(what string) error {
	return apperr.New(apperr.NotFound, "見つかりません。", what+" not found")
}

func conflict(what string) error {
	return apperr.New(apperr.Conflict, "他の操作と競合しました。もう一度お試しください。", what+" changed concurrently")
}

func wrap(op string, err error) error {
	return fmt.Errorf("dynamodb %s: %w", op, err)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(v)}
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
