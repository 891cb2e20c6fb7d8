package mailbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMailboxListsWhatWasSent(t *testing.T) {
	moto := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/moto-api/data.json" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"ses":{"Message":[{"subject":"確認コード","body":"コード：111111 <script>","destinations":{"ToAddresses":["a@example.jp"]}},
			{"subject":"確認コード","body":"コード：222222","destinations":{"ToAddresses":["a@example.jp"]}}]},
			"sns":{"SMS":[{"message":"コード：333333","phone_number":"+819012345678"}]}}`)
	}))
	defer moto.Close()
	voice := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"messages":[{"DestinationPhoneNumber":"+81355552301","MessageBody":"コードは 4 4 4 4 4 4","SentAt":"2026-12-01T01:00:00Z"}]}`)
	}))
	defer voice.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, err := Serve(ctx, Sources{Moto: moto.URL, Voice: voice.URL})
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	for _, want := range []string{"ローカルの受信箱（4件）", "a@example.jp", "819012345678", "音声通話", "4 4 4 4 4 4", "&lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Index(page, "222222") > strings.Index(page, "111111") {
		t.Error("older mail listed before newer")
	}
	if res, _ := http.Get(url + "/other"); res.StatusCode != 404 {
		t.Errorf("/other = %d", res.StatusCode)
	}
}

// fakeSources serves moto's and the voice stand-in's data from strings
// that the test changes as messages are "sent".
type fakeSources struct {
	mu          sync.Mutex
	moto, voice string
}

func (f *fakeSources) set(moto, voice string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.moto, f.voice = moto, voice
}

func (f *fakeSources) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/moto-api/data.json":
		io.WriteString(w, f.moto)
	case "/voice-api/data.json":
		io.WriteString(w, f.voice)
	default:
		http.NotFound(w, r)
	}
}

func TestMailsSMSAndCallsAreListedTogetherNewestFirst(t *testing.T) {
	f := &fakeSources{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	box := NewBox(Sources{Moto: srv.URL, Voice: srv.URL}, func() time.Time { return clock })
	mail := func(body string) string {
		return `{"subject":"確認コード","body":"` + body + `","destinations":{"ToAddresses":["a@example.jp"]}}`
	}
	sms := func(body string) string { return `{"message":"` + body + `","phone_number":"+819012345678"}` }
	moto := func(mails, smss []string) string {
		return `{"ses":{"Message":[` + strings.Join(mails, ",") + `]},"sns":{"SMS":[` + strings.Join(smss, ",") + `]}}`
	}
	call := func(body string, at time.Time) string {
		return `{"DestinationPhoneNumber":"+81355552301","MessageBody":"` + body + `","SentAt":"` + at.Format(time.RFC3339) + `"}`
	}
	order := func() string {
		t.Helper()
		msgs, err := box.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, m.Body)
		}
		return strings.Join(got, " ")
	}

	// A mail, then an SMS, then a call, then another mail: each seen as sent.
	f.set(moto([]string{mail("mail1")}, nil), `{"messages":[]}`)
	order()
	clock = clock.Add(time.Second)
	f.set(moto([]string{mail("mail1")}, []string{sms("sms1")}), `{"messages":[]}`)
	order()
	clock = clock.Add(time.Second)
	f.set(moto([]string{mail("mail1")}, []string{sms("sms1")}), `{"messages":[`+call("call1", clock)+`]}`)
	order()
	clock = clock.Add(time.Second)
	f.set(moto([]string{mail("mail1"), mail("mail2")}, []string{sms("sms1")}), `{"messages":[`+call("call1", clock.Add(-time.Second))+`]}`)
	if got, want := order(), "mail2 call1 sms1 mail1"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}

	// Sent between two reads, an SMS and a mail are ordered by their
	// places in their kinds only when they are of one kind; a call's own
	// time goes before a later-stamped older message.
	clock = clock.Add(time.Second)
	f.set(moto([]string{mail("mail1"), mail("mail2"), mail("mail3")}, []string{sms("sms1"), sms("sms2")}),
		`{"messages":[`+call("call1", clock.Add(-2*time.Second))+`]}`)
	if got := order(); !strings.HasSuffix(got, "mail2 call1 sms1 mail1") || !strings.Contains(got, "mail3") || !strings.Contains(got, "sms2") {
		t.Errorf("order %q", got)
	}

	// A restarted moto numbers its messages from 0 again: they are new.
	clock = clock.Add(time.Second)
	f.set(moto(nil, []string{sms("sms-after-restart")}), `{"messages":[]}`)
	clock = clock.Add(time.Second)
	f.set(moto([]string{mail("mail-after-restart")}, []string{sms("sms-after-restart")}), `{"messages":[]}`)
	if got, want := order(), "mail-after-restart sms-after-restart"; got != want {
		t.Errorf("after a restart: order %q, want %q", got, want)
	}
}

func TestWatchStampsMessagesNobodyLooksAt(t *testing.T) {
	f := &fakeSources{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func() { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second) }
	box := NewBox(Sources{Moto: srv.URL}, now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.set(`{"ses":{"Message":[]},"sns":{"SMS":[{"message":"sms1","phone_number":"+819012345678"}]}}`, "")
	go box.Watch(ctx, 5*time.Millisecond)
	waitSeen := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			box.mu.Lock()
			seen := len(box.seen)
			box.mu.Unlock()
			if seen >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Watch saw %d messages, want %d", seen, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitSeen(1)
	advance()
	f.set(`{"ses":{"Message":[{"subject":"s","body":"mail1","destinations":{"ToAddresses":["a@example.jp"]}}]},"sns":{"SMS":[{"message":"sms1","phone_number":"+819012345678"}]}}`, "")
	waitSeen(2)
	advance()
	msgs, err := box.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Body != "mail1" || msgs[1].Body != "sms1" || !msgs[0].At.After(msgs[1].At) {
		t.Errorf("messages %+v, want the mail (seen later) first", msgs)
	}
}
