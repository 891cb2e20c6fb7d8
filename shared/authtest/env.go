package authtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/stack"
	"github.com/gmis-oss/gmis/shared/audit"
	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authz"
	"github.com/gmis-oss/gmis/shared/dynamo"
)

// SyncBuffer is a bytes buffer safe for the stack's concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Env is a local stack of the project's template (every function as its
// own processes, DynamoDB Local and moto, real HTTP through the local API)
// with what tests need to open accounts and log in.
type Env struct {
	Stack  *stack.Stack
	Out    *SyncBuffer
	Store  *dynamo.AuthStore
	Audit  *dynamo.AuditLog
	Admins *auth.Service // opens accounts as an administrator would
	Moto   Moto
	Voice  Voice
	seq    int
	mu     sync.Mutex
}

// StartEnv starts the stack with its state in stateDir (which must outlive
// the tests using it) and template parameter overrides.
func StartEnv(stateDir string, params map[string]string) (*Env, error) {
	return startEnv(stateDir, params, "127.0.0.1:0")
}

// StartBrowserEnv is StartEnv with the API on a port known before the
// stack starts, so that it is the origin browsers are allowed from and the
// base of the links in mails, as 127.0.0.1:3000 is for make local.
func StartBrowserEnv(stateDir string, params map[string]string) (*Env, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	// The first origin is the one the API clients of the tests send.
	all := map[string]string{"AllowedOrigins": "http://127.0.0.1:3000,http://" + addr, "AppBaseUrl": "http://" + addr}
	for k, v := range params {
		all[k] = v
	}
	return startEnv(stateDir, all, addr)
}

func startEnv(stateDir string, params map[string]string, apiAddr string) (*Env, error) {
	root, err := services.RepoRoot(".")
	if err != nil {
		return nil, err
	}
	out := &SyncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{Root: root, StateDir: stateDir, InMemory: true, APIAddr: apiAddr, InvokeAddr: "127.0.0.1:0",
		Parameters: params, Out: out})
	if err != nil {
		return nil, err
	}
	fnEnv := st.FunctionEnv("AuthFunction")
	db := st.Endpoints.DynamoDBClient()
	store := dynamo.NewAuthStore(db, dynamo.AuthTables{Users: fnEnv["USERS_TABLE"], Sessions: fnEnv["SESSIONS_TABLE"], AuthState: fnEnv["AUTH_STATE_TABLE"], Audit: fnEnv["AUDIT_TABLE"]})
	log := dynamo.NewAuditLog(db, fnEnv["AUDIT_TABLE"])
	admins, err := auth.NewService(store, log, nil, []byte(fnEnv["AUTH_SECRET"]), auth.Config{})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Env{Stack: st, Out: out, Store: store, Audit: log, Admins: admins, Moto: Moto{Endpoint: st.Endpoints.Moto},
		Voice: Voice{Endpoint: st.Endpoints.Voice}}, nil
}

// For binds the env's helpers to a test and, if it fails, logs the
// functions' error lines.
func (e *Env) For(t testing.TB) *Env {
	t.Helper()
	e.Moto.T = t
	e.Voice.T = t
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range strings.Split(e.Out.String(), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) {
					t.Log(line)
				}
			}
		}
	})
	return e
}

// Client returns a browser-like client of the local API.
func (e *Env) Client(t testing.TB) *Client {
	return &Client{T: t, Base: e.Stack.APIURL, Origin: "http://127.0.0.1:3000"}
}

// Account opens an account (an institution user of 1310000001 unless said
// otherwise) and returns it with its initial password.
func (e *Env) Account(t testing.TB, a auth.NewAccount) (auth.User, string) {
	t.Helper()
	e.mu.Lock()
	e.seq++
	n := e.seq
	e.mu.Unlock()
	if a.Name == "" {
		a.Name = fmt.Sprintf("テスト 利用者%d", n) // one person, one account per institution
	}
	if a.Role == "" {
		a.Role, a.InstitutionCode, a.PrefectureCode, a.HealthCenterCode = authz.InstitutionUser, "1310000001", "13", "1301"
	}
	if a.Mail == "" {
		a.Mail = fmt.Sprintf("user%d-%d@test.example.jp", time.Now().UnixNano(), n)
	}
	if a.Method == "" {
		a.Method = auth.MethodMail
	}
	u, pw, err := e.Admins.CreateAccount(context.Background(), "test", a)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return u, pw
}

// Login walks login → code from moto's mail → verify.
func (e *Env) Login(t testing.TB, u auth.User, pw string) *Client {
	t.Helper()
	c := e.Client(t)
	sent := len(e.Moto.Mails(u.Mail))
	r := c.Do("POST", "/auth/login", map[string]string{"userId": u.ID, "password": pw})
	if r.Status != 200 {
		t.Fatalf("login %s: %d %s", u.ID, r.Status, r.Body)
	}
	code := LastCode(t, sent+1, func() []string { return e.Moto.Mails(u.Mail) })
	r = c.Do("POST", "/auth/verify", map[string]string{"challengeId": r.String("challengeId"), "code": code})
	if r.Status != 200 || c.Cookie == "" {
		t.Fatalf("verify %s: %d %s", u.ID, r.Status, r.Body)
	}
	return c
}

// GoodPassword is what LoginChanged sets.
const GoodPassword = "Kusuri#Bako42"

// LoginChanged logs in and changes the initial password, as a first login must.
func (e *Env) LoginChanged(t testing.TB, u auth.User, initial string) *Client {
	t.Helper()
	c := e.Login(t, u, initial)
	if r := c.Do("POST", "/auth/password", map[string]string{"current": initial, "new": GoodPassword}); r.Status != 200 {
		t.Fatalf("change password: %d %s", r.Status, r.Body)
	}
	return c
}

// Shared is one Env for every test of a package, started by the first test
// that needs it and stopped when the package's tests end.
type Shared struct {
	params  map[string]string
	browser bool
	dir     string
	once    sync.Once
	env     *Env
	err     error
}

// NewBrowserShared is NewShared for tests that drive a browser (see
// StartBrowserEnv).
func NewBrowserShared(params map[string]string) *Shared {
	return &Shared{params: params, browser: true}
}

// NewShared returns a Shared with template parameter overrides.
func NewShared(params map[string]string) *Shared { return &Shared{params: params} }

// Main runs the package's tests (call it from TestMain) and then stops the
// stack and removes its state.
func (s *Shared) Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "stack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.dir = dir
	code := m.Run()
	if s.env != nil {
		s.env.Stack.Close()
	}
	os.RemoveAll(dir)
	return code
}

// Env returns the shared Env for t, starting it on first use.
func (s *Shared) Env(t testing.TB) *Env {
	t.Helper()
	s.once.Do(func() {
		if s.browser {
			s.env, s.err = StartBrowserEnv(s.dir, s.params)
		} else {
			s.env, s.err = StartEnv(s.dir, s.params)
		}
	})
	if s.err != nil {
		t.Fatalf("local stack: %v", s.err)
	}
	return s.env.For(t)
}

// AuditOf returns the audit events of a user with the given action since
// the given time.
func (e *Env) AuditOf(t testing.TB, userID, action string, since time.Time) []audit.Event {
	t.Helper()
	events, err := e.Audit.ByUser(context.Background(), userID, since, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range events {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}
