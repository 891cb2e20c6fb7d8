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
	"net"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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

// BatchClient is TransactClient plus batch reads and writes: a login step,
// a page of statuses or a chunk of rows is one round trip.
type BatchClient interface {
	TransactClient
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ BatchClient = (*dynamodb.Client)(nil)

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

// errUnavailable is what callers are told when DynamoDB cannot be reached
// or refuses for now: a 503 they may retry, not an internal error.
var errUnavailable = apperr.New(apperr.Unavailable,
	"ただいまデータベースに接続できないため、処理できません。しばらくしてからもう一度お試しください。",
	"the database cannot be reached right now; try again later")

func wrap(op string, err error) error {
	err = fmt.Errorf("dynamodb %s: %w", op, err)
	if unavailable(err) {
		return &apperr.Error{Code: errUnavailable.Code, Message: errUnavailable.Message, MessageEn: errUnavailable.MessageEn, Err: err}
	}
	return err
}

// unavailable reports whether err says DynamoDB could not be reached
// (connection refused, DNS, timeouts) or is shedding load: both pass, and
// neither is a fault of the request. The SDK's error types are matched by
// their methods so that no further module is imported for them.
func unavailable(err error) bool {
	var conn interface{ ConnectionError() bool }
	if errors.As(err, &conn) && conn.ConnectionError() {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable":
			return true
		}
	}
	return false
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(v)}
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

// queryAll runs a Query page by page and decodes its items as T, stopping
// once limit items are read (0: all of them).
func queryAll[T any](ctx context.Context, db Client, in *dynamodb.QueryInput, what string, limit int) ([]T, error) {
	var all []T
	p := dynamodb.NewQueryPaginator(db, in)
	for p.HasMorePages() && (limit == 0 || len(all) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query "+what, err)
		}
		var items []T
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, wrap("decode "+what, err)
		}
		all = append(all, items...)
	}
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// queryPage runs one page of a Query from cursor (a previous page's
// opaque cursor, "" for the first) and decodes its items as T. keyOK says
// whether a decoded cursor's key belongs to this listing: a cursor of
// another listing, or a forged one, is a 400 naming cursor.
func queryPage[T any](ctx context.Context, db Client, in *dynamodb.QueryInput, cursor string, keyOK func(map[string]types.AttributeValue) bool, what string) ([]T, string, error) {
	if cursor != "" {
		start, err := decodeCursor(cursor)
		if err != nil || !keyOK(start) {
			return nil, "", apperr.InvalidField("cursor", "ページの指定が正しくありません。", "malformed cursor")
		}
		in.ExclusiveStartKey = start
	}
	out, err := db.Query(ctx, in)
	if err != nil {
		return nil, "", wrap("list "+what, err)
	}
	var items []T
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, "", wrap("decode "+what, err)
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		next = encodeCursor(out.LastEvaluatedKey)
	}
	return items, next, nil
}
