package main

import (
	"os"
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/shared/auth"
	"github.com/gmis-oss/gmis/shared/authtest"
	"github.com/gmis-oss/gmis/shared/authz"
)

func voiceRow(i int, inst string) map[string]string {
	p := person(i, inst)
	p["AL"], p["AN"] = "03-5555-0101", "3"
	return p
}

// TestVoiceNeedsAnOriginationIdentity runs a stack as a deployment
// without VoiceOriginationIdentity: method 3 is refused where it is chosen
// (bulk issuance, factor change) with a message naming the field; the
// package's stack, which has voice, issues the same row.
func TestVoiceNeedsAnOriginationIdentity(t *testing.T) {
	dir, err := os.MkdirTemp("", "stack-novoice-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	e, err := authtest.StartEnv(dir, map[string]string{"VoiceOriginationIdentity": ""})
	if err != nil {
		t.Fatalf("local stack: %v", err)
	}
	defer e.Stack.Close()
	e = e.For(t)
	nat := national(t, e)
	for _, kind := range []string{"prefectures", "health-centers", "institutions", "sentinels"} {
		if r := importJob(t, nat, kind, demoFile(t, kind+".csv")); r.String("state") != "done" {
			t.Fatalf("import %s = %d %s", kind, r.Status, r.Body)
		}
	}
	admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
	c := e.LoginChanged(t, admin, pw)

	r := issueJob(t, c, []byte(authtest.ApplicationForm("", []map[string]string{withMail(person(1, "1310000002")), voiceRow(2, "1310000002")})))
	if r.String("state") != "failed" {
		t.Fatalf("form with method 3 = %d %s, want a failed job", r.Status, r.Body)
	}
	problems, _ := r.JSON["problems"].([]any)
	if len(problems) != 1 {
		t.Fatalf("problems = %v, want one, on row 3's AN", problems)
	}
	p := problems[0].(map[string]any)
	if p["row"] != float64(3) || !strings.HasPrefix(p["column"].(string), "AN") || !strings.Contains(p["message"].(string), "音声") {
		t.Errorf("problem = %v, want row 3, column AN, a message about voice calls", p)
	}
	if n := usersOf(t, e, "1310000002"); n != 0 {
		t.Errorf("%d accounts opened, want none", n)
	}

	u, upw := e.Account(t, auth.NewAccount{})
	uc := e.LoginChanged(t, u, upw)
	fc := uc.Do("POST", "/auth/second-factor/change", map[string]string{"currentPassword": authtest.GoodPassword, "method": "voice", "destination": "03-5555-0102"})
	if fc.Status != 400 || fc.ErrorField() != "method" || !strings.Contains(string(fc.Body), "voice calls are not configured") {
		t.Errorf("factor change to voice = %d %s, want 400 on method", fc.Status, fc.Body)
	}

	t.Run("with voice configured", func(t *testing.T) {
		e := stackEnv(t)
		loadMasters(t, e, national(t, e))
		admin, pw := e.Account(t, auth.NewAccount{Role: authz.PrefectureAdmin, PrefectureCode: "13"})
		c := e.LoginChanged(t, admin, pw)
		if r := issueJob(t, c, []byte(authtest.ApplicationForm("", []map[string]string{voiceRow(3, "1310000002")}))); r.String("state") != "done" {
			t.Errorf("form with method 3 = %d %s, want the account issued", r.Status, r.Body)
		}
	})
}
