// Package job runs work too large for one request (a master import, bulk
// issuance, notice mails) as a background job (バックグラウンド処理): the
// job is recorded with its state and progress, and a Runner works through
// it in chunks, checkpointing after each, so that any invocation may stop
// and a later one resumes from the checkpoint. A job is worked on by one
// invocation at a time: the one holding its lease. A lease that expires
// (the invocation crashed or was lost) is taken over by the next one the
// sweeper starts.
package job

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"time"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/csvio"
)

// Kind is what a job does.
type Kind string

// The kinds of job.
const (
	MasterImport Kind = "master-import" // マスタ取込
	Issuance     Kind = "issuance"      // アカウント一括発行
	Notify       Kind = "notify"        // 発行通知メール送信
	// Export writes a download too large for one answer (the surveys of
	// an area for a range) to a file in S3.
	Export Kind = "export" // データ書き出し
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == MasterImport || k == Issuance || k == Notify || k == Export }

// State is where a job is in its life.
type State string

// The states: queued → validating → running → done, or failed.
const (
	Queued     State = "queued"     // 待機中
	Validating State = "validating" // 検証中
	Running    State = "running"    // 処理中
	Done       State = "done"       // 完了
	Failed     State = "failed"     // 失敗
)

// Finished reports whether no more work will be done.
func (s State) Finished() bool { return s == Done || s == Failed }

// MaxProblems is the most errors a failed job lists; the total is counted.
const MaxProblems = 1000

// Failure is why a job failed: a message for the administrator and, for
// a file with errors, the first MaxProblems of them sorted by row.
type Failure struct {
	Message      string           `json:"message"`
	MessageEn    string           `json:"messageEn,omitempty"`
	Problems     []apperr.Problem `json:"problems,omitempty"`
	ProblemCount int              `json:"problemCount,omitempty"`
}

// Error returns the English message.
func (f *Failure) Error() string { return f.MessageEn }

// Job is one background job.
type Job struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Owner string `json:"owner"` // the administrator who created it
	// OwnerScope is the creator's jurisdiction: administrators above it
	// see the job too.
	OwnerScope authz.Scope       `json:"-"`
	OwnerRole  authz.Role        `json:"-"`
	Params     map[string]string `json:"params,omitempty"` // kind specific: the master, the batch to notify
	File       string            `json:"-"`                // the uploaded file's key
	FileBytes  int64             `json:"fileBytes,omitempty"`
	State      State             `json:"state"`
	RowsDone   int               `json:"rowsDone"`
	RowsTotal  int               `json:"rowsTotal"`
	Counts     map[string]int    `json:"counts,omitempty"`
	// Position is the checkpoint in the file: the next record to read.
	Position csvio.Position `json:"-"`
	// Cursor is the checkpoint of work over stored rows (the last done).
	Cursor     string    `json:"-"`
	Failure    *Failure  `json:"error,omitempty"`
	LeaseOwner string    `json:"-"`
	LeaseUntil time.Time `json:"-"`
	// Invocations counts the invocations that worked on the job.
	Invocations int       `json:"invocations"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
}

// Add adds n to a count.
func (j *Job) Add(count string, n int) {
	if j.Counts == nil {
		j.Counts = map[string]int{}
	}
	j.Counts[count] += n
}

// NewID returns a new random job ID.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Row is one stored row of a job: an issued account, a rejected master
// row, a notice to send. Key orders the rows ("row#0000012").
type Row struct {
	Key    string
	Line   int
	Fields map[string]string
	// Sealed holds what must stay secret (an initial password), sealed.
	Sealed string
	Done   bool // the row's follow-up (its notice mail) is done
	// ExpiresAt, when set, is when the row is deleted (a TTL sooner than
	// the job's retention); a reader treats it as gone from then on,
	// whether or not DynamoDB has deleted it yet.
	ExpiresAt time.Time
}

// Expired reports whether the row has passed its ExpiresAt at now.
func (r Row) Expired(now time.Time) bool { return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt) }

// Store keeps jobs and their rows.
type Store interface {
	CreateJob(ctx context.Context, j Job) error         // Conflict when the ID exists
	GetJob(ctx context.Context, id string) (Job, error) // NotFound when absent
	// Claim takes the lease of an unfinished job for owner until until,
	// if nobody else holds an unexpired one; Conflict otherwise.
	Claim(ctx context.Context, id, owner string, now, until time.Time) (Job, error)
	// Save writes j if j.LeaseOwner still holds the lease; Conflict otherwise.
	Save(ctx context.Context, j Job) error
	// Expired lists unfinished jobs whose lease ended before now.
	Expired(ctx context.Context, now time.Time) ([]string, error)
	// ListByOwner and ListByScope list a page of jobs newest first, and
	// the opaque cursor of the next page ("" at the end); a cursor of
	// another listing is Invalid (field "cursor").
	ListByOwner(ctx context.Context, owner string, limit int, cursor string) ([]Job, string, error)
	ListByScope(ctx context.Context, prefecture string, limit int, cursor string) ([]Job, string, error)
	// PutRows stores rows (an existing key is overwritten with the same row).
	PutRows(ctx context.Context, id string, rows []Row) error
	// Rows lists rows whose key starts with prefix, after the key after.
	Rows(ctx context.Context, id, prefix, after string, limit int) ([]Row, error)
	// MarkRow sets a row done and drops its sealed part.
	MarkRow(ctx context.Context, id, key string) error
	// DeleteRows deletes rows by key; a key without a row is no error.
	DeleteRows(ctx context.Context, id string, keys []string) error
}

// Starter starts an invocation that works on a job, asynchronously.
type Starter interface {
	Start(ctx context.Context, id string) error
}

// Visible reports whether p may see j: its creator, and administrators
// above the creator whose jurisdiction holds the creator's. An export is
// its creator's alone: its file is a download only accounts with the
// download flag may have.
func Visible(p authz.Principal, j Job) bool {
	if p.UserID == j.Owner {
		return true
	}
	if j.Kind == Export {
		return false
	}
	if rank(p.Role) >= rank(j.OwnerRole) {
		return false
	}
	action := authz.ManageAccounts
	if j.Kind == MasterImport {
		action = authz.ManageMasters
	}
	if j.OwnerScope == (authz.Scope{}) {
		return p.Role == authz.National
	}
	return authz.Allowed(p, action, j.OwnerScope)
}

// rank orders roles, the most powerful first.
func rank(r authz.Role) int {
	for i, x := range authz.Roles {
		if x == r {
			return i
		}
	}
	return len(authz.Roles)
}

// Principal is the job's creator as the work is authorized: as they were
// when they created it.
func (j Job) Principal() authz.Principal {
	return authz.Principal{UserID: j.Owner, Role: j.OwnerRole, PrefectureCode: j.OwnerScope.PrefectureCode,
		HealthCenterCode: j.OwnerScope.HealthCenterCode, InstitutionCode: j.OwnerScope.InstitutionCode}
}

// NewFailure is a failure listing problems sorted by row, at most
// MaxProblems of them, with their total.
func NewFailure(message, messageEn string, problems []apperr.Problem) *Failure {
	sort.SliceStable(problems, func(a, b int) bool { return problems[a].Row < problems[b].Row })
	f := &Failure{Message: message, MessageEn: messageEn, ProblemCount: len(problems)}
	f.Problems = problems[:min(len(problems), MaxProblems)]
	return f
}
