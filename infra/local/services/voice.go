package services

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// VoiceDataPath is where the voice stand-in lists the messages it recorded,
// as moto lists sent mail and SMS at /moto-api/data.json.
const VoiceDataPath = "/voice-api/data.json"

// VoiceMessage is one recorded SendVoiceMessage call.
type VoiceMessage struct {
	MessageID              string    `json:"MessageId"`
	DestinationPhoneNumber string    `json:"DestinationPhoneNumber"`
	OriginationIdentity    string    `json:"OriginationIdentity"`
	MessageBody            string    `json:"MessageBody"`
	MessageBodyTextType    string    `json:"MessageBodyTextType,omitempty"`
	VoiceID                string    `json:"VoiceId,omitempty"`
	SentAt                 time.Time `json:"SentAt"`
}

// VoiceData is the listing at VoiceDataPath, oldest message first.
type VoiceData struct {
	Messages []VoiceMessage `json:"messages"`
}

// Voice stands in for AWS End User Messaging SMS and Voice
// (pinpoint-sms-voice-v2), which neither moto nor anything else emulates:
// it answers SendVoiceMessage, checks what AWS would refuse, and records
// the messages so that a developer can read a code that was "called".
type Voice struct {
	Endpoint string // http://127.0.0.1:PORT
	srv      *http.Server
	done     chan struct{}
	mu       sync.Mutex
	messages []VoiceMessage
}

// StartVoice serves the voice stand-in on a free 127.0.0.1 port.
func StartVoice() (*Voice, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("voice stand-in: %w", err)
	}
	v := &Voice{Endpoint: "http://" + ln.Addr().String(), done: make(chan struct{})}
	v.srv = &http.Server{Handler: v, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(v.done)
		_ = v.srv.Serve(ln)
	}()
	return v, nil
}

// Close stops the stand-in; the recorded messages go with it.
func (v *Voice) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = v.srv.Shutdown(ctx)
	<-v.done
}

// Messages returns the recorded messages, oldest first.
func (v *Voice) Messages() []VoiceMessage {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]VoiceMessage(nil), v.messages...)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (v *Voice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == VoiceDataPath {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(VoiceData{Messages: append([]VoiceMessage{}, v.Messages()...)})
		return
	}
	const prefix = "PinpointSMSVoiceV2."
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || r.URL.Path != "/" || !strings.HasPrefix(target, prefix) {
		http.NotFound(w, r)
		return
	}
	if op := strings.TrimPrefix(target, prefix); op != "SendVoiceMessage" {
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "the local voice stand-in answers SendVoiceMessage only, not "+op)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		awsError(w, http.StatusBadRequest, "ValidationException", "cannot read the request")
		return
	}
	var m VoiceMessage
	if err := json.Unmarshal(body, &m); err != nil {
		awsError(w, http.StatusBadRequest, "ValidationException", "the request is not JSON")
		return
	}
	// The checks AWS makes before it would place a call, so that a
	// misconfiguration fails here as it would when deployed.
	switch {
	case !e164.MatchString(m.DestinationPhoneNumber):
		awsError(w, http.StatusBadRequest, "ValidationException", "DestinationPhoneNumber must be an E.164 number")
		return
	case m.OriginationIdentity == "":
		awsError(w, http.StatusBadRequest, "ValidationException", "OriginationIdentity is required")
		return
	case m.MessageBody == "":
		awsError(w, http.StatusBadRequest, "ValidationException", "MessageBody is required")
		return
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	m.MessageID, m.SentAt = hex.EncodeToString(id), time.Now().UTC()
	v.mu.Lock()
	v.messages = append(v.messages, m)
	v.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": m.MessageID})
}

// awsError answers in the JSON 1.0 protocol's error shape, which the SDK
// turns into a typed error.
func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// ReadVoice fetches the messages a voice stand-in at endpoint recorded.
func ReadVoice(ctx context.Context, endpoint string) ([]VoiceMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+VoiceDataPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("voice stand-in: %w", err)
	}
	defer resp.Body.Close()
	var d VoiceData
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return nil, fmt.Errorf("voice stand-in listing: %w", err)
	}
	return d.Messages, nil
}
