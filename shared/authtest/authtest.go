// Package authtest helps integration tests log in: an HTTP client that
// keeps the session cookie the way a browser does, and readers of the
// mail and SMS that moto_server received and of the voice calls the local
// stack's voice stand-in recorded.
package authtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gmis-oss/gmis/infra/local/services"
	"github.com/gmis-oss/gmis/shared/session"
)

// Client calls the API as one browser: it keeps the session cookie (sent
// although the test server speaks plain HTTP, as a browser does for
// localhost) and sends the Origin of the pages.
type Client struct {
	T      testing.TB
	Base   string
	Origin string
	Cookie string // the session token, "" when logged out
}

// Response is an answer, with its body decoded as JSON when it is JSON.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// ErrorCode is the envelope's error.code.
func (r Response) ErrorCode() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// ErrorField is the envelope's error.field.
func (r Response) ErrorField() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		s, _ := e["field"].(string)
		return s
	}
	return ""
}

// String returns a field of the body.
func (r Response) String(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// Do sends a request with body encoded as JSON (nil for none).
func (c *Client) Do(method, path string, body any) Response {
	c.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Origin != "" {
		req.Header.Set("Origin", c.Origin)
	}
	if c.Cookie != "" {
		req.AddCookie(&http.Cookie{Name: session.CookieName, Value: c.Cookie})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	_ = json.Unmarshal(raw, &out.JSON)
	for _, ck := range resp.Cookies() {
		if ck.Name != session.CookieName {
			continue
		}
		if ck.MaxAge < 0 || ck.Value == "" {
			c.Cookie = ""
		} else {
			c.Cookie = ck.Value
		}
	}
	return out
}

// Moto reads what moto_server delivered.
type Moto struct {
	T        testing.TB
	Endpoint string
}

func (m Moto) data() services.MotoData {
	m.T.Helper()
	d, err := services.ReadMoto(context.Background(), m.Endpoint)
	if err != nil {
		m.T.Fatal(err)
	}
	return d
}

// Mails returns the bodies of the mails sent to address, oldest first.
func (m Moto) Mails(address string) []string {
	m.T.Helper()
	var out []string
	for _, msg := range m.data().SES.Message {
		for _, to := range msg.Destinations.ToAddresses {
			if strings.EqualFold(to, address) {
				out = append(out, msg.Subject+"\n"+msg.Body)
			}
		}
	}
	return out
}

// SMS returns the texts sent to an E.164 number, oldest first.
func (m Moto) SMS(number string) []string {
	m.T.Helper()
	var out []string
	for _, msg := range m.data().SNS.SMS {
		if msg.PhoneNumber == number {
			out = append(out, msg.Message)
		}
	}
	return out
}

// Voice reads what the local stack's voice stand-in recorded.
type Voice struct {
	T        testing.TB
	Endpoint string
}

// Calls returns the spoken texts of the calls to an E.164 number, oldest
// first. The digits of a code are read one by one ("1、2、3…"), so a
// reader of a code takes the digits of the text: see CallCode.
func (v Voice) Calls(number string) []string {
	v.T.Helper()
	resp, err := http.Get(v.Endpoint + "/voice-api/data.json")
	if err != nil {
		v.T.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Messages []struct {
			DestinationPhoneNumber string
			MessageBody            string
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		v.T.Fatal(err)
	}
	var out []string
	for _, m := range d.Messages {
		if m.DestinationPhoneNumber == number {
			out = append(out, m.MessageBody)
		}
	}
	return out
}

// CallCode turns spoken texts into what LastCode reads: the code's digits
// joined (the text says the code twice; the first six digits are it).
func CallCode(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, t)
		out[i] = digits[:min(6, len(digits))]
	}
	return out
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// LastCode waits briefly for the count-th message (1-based) that fetch
// returns and gives the 6-digit code in it.
func LastCode(t testing.TB, count int, fetch func() []string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs := fetch()
		if len(msgs) >= count {
			code := codeRE.FindString(msgs[count-1])
			if code == "" {
				t.Fatalf("no code in message %q", msgs[count-1])
			}
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d never arrived (have %d)", count, len(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Link returns the first http(s) URL in a message.
func Link(t testing.TB, msg string) string {
	t.Helper()
	m := regexp.MustCompile(`https?://\S+`).FindString(msg)
	if m == "" {
		t.Fatalf("no link in %q", msg)
	}
	return m
}

// MailsBySubject counts, in one read, the mails whose subject contains
// subject, by recipient (lower case).
func (m Moto) MailsBySubject(subject string) map[string]int {
	m.T.Helper()
	out := map[string]int{}
	for _, msg := range m.data().SES.Message {
		if !strings.Contains(msg.Subject, subject) {
			continue
		}
		for _, to := range msg.Destinations.ToAddresses {
			out[strings.ToLower(to)]++
		}
	}
	return out
}
