package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/infra/local/stack"
	"github.com/gmis-oss/gmis/shared/dynamo"
	"github.com/gmis-oss/gmis/shared/master"
)

// startProjectStack runs the project's template in-process with its state
// recorded, as `local run` does, so that the commands find it.
func startProjectStack(t *testing.T) (*stack.Stack, string, string) {
	t.Helper()
	root, err := services.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{Root: root, StateDir: stateDir, InMemory: true, InvokeAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(st.Close)
	if _, err := st.WriteState(); err != nil {
		t.Fatal(err)
	}
	return st, root, stateDir
}

func institutionName(t *testing.T, st *stack.Stack, code string) string {
	t.Helper()
	store := dynamo.NewMasterStore(st.Endpoints.DynamoDBClient(), st.FunctionEnv("MaintenanceFunction")["MASTERS_TABLE"])
	rec, err := store.GetRecord(context.Background(), master.Institutions, code)
	if err != nil {
		t.Fatalf("institution %s: %v", code, err)
	}
	return rec.Fields["name"]
}

func TestDemoMastersAndDemoUsers(t *testing.T) {
	st, root, stateDir := startProjectStack(t)
	ctx := context.Background()
	demoDir := filepath.Join(root, "infra", "local", "demo")

	t.Run("demo masters go into an empty table only", func(t *testing.T) {
		var out bytes.Buffer
		if err := importDemoMasters(ctx, st, demoDir, demoAuto, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "institutions    created 35") {
			t.Fatalf("first start:\n%s\nwant the demo institutions created", out.String())
		}
		// An administrator renames an institution (the maintenance import is
		// the same master service the API uses).
		csv := "医療機関コード,名称,カナ,郵便番号,住所,電話番号,許可病床数,保険医療機関コード,区分,都道府県コード,市区町村コード,保健所コード\n" +
			"1310000001,みどり中央総合病院,ミドリチュウオウビョウイン,101-1001,東京都みどり区1丁目1-1,03-5555-1001,320,0000001,hospital,13,13101,1301\n"
		payload, _ := json.Marshal(map[string]string{"command": "import-master", "kind": "institutions", "csv": csv})
		if res, err := st.Invoke(ctx, "MaintenanceFunction", payload); err != nil || res.FunctionError != "" {
			t.Fatalf("edit: %v %s", err, res.Payload)
		}

		out.Reset()
		if err := importDemoMasters(ctx, st, demoDir, demoAuto, &out); err != nil {
			t.Fatal(err)
		}
		if got := institutionName(t, st, "1310000001"); got != "みどり中央総合病院" {
			t.Errorf("after a restart the name is %q: the edit was reverted\n%s", got, out.String())
		}
		if !strings.Contains(out.String(), "not imported") {
			t.Errorf("restart said:\n%s\nwant that the demo masters were not imported", out.String())
		}

		out.Reset()
		if err := importDemoMasters(ctx, st, demoDir, demoAlways, &out); err != nil {
			t.Fatal(err)
		}
		if got := institutionName(t, st, "1310000001"); got != "みどり中央病院" {
			t.Errorf("--demo-masters=always left the name %q, want the demo one", got)
		}
	})

	t.Run("demo users twice", func(t *testing.T) {
		args := []string{"--root", root, "--state-dir", stateDir}
		var first, second bytes.Buffer
		if err := demoCmd(args, &first); err != nil {
			t.Fatalf("first demo-users: %v\n%s", err, first.String())
		}
		if err := demoCmd(args, &second); err != nil {
			t.Fatalf("second demo-users: %v\n%s", err, second.String())
		}
		if n := strings.Count(second.String(), "(exists)"); n != len(demoAccounts) {
			t.Errorf("second run:\n%s\nwant all %d accounts reported as existing", second.String(), len(demoAccounts))
		}
		// Same IDs both times.
		ids := func(s string) []string {
			var out []string
			for _, line := range strings.Split(strings.TrimSpace(s), "\n")[1:] {
				out = append(out, strings.Fields(line)[1])
			}
			return out
		}
		if a, b := ids(first.String()), ids(second.String()); strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("IDs differ: first %v, second %v", a, b)
		}
		res, err := st.Endpoints.DynamoDBClient().Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String(st.FunctionEnv("AuthFunction")["USERS_TABLE"]), Select: "COUNT"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Count != int32(len(demoAccounts)) {
			t.Errorf("%d accounts after two runs, want %d", res.Count, len(demoAccounts))
		}
	})

	t.Run("make passes STATE_DIR through", func(t *testing.T) {
		for _, target := range [][]string{{"admin", "MAIL=a@example.jp"}, {"demo"}, {"local"}} {
			args := append([]string{"-n", "-C", root, "STATE_DIR=" + stateDir}, target...)
			out, err := exec.Command("make", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("make %v: %v\n%s", args, err, out)
			}
			if !strings.Contains(string(out), "--state-dir '"+stateDir+"'") {
				t.Errorf("make -n %s:\n%s\nwant --state-dir %s", target[0], out, stateDir)
			}
		}
	})
	_ = os.Remove(stack.StatePath(stateDir))
}
