package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/shared/maintenance"
)

// noticesOf reads the public announcement of windows as anyone would,
// without a session, and keeps the ones whose message has tag.
func noticesOf(t *testing.T, get func() (int, string, []byte), tag string) []maintenance.Notice {
	t.Helper()
	status, cache, body := get()
	if status != 200 {
		t.Fatalf("GET %s = %d %s", NoticesPath, status, body)
	}
	if cache != "public, max-age=60" {
		t.Errorf("Cache-Control %q, want public for a minute", cache)
	}
	var out struct {
		Notices []map[string]any `json:"notices"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	var got []maintenance.Notice
	for _, n := range out.Notices {
		for k := range n {
			if k != "start" && k != "end" && k != "message" && k != "active" {
				t.Errorf("a public notice has %q: %v", k, n)
			}
		}
		if !strings.Contains(fmt.Sprint(n["message"]), tag) {
			continue
		}
		raw, _ := json.Marshal(n)
		var one maintenance.Notice
		if err := json.Unmarshal(raw, &one); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(fmt.Sprint(n["start"]), "+09:00") || !strings.HasSuffix(fmt.Sprint(n["end"]), "+09:00") {
			t.Errorf("a notice's times are not in JST: %v", n)
		}
		got = append(got, one)
	}
	return got
}

func TestNoticesOfMaintenanceArePublicAndOpenDuringAWindow(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	anon := e.Client(t)
	get := func() (int, string, []byte) {
		r := anon.Do("GET", NoticesPath, nil)
		return r.Status, r.Header.Get("Cache-Control"), r.Body
	}
	tag := fmt.Sprintf("お知らせ試験%d", time.Now().UnixNano())
	now := time.Now().Truncate(time.Minute)

	// Announced ahead: shown to everyone, not closing anything.
	later := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": now.Add(2 * time.Hour), "end": now.Add(3 * time.Hour), "message": tag + " 定期メンテナンスを行います。"})
	if later.Status != 201 {
		t.Fatalf("create window = %d %s", later.Status, later.Body)
	}
	time.Sleep(1100 * time.Millisecond) // the function's cache of windows
	got := noticesOf(t, get, tag)
	if len(got) != 1 || got[0].Active || !got[0].Start.Equal(now.Add(2*time.Hour)) || !got[0].End.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("notices of an upcoming window: %+v", got)
	}
	if r := c.Do("GET", "/auth/me", nil); r.Status != 200 {
		t.Errorf("an announced window closes the system before it starts: /auth/me = %d", r.Status)
	}

	// Current: the API is closed, saying why and until when, but the
	// notices stay readable.
	current := c.Do("POST", "/admin/maintenance-windows", map[string]any{"start": now.Add(-time.Minute), "end": now.Add(30 * time.Minute), "message": tag + " 作業中です。"})
	if current.Status != 201 {
		t.Fatalf("create window = %d %s", current.Status, current.Body)
	}
	defer c.Do("POST", "/admin/maintenance-windows/"+current.String("id")+"/end", nil)
	time.Sleep(1100 * time.Millisecond)
	got = noticesOf(t, get, tag)
	if len(got) != 2 || !got[0].Active || got[1].Active || !strings.Contains(got[0].Message, "作業中です。") {
		t.Errorf("notices during a window: %+v, want the current one first, active, then the upcoming one", got)
	}
	closed := anon.Do("POST", "/auth/login", map[string]string{"userId": "NOSUCHUSER9", "password": "x"})
	errBody, _ := closed.JSON["error"].(map[string]any)
	detail, _ := errBody["detail"].(map[string]any)
	if closed.Status != 503 || detail["reason"] != "maintenance" || detail["end"] != now.Add(30*time.Minute).In(maintenance.JST).Format(time.RFC3339) ||
		!strings.Contains(fmt.Sprint(detail["message"]), "作業中です。") {
		t.Errorf("login during the window = %d %s, want 503 with the window's message and end in its detail", closed.Status, closed.Body)
	}

	// Ended early, and the other withdrawn: no longer announced.
	for _, id := range []string{current.String("id"), later.String("id")} {
		if r := c.Do("POST", "/admin/maintenance-windows/"+id+"/end", nil); r.Status != 204 {
			t.Fatalf("end window %s = %d %s", id, r.Status, r.Body)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if got := noticesOf(t, get, tag); len(got) != 0 {
		t.Errorf("notices after the windows ended: %+v", got)
	}
}
