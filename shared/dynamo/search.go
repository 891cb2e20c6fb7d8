package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/search"
	"github.com/gmis-oss/gmis/shared/survey"
)

// SearchIndex is the surveys table's index of status items by prefecture
// (searchPrefecture), sorted by searchRank: available COVID beds, most
// first (search.Rank).
const SearchIndex = "search-index"

// SearchStore reads the search's read model: the institutions' status
// items (sk "status" in the surveys table), which carry the master fields
// the search shows (attribute inst, written by MasterStore.WithSearch)
// beside the latest surveys (written by SurveyStore.Put).
type SearchStore struct {
	db    Client
	table string
}

var _ search.Store = (*SearchStore)(nil)

// NewSearchStore returns a SearchStore over the surveys table.
func NewSearchStore(db Client, surveysTable string) *SearchStore {
	return &SearchStore{db: db, table: surveysTable}
}

// searchFields is the status item's inst attribute.
type searchFields struct {
	Name             string   `dynamodbav:"name"`
	Kana             string   `dynamodbav:"kana,omitempty"`
	NameKey          string   `dynamodbav:"nameKey"`
	KanaKey          string   `dynamodbav:"kanaKey,omitempty"`
	Address          string   `dynamodbav:"address,omitempty"`
	Phone            string   `dynamodbav:"phone,omitempty"`
	Category         string   `dynamodbav:"category"`
	PrefectureCode   string   `dynamodbav:"prefectureCode"`
	MunicipalityCode string   `dynamodbav:"municipalityCode,omitempty"`
	HealthCenterCode string   `dynamodbav:"healthCenterCode"`
	Latitude         *float64 `dynamodbav:"lat,omitempty"`
	Longitude        *float64 `dynamodbav:"lon,omitempty"`
}

type searchItem struct {
	InstitutionCode string                    `dynamodbav:"institutionCode"`
	Inst            *searchFields             `dynamodbav:"inst"`
	Daily           *latestItem[survey.Daily] `dynamodbav:"latestDaily"`
}

func (it searchItem) entry() search.Entry {
	f := it.Inst
	e := search.Entry{Institution: search.Institution{Code: it.InstitutionCode, Name: f.Name, Kana: f.Kana, Address: f.Address, Phone: f.Phone,
		Category: f.Category, PrefectureCode: f.PrefectureCode, MunicipalityCode: f.MunicipalityCode, HealthCenterCode: f.HealthCenterCode,
		Latitude: f.Latitude, Longitude: f.Longitude}, NameKey: f.NameKey, KanaKey: f.KanaKey}
	e.Daily = it.Daily.record(survey.DailyKind.Name, it.InstitutionCode)
	return e
}

// Prefecture queries the search-index for every institution of a
// prefecture, page by page.
func (s *SearchStore) Prefecture(ctx context.Context, prefecture string) ([]search.Entry, error) {
	items, err := queryAll[searchItem](ctx, s.db, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(SearchIndex),
		KeyConditionExpression:    aws.String("searchPrefecture = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(prefecture)}}, "search "+prefecture, 0)
	if err != nil {
		return nil, err
	}
	out := make([]search.Entry, 0, len(items))
	for _, it := range items {
		if it.Inst != nil {
			out = append(out, it.entry())
		}
	}
	return out, nil
}

// Entry reads one institution's status item.
func (s *SearchStore) Entry(ctx context.Context, code string) (search.Entry, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key: map[string]types.AttributeValue{"pk": str(surveyPK(code)), "sk": str("status")}})
	if err != nil {
		return search.Entry{}, wrap("get search entry", err)
	}
	var it searchItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return search.Entry{}, wrap("decode search entry", err)
	}
	if it.Inst == nil {
		return search.Entry{}, notFound("institution " + code)
	}
	return it.entry(), nil
}

// searchUpdate is the write of an institution's master fields into its
// status item: the same item the survey writes keep, so that one Query
// of the search-index answers a search. An institution not yet surveyed
// ranks with 0 beds.
func searchUpdate(table string, r master.Record) (*types.Update, error) {
	e := search.FromMaster(r)
	in := e.Institution
	f, err := attributevalue.Marshal(searchFields{Name: in.Name, Kana: in.Kana, NameKey: e.NameKey, KanaKey: e.KanaKey, Address: in.Address,
		Phone: in.Phone, Category: in.Category, PrefectureCode: in.PrefectureCode, MunicipalityCode: in.MunicipalityCode,
		HealthCenterCode: in.HealthCenterCode, Latitude: in.Latitude, Longitude: in.Longitude})
	if err != nil {
		return nil, wrap("encode search entry", err)
	}
	return &types.Update{TableName: aws.String(table),
		Key:              map[string]types.AttributeValue{"pk": str(surveyPK(r.Code)), "sk": str("status")},
		UpdateExpression: aws.String("SET inst = :f, searchPrefecture = :p, searchRank = if_not_exists(searchRank, :r), institutionCode = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": f, ":p": str(in.PrefectureCode), ":r": str(search.Rank(0, r.Code)),
			":c": str(r.Code)}}, nil
}

// WithSearch makes s keep the search's read model current: each write of
// an institution also writes its master fields into its status item in
// surveysTable, in the same transaction.
func (s *MasterStore) WithSearch(surveysTable string) *MasterStore {
	s.surveys = surveysTable
	return s
}

// searchWrite is the read-model write that goes with r, if any.
func (s *MasterStore) searchWrite(r master.Record) (*types.TransactWriteItem, error) {
	if s.surveys == "" || r.Kind != master.Institutions {
		return nil, nil
	}
	u, err := searchUpdate(s.surveys, r)
	if err != nil {
		return nil, err
	}
	return &types.TransactWriteItem{Update: u}, nil
}

// RebuildSearch writes the master fields of every institution of a
// prefecture (the masters' jurisdiction-index) into their status items
// again, for recovery, and reports how many it wrote.
func RebuildSearch(ctx context.Context, db TransactClient, mastersTable, surveysTable, prefecture string) (int, error) {
	n := 0
	p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{TableName: &mastersTable, IndexName: aws.String("jurisdiction-index"),
		KeyConditionExpression:    aws.String("jurisdiction = :j"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(string(master.Institutions) + "#" + prefecture)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, wrap("query institutions", err)
		}
		var items []masterItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return n, wrap("decode institutions", err)
		}
		for _, it := range items {
			u, err := searchUpdate(surveysTable, it.record())
			if err != nil {
				return n, err
			}
			if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
				ExpressionAttributeValues: u.ExpressionAttributeValues}); err != nil {
				return n, wrap("rebuild search entry "+it.Code, err)
			}
			n++
		}
	}
	return n, nil
}

// dailyRank is the searchRank a survey write sets: by available beds.
func dailyRank(values any, code string) (string, bool) {
	d, ok := values.(survey.Daily)
	if !ok {
		return "", false
	}
	return search.Rank(d.Beds.CovidAvailable, code), true
}

// SearchItem is an institution's status item as the master and daily
// survey writes leave it, for bulk loads (benchmarks, migrations) that
// write with BatchWriteItem.
func SearchItem(r master.Record, daily *survey.Record[survey.Daily]) (map[string]types.AttributeValue, error) {
	u, err := searchUpdate("", r)
	if err != nil {
		return nil, err
	}
	item := map[string]types.AttributeValue{"pk": str(surveyPK(r.Code)), "sk": str("status"), "institutionCode": str(r.Code),
		"inst": u.ExpressionAttributeValues[":f"], "searchPrefecture": u.ExpressionAttributeValues[":p"], "searchRank": str(search.Rank(0, r.Code)),
		"prefectureCode": str(r.Fields["prefectureCode"]), "healthCenterCode": str(r.Fields["healthCenterCode"])}
	if daily != nil {
		l, err := attributevalue.Marshal(latestItem[survey.Daily]{Period: daily.Period, Version: daily.Version, Values: daily.Values,
			UpdatedAt: timeString(daily.UpdatedAt), UpdatedBy: daily.UpdatedBy})
		if err != nil {
			return nil, wrap("encode survey status", err)
		}
		item["latestDaily"], item["latestDailyPeriod"] = l, str(daily.Period)
		item["searchRank"] = str(search.Rank(daily.Values.Beds.CovidAvailable, r.Code))
	}
	return item, nil
}

// Ranked queries the search-index in searchRank order, after the rank
// after, keeping the entries whose latest daily survey is of since or
// later (or, with stale, the others), until fn returns false.
func (s *SearchStore) Ranked(ctx context.Context, prefecture, since string, stale bool, after string, pageSize int, fn func(search.Entry) bool) error {
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(SearchIndex),
		KeyConditionExpression:    aws.String("searchPrefecture = :p"),
		FilterExpression:          aws.String("latestDaily.#period >= :since"),
		ExpressionAttributeNames:  map[string]string{"#period": "period"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(prefecture), ":since": str(since)},
		Limit:                     aws.Int32(int32(pageSize))}
	if stale {
		in.FilterExpression = aws.String("attribute_not_exists(latestDaily) OR latestDaily.#period < :since")
	}
	if after != "" {
		in.KeyConditionExpression = aws.String("searchPrefecture = :p AND searchRank > :after")
		in.ExpressionAttributeValues[":after"] = str(after)
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return wrap("search "+prefecture, err)
		}
		var items []searchItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return wrap("decode search entries", err)
		}
		for _, it := range items {
			if it.Inst != nil && !fn(it.entry()) {
				return nil
			}
		}
	}
	return nil
}
