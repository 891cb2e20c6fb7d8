package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func testSite(t *testing.T) (*site, *httptest.Server) {
	t.Helper()
	s, err := newSite("https://uploads.example.test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.routes())
	t.Cleanup(srv.Close)
	return s, srv
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

func TestPagesAndTheirAssets(t *testing.T) {
	_, srv := testSite(t)
	for route := range Pages {
		t.Run(route, func(t *testing.T) {
			res, body := get(t, srv.URL+route)
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("%s = %d %s", route, res.StatusCode, res.Header.Get("Content-Type"))
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "connect-src 'self' https://uploads.example.test"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if bytes.Contains(body, []byte("<script>")) || bytes.Contains(body, []byte("style=")) {
				t.Error("inline script or style in the page")
			}
			if !bytes.Contains(body, []byte(`<html lang="ja">`)) {
				t.Error("the page does not say it is Japanese")
			}
			refs := assetRef.FindAllSubmatch(body, -1)
			if len(refs) < 3 {
				t.Fatalf("%d asset references", len(refs))
			}
			for _, ref := range refs {
				res, _ := get(t, srv.URL+string(ref[1]))
				if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
					t.Errorf("%s = %d %q", ref[1], res.StatusCode, res.Header.Get("Cache-Control"))
				}
			}
		})
	}
}

func TestScriptsImportOnlyWhatExists(t *testing.T) {
	s, srv := testSite(t)
	importRE := regexp.MustCompile(`from '(\.[^']+)'`)
	for name, b := range s.assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range importRE.FindAllSubmatch(b, -1) {
			target := filepath.ToSlash(filepath.Join("/assets", s.version, filepath.Dir(name), string(m[1])))
			if res, _ := get(t, srv.URL+target); res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
				t.Errorf("%s imports %s: %d %s", name, m[1], res.StatusCode, res.Header.Get("Content-Type"))
			}
		}
	}
}

func TestUnknownPathsAndStaleAssets(t *testing.T) {
	s, srv := testSite(t)
	for _, p := range []string{"/nope", "/login/x", "/assets/0000000000000000/app.css", "/assets/" + s.version + "/nope.css", "/assets/" + s.version + "/../site.go"} {
		if res, _ := get(t, srv.URL+p); res.StatusCode != 404 {
			t.Errorf("%s = %d, want 404", p, res.StatusCode)
		}
	}
}

// The design tokens are embedded as a copy (go:embed cannot reach
// node_modules); it must be the version package-lock.json pins.
func TestDesignTokensMatchThePinnedPackage(t *testing.T) {
	lock, err := os.ReadFile("../../package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	pinned := l.Packages["node_modules/@digital-go-jp/design-tokens"].Version
	if pinned == "" {
		t.Fatal("package-lock.json pins no @digital-go-jp/design-tokens")
	}
	installed, err := os.ReadFile("../../node_modules/@digital-go-jp/design-tokens/dist/tokens.css")
	if err != nil {
		t.Fatalf("node_modules not installed (make deps installs it): %v", err)
	}
	pkg, err := os.ReadFile("../../node_modules/@digital-go-jp/design-tokens/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Version string }
	if err := json.Unmarshal(pkg, &p); err != nil || p.Version != pinned {
		t.Fatalf("node_modules holds %s, the lock pins %s (%v)", p.Version, pinned, err)
	}
	embedded, err := siteFS.ReadFile("site/assets/vendor/tokens.css")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(embedded, installed) {
		t.Errorf("site/assets/vendor/tokens.css differs from design-tokens %s", pinned)
	}
}

func TestConnectOriginsNameTheBucketAndS3(t *testing.T) {
	env := map[string]string{"CONNECT_ORIGINS": "https://gmis-prod-uploads-1.s3.ap-northeast-1.amazonaws.com", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:45123"}
	got := connectOrigins(func(k string) string { return env[k] })
	if want := "https://gmis-prod-uploads-1.s3.ap-northeast-1.amazonaws.com http://127.0.0.1:45123"; got != want {
		t.Errorf("connectOrigins = %q, want %q", got, want)
	}
}

// The survey form must stay light for old PCs and phones on a weak
// signal: its HTML, CSS and JavaScript (with every module it imports),
// gzipped, under 60 KB.
func TestSurveyPageWeight(t *testing.T) {
	s, _ := testSite(t)
	gz := func(b []byte) int {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Len()
	}
	for _, route := range []string{"/daily", "/weekly"} {
		total := gz(s.pages[route])
		seen := map[string]bool{}
		var visit func(name string)
		visit = func(name string) {
			if seen[name] {
				return
			}
			seen[name] = true
			b, ok := s.assets[name]
			if !ok {
				t.Fatalf("%s: no asset %s", route, name)
			}
			total += gz(b)
			for _, m := range regexp.MustCompile(`from '(\.[^']+)'`).FindAllSubmatch(b, -1) {
				visit(path.Clean(path.Join(path.Dir(name), string(m[1]))))
			}
		}
		for _, ref := range assetRef.FindAllSubmatch(s.pages[route], -1) {
			visit(strings.TrimPrefix(string(ref[1]), "/assets/"+s.version+"/"))
		}
		t.Logf("%s: %d bytes gzipped in %d files", route, total, len(seen)+1)
		if total > 60<<10 {
			t.Errorf("%s weighs %d bytes gzipped, want under 60 KB", route, total)
		}
	}
}
