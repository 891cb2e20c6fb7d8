package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/session"
)

// AuthTables names the tables of accounts and sessions.
type AuthTables struct {
	Users     string // pk userId
	Sessions  string // pk id; GSI user-index (userId)
	AuthState string // pk pk: challenges, reset tokens, rate-limit windows; TTL expiresAt
	// Audit is the audit table, where a new account's record is appended
	// in the transaction that creates it; needed by CreateUser only.
	Audit string
}

// AuthStore implements auth.Store.
type AuthStore struct {
	db     BatchClient
	tables AuthTables
}

var _ auth.Store = (*AuthStore)(nil)

// NewAuthStore returns an AuthStore over db.
func NewAuthStore(db BatchClient, tables AuthTables) *AuthStore {
	return &AuthStore{db: db, tables: tables}
}

// userItem is a user as stored. Index keys are omitted when empty: DynamoDB
// refuses empty strings in index keys.
type userItem struct {
	UserID             string `dynamodbav:"userId"`
	Name               string `dynamodbav:"name"`
	Role               string `dynamodbav:"role"`
	InstitutionCode    string `dynamodbav:"institutionCode,omitempty"`
	PrefectureCode     string `dynamodbav:"prefectureCode,omitempty"`
	HealthCenterCode   string `dynamodbav:"healthCenterCode,omitempty"`
	Mail               string `dynamodbav:"mail,omitempty"`
	Phone              string `dynamodbav:"phone,omitempty"`
	CanDownload        bool   `dynamodbav:"canDownload"`
	PasswordHash       string `dynamodbav:"passwordHash"`
	MustChangePassword bool   `dynamodbav:"mustChangePassword"`
	PasswordChangedAt  string `dynamodbav:"passwordChangedAt,omitempty"`
	Method             string `dynamodbav:"method"`
	Destination        string `dynamodbav:"destination,omitempty"`
	TOTPSecret         string `dynamodbav:"totpSecret,omitempty"`
	TOTPLastStep       int64  `dynamodbav:"totpLastStep"`
	Status             string `dynamodbav:"status"`
	FailedAttempts     int    `dynamodbav:"failedAttempts"`
	LastFailureAt      string `dynamodbav:"lastFailureAt,omitempty"`
	Locked             bool   `dynamodbav:"locked"`
	// Sessions maps the account's session IDs to their absolute end (unix
	// s); absent on accounts stored before it existed.
	Sessions   map[string]int64 `dynamodbav:"sessions"`
	SessionSeq int64            `dynamodbav:"sessionSeq"`
	CreatedAt  string           `dynamodbav:"createdAt"`
	Version    int64            `dynamodbav:"version"`
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func toUserItem(u auth.User) userItem {
	return userItem{UserID: u.ID, Name: u.Name, Role: string(u.Role), InstitutionCode: u.InstitutionCode,
		PrefectureCode: u.PrefectureCode, HealthCenterCode: u.HealthCenterCode, Mail: u.Mail, Phone: u.Phone,
		CanDownload: u.CanDownload, PasswordHash: u.PasswordHash, MustChangePassword: u.MustChangePassword, PasswordChangedAt: timeString(u.PasswordChangedAt),
		Method: string(u.Method), Destination: u.Destination, TOTPSecret: u.TOTPSecret, TOTPLastStep: u.TOTPLastStep,
		Status: string(u.Status), FailedAttempts: u.FailedAttempts, LastFailureAt: timeString(u.LastFailureAt),
		Locked: u.Locked, Sessions: sessionsOut(u.Sessions), SessionSeq: u.SessionSeq, CreatedAt: timeString(u.CreatedAt), Version: u.Version}
}

func (it userItem) user() auth.User {
	return auth.User{ID: it.UserID, Name: it.Name, Role: authz.Role(it.Role), InstitutionCode: it.InstitutionCode,
		PrefectureCode: it.PrefectureCode, HealthCenterCode: it.HealthCenterCode, Mail: it.Mail, Phone: it.Phone,
		CanDownload: it.CanDownload, PasswordHash: it.PasswordHash, MustChangePassword: it.MustChangePassword, PasswordChangedAt: parseTime(it.PasswordChangedAt),
		Method: auth.Method(it.Method), Destination: it.Destination, TOTPSecret: it.TOTPSecret, TOTPLastStep: it.TOTPLastStep,
		Status: auth.Status(it.Status), FailedAttempts: it.FailedAttempts, LastFailureAt: parseTime(it.LastFailureAt),
		Locked: it.Locked, Sessions: sessionsIn(it.Sessions), SessionSeq: it.SessionSeq, CreatedAt: parseTime(it.CreatedAt), Version: it.Version}
}

// GetUser reads a user (strongly consistent: a login right after a change
// must see it).
func (s *AuthStore) GetUser(ctx context.Context, id string) (auth.User, error) {
	if id == "" {
		return auth.User{}, notFound("user")
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Users,
		Key: map[string]types.AttributeValue{"userId": str(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return auth.User{}, wrap("get user", err)
	}
	if out.Item == nil {
		return auth.User{}, notFound("user")
	}
	return decodeUser(out.Item)
}

// personKeys are the auth-state items that make one person one account
// per institution (seed 001). A person is their mail at the institution:
// two people of the same name there are two accounts. Only an account
// without a mail is told apart by its name. Accounts outside an
// institution have none.
func personKeys(u auth.User) []string {
	if u.InstitutionCode == "" {
		return nil
	}
	if u.Mail != "" {
		return []string{personMailKey(u)}
	}
	return []string{personNameKey(u)}
}

func personMailKey(u auth.User) string {
	return "person#" + u.InstitutionCode + "#mail#" + strings.ToLower(u.Mail)
}

func personNameKey(u auth.User) string { return "person#" + u.InstitutionCode + "#name#" + u.Name }

// heldPersonKeys are the person keys that name u: those personKeys gives,
// and the name key of an account opened when every account held one too
// (only if it is still u's — another account without a mail may hold it).
func (s *AuthStore) heldPersonKeys(ctx context.Context, u auth.User) ([]string, error) {
	keys := personKeys(u)
	if u.InstitutionCode == "" || u.Mail == "" {
		return keys, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.AuthState, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": str(personNameKey(u))}})
	if err != nil {
		return nil, wrap("get person key", err)
	}
	if v, ok := out.Item["userId"].(*types.AttributeValueMemberS); ok && v.Value == u.ID {
		keys = append(keys, personNameKey(u))
	}
	return keys, nil
}

// CreateUser stores a new user and appends e, its audit record, in one
// transaction (one write per account, and no account without its record);
// Conflict if the ID is taken or, for an institution account, if the
// institution already has an account of the same person. Both are checked
// in the transaction, so two uploads at once cannot both open the same
// person.
func (s *AuthStore) CreateUser(ctx context.Context, u auth.User, e audit.Event) error {
	if s.tables.Audit == "" {
		return fmt.Errorf("create user: no audit table configured")
	}
	u.Version = 1
	item, err := attributevalue.MarshalMap(toUserItem(u))
	if err != nil {
		return wrap("encode user", err)
	}
	record, err := auditPut(s.tables.Audit, audit.Complete(ctx, e))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.tables.Users, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(userId)")}}, {Put: record}}
	for _, k := range personKeys(u) {
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.AuthState,
			Item:                map[string]types.AttributeValue{"pk": str(k), "userId": str(u.ID)},
			ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if asErr(err, &canceled) {
		for i, r := range canceled.CancellationReasons {
			if aws.ToString(r.Code) != "ConditionalCheckFailed" {
				continue
			}
			if i == 0 {
				return apperr.New(apperr.Conflict, "この利用者IDは既に使われています。", "user ID already exists")
			}
			if i == 1 {
				continue // the audit record's random key: never taken in practice
			}
			return &apperr.Error{Code: apperr.Conflict, Field: "person",
				Message: "この機関に同じ人のアカウントが既にあります（1人1アカウント）。", MessageEn: "the institution already has an account of this person"}
		}
	}
	if err != nil {
		return wrap("create user", err)
	}
	return nil
}

// profileFields are what UpdateUser writes. The failure counter and lock
// are left to RecordFailure, ClearFailures and Unlock, which update them
// atomically, so a profile update never overwrites a failure counted in
// between (and the reverse).
var profileFields = []string{"name", "role", "institutionCode", "prefectureCode", "healthCenterCode", "mail", "phone", "canDownload",
	"passwordHash", "mustChangePassword", "passwordChangedAt", "method", "destination", "totpSecret", "totpLastStep", "status"}

// UpdateUser writes u's profile if u.Version is still the stored version.
func (s *AuthStore) UpdateUser(ctx context.Context, u auth.User) (auth.User, error) {
	item, err := attributevalue.MarshalMap(toUserItem(u))
	if err != nil {
		return auth.User{}, wrap("encode user", err)
	}
	names := map[string]string{"#version": "version"}
	values := map[string]types.AttributeValue{":v": num(u.Version), ":one": num(1)}
	set, remove := "SET #version = #version + :one", ""
	for i, f := range profileFields {
		ref := "#f" + strconv.Itoa(i)
		names[ref] = f
		if v, ok := item[f]; ok {
			values[":f"+strconv.Itoa(i)] = v
			set += ", " + ref + " = :f" + strconv.Itoa(i)
		} else {
			if remove == "" {
				remove = " REMOVE " + ref
			} else {
				remove += ", " + ref
			}
		}
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users,
		Key:                      map[string]types.AttributeValue{"userId": str(u.ID)},
		UpdateExpression:         aws.String(set + remove),
		ConditionExpression:      aws.String("#version = :v"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValues: types.ReturnValueAllNew})
	if isConditionFailed(err) {
		return auth.User{}, conflict("user")
	}
	if err != nil {
		return auth.User{}, wrap("update user", err)
	}
	return decodeUser(out.Attributes)
}

// RecordFailure counts a consecutive failure atomically and locks the
// account at lockAfter.
func (s *AuthStore) RecordFailure(ctx context.Context, userID string, at time.Time, lockAfter int) (int, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users,
		Key:                       map[string]types.AttributeValue{"userId": str(userID)},
		UpdateExpression:          aws.String("SET failedAttempts = if_not_exists(failedAttempts, :zero) + :one, lastFailureAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(userId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":one": num(1), ":at": str(timeString(at))},
		ReturnValues:              types.ReturnValueUpdatedNew})
	if isConditionFailed(err) {
		return 0, notFound("user")
	}
	if err != nil {
		return 0, wrap("record failure", err)
	}
	var n int
	if err := attributevalue.Unmarshal(out.Attributes["failedAttempts"], &n); err != nil {
		return 0, wrap("decode failures", err)
	}
	if n >= lockAfter {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users,
			Key:                       map[string]types.AttributeValue{"userId": str(userID)},
			UpdateExpression:          aws.String("SET #locked = :true"),
			ExpressionAttributeNames:  map[string]string{"#locked": "locked"},
			ConditionExpression:       aws.String("attribute_exists(userId)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}}})
		if err != nil {
			return 0, wrap("lock user", err)
		}
	}
	return n, nil
}

// ReleaseAttempt gives back a reserved attempt whose password was right:
// the account's count, unless it has moved since (a success cleared it),
// and the source's count with the time of its failure before, so the right
// password starts no delay.
func (s *AuthStore) ReleaseAttempt(ctx context.Context, r auth.Reservation) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: s.releaseItems(r, true)})
	if failed := cancelledAt(err); failed != nil && failed[0] {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: s.releaseItems(r, false)})
	}
	if err != nil {
		return wrap("release attempt", err)
	}
	return nil
}

// releaseItems are the writes that give back r: the account's part only
// when withUser.
func (s *AuthStore) releaseItems(r auth.Reservation, withUser bool) []types.TransactWriteItem {
	source := &types.Update{TableName: &s.tables.AuthState, Key: counterKey(r.SourceKey),
		UpdateExpression:          aws.String("SET #n = :seen REMOVE #last"),
		ExpressionAttributeNames:  map[string]string{"#n": "n", "#last": "last"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":seen": num(r.SourceSeen)}}
	if !r.SourceLast.IsZero() {
		source.UpdateExpression = aws.String("SET #n = :seen, #last = :at")
		source.ExpressionAttributeValues[":at"] = num(r.SourceLast.UnixMilli())
	}
	items := []types.TransactWriteItem{{Update: source}}
	if withUser {
		items = append([]types.TransactWriteItem{{Update: &types.Update{TableName: &s.tables.Users, Key: userKey(r.UserID),
			UpdateExpression:          aws.String("SET failedAttempts = :seen"),
			ConditionExpression:       aws.String("failedAttempts = :reserved"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":seen": num(int64(r.Seen)), ":reserved": num(int64(r.Seen + 1))}}}}, items...)
	}
	return items
}

// ClearFailures resets the consecutive failure count after a success.
func (s *AuthStore) ClearFailures(ctx context.Context, userID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users,
		Key:                       map[string]types.AttributeValue{"userId": str(userID)},
		UpdateExpression:          aws.String("SET failedAttempts = :zero REMOVE lastFailureAt"),
		ConditionExpression:       aws.String("attribute_exists(userId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)}})
	if isConditionFailed(err) {
		return notFound("user")
	}
	if err != nil {
		return wrap("clear failures", err)
	}
	return nil
}

// Unlock ends a lock and the failure count: an administrator's action.
func (s *AuthStore) Unlock(ctx context.Context, userID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Users,
		Key:                       map[string]types.AttributeValue{"userId": str(userID)},
		UpdateExpression:          aws.String("SET failedAttempts = :zero, #locked = :false REMOVE lastFailureAt"),
		ExpressionAttributeNames:  map[string]string{"#locked": "locked"},
		ConditionExpression:       aws.String("attribute_exists(userId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":false": &types.AttributeValueMemberBOOL{Value: false}}})
	if isConditionFailed(err) {
		return notFound("user")
	}
	if err != nil {
		return wrap("unlock user", err)
	}
	return nil
}

// challengeItem is a challenge as stored in the auth state table.
type challengeItem struct {
	PK            string `dynamodbav:"pk"`
	UserID        string `dynamodbav:"userId"`
	Purpose       string `dynamodbav:"purpose"`
	Method        string `dynamodbav:"method"`
	Destination   string `dynamodbav:"destination,omitempty"`
	CodeHash      string `dynamodbav:"codeHash,omitempty"`
	TOTPSecret    string `dynamodbav:"totpSecret,omitempty"`
	SessionID     string `dynamodbav:"sessionId,omitempty"`
	Attempts      int    `dynamodbav:"attempts"`
	Sends         int    `dynamodbav:"sends"`
	Consumed      bool   `dynamodbav:"consumed"`
	CreatedAt     string `dynamodbav:"createdAt"`
	CodeExpiresAt int64  `dynamodbav:"codeExpiresAt"` // unix ms
	ExpiresAt     int64  `dynamodbav:"expiresAt"`     // TTL, unix s: a day after, for the record's cleanup
}

func challengeKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("challenge#" + id)}
}

// PutChallenge stores a challenge, replacing one with the same ID (a
// session's pending factor change is replaced by a newer one).
func (s *AuthStore) PutChallenge(ctx context.Context, c auth.Challenge) error {
	put, err := s.challengePut(c)
	if err != nil {
		return err
	}
	if _, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item}); err != nil {
		return wrap("put challenge", err)
	}
	return nil
}

// GetChallenge reads a challenge.
func (s *AuthStore) GetChallenge(ctx context.Context, id string) (auth.Challenge, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.AuthState, Key: challengeKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return auth.Challenge{}, wrap("get challenge", err)
	}
	if out.Item == nil {
		return auth.Challenge{}, notFound("challenge")
	}
	return decodeChallenge(id, out.Item)
}

func decodeChallenge(id string, raw map[string]types.AttributeValue) (auth.Challenge, error) {
	var it challengeItem
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return auth.Challenge{}, wrap("decode challenge", err)
	}
	return auth.Challenge{ID: id, UserID: it.UserID, Purpose: auth.Purpose(it.Purpose), Method: auth.Method(it.Method),
		Destination: it.Destination, CodeHash: it.CodeHash, TOTPSecret: it.TOTPSecret, SessionID: it.SessionID,
		Attempts: it.Attempts, Sends: it.Sends, Consumed: it.Consumed, CreatedAt: parseTime(it.CreatedAt),
		ExpiresAt: time.UnixMilli(it.CodeExpiresAt)}, nil
}

// FailChallenge counts a wrong code, refusing once maxAttempts are spent.
func (s *AuthStore) FailChallenge(ctx context.Context, id string, maxAttempts int) (int, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.AuthState, Key: challengeKey(id),
		UpdateExpression:          aws.String("SET #attempts = #attempts + :one"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #attempts < :max AND #consumed = :false"),
		ExpressionAttributeNames:  map[string]string{"#attempts": "attempts", "#consumed": "consumed"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(int64(maxAttempts)), ":false": &types.AttributeValueMemberBOOL{}},
		ReturnValues:              types.ReturnValueUpdatedNew})
	if isConditionFailed(err) {
		return maxAttempts, conflict("challenge")
	}
	if err != nil {
		return 0, wrap("fail challenge", err)
	}
	var n int
	_ = attributevalue.Unmarshal(out.Attributes["attempts"], &n)
	return n, nil
}

// ConsumeChallenge marks a challenge used, once.
func (s *AuthStore) ConsumeChallenge(ctx context.Context, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.AuthState, Key: challengeKey(id),
		UpdateExpression:          aws.String("SET #consumed = :true"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #consumed = :false"),
		ExpressionAttributeNames:  map[string]string{"#consumed": "consumed"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}, ":false": &types.AttributeValueMemberBOOL{}}})
	if isConditionFailed(err) {
		return conflict("challenge")
	}
	if err != nil {
		return wrap("consume challenge", err)
	}
	return nil
}

// ResendChallenge replaces the code of a live challenge, keeping its attempts.
func (s *AuthStore) ResendChallenge(ctx context.Context, id, codeHash string, expiresAt time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.AuthState, Key: challengeKey(id),
		UpdateExpression:         aws.String("SET codeHash = :h, codeExpiresAt = :exp, expiresAt = :ttl, #sends = #sends + :one"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #consumed = :false"),
		ExpressionAttributeNames: map[string]string{"#sends": "sends", "#consumed": "consumed"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(codeHash), ":exp": num(expiresAt.UnixMilli()),
			":ttl": num(expiresAt.Add(24 * time.Hour).Unix()), ":one": num(1), ":false": &types.AttributeValueMemberBOOL{}}})
	if isConditionFailed(err) {
		return conflict("challenge")
	}
	if err != nil {
		return wrap("resend challenge", err)
	}
	return nil
}

// sessionItem is a session as stored.
type sessionItem struct {
	ID                 string `dynamodbav:"id"`
	UserID             string `dynamodbav:"userId"`
	Role               string `dynamodbav:"role"`
	InstitutionCode    string `dynamodbav:"institutionCode,omitempty"`
	PrefectureCode     string `dynamodbav:"prefectureCode,omitempty"`
	HealthCenterCode   string `dynamodbav:"healthCenterCode,omitempty"`
	MustChangePassword bool   `dynamodbav:"mustChangePassword"`
	CanDownload        bool   `dynamodbav:"canDownload,omitempty"`
	CreatedAt          string `dynamodbav:"createdAt"`
	LastSeenAt         string `dynamodbav:"lastSeenAt"`
	ExpiresAt          int64  `dynamodbav:"expiresAt"` // TTL, unix s
}

// GetSession reads a session.
func (s *AuthStore) GetSession(ctx context.Context, id string) (session.Session, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Sessions,
		Key: map[string]types.AttributeValue{"id": str(id)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return session.Session{}, wrap("get session", err)
	}
	if out.Item == nil {
		return session.Session{}, notFound("session")
	}
	var it sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return session.Session{}, wrap("decode session", err)
	}
	return session.Session{ID: it.ID, UserID: it.UserID, Role: authz.Role(it.Role), InstitutionCode: it.InstitutionCode,
		PrefectureCode: it.PrefectureCode, HealthCenterCode: it.HealthCenterCode, MustChangePassword: it.MustChangePassword,
		CanDownload: it.CanDownload, CreatedAt: parseTime(it.CreatedAt), LastSeenAt: parseTime(it.LastSeenAt), ExpiresAt: time.Unix(it.ExpiresAt, 0)}, nil
}

// TouchSession moves a session's idle clock.
func (s *AuthStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Sessions,
		Key:                       map[string]types.AttributeValue{"id": str(id)},
		UpdateExpression:          aws.String("SET lastSeenAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": str(timeString(at))}})
	if isConditionFailed(err) {
		return notFound("session")
	}
	if err != nil {
		return wrap("touch session", err)
	}
	return nil
}

// DeleteSession ends a session.
func (s *AuthStore) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.tables.Sessions,
		Key: map[string]types.AttributeValue{"id": str(id)}})
	if err != nil {
		return wrap("delete session", err)
	}
	return nil
}

// userIndexes maps what users are listed by to the users table's indexes.
var userIndexes = map[string]struct{ index, key string }{
	"institution":  {"institution-index", "institutionCode"},
	"prefecture":   {"prefecture-index", "prefectureCode"},
	"healthCenter": {"health-center-index", "healthCenterCode"},
}

// ListUsers returns a page of users by institution, prefecture or health
// centre (a Query on the matching index), and the cursor of the next page
// ("" at the end).
func (s *AuthStore) ListUsers(ctx context.Context, by, code string, limit int, cursor string) ([]auth.User, string, error) {
	ix, ok := userIndexes[by]
	if !ok {
		return nil, "", fmt.Errorf("list users by %q: no such index", by)
	}
	in := &dynamodb.QueryInput{TableName: &s.tables.Users, IndexName: aws.String(ix.index),
		KeyConditionExpression:    aws.String("#k = :v"),
		ExpressionAttributeNames:  map[string]string{"#k": ix.key},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": str(code)},
		Limit:                     aws.Int32(int32(limit))}
	// A cursor belongs to one listing: the index key and the user ID.
	items, next, err := queryPage[userItem](ctx, s.db, in, cursor, func(start map[string]types.AttributeValue) bool {
		v, ok := start[ix.key].(*types.AttributeValueMemberS)
		return len(start) == 2 && start["userId"] != nil && ok && v.Value == code
	}, "users")
	if err != nil {
		return nil, "", err
	}
	users := make([]auth.User, len(items))
	for i, it := range items {
		users[i] = it.user()
	}
	return users, next, nil
}

// Mails returns the addresses of the active accounts listed by by
// ("institution", "prefecture", "healthCenter") under code that have one
// of roles: whom to tell about something in that place.
func (s *AuthStore) Mails(ctx context.Context, by, code string, roles ...authz.Role) ([]string, error) {
	var out []string
	cursor := ""
	for {
		users, next, err := s.ListUsers(ctx, by, code, 100, cursor)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if slices.Contains(roles, u.Role) && u.Status == auth.StatusActive && u.Mail != "" {
				out = append(out, u.Mail)
			}
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// encodeCursor turns a LastEvaluatedKey of string attributes into an
// opaque page cursor.
func encodeCursor(key map[string]types.AttributeValue) string {
	plain := map[string]string{}
	for k, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			plain[k] = s.Value
		}
	}
	b, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil || len(plain) == 0 || len(plain) > 4 {
		return nil, fmt.Errorf("malformed cursor")
	}
	key := map[string]types.AttributeValue{}
	for k, v := range plain {
		key[k] = str(v)
	}
	return key, nil
}

// UserNames answers the names of accounts ids, read with BatchGetItem (100
// keys a call); an ID with no account, or an account without a name, is
// left out.
func (s *AuthStore) UserNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, map[string]types.AttributeValue{"userId": str(id)})
		}
	}
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{s.tables.Users: {Keys: keys[start:min(start+100, len(keys))],
			ProjectionExpression: aws.String("userId, #n"), ExpressionAttributeNames: map[string]string{"#n": "name"}}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
			}
			if attempt == 6 {
				return nil, fmt.Errorf("dynamodb user names: keys left unprocessed")
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, wrap("user names", err)
			}
			for _, item := range res.Responses[s.tables.Users] {
				id, _ := item["userId"].(*types.AttributeValueMemberS)
				name, _ := item["name"].(*types.AttributeValueMemberS)
				if id != nil && name != nil && name.Value != "" {
					out[id.Value] = name.Value
				}
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}
