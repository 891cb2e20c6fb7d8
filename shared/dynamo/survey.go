package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/survey"
)

// SurveyStore keeps one kind of survey in the surveys table, all under the
// institution's partition pk "inst#<code>":
//   - the current version at sk "<kind>#<period>", with area
//     "<kind>#<period>#<prefecture>" for the area-index (the per-day answer
//     markers the non-responder list and the downloads query);
//   - every version at sk "hist#<kind>#<period>#<version, 10 digits>";
//   - the institution's latest daily and weekly survey at sk "status"
//     (latestDaily, latestDailyPeriod, latestWeekly, latestWeeklyPeriod;
//     prevDaily and dailyAdvancedAt: the date before the latest daily one
//     and when the latest became the latest).
type SurveyStore[T any] struct {
	db    TransactClient
	table string
	kind  string
}

var (
	_ survey.Store[survey.Daily]  = (*SurveyStore[survey.Daily])(nil)
	_ survey.Store[survey.Weekly] = (*SurveyStore[survey.Weekly])(nil)
)

// NewSurveyStore returns the store of surveys of kind k.
func NewSurveyStore[T any](db TransactClient, table string, k survey.Kind[T]) *SurveyStore[T] {
	return &SurveyStore[T]{db: db, table: table, kind: k.Name}
}

// surveyItem is one version of a survey as stored.
type surveyItem[T any] struct {
	PK               string `dynamodbav:"pk"`
	SK               string `dynamodbav:"sk"`
	Kind             string `dynamodbav:"kind"`
	InstitutionCode  string `dynamodbav:"institutionCode"`
	Period           string `dynamodbav:"period"`
	Version          int64  `dynamodbav:"version"`
	Values           T      `dynamodbav:"values"`
	UpdatedAt        string `dynamodbav:"updatedAt"`
	UpdatedBy        string `dynamodbav:"updatedBy"`
	Source           string `dynamodbav:"source"`
	Area             string `dynamodbav:"area,omitempty"`
	PrefectureCode   string `dynamodbav:"prefectureCode,omitempty"`
	HealthCenterCode string `dynamodbav:"healthCenterCode,omitempty"`
}

func (it surveyItem[T]) record() survey.Record[T] {
	return survey.Record[T]{Kind: it.Kind, InstitutionCode: it.InstitutionCode, Period: it.Period, Version: it.Version, Values: it.Values,
		UpdatedAt: parseTime(it.UpdatedAt), UpdatedBy: it.UpdatedBy, Source: it.Source}
}

func surveyPK(code string) string { return "inst#" + code }

// SurveyArea is the area-index key of the surveys of one kind, period
// and prefecture.
func SurveyArea(kind, period, prefecture string) string {
	return kind + "#" + period + "#" + prefecture
}

func (s *SurveyStore[T]) key(code, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(surveyPK(code)), "sk": str(sk)}
}

// Get reads the current version of one period.
func (s *SurveyStore[T]) Get(ctx context.Context, code, period string) (survey.Record[T], error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: s.key(code, s.kind+"#"+period), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return survey.Record[T]{}, wrap("get survey", err)
	}
	if out.Item == nil {
		return survey.Record[T]{}, notFound("survey")
	}
	var it surveyItem[T]
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return survey.Record[T]{}, wrap("decode survey", err)
	}
	return it.record(), nil
}

// Before reads the latest survey of a period before period.
func (s *SurveyStore[T]) Before(ctx context.Context, code, period string) (survey.Record[T], error) {
	items, err := queryAll[surveyItem[T]](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(surveyPK(code)), ":lo": str(s.kind + "#"), ":hi": str(s.kind + "#" + period)},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(2), ConsistentRead: aws.Bool(true)}, "earlier survey", 2)
	if err != nil {
		return survey.Record[T]{}, err
	}
	for _, it := range items {
		if it.Period < period {
			return it.record(), nil
		}
	}
	return survey.Record[T]{}, notFound("earlier survey")
}

// Range reads the current versions of from..to, oldest first.
func (s *SurveyStore[T]) Range(ctx context.Context, code, from, to string) ([]survey.Record[T], error) {
	items, err := queryAll[surveyItem[T]](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(surveyPK(code)), ":lo": str(s.kind + "#" + from), ":hi": str(s.kind + "#" + to)}},
		"survey range", 0)
	return records(items), err
}

// History reads every version of one period, oldest first.
func (s *SurveyStore[T]) History(ctx context.Context, code, period string) ([]survey.Record[T], error) {
	items, err := queryAll[surveyItem[T]](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :h)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(surveyPK(code)), ":h": str("hist#" + s.kind + "#" + period + "#")},
		ConsistentRead:            aws.Bool(true)}, "survey history", 0)
	return records(items), err
}

func records[T any](items []surveyItem[T]) []survey.Record[T] {
	out := make([]survey.Record[T], len(items))
	for i, it := range items {
		out[i] = it.record()
	}
	return out
}

// statusAttr names the status item's attributes of this kind.
func (s *SurveyStore[T]) statusAttr() string {
	if s.kind == survey.DailyKind.Name {
		return "latestDaily"
	}
	return "latestWeekly"
}

// Put stores rec as the current version in one transaction with its
// history entry and, when rec's period is not older than the latest one,
// the status item. A backfill of an older period fails the status item's
// condition; it is then written again without it (a later period never
// goes back), so a write of the latest period costs one transaction. A
// daily survey's status write has two forms, an advance of the latest
// date and a write of the same date (see below): the likelier one is
// tried first, the other when its condition fails, so a daily backfill
// costs three.
func (s *SurveyStore[T]) Put(ctx context.Context, rec survey.Record[T], where authz.Scope) error {
	cur := surveyItem[T]{PK: surveyPK(rec.InstitutionCode), SK: s.kind + "#" + rec.Period, Kind: s.kind, InstitutionCode: rec.InstitutionCode,
		Period: rec.Period, Version: rec.Version, Values: rec.Values, UpdatedAt: timeString(rec.UpdatedAt), UpdatedBy: rec.UpdatedBy, Source: rec.Source,
		Area: SurveyArea(s.kind, rec.Period, where.PrefectureCode), PrefectureCode: where.PrefectureCode, HealthCenterCode: where.HealthCenterCode}
	curItem, err := attributevalue.MarshalMap(cur)
	if err != nil {
		return wrap("encode survey", err)
	}
	hist := cur
	hist.SK = fmt.Sprintf("hist#%s#%s#%010d", s.kind, rec.Period, rec.Version)
	hist.Area = ""
	histItem, err := attributevalue.MarshalMap(hist)
	if err != nil {
		return wrap("encode survey history", err)
	}
	latest, err := attributevalue.Marshal(struct {
		Period    string `dynamodbav:"period"`
		Version   int64  `dynamodbav:"version"`
		Values    T      `dynamodbav:"values"`
		UpdatedAt string `dynamodbav:"updatedAt"`
		UpdatedBy string `dynamodbav:"updatedBy"`
	}{rec.Period, rec.Version, rec.Values, cur.UpdatedAt, rec.UpdatedBy})
	if err != nil {
		return wrap("encode survey status", err)
	}
	put := &types.Put{TableName: &s.table, Item: curItem, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if rec.Version > 1 {
		put.ConditionExpression = aws.String("version = :prev")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": num(rec.Version - 1)}
	}
	status := &types.Update{TableName: &s.table, Key: s.key(rec.InstitutionCode, "status"),
		UpdateExpression:          aws.String("SET #l = :l, #p = :p, institutionCode = :c, prefectureCode = :pref, healthCenterCode = :hc"),
		ConditionExpression:       aws.String("attribute_not_exists(#p) OR #p <= :p"),
		ExpressionAttributeNames:  map[string]string{"#l": s.statusAttr(), "#p": s.statusAttr() + "Period"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":l": latest, ":p": str(rec.Period), ":c": str(rec.InstitutionCode), ":pref": str(where.PrefectureCode), ":hc": str(where.HealthCenterCode)}}
	var other *types.Update // the status write to try when status's condition fails, before giving up on it
	if rank, acc, ok := dailySearch(rec); ok {
		// The search's read model: the index orders a prefecture by the
		// latest daily beds, and shows its accepting status.
		*status.UpdateExpression += ", searchRank = :rank, acc = :acc"
		status.ExpressionAttributeValues[":rank"], status.ExpressionAttributeValues[":acc"] = str(rank), str(acc)
		// When the latest date advances, the one before it and the time
		// of the advance are kept, so that a search paged through since
		// an earlier time judges staleness as it was then. A write of the
		// latest date again leaves them; which of the two a write is
		// shows only in which condition holds: a first version is most
		// likely an advance, a later one a correction.
		same, advance := *status, *status
		same.ConditionExpression = aws.String("#p = :p")
		advance.ConditionExpression = aws.String("attribute_not_exists(#p) OR #p < :p")
		advance.UpdateExpression = aws.String(*status.UpdateExpression + ", prevDaily = if_not_exists(#p, :none), dailyAdvancedAt = :at")
		advance.ExpressionAttributeValues = maps.Clone(status.ExpressionAttributeValues)
		advance.ExpressionAttributeValues[":none"], advance.ExpressionAttributeValues[":at"] = str(""), str(cur.UpdatedAt)
		status, other = &advance, &same
		if rec.Version > 1 {
			status, other = &same, &advance
		}
	}
	items := []types.TransactWriteItem{
		{Put: put},
		{Put: &types.Put{TableName: &s.table, Item: histItem, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: status},
	}
	for attempt := 0; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			return wrap("write survey", err)
		}
		reasons := canceled.CancellationReasons
		failed := func(i int) string {
			if i < len(reasons) {
				return aws.ToString(reasons[i].Code)
			}
			return ""
		}
		switch {
		case failed(0) == "ConditionalCheckFailed" || failed(1) == "ConditionalCheckFailed":
			return s.conflict(ctx, rec)
		case len(items) == 3 && failed(2) == "ConditionalCheckFailed" && other != nil:
			items[2], other = types.TransactWriteItem{Update: other}, nil
		case len(items) == 3 && failed(2) == "ConditionalCheckFailed":
			items = items[:2] // a backfill: the latest stays on the later period
		case attempt < 8:
			// Another transaction held one of the items (TransactionConflict):
			// try again; a stale version then fails its condition.
			time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
		default:
			return wrap("write survey", err)
		}
	}
}

// conflict tells a writer with a stale version which version is current
// and who wrote it.
func (s *SurveyStore[T]) conflict(ctx context.Context, rec survey.Record[T]) error {
	cur, err := s.Get(ctx, rec.InstitutionCode, rec.Period)
	if apperr.CodeOf(err) == apperr.NotFound {
		return &apperr.Error{Code: apperr.Conflict, Field: "version",
			Message:   "この調査はまだ登録されていません。version を付けずに送信してください。",
			MessageEn: "there is no survey to update yet: send it without a version", Detail: map[string]string{"currentVersion": "0"}}
	}
	if err != nil {
		return err
	}
	return survey.Conflict(cur.Version, cur.UpdatedBy, cur.UpdatedAt)
}

// SurveyStatusStore reads institutions' status items (sk "status").
type SurveyStatusStore struct {
	db    BatchClient
	table string
}

var _ survey.StatusReader = (*SurveyStatusStore)(nil)

// NewSurveyStatusStore returns a SurveyStatusStore.
func NewSurveyStatusStore(db BatchClient, table string) *SurveyStatusStore {
	return &SurveyStatusStore{db: db, table: table}
}

type latestItem[T any] struct {
	Period    string `dynamodbav:"period"`
	Version   int64  `dynamodbav:"version"`
	Values    T      `dynamodbav:"values"`
	UpdatedAt string `dynamodbav:"updatedAt"`
	UpdatedBy string `dynamodbav:"updatedBy"`
}

func (l *latestItem[T]) record(kind, code string) *survey.Record[T] {
	if l == nil {
		return nil
	}
	return &survey.Record[T]{Kind: kind, InstitutionCode: code, Period: l.Period, Version: l.Version, Values: l.Values,
		UpdatedAt: parseTime(l.UpdatedAt), UpdatedBy: l.UpdatedBy}
}

type statusItem struct {
	InstitutionCode string                     `dynamodbav:"institutionCode"`
	Daily           *latestItem[survey.Daily]  `dynamodbav:"latestDaily"`
	Weekly          *latestItem[survey.Weekly] `dynamodbav:"latestWeekly"`
}

func (it statusItem) status(code string) survey.Status {
	return survey.Status{InstitutionCode: code, Daily: it.Daily.record(survey.DailyKind.Name, code), Weekly: it.Weekly.record(survey.WeeklyKind.Name, code)}
}

// GetStatus reads one institution's latest surveys in one GetItem; an
// institution that never answered has an empty status.
func (s *SurveyStatusStore) GetStatus(ctx context.Context, code string) (survey.Status, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key: map[string]types.AttributeValue{"pk": str(surveyPK(code)), "sk": str("status")}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return survey.Status{}, wrap("get survey status", err)
	}
	var it statusItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return survey.Status{}, wrap("decode survey status", err)
	}
	return it.status(code), nil
}

// Statuses reads the status items of codes (BatchGetItem, 100 at a time).
func (s *SurveyStatusStore) Statuses(ctx context.Context, codes []string) (map[string]survey.Status, error) {
	out := make(map[string]survey.Status, len(codes))
	for start := 0; start < len(codes); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, c := range codes[start:min(start+100, len(codes))] {
			keys = append(keys, map[string]types.AttributeValue{"pk": str(surveyPK(c)), "sk": str("status")})
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
		for tries := 0; len(req) > 0; tries++ {
			if tries > 8 {
				return nil, wrap("batch get survey status", errors.New("unprocessed keys remain"))
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, wrap("batch get survey status", err)
			}
			var items []statusItem
			if err := attributevalue.UnmarshalListOfMaps(res.Responses[s.table], &items); err != nil {
				return nil, wrap("decode survey status", err)
			}
			for _, it := range items {
				out[it.InstitutionCode] = it.status(it.InstitutionCode)
			}
			req = res.UnprocessedKeys
			if len(req) > 0 {
				time.Sleep(time.Duration(20*(tries+1)) * time.Millisecond)
			}
		}
	}
	return out, nil
}

// SurveyAreaStore reads who answered in a prefecture (the surveys table's
// area-index) and the prefecture's institutions (the masters table's
// jurisdiction-index), and keeps reminder markers at sk
// "remind#<kind>#<period>" of the institution's partition.
type SurveyAreaStore struct {
	db      Client
	surveys string
	masters string
}

var _ survey.AreaStore = (*SurveyAreaStore)(nil)

// NewSurveyAreaStore returns a SurveyAreaStore.
func NewSurveyAreaStore(db Client, surveysTable, mastersTable string) *SurveyAreaStore {
	return &SurveyAreaStore{db: db, surveys: surveysTable, masters: mastersTable}
}

// Answered queries the area-index for the codes that answered.
func (s *SurveyAreaStore) Answered(ctx context.Context, kind, period, prefecture string) (map[string]bool, error) {
	out := map[string]bool{}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.surveys, IndexName: aws.String("area-index"),
		KeyConditionExpression:    aws.String("area = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": str(SurveyArea(kind, period, prefecture))},
		ProjectionExpression:      aws.String("institutionCode")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query answered", err)
		}
		for _, it := range page.Items {
			if v, ok := it["institutionCode"].(*types.AttributeValueMemberS); ok {
				out[v.Value] = true
			}
		}
	}
	return out, nil
}

// EachInstitution queries the jurisdiction-index page by page.
func (s *SurveyAreaStore) EachInstitution(ctx context.Context, prefecture string, fn func(master.Record) error) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.masters, IndexName: aws.String("jurisdiction-index"),
		KeyConditionExpression:    aws.String("jurisdiction = :j"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(string(master.Institutions) + "#" + prefecture)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap("query institutions", err)
		}
		var items []masterItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return wrap("decode institutions", err)
		}
		for _, it := range items {
			if err := fn(it.record()); err != nil {
				return err
			}
		}
	}
	return nil
}

// EachDaily queries the area-index for one day's surveys page by page,
// after the institution code after.
func (s *SurveyAreaStore) EachDaily(ctx context.Context, day, prefecture, after string, fn func(survey.Record[survey.Daily], authz.Scope) error) error {
	return eachSurvey(ctx, s, survey.DailyKind.Name, day, prefecture, after, fn)
}

// EachWeekly queries the area-index for one week's surveys page by page,
// after the institution code after.
func (s *SurveyAreaStore) EachWeekly(ctx context.Context, week, prefecture, after string, fn func(survey.Record[survey.Weekly], authz.Scope) error) error {
	return eachSurvey(ctx, s, survey.WeeklyKind.Name, week, prefecture, after, fn)
}

func eachSurvey[T any](ctx context.Context, s *SurveyAreaStore, kind, period, prefecture, after string, fn func(survey.Record[T], authz.Scope) error) error {
	in := &dynamodb.QueryInput{TableName: &s.surveys, IndexName: aws.String("area-index"),
		KeyConditionExpression:    aws.String("area = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": str(SurveyArea(kind, period, prefecture))}}
	if after != "" {
		in.KeyConditionExpression = aws.String("area = :a AND institutionCode > :after")
		in.ExpressionAttributeValues[":after"] = str(after)
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap("query "+kind+" surveys", err)
		}
		for _, raw := range page.Items {
			var it surveyItem[T]
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return wrap("decode "+kind+" survey", err)
			}
			if err := fn(it.record(), authz.Scope{InstitutionCode: it.InstitutionCode, PrefectureCode: it.PrefectureCode, HealthCenterCode: it.HealthCenterCode}); err != nil {
				return err
			}
		}
	}
	return nil
}

// MarkReminded puts the reminder marker if it is not there yet.
func (s *SurveyAreaStore) MarkReminded(ctx context.Context, code, kind, period string, at time.Time) (bool, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.surveys,
		Item:                map[string]types.AttributeValue{"pk": str(surveyPK(code)), "sk": str("remind#" + kind + "#" + period), "at": str(timeString(at))},
		ConditionExpression: aws.String("attribute_not_exists(pk)")})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("mark reminded", err)
	}
	return true, nil
}

// Item is the stored current version of rec, for bulk loads (benchmarks,
// migrations) that write with BatchWriteItem instead of Put.
func (s *SurveyStore[T]) Item(rec survey.Record[T], where authz.Scope) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(surveyItem[T]{PK: surveyPK(rec.InstitutionCode), SK: s.kind + "#" + rec.Period, Kind: s.kind,
		InstitutionCode: rec.InstitutionCode, Period: rec.Period, Version: rec.Version, Values: rec.Values, UpdatedAt: timeString(rec.UpdatedAt),
		UpdatedBy: rec.UpdatedBy, Source: rec.Source, Area: SurveyArea(s.kind, rec.Period, where.PrefectureCode),
		PrefectureCode: where.PrefectureCode, HealthCenterCode: where.HealthCenterCode})
}

// MasterItem is the stored current version of a master record, for bulk
// loads that write with BatchWriteItem.
func MasterItem(r master.Record) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(toMasterItem(r, "current"))
}
