package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/master"
)

// Pending moves share one partition of the masters table so that the
// operator's recovery finds them all with a Query; they are few and short
// lived.
const movePK = "move"

type moveItem struct {
	PK               string `dynamodbav:"pk"`
	SK               string `dynamodbav:"sk"` // institution code
	Kind             string `dynamodbav:"kind"`
	PrefectureCode   string `dynamodbav:"prefectureCode"`
	HealthCenterCode string `dynamodbav:"healthCenterCode"`
	FromPrefecture   string `dynamodbav:"fromPrefectureCode,omitempty"`
	FromHealthCenter string `dynamodbav:"fromHealthCenterCode,omitempty"`
	Version          int64  `dynamodbav:"version"`
	By               string `dynamodbav:"by"`
	At               string `dynamodbav:"at"`
}

func moveKey(code string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(movePK), "sk": str(code)}
}

func (it moveItem) move() master.Move {
	return master.Move{Kind: master.Kind(it.Kind), Code: it.SK, PrefectureCode: it.PrefectureCode, HealthCenterCode: it.HealthCenterCode,
		FromPrefecture: it.FromPrefecture, FromHealthCenter: it.FromHealthCenter, Version: it.Version, By: it.By, At: parseTime(it.At)}
}

func (s *MasterStore) movePut(m master.Move) (*types.Put, error) {
	item, err := attributevalue.MarshalMap(moveItem{PK: movePK, SK: m.Code, Kind: string(m.Kind), PrefectureCode: m.PrefectureCode,
		HealthCenterCode: m.HealthCenterCode, FromPrefecture: m.FromPrefecture, FromHealthCenter: m.FromHealthCenter,
		Version: m.Version, By: m.By, At: timeString(m.At)})
	if err != nil {
		return nil, wrap("encode move", err)
	}
	return &types.Put{TableName: &s.table, Item: item}, nil
}

// PendingMove reads the institution's pending move.
func (s *MasterStore) PendingMove(ctx context.Context, code string) (master.Move, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: moveKey(code), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return master.Move{}, wrap("get move", err)
	}
	if out.Item == nil {
		return master.Move{}, notFound("move of " + code)
	}
	var it moveItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return master.Move{}, wrap("decode move", err)
	}
	return it.move(), nil
}

// PendingMoves lists every pending move (Query pk "move").
func (s *MasterStore) PendingMoves(ctx context.Context) ([]master.Move, error) {
	items, err := queryAll[moveItem](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(movePK)}}, "moves", 0)
	if err != nil {
		return nil, err
	}
	moves := make([]master.Move, len(items))
	for i, it := range items {
		moves[i] = it.move()
	}
	return moves, nil
}

// EndMove deletes the pending move if it is still m (a later move of the
// same institution stays).
func (s *MasterStore) EndMove(ctx context.Context, m master.Move) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: moveKey(m.Code),
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(m.Version)}})
	if err != nil && !isConditionFailed(err) {
		return wrap("end move", err)
	}
	return nil
}

// MoveTables names the tables an institution's move writes.
type MoveTables struct {
	Users   string // institution-index; the accounts
	Masters string // the pending move
	Audit   string
}

// AccountMover moves an institution's accounts along with it
// (master.Accounts).
type AccountMover struct {
	db     TransactClient
	users  *AuthStore
	tables MoveTables
	now    func() time.Time
}

var _ master.Accounts = (*AccountMover)(nil)

// NewAccountMover returns an AccountMover; users ends sessions.
func NewAccountMover(db TransactClient, users *AuthStore, tables MoveTables, now func() time.Time) *AccountMover {
	if now == nil {
		now = time.Now
	}
	return &AccountMover{db: db, users: users, tables: tables, now: now}
}

// InstitutionAccounts returns a page of the institution's accounts (Query
// on institution-index, keys and jurisdiction only).
func (a *AccountMover) InstitutionAccounts(ctx context.Context, code, cursor string) ([]master.AccountRef, string, error) {
	in := &dynamodb.QueryInput{TableName: &a.tables.Users, IndexName: aws.String("institution-index"),
		KeyConditionExpression:    aws.String("institutionCode = :c"),
		ProjectionExpression:      aws.String("userId, institutionCode, prefectureCode, healthCenterCode"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(code)},
		Limit:                     aws.Int32(100)}
	if cursor != "" {
		start, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", wrap("accounts cursor", err)
		}
		in.ExclusiveStartKey = start
	}
	out, err := a.db.Query(ctx, in)
	if err != nil {
		return nil, "", wrap("query institution accounts", err)
	}
	var items []struct {
		UserID           string `dynamodbav:"userId"`
		PrefectureCode   string `dynamodbav:"prefectureCode"`
		HealthCenterCode string `dynamodbav:"healthCenterCode"`
	}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, "", wrap("decode institution accounts", err)
	}
	refs := make([]master.AccountRef, len(items))
	for i, it := range items {
		refs[i] = master.AccountRef{UserID: it.UserID, PrefectureCode: it.PrefectureCode, HealthCenterCode: it.HealthCenterCode}
	}
	next := ""
	if out.LastEvaluatedKey != nil {
		next = encodeCursor(out.LastEvaluatedKey)
	}
	return refs, next, nil
}

// MoveAccount sets the account's jurisdiction and appends its audit
// record in one transaction, conditional on m still being pending. The
// version goes up, so a profile update read before the move fails on its
// version instead of writing the old jurisdiction back.
func (a *AccountMover) MoveAccount(ctx context.Context, acc master.AccountRef, m master.Move) (bool, error) {
	put, err := auditPut(a.tables.Audit, audit.Complete(ctx, audit.Event{At: a.now(), UserID: acc.UserID, Actor: m.By, Action: audit.AccountMoved,
		Detail: map[string]string{"institutionCode": m.Code, "moveVersion": strconv.FormatInt(m.Version, 10),
			"fromPrefectureCode": acc.PrefectureCode, "fromHealthCenterCode": acc.HealthCenterCode,
			"prefectureCode": m.PrefectureCode, "healthCenterCode": m.HealthCenterCode}}))
	if err != nil {
		return false, err
	}
	_, err = a.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &a.tables.Masters, Key: moveKey(m.Code),
			ConditionExpression:       aws.String("#v = :v"),
			ExpressionAttributeNames:  map[string]string{"#v": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(m.Version)}}},
		{Update: &types.Update{TableName: &a.tables.Users, Key: map[string]types.AttributeValue{"userId": str(acc.UserID)},
			UpdateExpression:         aws.String("SET #p = :p, #h = :h, #version = #version + :one"),
			ConditionExpression:      aws.String("#i = :i AND NOT (#p = :p AND #h = :h)"),
			ExpressionAttributeNames: map[string]string{"#p": "prefectureCode", "#h": "healthCenterCode", "#i": "institutionCode", "#version": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(m.PrefectureCode), ":h": str(m.HealthCenterCode),
				":i": str(m.Code), ":one": num(1)}}},
		{Put: put},
	}})
	var canceled *types.TransactionCanceledException
	if asErr(err, &canceled) {
		reasons := canceled.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			return false, conflict("move of " + m.Code)
		}
		if len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			return false, nil // already there, gone, or of another institution now
		}
	}
	if err != nil {
		return false, wrap("move account", err)
	}
	return true, nil
}

// EndUserSessions ends the account's sessions.
func (a *AccountMover) EndUserSessions(ctx context.Context, userID string) ([]string, error) {
	return a.users.EndUserSessions(ctx, userID)
}
