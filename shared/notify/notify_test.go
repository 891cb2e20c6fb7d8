package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"

	"github.com/gmis-oss/gmis/shared/auth"
)

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

// TestVoiceCallRequest checks the exact SendVoiceMessage request: no
// emulator of AWS End User Messaging SMS and Voice exists, so a recording
// endpoint stands in for it.
func TestVoiceCallRequest(t *testing.T) {
	var (
		mu  sync.Mutex
		got []recorded
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = io.WriteString(w, `{"MessageId":"m-1"}`)
	}))
	defer srv.Close()

	client := pinpointsmsvoicev2.New(pinpointsmsvoicev2.Options{
		Region:       "ap-northeast-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	n := New(nil, nil, client, Config{VoiceOrigin: "+815012340000"})
	if err := n.SendCode(context.Background(), auth.MethodVoice, "+819012345678", "204815"); err != nil {
		t.Fatalf("SendCode: %v", err)
	}

	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	req := got[0]
	if req.method != http.MethodPost || req.path != "/" {
		t.Errorf("request %s %s, want POST /", req.method, req.path)
	}
	if h := req.header.Get("X-Amz-Target"); h != "PinpointSMSVoiceV2.SendVoiceMessage" {
		t.Errorf("X-Amz-Target = %q", h)
	}
	if h := req.header.Get("Content-Type"); h != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type = %q", h)
	}
	if h := req.header.Get("Authorization"); !strings.Contains(h, "/ap-northeast-1/sms-voice/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 signature for sms-voice in ap-northeast-1", h)
	}
	var body map[string]any
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatalf("body %s: %v", req.body, err)
	}
	want := map[string]any{
		"DestinationPhoneNumber": "+819012345678",
		"OriginationIdentity":    "+815012340000",
		"MessageBody":            "医療機関等情報支援システムです。認証コードは、2、0、4、8、1、5。繰り返します。2、0、4、8、1、5。です。",
		"MessageBodyTextType":    "TEXT",
		"VoiceId":                "TAKUMI",
	}
	if len(body) != len(want) {
		t.Errorf("body has %d fields, want %d: %s", len(body), len(want), req.body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
}

func TestUnknownMethodIsAnError(t *testing.T) {
	n := New(nil, nil, nil, Config{})
	if err := n.SendCode(context.Background(), auth.MethodTOTP, "", "123456"); err == nil {
		t.Error("SendCode(totp) succeeded; TOTP codes are never sent")
	}
}

// TestNoVoiceCallWithoutOrigin checks that a deployment without an
// origination identity places no call (AWS would refuse it) and says why.
func TestNoVoiceCallWithoutOrigin(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = io.WriteString(w, `{"MessageId":"m-1"}`)
	}))
	defer srv.Close()
	client := pinpointsmsvoicev2.New(pinpointsmsvoicev2.Options{
		Region:       "ap-northeast-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	n := New(nil, nil, client, Config{})
	if n.CanCall() {
		t.Error("CanCall() = true without an origination identity")
	}
	err := n.SendCode(context.Background(), auth.MethodVoice, "+819012345678", "204815")
	if err == nil || !strings.Contains(err.Error(), "VoiceOriginationIdentity") {
		t.Errorf("SendCode = %v, want an error naming VoiceOriginationIdentity", err)
	}
	if calls != 0 {
		t.Errorf("%d requests sent, want none", calls)
	}
	if !New(nil, nil, client, Config{VoiceOrigin: "+815012340000"}).CanCall() {
		t.Error("CanCall() = false with an origination identity")
	}
}
