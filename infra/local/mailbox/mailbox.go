// Package mailbox serves the local stack's mailbox: one page listing the
// mails, SMS and voice calls the system sent, newest first, so that a
// person trying the system reads a one-time code the way a phone or a mail
// client would show it, without reading JSON.
package mailbox

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gmis-oss/gmis/infra/local/services"
)

// Message is one thing sent, as the page shows it.
type Message struct {
	Kind    string // メール, SMS, 音声通話
	To      string
	Subject string
	Body    string
	// At is when the message was sent: the voice stand-in's time, or,
	// for mails and SMS (moto keeps no times), when the mailbox first saw
	// it.
	At  time.Time
	seq int // the message's place among those of its kind, oldest 0
}

// Sources are where the sent messages are read: moto (SES and SNS) and the
// voice stand-in ("" when there is none).
type Sources struct {
	Moto  string
	Voice string
}

// Box reads the sent messages and remembers when it first saw each one,
// so that mails, SMS and calls are listed together, newest first, although
// moto keeps only their order within each kind. Watch makes the times
// close to the real ones; each Read notes new messages too.
type Box struct {
	src Sources
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // by kind, place and content
}

// NewBox returns a Box over src; now is the clock (time.Now when nil).
func NewBox(src Sources, now func() time.Time) *Box {
	if now == nil {
		now = time.Now
	}
	return &Box{src: src, now: now, seen: map[string]time.Time{}}
}

// Read returns every message sent, newest first: by when it was first
// seen, then, for messages first seen together, by their order within
// their kind (newest first) and the voice stand-in's own times.
func (b *Box) Read(ctx context.Context) ([]Message, error) {
	out, err := read(ctx, b.src)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	now := b.now()
	first := make([]time.Time, len(out))
	for i, m := range out {
		// The content is in the key: a restarted moto numbers its
		// messages from 0 again.
		key := fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%s", m.Kind, m.seq, m.To, m.Subject, m.Body)
		t, ok := b.seen[key]
		if !ok {
			t = now
			b.seen[key] = t
		}
		first[i] = t
		if m.At.IsZero() {
			out[i].At = t
		}
	}
	b.mu.Unlock()
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		i, j := order[x], order[y]
		if !first[i].Equal(first[j]) {
			return first[i].After(first[j])
		}
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		if out[i].Kind == out[j].Kind {
			return out[i].seq > out[j].seq
		}
		return false
	})
	sorted := make([]Message, len(out))
	for x, i := range order {
		sorted[x] = out[i]
	}
	return sorted, nil
}

// Watch reads the sources every interval until ctx ends, so that a message
// is stamped within an interval of being sent even when nobody looks.
func (b *Box) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = b.Read(ctx) // a source that is down is read again next time
		}
	}
}

// read returns every message sent, unsorted.
func read(ctx context.Context, src Sources) ([]Message, error) {
	moto, err := services.ReadMoto(ctx, src.Moto)
	if err != nil {
		return nil, err
	}
	var out []Message
	for i, m := range moto.SES.Message {
		to := ""
		if len(m.Destinations.ToAddresses) > 0 {
			to = m.Destinations.ToAddresses[0]
		}
		out = append(out, Message{Kind: "メール", To: to, Subject: m.Subject, Body: m.Body, seq: i})
	}
	for i, m := range moto.SNS.SMS {
		out = append(out, Message{Kind: "SMS", To: m.PhoneNumber, Body: m.Message, seq: i})
	}
	if src.Voice != "" {
		var voice struct {
			Messages []struct {
				To     string    `json:"DestinationPhoneNumber"`
				Body   string    `json:"MessageBody"`
				SentAt time.Time `json:"SentAt"`
			} `json:"messages"`
		}
		if err := getJSON(ctx, src.Voice+"/voice-api/data.json", &voice); err != nil {
			return nil, err
		}
		for i, m := range voice.Messages {
			out = append(out, Message{Kind: "音声通話", To: m.To, Body: m.Body, At: m.SentAt, seq: i})
		}
	}
	return out, nil
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("read %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

var page = template.Must(template.New("mailbox").Parse(`<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>ローカルの受信箱</title>
<style>
body{font-family:"Noto Sans JP",sans-serif;margin:0 auto;max-width:48rem;padding:1rem;line-height:1.7;color:#1a1a1a}
h1{font-size:1.5rem}.msg{border:1px solid #999;border-radius:8px;padding:.75rem 1rem;margin:0 0 1rem}
.meta{font-size:.875rem;color:#333}.kind{font-weight:700;margin-right:.5rem}pre{white-space:pre-wrap;margin:.5rem 0 0;font:inherit}
</style></head><body>
<h1>ローカルの受信箱（{{len .}}件）</h1>
<p>このマシンで動いているシステムが送ったメール・SMS・音声通話です（新しい順、5秒ごとに更新）。実際には送られていません。</p>
{{range .}}<section class="msg"><p class="meta"><span class="kind">{{.Kind}}</span>宛先 {{.To}}{{if not .At.IsZero}}　{{.At.Local.Format "2006/01/02 15:04:05"}}{{end}}</p>
{{if .Subject}}<h2 class="meta">件名 {{.Subject}}</h2>{{end}}<pre>{{.Body}}</pre></section>
{{else}}<p>まだ何も送られていません。</p>{{end}}
</body></html>`))

// Handler serves the mailbox page.
func Handler(box *Box) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		msgs, err := box.Read(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = page.Execute(w, msgs)
	})
}

// WatchInterval is how often a served mailbox reads its sources.
const WatchInterval = 250 * time.Millisecond

// Serve serves the mailbox on a free loopback port until ctx ends and
// returns its URL; it watches the sources meanwhile.
func Serve(ctx context.Context, src Sources) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	box := NewBox(src, nil)
	srv := &http.Server{Handler: Handler(box), ReadHeaderTimeout: 5 * time.Second}
	go box.Watch(ctx, WatchInterval)
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + l.Addr().String(), nil
}
