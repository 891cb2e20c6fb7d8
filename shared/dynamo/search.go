package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gmis-oss/gmis/shared/master"
	"github.com/gmis-oss/gmis/shared/search"
	"github.com/gmis-oss/gmis/shared/survey"
)

// SearchIndex is the surveys table's index of status items by prefecture
// (searchPrefecture "<prefecture>#<shard>"), sorted by searchRank:
// available COVID beds, most first (search.Rank).
const SearchIndex = "search-index"

// SearchBedsIndex is the surveys table's index of status items by
// prefecture, not sharded (searchPrefectureCode), sorted by searchRank: a
// first page by beds is one Query of it.
const SearchBedsIndex = "search-beds-index"

// searchShards is how many index partitions a prefecture is spread over,
// so that a search reading a whole prefecture reads them at once.
const searchShards = 4

// searchPartition is the index partition of an institution.
func searchPartition(prefecture, code string) string {
	h := fnv.New32a()
	h.Write([]byte(code))
	return prefecture + "#" + strconv.Itoa(int(h.Sum32()%searchShards))
}

// SearchStore reads the search's read model: the institutions' status
// items (sk "status" in the surveys table), which carry the master fields
// the search shows (attribute inst, written by MasterStore.WithSearch)
// beside the latest surveys (written by SurveyStore.Put).
type SearchStore struct {
	db    BatchClient
	table string
}

var _ search.Store = (*SearchStore)(nil)

// NewSearchStore returns a SearchStore over the surveys table.
func NewSearchStore(db BatchClient, surveysTable string) *SearchStore {
	return &SearchStore{db: db, table: surveysTable}
}

// searchCard is the status item's card attribute: the master fields the
// search shows, as one compact JSON string (a prefecture is read whole by
// some searches, so its items are kept small).
type searchCard struct {
	Name             string   `json:"n"`
	Kana             string   `json:"k,omitempty"`
	NameKey          string   `json:"nk"`
	KanaKey          string   `json:"kk,omitempty"`
	Address          string   `json:"a,omitempty"`
	Phone            string   `json:"ph,omitempty"`
	Category         string   `json:"c"`
	PrefectureCode   string   `json:"p"`
	MunicipalityCode string   `json:"m,omitempty"`
	HealthCenterCode string   `json:"h"`
	Latitude         *float64 `json:"la,omitempty"`
	Longitude        *float64 `json:"lo,omitempty"`
}

// searchAcc is the status item's acc attribute: the accepting status of
// the latest daily survey, written with it.
type searchAcc struct {
	Date             string          `json:"d"`
	ReportedAt       string          `json:"t"`
	CovidAvailable   int64           `json:"b"`
	Services         survey.Services `json:"s"`
	PCRAvailable     bool            `json:"p,omitempty"`
	DesignatedClinic bool            `json:"dc,omitempty"`
}

// accOf is the acc attribute of a daily survey.
func accOf(d survey.Record[survey.Daily]) string {
	st := search.StatusOf(d)
	b, _ := json.Marshal(searchAcc{Date: st.Date, ReportedAt: timeString(st.ReportedAt), CovidAvailable: st.CovidAvailable, Services: st.Services,
		PCRAvailable: st.PCRAvailable, DesignatedClinic: st.DesignatedClinic})
	return string(b)
}

// entryOf decodes a status item (or its search-index projection); ok is
// false for an item without master fields.
func entryOf(item map[string]types.AttributeValue) (search.Entry, bool, error) {
	code, _ := item["institutionCode"].(*types.AttributeValueMemberS)
	card, _ := item["card"].(*types.AttributeValueMemberS)
	if code == nil || card == nil {
		return search.Entry{}, false, nil
	}
	var f searchCard
	if err := json.Unmarshal([]byte(card.Value), &f); err != nil {
		return search.Entry{}, false, wrap("decode search card "+code.Value, err)
	}
	e := search.Entry{Institution: search.Institution{Code: code.Value, Name: f.Name, Kana: f.Kana, Address: f.Address, Phone: f.Phone,
		Category: f.Category, PrefectureCode: f.PrefectureCode, MunicipalityCode: f.MunicipalityCode, HealthCenterCode: f.HealthCenterCode,
		Latitude: f.Latitude, Longitude: f.Longitude}, NameKey: f.NameKey, KanaKey: f.KanaKey}
	if prev, ok := item["prevDaily"].(*types.AttributeValueMemberS); ok {
		e.PrevDate = prev.Value
	}
	if at, ok := item["dailyAdvancedAt"].(*types.AttributeValueMemberS); ok {
		e.AdvancedAt = parseTime(at.Value)
	}
	if acc, ok := item["acc"].(*types.AttributeValueMemberS); ok {
		var a searchAcc
		if err := json.Unmarshal([]byte(acc.Value), &a); err != nil {
			return search.Entry{}, false, wrap("decode search status "+code.Value, err)
		}
		e.Status = &search.Status{Date: a.Date, ReportedAt: parseTime(a.ReportedAt), CovidAvailable: a.CovidAvailable, Services: a.Services,
			PCRAvailable: a.PCRAvailable, DesignatedClinic: a.DesignatedClinic}
	}
	return e, true, nil
}

// Prefecture queries the search-index for every institution of a
// prefecture: its partitions at once, each page by page.
func (s *SearchStore) Prefecture(ctx context.Context, prefecture string) ([]search.Entry, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := make([][]search.Entry, searchShards)
	errs := make([]error, searchShards)
	var wg sync.WaitGroup
	for i := range searchShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			partition := prefecture + "#" + strconv.Itoa(i)
			p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(SearchIndex),
				KeyConditionExpression:    aws.String("searchPrefecture = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(partition)}})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					errs[i] = wrap("search "+partition, err)
					cancel()
					return
				}
				for _, item := range page.Items {
					e, ok, err := entryOf(item)
					if err != nil {
						errs[i] = err
						cancel()
						return
					}
					if ok {
						parts[i] = append(parts[i], e)
					}
				}
			}
		}()
	}
	wg.Wait()
	var out []search.Entry
	for i := range parts {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, parts[i]...)
	}
	return out, nil
}

// Entry reads one institution's status item.
func (s *SearchStore) Entry(ctx context.Context, code string) (search.Entry, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table,
		Key:                  map[string]types.AttributeValue{"pk": str(surveyPK(code)), "sk": str("status")},
		ProjectionExpression: aws.String("institutionCode, card, acc")})
	if err != nil {
		return search.Entry{}, wrap("get search entry", err)
	}
	e, ok, err := entryOf(out.Item)
	if err != nil {
		return search.Entry{}, err
	}
	if !ok {
		return search.Entry{}, notFound("institution " + code)
	}
	return e, nil
}

// Surveys reads the latest daily surveys of codes from their status
// items (BatchGetItem, 100 keys a call).
func (s *SearchStore) Surveys(ctx context.Context, codes []string) (map[string]survey.Daily, error) {
	out := make(map[string]survey.Daily, len(codes))
	for start := 0; start < len(codes); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, c := range codes[start:min(start+100, len(codes))] {
			keys = append(keys, map[string]types.AttributeValue{"pk": str(surveyPK(c)), "sk": str("status")})
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ProjectionExpression: aws.String("institutionCode, latestDaily")}}
		for tries := 0; len(req) > 0; tries++ {
			if tries > 8 {
				return nil, wrap("batch get surveys", errors.New("unprocessed keys remain"))
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, wrap("batch get surveys", err)
			}
			var items []statusItem
			if err := attributevalue.UnmarshalListOfMaps(res.Responses[s.table], &items); err != nil {
				return nil, wrap("decode surveys", err)
			}
			for _, it := range items {
				if it.Daily != nil {
					out[it.InstitutionCode] = it.Daily.Values
				}
			}
			req = res.UnprocessedKeys
			if len(req) > 0 {
				time.Sleep(time.Duration(20*(tries+1)) * time.Millisecond)
			}
		}
	}
	return out, nil
}

// searchUpdate is the write of an institution's master fields into its
// status item: the same item the survey writes keep, so that one Query
// of the search-index answers a search. An institution not yet surveyed
// ranks with 0 beds.
func searchUpdate(table string, r master.Record) (*types.Update, error) {
	e := search.FromMaster(r)
	in := e.Institution
	card, err := json.Marshal(searchCard{Name: in.Name, Kana: in.Kana, NameKey: e.NameKey, KanaKey: e.KanaKey, Address: in.Address,
		Phone: in.Phone, Category: in.Category, PrefectureCode: in.PrefectureCode, MunicipalityCode: in.MunicipalityCode,
		HealthCenterCode: in.HealthCenterCode, Latitude: in.Latitude, Longitude: in.Longitude})
	if err != nil {
		return nil, wrap("encode search card", err)
	}
	return &types.Update{TableName: aws.String(table),
		Key:              map[string]types.AttributeValue{"pk": str(surveyPK(r.Code)), "sk": str("status")},
		UpdateExpression: aws.String("SET card = :f, searchPrefecture = :p, searchPrefectureCode = :pc, searchRank = if_not_exists(searchRank, :r), institutionCode = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":f": str(string(card)), ":p": str(searchPartition(in.PrefectureCode, r.Code)),
			":pc": str(in.PrefectureCode), ":r": str(search.Rank(0, r.Code)), ":c": str(r.Code)}}, nil
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

// RebuildReport says what RebuildSearch did: how many institutions it
// wrote, and which of them had read model fields that differed from the
// master (at most 1,000 codes are listed; Changed counts them all).
type RebuildReport struct {
	Written      int      `json:"written"`
	Changed      int      `json:"changed"`
	ChangedCodes []string `json:"changedCodes"`
}

// RebuildSearch writes the master fields of a prefecture's institutions
// into their status items again (recovery), and reports which items it
// changed: each item is read before it is written, and what the write set
// is compared with what was there.
func RebuildSearch(ctx context.Context, db TransactClient, mastersTable, surveysTable, prefecture string) (RebuildReport, error) {
	rep := RebuildReport{ChangedCodes: []string{}}
	p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{TableName: &mastersTable, IndexName: aws.String("jurisdiction-index"),
		KeyConditionExpression:    aws.String("jurisdiction = :j"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":j": str(string(master.Institutions) + "#" + prefecture)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return rep, wrap("query institutions", err)
		}
		var items []masterItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return rep, wrap("decode institutions", err)
		}
		for _, it := range items {
			u, err := searchUpdate(surveysTable, it.record())
			if err != nil {
				return rep, err
			}
			before, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: u.TableName, Key: u.Key, ConsistentRead: aws.Bool(true)})
			if err != nil {
				return rep, wrap("read search entry "+it.Code, err)
			}
			out, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
				ExpressionAttributeValues: u.ExpressionAttributeValues, ReturnValues: types.ReturnValueUpdatedNew})
			if err != nil {
				return rep, wrap("rebuild search entry "+it.Code, err)
			}
			rep.Written++
			if differs(before.Item, out.Attributes) {
				rep.Changed++
				if len(rep.ChangedCodes) < 1000 {
					rep.ChangedCodes = append(rep.ChangedCodes, it.Code)
				}
			}
		}
	}
	return rep, nil
}

// differs says whether any attribute in after had another value (or
// none) in before.
func differs(before, after map[string]types.AttributeValue) bool {
	for k, v := range after {
		var was, is any
		if err := attributevalue.Unmarshal(v, &is); err != nil {
			return true
		}
		old, ok := before[k]
		if !ok {
			return true
		}
		if err := attributevalue.Unmarshal(old, &was); err != nil || !reflect.DeepEqual(was, is) {
			return true
		}
	}
	return false
}

// dailySearch is what a daily survey write sets in the read model: the
// rank by available beds and the accepting status.
func dailySearch(rec any) (rank, acc string, ok bool) {
	d, ok := rec.(survey.Record[survey.Daily])
	if !ok {
		return "", "", false
	}
	return search.Rank(d.Values.Beds.CovidAvailable, d.InstitutionCode), accOf(d), true
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
		"card": u.ExpressionAttributeValues[":f"], "searchPrefecture": u.ExpressionAttributeValues[":p"],
		"searchPrefectureCode": u.ExpressionAttributeValues[":pc"], "searchRank": str(search.Rank(0, r.Code)),
		"prefectureCode": str(r.Fields["prefectureCode"]), "healthCenterCode": str(r.Fields["healthCenterCode"])}
	if daily != nil {
		l, err := attributevalue.Marshal(latestItem[survey.Daily]{Period: daily.Period, Version: daily.Version, Values: daily.Values,
			UpdatedAt: timeString(daily.UpdatedAt), UpdatedBy: daily.UpdatedBy})
		if err != nil {
			return nil, wrap("encode survey status", err)
		}
		item["latestDaily"], item["latestDailyPeriod"] = l, str(daily.Period)
		d := *daily
		d.InstitutionCode = r.Code
		item["searchRank"], item["acc"] = str(search.Rank(d.Values.Beds.CovidAvailable, r.Code)), str(accOf(d))
	}
	return item, nil
}

// Ranked queries the search-beds-index in searchRank order: a first
// Query of about r.Want entries (and a margin for those the filter on
// latestDailyPeriod drops), then, only if fn wants more, Queries sized by
// the share of entries the filter kept so far, each at least twice the
// one before.
func (s *SearchStore) Ranked(ctx context.Context, r search.RankedRead, fn func(search.Entry) bool) error {
	if r.After != "" && r.Before != "" && r.After >= r.Before {
		return nil // nothing lies between
	}
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(SearchBedsIndex),
		KeyConditionExpression:    aws.String("searchPrefectureCode = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(r.Prefecture), ":since": str(r.Since)},
		// A superset of the group: as of r.AsOf the latest was either the
		// latest now or the one before it; each entry is judged below.
		FilterExpression: aws.String("latestDailyPeriod >= :since OR prevDaily >= :since")}
	if r.Stale {
		in.FilterExpression = aws.String("attribute_not_exists(latestDailyPeriod) OR latestDailyPeriod < :since OR prevDaily < :since")
	}
	switch {
	case r.After != "" && r.Before != "":
		in.KeyConditionExpression = aws.String("searchPrefectureCode = :p AND searchRank BETWEEN :after AND :before")
	case r.After != "":
		in.KeyConditionExpression = aws.String("searchPrefectureCode = :p AND searchRank > :after")
	case r.Before != "":
		in.KeyConditionExpression = aws.String("searchPrefectureCode = :p AND searchRank < :before")
	}
	if r.After != "" {
		in.ExpressionAttributeValues[":after"] = str(r.After)
	}
	if r.Before != "" {
		in.ExpressionAttributeValues[":before"] = str(r.Before)
	}
	want := max(r.Want, 1)
	limit := int32(want + want/2 + 5)
	var scanned, kept int
	for {
		in.Limit = nil
		if limit > 0 {
			in.Limit = aws.Int32(limit)
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return wrap("search "+r.Prefecture+" by beds", err)
		}
		scanned += int(out.ScannedCount)
		for _, item := range out.Items {
			rank, _ := item["searchRank"].(*types.AttributeValueMemberS)
			if r.After != "" && r.Before != "" && rank != nil && (rank.Value == r.After || rank.Value >= r.Before) {
				continue // BETWEEN holds its bounds
			}
			e, ok, err := entryOf(item)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			latest := e.LatestAsOf(r.AsOf)
			if r.AsOf.IsZero() && e.Status != nil {
				latest = e.Status.Date
			}
			if current := latest != "" && latest >= r.Since; current == r.Stale {
				continue // the other group as of r.AsOf
			}
			kept++
			if !fn(e) {
				return nil
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if kept == 0 || limit == 0 {
			limit = 0 // nothing kept so far: a whole (1 MB) page
			continue
		}
		need := max(want-kept, want/2+1)
		limit = min(max(2*limit, int32(min(need*scanned/kept*3/2+10, 5000))), 10000) // 1 MB holds fewer
	}
}
