package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/stack"
)

func buildLocal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func waitForState(t *testing.T, stateDir string, cmd *exec.Cmd, done <-chan error, out *bytes.Buffer) *stack.State {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if st, err := stack.ReadState(stateDir); err == nil {
			return st
		}
		select {
		case err := <-done:
			t.Fatalf("local run exited early: %v\n%s", err, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("local run did not come up\n%s", out)
	return nil
}

// TestRunInvokeAndInterrupt drives the command as a developer does: run,
// curl /health, invoke a function on an event file, then Ctrl-C; the stack
// must exit cleanly and leave no process behind.
func TestRunInvokeAndInterrupt(t *testing.T) {
	collectOrphans := adoptOrphans(t)
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildLocal(t)
	stateDir := t.TempDir()
	var out bytes.Buffer
	cmd := exec.Command(bin, "run", "--root", root, "--state-dir", stateDir, "--in-memory",
		"--api-addr", "127.0.0.1:0", "--invoke-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	state := waitForState(t, stateDir, cmd, done, &out)

	resp, err := http.Get(state.APIURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health = %d, want 200", resp.StatusCode)
	}

	t.Run("invoke against the running stack", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		inv := exec.CommandContext(ctx, bin, "invoke", "HealthFunction", "--root", root, "--state-dir", stateDir,
			"--event", filepath.Join(root, "events", "health", "get-health.json"))
		var stdout, stderr bytes.Buffer
		inv.Stdout, inv.Stderr = &stdout, &stderr
		if err := inv.Run(); err != nil {
			t.Fatalf("local invoke: %v\n%s", err, stderr.String())
		}
		var got struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("local invoke printed %q: %v", stdout.String(), err)
		}
		if got.StatusCode != http.StatusOK || !strings.Contains(got.Body, `"reachable":true`) {
			t.Errorf("local invoke = %d %s, want 200 with DynamoDB reachable", got.StatusCode, got.Body)
		}
		if strings.Contains(stderr.String(), "no running local stack") {
			t.Error("invoke started its own services although a stack was running")
		}
	})

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("local run after Ctrl-C: %v, want exit status 0\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("local run did not stop within 30 s of Ctrl-C\n%s", out.String())
	}
	if _, err := os.Stat(stack.StatePath(stateDir)); !os.IsNotExist(err) {
		t.Errorf("stack.json is left behind: %v", err)
	}
	if left := collectOrphans(); len(left) > 0 {
		t.Errorf("processes left after Ctrl-C: %v", left)
	}
}

func TestInvokeWithoutRunningStack(t *testing.T) {
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	inv := exec.Command(buildLocal(t), "invoke", "HealthFunction", "--root", root, "--state-dir", t.TempDir(),
		"--event", filepath.Join(root, "events", "health", "get-health.json"))
	var stdout, stderr bytes.Buffer
	inv.Stdout, inv.Stderr = &stdout, &stderr
	if err := inv.Run(); err != nil {
		t.Fatalf("local invoke: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `\"reachable\":true`) {
		t.Errorf("local invoke printed %s, want a health answer with DynamoDB reachable", stdout.String())
	}
}

func TestUsageErrors(t *testing.T) {
	bin := buildLocal(t)
	for _, args := range [][]string{{}, {"bogus"}, {"invoke"}, {"run", "--api-addr", "0.0.0.0:3000"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("local %v succeeded, want a usage error; output:\n%s", args, out)
		}
	}
}
