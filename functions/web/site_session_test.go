package main

import (
	"strings"
	"testing"
)

// Without JavaScript the forms cannot be sent: every page says so, and
// the stylesheet loaded only then hides the forms rather than leave them
// dead.
func TestPagesSayTheyNeedJavaScript(t *testing.T) {
	s, srv := testSite(t)
	css, ok := s.assets["noscript.css"]
	if !ok || !strings.Contains(string(css), "main form") {
		t.Fatalf("noscript.css does not hide the forms: %q", css)
	}
	for route := range Pages {
		_, body := get(t, srv.URL+route)
		page := string(body)
		head, main, _ := strings.Cut(page, `<main`)
		if !strings.Contains(head, `<noscript><link rel="stylesheet" href="/assets/`+s.version+`/noscript.css"></noscript>`) {
			t.Errorf("%s: no noscript stylesheet in the head", route)
		}
		_, msg, _ := strings.Cut(main, "<noscript>")
		msg, _, closed := strings.Cut(msg, "</noscript>")
		if !closed || !strings.Contains(msg, "JavaScript が必要です") {
			t.Errorf("%s: no message in Japanese for browsers without JavaScript in the main part", route)
		}
	}
}
