package gateway

import (
	"maps"
	"strings"
	"testing"

	"github.com/gmis-oss/gmis/infra/local/template"
)

// routes builds routes of function Fn from route keys: "GET /sos/{id}",
// "ANY /items/{id}" or "$default".
func routes(keys ...string) []template.Route {
	out := make([]template.Route, 0, len(keys))
	for _, k := range keys {
		if k == "$default" {
			out = append(out, template.Route{Function: "Fn"})
			continue
		}
		method, path, _ := strings.Cut(k, " ")
		out = append(out, template.Route{Function: "Fn", Method: method, Path: path})
	}
	return out
}

type matchCase struct {
	name       string
	method     string
	path       string
	wantKey    string // "" for no route at all
	wantParams map[string]string
}

func checkMatch(t *testing.T, r *router, tc matchCase) {
	t.Helper()
	got, params := r.match(tc.method, tc.path)
	switch {
	case got == nil && tc.wantKey == "":
		return
	case got == nil:
		t.Fatalf("match(%s, %q) = no route, want %q", tc.method, tc.path, tc.wantKey)
	case tc.wantKey == "":
		t.Fatalf("match(%s, %q) = %q, want no route", tc.method, tc.path, got.Key())
	}
	if got.Key() != tc.wantKey {
		t.Errorf("match(%s, %q) = %q, want %q", tc.method, tc.path, got.Key(), tc.wantKey)
	}
	if !maps.Equal(params, tc.wantParams) {
		t.Errorf("match(%s, %q) params = %v, want %v", tc.method, tc.path, params, tc.wantParams)
	}
}

func TestRouterMatch(t *testing.T) {
	r := newRouter(routes(
		"GET /health",
		"POST /sos",
		"GET /sos/new",
		"GET /sos/{id}",
		"GET /sos/{id}/edit",
		"GET /items/{id}",
		"ANY /items/{id}",
		"ANY /things/{id}",
		"GET /files/{proxy+}",
		"$default",
	))
	for _, tc := range []matchCase{
		{name: "literal", method: "GET", path: "/health", wantKey: "GET /health"},
		{name: "literal beats param", method: "GET", path: "/sos/new", wantKey: "GET /sos/new"},
		{name: "param", method: "GET", path: "/sos/abc-123", wantKey: "GET /sos/{id}", wantParams: map[string]string{"id": "abc-123"}},
		{name: "param in the middle", method: "GET", path: "/sos/42/edit", wantKey: "GET /sos/{id}/edit", wantParams: map[string]string{"id": "42"}},
		{name: "literal segment after param", method: "GET", path: "/sos/new/edit", wantKey: "GET /sos/{id}/edit", wantParams: map[string]string{"id": "new"}},
		{name: "greedy catches several segments", method: "GET", path: "/files/a/b/c", wantKey: "GET /files/{proxy+}", wantParams: map[string]string{"proxy": "a/b/c"}},
		{name: "greedy catches one segment", method: "GET", path: "/files/a", wantKey: "GET /files/{proxy+}", wantParams: map[string]string{"proxy": "a"}},
		{name: "greedy needs a segment", method: "GET", path: "/files", wantKey: "$default"},
		{name: "greedy needs a non-empty rest", method: "GET", path: "/files/", wantKey: "$default"},
		{name: "method beats ANY", method: "GET", path: "/items/7", wantKey: "GET /items/{id}", wantParams: map[string]string{"id": "7"}},
		{name: "ANY takes other methods", method: "DELETE", path: "/items/7", wantKey: "ANY /items/{id}", wantParams: map[string]string{"id": "7"}},
		{name: "ANY takes GET", method: "GET", path: "/things/x", wantKey: "ANY /things/{id}", wantParams: map[string]string{"id": "x"}},
		{name: "ANY takes PATCH", method: "PATCH", path: "/things/x", wantKey: "ANY /things/{id}", wantParams: map[string]string{"id": "x"}},
		{name: "ANY takes OPTIONS", method: "OPTIONS", path: "/things/x", wantKey: "ANY /things/{id}", wantParams: map[string]string{"id": "x"}},
		{name: "other method falls to default", method: "POST", path: "/health", wantKey: "$default"},
		{name: "trailing slash", method: "GET", path: "/health/", wantKey: "$default"},
		{name: "extra segment", method: "GET", path: "/health/x", wantKey: "$default"},
		{name: "extra segment after param", method: "GET", path: "/sos/42/edit/more", wantKey: "$default"},
		{name: "empty segment is no param", method: "GET", path: "/sos/", wantKey: "$default"},
		{name: "empty middle segment is no param", method: "GET", path: "/sos//edit", wantKey: "$default"},
		{name: "literal is case-sensitive", method: "GET", path: "/Health", wantKey: "$default"},
		{name: "unknown path", method: "GET", path: "/nothing/here", wantKey: "$default"},
		{name: "root", method: "GET", path: "/", wantKey: "$default"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkMatch(t, r, tc) })
	}
}

func TestRouterWithoutDefault(t *testing.T) {
	r := newRouter(routes("GET /sos/{id}", "POST /sos/new", "GET /files/{proxy+}"))
	for _, tc := range []matchCase{
		{name: "match", method: "GET", path: "/sos/1", wantKey: "GET /sos/{id}", wantParams: map[string]string{"id": "1"}},
		{name: "POST literal", method: "POST", path: "/sos/new", wantKey: "POST /sos/new"},
		{name: "path matches another method", method: "DELETE", path: "/sos/1", wantKey: ""},
		{name: "literal path but only GET param route fits", method: "GET", path: "/sos/new", wantKey: "GET /sos/{id}", wantParams: map[string]string{"id": "new"}},
		{name: "PUT on literal", method: "PUT", path: "/sos/new", wantKey: ""},
		{name: "greedy with another method", method: "POST", path: "/files/a/b", wantKey: ""},
		{name: "trailing slash", method: "GET", path: "/sos/1/", wantKey: ""},
		{name: "bare greedy prefix", method: "GET", path: "/files", wantKey: ""},
		{name: "unknown", method: "GET", path: "/x", wantKey: ""},
	} {
		t.Run(tc.name, func(t *testing.T) { checkMatch(t, r, tc) })
	}
}

// TestRouterDocumentedExample replays the example of "Routing API requests"
// in the API Gateway developer guide for HTTP APIs.
func TestRouterDocumentedExample(t *testing.T) {
	r := newRouter(routes(
		"GET /pets/dog/1",
		"GET /pets/dog/{id}",
		"GET /pets/{proxy+}",
		"ANY /{proxy+}",
		"$default",
	))
	for _, tc := range []matchCase{
		{name: "full literal match", method: "GET", path: "/pets/dog/1", wantKey: "GET /pets/dog/1"},
		{name: "param match", method: "GET", path: "/pets/dog/2", wantKey: "GET /pets/dog/{id}", wantParams: map[string]string{"id": "2"}},
		{name: "greedy under pets", method: "GET", path: "/pets/cat/1", wantKey: "GET /pets/{proxy+}", wantParams: map[string]string{"proxy": "cat/1"}},
		{name: "other method to ANY greedy", method: "POST", path: "/pets/dog/1", wantKey: "ANY /{proxy+}", wantParams: map[string]string{"proxy": "pets/dog/1"}},
		{name: "anything else to ANY greedy", method: "GET", path: "/test/some-resource", wantKey: "ANY /{proxy+}", wantParams: map[string]string{"proxy": "test/some-resource"}},
		{name: "root to default", method: "GET", path: "/", wantKey: "$default"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkMatch(t, r, tc) })
	}
}

// TestRouterFullMatchBeatsGreedy checks the documented priority: a full
// match of route and method (path variables included) wins over any match
// through a greedy {proxy+} variable, however many literal segments the
// greedy route starts with.
func TestRouterFullMatchBeatsGreedy(t *testing.T) {
	r := newRouter(routes("GET /a/b/{proxy+}", "GET /a/{x}/{y}/{z}"))
	checkMatch(t, r, matchCase{
		method: "GET", path: "/a/b/c/d",
		wantKey:    "GET /a/{x}/{y}/{z}",
		wantParams: map[string]string{"x": "b", "y": "c", "z": "d"},
	})
}
