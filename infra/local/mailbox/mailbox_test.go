package mailbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
