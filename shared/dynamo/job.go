package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/job"
)

// JobStore keeps jobs in the jobs table: the job at pk "job#<id>", sk
// "job" (with owner, scope and, while unfinished, active for the
// indexes), and its rows under the same pk, one item each.
type JobStore struct {
	db    BatchClient
	table string
}

var _ job.Store = (*JobStore)(nil)

// NewJobStore returns a JobStore.
func NewJobStore(db BatchClient, table string) *JobStore { return &JobStore{db: db, table: table} }

// jobRetention is how long a job's record and rows are kept.
const jobRetention = 30 * 24 * time.Hour

// sortable is a time format whose strings sort as the times do.
const sortable = "2006-01-02T15:04:05.000000000Z"

func sortTime(t time.Time) string { return t.UTC().Format(sortable) }

type jobItem struct {
	PK          string            `dynamodbav:"pk"`
	SK          string            `dynamodbav:"sk"`
	Kind        string            `dynamodbav:"kind"`
	Owner       string            `dynamodbav:"owner"`
	OwnerRole   string            `dynamodbav:"ownerRole"`
	OwnerPref   string            `dynamodbav:"ownerPrefecture,omitempty"`
	OwnerHC     string            `dynamodbav:"ownerHealthCenter,omitempty"`
	OwnerInst   string            `dynamodbav:"ownerInstitution,omitempty"`
	Scope       string            `dynamodbav:"scope,omitempty"`
	Params      map[string]string `dynamodbav:"params,omitempty"`
	File        string            `dynamodbav:"file,omitempty"`
	FileBytes   int64             `dynamodbav:"fileBytes"`
	State       string            `dynamodbav:"state"`
	RowsDone    int               `dynamodbav:"rowsDone"`
	RowsTotal   int               `dynamodbav:"rowsTotal"`
	Counts      map[string]int    `dynamodbav:"counts,omitempty"`
	Offset      int64             `dynamodbav:"offset"`
	Line        int               `dynamodbav:"line"`
	Encoding    string            `dynamodbav:"encoding,omitempty"`
	Cursor      string            `dynamodbav:"cursor,omitempty"`
	Failure     *job.Failure      `dynamodbav:"failure,omitempty"`
	LeaseOwner  string            `dynamodbav:"leaseOwner,omitempty"`
	LeaseUntil  string            `dynamodbav:"leaseUntil"`
	Active      string            `dynamodbav:"active,omitempty"`
	Invocations int               `dynamodbav:"invocations"`
	CreatedAt   string            `dynamodbav:"createdAt"`
	UpdatedAt   string            `dynamodbav:"updatedAt"`
	FinishedAt  string            `dynamodbav:"finishedAt,omitempty"`
	ExpiresAt   int64             `dynamodbav:"expiresAt"`
}

func jobPK(id string) string { return "job#" + id }

func jobKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(jobPK(id)), "sk": str("job")}
}

func toJobItem(j job.Job) jobItem {
	it := jobItem{PK: jobPK(j.ID), SK: "job", Kind: string(j.Kind), Owner: j.Owner, OwnerRole: string(j.OwnerRole),
		OwnerPref: j.OwnerScope.PrefectureCode, OwnerHC: j.OwnerScope.HealthCenterCode, OwnerInst: j.OwnerScope.InstitutionCode,
		Scope: j.OwnerScope.PrefectureCode, Params: j.Params, File: j.File, FileBytes: j.FileBytes, State: string(j.State),
		RowsDone: j.RowsDone, RowsTotal: j.RowsTotal, Counts: j.Counts, Offset: j.Position.Offset, Line: j.Position.Line,
		Encoding: string(j.Position.Encoding), Cursor: j.Cursor, Failure: j.Failure, LeaseOwner: j.LeaseOwner,
		LeaseUntil: sortTime(j.LeaseUntil), Invocations: j.Invocations, CreatedAt: sortTime(j.CreatedAt),
		UpdatedAt: sortTime(j.UpdatedAt), ExpiresAt: j.CreatedAt.Add(jobRetention).Unix()}
	if !j.FinishedAt.IsZero() {
		it.FinishedAt = sortTime(j.FinishedAt)
	}
	if !j.State.Finished() {
		it.Active = "1"
	}
	return it
}

func (it jobItem) job() job.Job {
	parse := func(s string) time.Time {
		t, _ := time.Parse(sortable, s)
		return t
	}
	return job.Job{ID: it.PK[len("job#"):], Kind: job.Kind(it.Kind), Owner: it.Owner, OwnerRole: authz.Role(it.OwnerRole),
		OwnerScope: authz.Scope{PrefectureCode: it.OwnerPref, HealthCenterCode: it.OwnerHC, InstitutionCode: it.OwnerInst},
		Params:     it.Params, File: it.File, FileBytes: it.FileBytes, State: job.State(it.State), RowsDone: it.RowsDone,
		RowsTotal: it.RowsTotal, Counts: it.Counts,
		Position: csvio.Position{Offset: it.Offset, Line: it.Line, Encoding: csvio.Encoding(it.Encoding)},
		Cursor:   it.Cursor, Failure: it.Failure, LeaseOwner: it.LeaseOwner, LeaseUntil: parse(it.LeaseUntil),
		Invocations: it.Invocations, CreatedAt: parse(it.CreatedAt), UpdatedAt: parse(it.UpdatedAt), FinishedAt: parse(it.FinishedAt)}
}

func decodeJob(item map[string]types.AttributeValue) (job.Job, error) {
	var it jobItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return job.Job{}, wrap("decode job", err)
	}
	return it.job(), nil
}

// CreateJob stores a new job; Conflict if the ID exists.
func (s *JobStore) CreateJob(ctx context.Context, j job.Job) error {
	item, err := attributevalue.MarshalMap(toJobItem(j))
	if err != nil {
		return wrap("encode job", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return conflict("job")
	}
	if err != nil {
		return wrap("create job", err)
	}
	return nil
}

// GetJob reads a job.
func (s *JobStore) GetJob(ctx context.Context, id string) (job.Job, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: jobKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return job.Job{}, wrap("get job", err)
	}
	if out.Item == nil {
		return job.Job{}, notFound("job")
	}
	return decodeJob(out.Item)
}

// Claim takes the lease of an unfinished job whose lease expired or is
// already owner's (a retried invocation).
func (s *JobStore) Claim(ctx context.Context, id, owner string, now, until time.Time) (job.Job, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: jobKey(id),
		UpdateExpression:          aws.String("SET leaseOwner = :o, leaseUntil = :u"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND active = :one AND (leaseUntil <= :now OR leaseOwner = :o)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(owner), ":u": str(sortTime(until)), ":one": str("1"), ":now": str(sortTime(now))},
		ReturnValues:              types.ReturnValueAllNew})
	if isConditionFailed(err) {
		return job.Job{}, conflict("job lease")
	}
	if err != nil {
		return job.Job{}, wrap("claim job", err)
	}
	return decodeJob(out.Attributes)
}

// Save writes the job if its lease is still j.LeaseOwner's.
func (s *JobStore) Save(ctx context.Context, j job.Job) error {
	item, err := attributevalue.MarshalMap(toJobItem(j))
	if err != nil {
		return wrap("encode job", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("leaseOwner = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(j.LeaseOwner)}})
	if isConditionFailed(err) {
		return conflict("job lease")
	}
	if err != nil {
		return wrap("save job", err)
	}
	return nil
}

// Expired lists unfinished jobs whose lease ended before now.
func (s *JobStore) Expired(ctx context.Context, now time.Time) ([]string, error) {
	items, err := queryAll[jobItem](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String("lease-index"),
		KeyConditionExpression:    aws.String("active = :one AND leaseUntil <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": str("1"), ":now": str(sortTime(now))}}, "expired jobs", 1000)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.PK[len("job#"):]
	}
	return ids, nil
}

// list reads one page of an index by its key attr = value; the cursor
// is the page's LastEvaluatedKey, accepted back only for the same listing.
func (s *JobStore) list(ctx context.Context, index, attr, value string, limit int, cursor string) ([]job.Job, string, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("#a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": str(value)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit))}
	items, next, err := queryPage[jobItem](ctx, s.db, in, cursor, func(start map[string]types.AttributeValue) bool {
		v, ok := start[attr].(*types.AttributeValueMemberS)
		return len(start) == 4 && ok && v.Value == value && start["pk"] != nil && start["sk"] != nil && start["createdAt"] != nil
	}, "jobs")
	if err != nil {
		return nil, "", err
	}
	jobs := make([]job.Job, len(items))
	for i, it := range items {
		jobs[i] = it.job()
	}
	return jobs, next, nil
}

// ListByOwner lists a page of an administrator's jobs, newest first.
func (s *JobStore) ListByOwner(ctx context.Context, owner string, limit int, cursor string) ([]job.Job, string, error) {
	return s.list(ctx, "owner-index", "owner", owner, limit, cursor)
}

// ListByScope lists a page of the jobs created in a prefecture, newest first.
func (s *JobStore) ListByScope(ctx context.Context, prefecture string, limit int, cursor string) ([]job.Job, string, error) {
	return s.list(ctx, "scope-index", "scope", prefecture, limit, cursor)
}

type jobRowItem struct {
	PK        string            `dynamodbav:"pk"`
	SK        string            `dynamodbav:"sk"`
	Line      int               `dynamodbav:"line"`
	Fields    map[string]string `dynamodbav:"fields,omitempty"`
	Sealed    string            `dynamodbav:"sealed,omitempty"`
	Done      bool              `dynamodbav:"done"`
	ExpiresAt int64             `dynamodbav:"expiresAt"`
}

// PutRows stores rows in batches of 25 (BatchWriteItem), retrying what
// DynamoDB leaves unprocessed.
func (s *JobStore) PutRows(ctx context.Context, id string, rows []job.Row) error {
	expires := time.Now().Add(jobRetention).Unix()
	for start := 0; start < len(rows); start += 25 {
		var reqs []types.WriteRequest
		for _, r := range rows[start:min(start+25, len(rows))] {
			it := jobRowItem{PK: jobPK(id), SK: r.Key, Line: r.Line, Fields: r.Fields, Sealed: r.Sealed, Done: r.Done, ExpiresAt: expires}
			if !r.ExpiresAt.IsZero() {
				it.ExpiresAt = r.ExpiresAt.Unix()
			}
			item, err := attributevalue.MarshalMap(it)
			if err != nil {
				return wrap("encode job row", err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}

func (s *JobStore) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(pending[s.table]) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return fmt.Errorf("batch write to %s: items left unprocessed", s.table)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(25<<attempt) * time.Millisecond):
			}
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return wrap("batch write job rows", err)
		}
		pending = out.UnprocessedItems
	}
	return nil
}

// Rows lists up to limit rows whose key starts with prefix, after the key
// after ("" from the first).
func (s *JobStore) Rows(ctx context.Context, id, prefix, after string, limit int) ([]job.Row, error) {
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(jobPK(id)), ":p": str(prefix)}}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{"pk": str(jobPK(id)), "sk": str(after)}
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	items, err := queryAll[jobRowItem](ctx, s.db, in, "job rows", limit)
	if err != nil {
		return nil, err
	}
	rows := make([]job.Row, len(items))
	for i, it := range items {
		rows[i] = job.Row{Key: it.SK, Line: it.Line, Fields: it.Fields, Sealed: it.Sealed, Done: it.Done}
		if it.ExpiresAt > 0 {
			rows[i].ExpiresAt = time.Unix(it.ExpiresAt, 0)
		}
	}
	return rows, nil
}

// DeleteRows deletes rows in batches of 25 (BatchWriteItem).
func (s *JobStore) DeleteRows(ctx context.Context, id string, keys []string) error {
	for start := 0; start < len(keys); start += 25 {
		var reqs []types.WriteRequest
		for _, k := range keys[start:min(start+25, len(keys))] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
				Key: map[string]types.AttributeValue{"pk": str(jobPK(id)), "sk": str(k)}}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}

// MarkRow sets a row done and removes its sealed part.
func (s *JobStore) MarkRow(ctx context.Context, id, key string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                       map[string]types.AttributeValue{"pk": str(jobPK(id)), "sk": str(key)},
		UpdateExpression:          aws.String("SET done = :t REMOVE sealed"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}})
	if isConditionFailed(err) {
		return notFound("job row")
	}
	if err != nil {
		return wrap("mark job row", err)
	}
	return nil
}

// MarkSending records on a row that attempt is about to do its follow-up
// (send its notice mail), before it is done: a crash after the mail left
// and before MarkRow leaves the mark behind. Conflict if the row is done,
// or marked by another attempt and not force.
func (s *JobStore) MarkSending(ctx context.Context, id, key, attempt string, force bool) error {
	cond := "attribute_exists(pk) AND done = :f AND (attribute_not_exists(#fields.#sending) OR #fields.#sending = :a)"
	if force {
		cond = "attribute_exists(pk) AND done = :f"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                       map[string]types.AttributeValue{"pk": str(jobPK(id)), "sk": str(key)},
		UpdateExpression:          aws.String("SET #fields.#sending = :a"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#fields": "fields", "#sending": "sending"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": str(attempt), ":f": &types.AttributeValueMemberBOOL{Value: false}}})
	if isConditionFailed(err) {
		return conflict("job row")
	}
	if err != nil {
		return wrap("mark job row sending", err)
	}
	return nil
}

// ClearSending removes attempt's mark from a row whose follow-up failed
// without taking place (SES refused the mail), so a later job may try.
func (s *JobStore) ClearSending(ctx context.Context, id, key, attempt string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table,
		Key:                       map[string]types.AttributeValue{"pk": str(jobPK(id)), "sk": str(key)},
		UpdateExpression:          aws.String("REMOVE #fields.#sending"),
		ConditionExpression:       aws.String("#fields.#sending = :a"),
		ExpressionAttributeNames:  map[string]string{"#fields": "fields", "#sending": "sending"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": str(attempt)}})
	if err != nil && !isConditionFailed(err) {
		return wrap("clear job row sending", err)
	}
	return nil
}
