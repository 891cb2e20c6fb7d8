package master

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
	"github.com/gmis-oss/gmis/shared/plaintext"
)

// Record is one entry of a master: its code and normalised fields.
type Record struct {
	Kind      Kind              `json:"kind"`
	Code      string            `json:"code"`
	Fields    map[string]string `json:"fields"` // by column key; absent when empty
	Version   int64             `json:"version"`
	UpdatedAt time.Time         `json:"updatedAt"`
	UpdatedBy string            `json:"updatedBy"`
	// Source names the import row that last wrote the record
	// ("<import>#<line>"), so that an import resumed after a crash knows
	// the rows it already wrote and a code twice in one file is caught.
	Source string `json:"-"`
}

// Scope is the jurisdiction the record belongs to.
func (r Record) Scope() authz.Scope {
	s := authz.Scope{PrefectureCode: r.Fields["prefectureCode"], HealthCenterCode: r.Fields["healthCenterCode"]}
	if r.Kind == Prefectures {
		s.PrefectureCode = r.Code
	}
	if r.Kind == HealthCenters {
		s.HealthCenterCode = r.Code
	}
	if r.Kind == Institutions || r.Kind == Sentinels {
		s.InstitutionCode = r.Code
	}
	return s
}

// Store keeps masters.
type Store interface {
	GetRecord(ctx context.Context, kind Kind, code string) (Record, error) // NotFound when absent
	// GetRecords reads many records at once; absent codes are left out.
	GetRecords(ctx context.Context, kind Kind, codes []string) (map[string]Record, error)
	CreateRecord(ctx context.Context, r Record) error // Conflict when the code exists
	// UpdateRecord replaces prev with next if prev.Version is still current,
	// keeping prev in the history and, in the same transaction, leaving
	// pending the Move that MoveOf(prev, next) reports.
	UpdateRecord(ctx context.Context, prev, next Record) error
	History(ctx context.Context, kind Kind, code string) ([]Record, error)
	Moves
	// NextSerial returns the next number of a counter, atomically.
	NextSerial(ctx context.Context, counter string) (int64, error)
}

// Service imports and edits masters.
type Service struct {
	store    Store
	moves    Moves
	accounts Accounts
	audit    audit.Log
	now      func() time.Time
}

// NewService returns a Service; accounts follow the institutions it moves.
func NewService(store Store, accounts Accounts, log audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, moves: store, accounts: accounts, audit: log, now: now}
}

// ImportResult counts what an import did; each rejected row says why.
type ImportResult struct {
	Kind       Kind             `json:"kind"`
	Encoding   csvio.Encoding   `json:"encoding"`
	Created    int              `json:"created"`
	Updated    int              `json:"updated"`
	Unchanged  int              `json:"unchanged"`
	Rejected   int              `json:"rejected"`
	Rejections []apperr.Problem `json:"rejections,omitempty"`
}

// reject records a rejected row with all its problems, each naming the
// column by its letter and its Japanese header as the file has them
// ("C列（医療機関名）") and by key; each reason starts with that header
// (the references' reasons already do).
func (im *Importer) reject(res *ImportResult, line int, problems ...cellProblem) {
	res.Rejected++
	for _, p := range problems {
		column := p.key
		for _, c := range schemas[im.kind] {
			if c.key == p.key {
				column = c.label()
				if i, ok := im.cols[p.key]; ok {
					column = csvio.ColumnLetter(i) + "列（" + c.label() + "）"
				}
			}
		}
		res.Rejections = append(res.Rejections, apperr.Problem{Field: p.key, Row: line, Column: column,
			Message: labelled(im.kind, p.key, p.ja), MessageEn: p.key + ": " + p.en})
	}
}

// labelled starts a reason with the Japanese header of its column unless
// it already names it.
func labelled(kind Kind, key, ja string) string {
	for _, c := range schemas[kind] {
		if c.key == key && !strings.HasPrefix(ja, c.label()) {
			return c.label() + "：" + ja
		}
	}
	return ja
}

// CanImport refuses callers who may not import the kind of master.
func CanImport(actor authz.Principal, kind Kind) error {
	if err := authz.AuthorizeRole(actor, authz.ManageMasters); err != nil {
		return err
	}
	if !kind.Valid() {
		return apperr.InvalidField("kind", "マスタの種類が正しくありません。", "unknown master")
	}
	if kind == Prefectures && actor.Role != authz.National {
		return apperr.New(apperr.Forbidden, "都道府県マスタは厚生労働省のみ更新できます。", "only national administrators import prefectures")
	}
	return nil
}

// importWorkers is how many rows of a chunk are written at once.
const importWorkers = 8

// ImportChunk is how many rows an import reads and writes together: one
// batch read of the current records (BatchGetItem takes 100 keys).
const ImportChunk = 100

// Importer imports the rows of one file, chunk by chunk, possibly over
// several invocations (a job): each row is marked in the record it writes,
// so a chunk done again after a crash counts, and writes, nothing twice.
type Importer struct {
	s       *Service
	actor   authz.Principal
	kind    Kind
	cols    map[string]int
	source  string
	lookups *Lookup
	seen    map[string]int // codes of this invocation's rows, by line
}

// NewImport starts importing a file whose header gave cols; source names
// the import (a job ID), "" for a fresh one.
func (s *Service) NewImport(actor authz.Principal, kind Kind, cols map[string]int, source string) *Importer {
	if source == "" {
		source = newSource()
	}
	return &Importer{s: s, actor: actor, kind: kind, cols: cols, source: source, lookups: NewLookup(s.store), seen: map[string]int{}}
}

// Rows imports a chunk of rows.
func (im *Importer) Rows(ctx context.Context, rows []csvio.Row) (ImportResult, error) {
	var res ImportResult
	type good struct {
		rec  Record
		line int
	}
	var goods []good
	for _, row := range rows {
		rec, problems := parseRow(im.kind, im.cols, row)
		if len(problems) > 0 {
			im.reject(&res, row.Line, problems...)
			continue
		}
		if first, dup := im.seen[rec.Code]; dup {
			im.reject(&res, row.Line, cellProblem{"code", fmt.Sprintf("%s は%d行目と重複しています。", rec.Code, first), "duplicate code in the file"})
			continue
		}
		im.seen[rec.Code] = row.Line
		// Jurisdiction first: the references' answers would tell about
		// other prefectures' masters.
		if !authz.Allowed(im.actor, authz.ManageMasters, rec.Scope()) {
			im.reject(&res, row.Line, cellProblem{"prefectureCode", "管轄外のデータは登録できません。", "outside your jurisdiction"})
			continue
		}
		if col, ja, en := im.s.checkReferences(ctx, im.actor, im.lookups, rec); ja != "" {
			im.reject(&res, row.Line, cellProblem{col, ja, en})
			continue
		}
		goods = append(goods, good{rec, row.Line})
	}
	if len(goods) == 0 {
		return res, nil
	}
	codes := make([]string, len(goods))
	for i, g := range goods {
		codes[i] = g.rec.Code
	}
	current, err := im.s.store.GetRecords(ctx, im.kind, codes)
	if err != nil {
		return res, err
	}
	var pending map[string]bool
	if im.kind == Institutions || im.kind == Sentinels {
		// One read of the pending moves for the chunk, instead of one per
		// unchanged institution.
		moves, err := im.s.moves.PendingMoves(ctx)
		if err != nil {
			return res, err
		}
		pending = map[string]bool{}
		for _, m := range moves {
			pending[m.Code] = true
		}
	}
	// The rows' writes are independent (one record each), so they go out
	// together: DynamoDB's latency, not its throughput, bounds an import.
	type result struct {
		outcome string
		err     error
	}
	results := make([]result, len(goods))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(importWorkers, len(goods)) {
		wg.Go(func() {
			for i := range next {
				var cur *Record
				if c, ok := current[goods[i].rec.Code]; ok {
					cur = &c
				}
				results[i].outcome, results[i].err = im.upsert(ctx, goods[i].rec, goods[i].line, cur, pending)
			}
		})
	}
	for i := range goods {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, g := range goods {
		outcome, err := results[i].outcome, results[i].err
		switch {
		case apperr.CodeOf(err) == apperr.Forbidden:
			im.reject(&res, g.line, cellProblem{"code", "このコードは管轄外に登録されています。", "the code is registered outside your jurisdiction"})
		case apperr.CodeOf(err) == apperr.Conflict:
			im.reject(&res, g.line, cellProblem{"code", "同時に他の更新があったため登録できませんでした。もう一度取り込んでください。", "changed concurrently; import again"})
		case err != nil:
			return res, err
		case strings.HasPrefix(outcome, "duplicate#"):
			im.reject(&res, g.line, cellProblem{"code", fmt.Sprintf("%s は%s行目と重複しています。", g.rec.Code, outcome[len("duplicate#"):]), "duplicate code in the file"})
		case outcome == "created":
			res.Created++
		case outcome == "updated":
			res.Updated++
		default:
			res.Unchanged++
		}
	}
	sort.SliceStable(res.Rejections, func(a, b int) bool { return res.Rejections[a].Row < res.Rejections[b].Row })
	return res, nil
}

// upsert creates rec or updates cur (nil when absent) if it differs.
func (im *Importer) upsert(ctx context.Context, rec Record, line int, cur *Record, pending map[string]bool) (string, error) {
	s, actor := im.s, im.actor
	now := s.now()
	rec.UpdatedAt, rec.UpdatedBy, rec.Source = now, actor.UserID, fmt.Sprintf("%s#%d", im.source, line)
	switch {
	case cur == nil:
		rec.Version = 1
		if err := s.store.CreateRecord(ctx, rec); err != nil {
			return "", err
		}
		return "created", s.record(ctx, actor, rec, "master_created")
	case cur.Source == rec.Source:
		// Written by this row before a crash: count it as it was done.
		if cur.Version == 1 {
			return "created", nil
		}
		return "updated", nil
	case strings.HasPrefix(cur.Source, im.source+"#"):
		return "duplicate#" + cur.Source[len(im.source)+1:], nil
	case !authz.Allowed(actor, authz.ManageMasters, cur.Scope()):
		// The row may name the admin's own prefecture, but the record it
		// would overwrite belongs elsewhere.
		return "", authz.Authorize(actor, authz.ManageMasters, cur.Scope())
	case maps.Equal(cur.Fields, rec.Fields):
		if pending[cur.Code] {
			return "unchanged", s.FinishPending(ctx, cur.Code)
		}
		return "unchanged", nil
	}
	rec.Version = cur.Version + 1
	if err := s.store.UpdateRecord(ctx, *cur, rec); err != nil {
		return "", err
	}
	if err := s.record(ctx, actor, rec, "master_updated"); err != nil {
		return "", err
	}
	return "updated", s.afterUpdate(ctx, *cur, rec)
}

func newSource() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "import-" + hex.EncodeToString(b[:])
}

// HeaderMap finds each column of the schema in the header row.
func HeaderMap(kind Kind, header csvio.Row) (map[string]int, error) {
	byName := map[string]string{}
	for _, c := range schemas[kind] {
		for _, h := range c.headers {
			byName[strings.ToLower(h)] = c.key
		}
	}
	cols := map[string]int{}
	for i, f := range header.Fields {
		name := strings.ToLower(csvio.NormalizeText(f))
		if name == "" {
			continue
		}
		key, ok := byName[name]
		if !ok {
			return nil, apperr.InvalidField("file", fmt.Sprintf("1行目の%s列「%s」は%sの列ではありません。", csvio.ColumnLetter(i), f, kind),
				fmt.Sprintf("column %s %q is not a column of %s", csvio.ColumnLetter(i), f, kind))
		}
		cols[key] = i
	}
	for _, c := range schemas[kind] {
		if _, ok := cols[c.key]; c.required && !ok {
			return nil, apperr.InvalidField("file", fmt.Sprintf("1行目に必須の列「%s」がありません。", c.label()),
				fmt.Sprintf("the header has no %q column", c.key))
		}
	}
	return cols, nil
}

// cellProblem is what is wrong with one cell of a row: the column key and
// the reason, without the column's name.
type cellProblem struct{ key, ja, en string }

// parseRow normalises and checks one row; it returns every problem of the
// row, in the order of the schema's columns.
func parseRow(kind Kind, cols map[string]int, row csvio.Row) (Record, []cellProblem) {
	rec := Record{Kind: kind, Fields: map[string]string{}}
	var problems []cellProblem
	for _, c := range schemas[kind] {
		i, ok := cols[c.key]
		if !ok {
			continue
		}
		raw := row.Field(i)
		if r, bad := plaintext.Control(raw, false); bad {
			ja, en := plaintext.Reason(r, false)
			problems = append(problems, cellProblem{c.key, ja, en})
			continue
		}
		if raw == "" {
			if c.required {
				problems = append(problems, cellProblem{c.key, c.label() + "を入力してください。", "required"})
			}
			continue
		}
		v, ja, en := c.check(raw)
		if ja != "" {
			problems = append(problems, cellProblem{c.key, ja, en})
			continue
		}
		if v == "" {
			continue
		}
		if c.key == "code" {
			rec.Code = v
			continue
		}
		rec.Fields[c.key] = v
	}
	if len(problems) > 0 {
		return Record{}, problems
	}
	return rec, nil
}

// Reader reads one master record; NotFound when absent.
type Reader interface {
	GetRecord(ctx context.Context, kind Kind, code string) (Record, error)
}

// Lookup reads master records through a cache, for work that refers to the
// same records many times (the rows of one upload). It is not safe for
// concurrent use and is meant to live as long as that one piece of work.
type Lookup struct {
	store Reader
	cache map[string]*Record
}

// NewLookup returns an empty Lookup over store.
func NewLookup(store Reader) *Lookup { return &Lookup{store: store, cache: map[string]*Record{}} }

// Get returns the record, or nil when the master has no such code.
func (l *Lookup) Get(ctx context.Context, kind Kind, code string) (*Record, error) {
	key := string(kind) + "#" + code
	if r, ok := l.cache[key]; ok {
		return r, nil
	}
	r, err := l.store.GetRecord(ctx, kind, code)
	if apperr.CodeOf(err) == apperr.NotFound {
		l.cache[key] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.cache[key] = &r
	return &r, nil
}

// checkReferences makes sure the prefecture and health centre a record
// names exist and agree.
func (s *Service) checkReferences(ctx context.Context, actor authz.Principal, l *Lookup, rec Record) (string, string, string) {
	if rec.Kind == Prefectures {
		return "", "", ""
	}
	pref := rec.Fields["prefectureCode"]
	if p, err := l.Get(ctx, Prefectures, pref); err != nil || p == nil {
		return "prefectureCode", "都道府県コード " + pref + " は都道府県マスタにありません。", "unknown prefecture " + pref
	}
	if rec.Kind == HealthCenters {
		return "", "", ""
	}
	hc := rec.Fields["healthCenterCode"]
	h, err := l.Get(ctx, HealthCenters, hc)
	// Below national level a centre of another prefecture is as unknown
	// as one that does not exist.
	if err != nil || h == nil || (h.Fields["prefectureCode"] != pref && actor.Role != authz.National) {
		return "healthCenterCode", "保健所コード " + hc + " は保健所マスタにありません。", "unknown health centre " + hc
	}
	if h.Fields["prefectureCode"] != pref {
		return "healthCenterCode", "保健所コード " + hc + " は都道府県コード " + pref + " の保健所ではありません。", "health centre " + hc + " is not in prefecture " + pref
	}
	return "", "", ""
}

func (s *Service) record(ctx context.Context, actor authz.Principal, rec Record, action string) error {
	return s.audit.Record(ctx, audit.Event{At: s.now(), UserID: actor.UserID, Actor: actor.UserID, Action: action,
		Detail: map[string]string{"kind": string(rec.Kind), "code": rec.Code, "version": fmt.Sprint(rec.Version)}})
}

// Get returns one record if actor administers its jurisdiction.
func (s *Service) Get(ctx context.Context, actor authz.Principal, kind Kind, code string) (Record, error) {
	return s.managed(ctx, actor, kind, code)
}

// History returns the earlier versions of a record, oldest first.
func (s *Service) History(ctx context.Context, actor authz.Principal, kind Kind, code string) ([]Record, error) {
	if _, err := s.managed(ctx, actor, kind, code); err != nil {
		return nil, err
	}
	return s.store.History(ctx, kind, code)
}

// FieldsFrom checks fields given as JSON (an added or edited record) with
// the same rules as a CSV row.
func FieldsFrom(kind Kind, in map[string]string) (Record, error) {
	cols := map[string]int{}
	row := csvio.Row{Line: 1}
	for _, c := range schemas[kind] {
		if c.key == "code" {
			continue
		}
		cols[c.key] = len(row.Fields)
		row.Fields = append(row.Fields, in[c.key])
	}
	for k := range in {
		if _, ok := cols[k]; !ok {
			return Record{}, apperr.InvalidField(k, "未知の項目です。", "unknown field")
		}
	}
	cols["code"] = len(row.Fields)
	row.Fields = append(row.Fields, "0000000000") // placeholder; checked by the caller
	rec, problems := parseRow(kind, cols, row)
	if len(problems) > 0 {
		p := problems[0]
		return Record{}, apperr.InvalidField(p.key, labelled(kind, p.key, p.ja), p.key+": "+p.en)
	}
	rec.Code = ""
	return rec, nil
}

// AddInstitution registers an institution missing from the master and
// issues its code (seed 001): the prefecture code, 9 (a range real codes
// do not use) and a serial number.
func (s *Service) AddInstitution(ctx context.Context, actor authz.Principal, fields map[string]string) (Record, error) {
	if err := authz.AuthorizeRole(actor, authz.ManageMasters); err != nil {
		return Record{}, err
	}
	rec, err := FieldsFrom(Institutions, fields)
	if err != nil {
		return Record{}, err
	}
	if err := s.checkNew(ctx, actor, rec); err != nil {
		return Record{}, err
	}
	pref := rec.Fields["prefectureCode"]
	for range 5 {
		n, err := s.store.NextSerial(ctx, "institution-code#"+pref)
		if err != nil {
			return Record{}, err
		}
		rec.Code = fmt.Sprintf("%s9%07d", pref, n)
		rec.Version, rec.UpdatedAt, rec.UpdatedBy = 1, s.now(), actor.UserID
		err = s.store.CreateRecord(ctx, rec)
		if apperr.CodeOf(err) == apperr.Conflict {
			continue // a code imported by hand took this number; take the next
		}
		if err != nil {
			return Record{}, err
		}
		return rec, s.record(ctx, actor, rec, "master_created")
	}
	return Record{}, fmt.Errorf("no free institution code in prefecture %s after 5 tries", pref)
}

func (s *Service) checkNew(ctx context.Context, actor authz.Principal, rec Record) error {
	if err := authz.Authorize(actor, authz.ManageMasters, rec.Scope()); err != nil {
		return err
	}
	if col, ja, en := s.checkReferences(ctx, actor, NewLookup(s.store), rec); ja != "" {
		return apperr.InvalidField(col, ja, en)
	}
	return nil
}

// EditInstitution replaces an institution's fields if version is still the
// current one; the old version stays in the history.
func (s *Service) EditInstitution(ctx context.Context, actor authz.Principal, code string, version int64, fields map[string]string) (Record, error) {
	cur, err := s.managed(ctx, actor, Institutions, code)
	if err != nil {
		return Record{}, err
	}
	if version != cur.Version {
		return Record{}, apperr.New(apperr.Conflict, "他の人が先に更新しました。最新の内容を確認してからやり直してください。", "the record changed since you read it")
	}
	rec, err := FieldsFrom(Institutions, fields)
	if err != nil {
		return Record{}, err
	}
	rec.Code = code
	if err := s.checkNew(ctx, actor, rec); err != nil {
		return Record{}, err
	}
	if maps.Equal(cur.Fields, rec.Fields) {
		return cur, s.afterUpdate(ctx, cur, cur)
	}
	rec.Version, rec.UpdatedAt, rec.UpdatedBy = cur.Version+1, s.now(), actor.UserID
	if err := s.store.UpdateRecord(ctx, cur, rec); err != nil {
		return Record{}, err
	}
	if err := s.record(ctx, actor, rec, "master_updated"); err != nil {
		return Record{}, err
	}
	return rec, s.afterUpdate(ctx, cur, rec)
}
