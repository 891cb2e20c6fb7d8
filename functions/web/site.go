package main

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"

	"github.com/gmis-oss/gmis/shared/sos"
	"github.com/gmis-oss/gmis/shared/survey"
)

//go:embed site
var siteFS embed.FS

// Pages maps each page's path to its template under site/pages. The mails'
// links open two of them: /password-reset (reset) and / (notices).
var Pages = map[string]string{
	"/":                "home.html",
	"/login":           "login.html",
	"/login/code":      "code.html",
	"/password/change": "password.html",
	"/password-reset":  "reset.html",
	"/daily":           "daily.html",
	"/weekly":          "weekly.html",
	"/settings/factor": "factor.html",
	// 緊急配布要請 (SOS): the institution's list, form and print view, and
	// the reviewers' day list and detail.
	"/sos-requests":       "sos-list.html",
	"/sos-requests/edit":  "sos-edit.html",
	"/sos-requests/print": "sos-print.html",
	"/sos-review":         "sos-review.html",
	"/sos-review/detail":  "sos-review-detail.html",

	// 病院検索: the search and one hospital.
	"/hospitals":        "search.html",
	"/hospitals/detail": "hospital.html",
	// The administrators' pages: /admin/... is the API's.
	"/manage/issuance":       "issuance.html",
	"/manage/masters":        "masters.html",
	"/manage/jobs":           "jobs.html",
	"/manage/accounts":       "accounts.html",
	"/manage/maintenance":    "maintenance.html",
	"/manage/non-responders": "nonresponders.html",
}

// formGroup is a fieldset of a survey form.
type formGroup struct {
	Legend string
	Fields []survey.FormField
}

// groupLegends names the fieldsets of the daily survey by the first part
// of their fields' paths.
var groupLegends = map[string]string{
	"services": "診療の状況", "staffing": "職員の状況", "beds": "病床の状況",
	"patients": "新型コロナウイルス感染症の入院患者", "tests": "検査と発熱外来", "flags": "基本情報",
}

// supplyLegends names the weekly survey's fieldsets: one per supply.
func supplyLegends() map[string]string {
	out := map[string]string{}
	for _, c := range survey.Supplies {
		out["items."+c.Code] = c.Label
	}
	return out
}

// groups puts fields in fieldsets, in form order: a field belongs to the
// legend of its path's first part, or of its first two (items.<supply>).
func groups(fields []survey.FormField, legends map[string]string) []formGroup {
	var out []formGroup
	for _, f := range fields {
		parts := strings.SplitN(f.Path, ".", 3)
		legend := legends[parts[0]]
		if legend == "" && len(parts) > 1 {
			legend = legends[parts[0]+"."+parts[1]]
		}
		if legend == "" {
			legend = parts[0]
		}
		if len(out) == 0 || out[len(out)-1].Legend != legend {
			out = append(out, formGroup{Legend: legend})
		}
		out[len(out)-1].Fields = append(out[len(out)-1].Fields, f)
	}
	return out
}

// pageData is what every page template gets.
type pageData struct {
	Daily  []formGroup
	Weekly []formGroup
	// SOS is what the SOS pages show from the domain: the supplies a
	// request may ask for and the comment's length limit.
	SOS sosData
}

// sosData is the SOS pages' part of pageData.
type sosData struct {
	Supplies   []survey.Choice
	MaxComment int
	DailyForm  []survey.FormField
	WeeklyForm []survey.FormField
}

// site is the application as served: pages rendered once at start-up, and
// assets under a path that changes with their content, so browsers may
// keep them for a year and still never run a stale one.
type site struct {
	version string            // hash of every asset: /assets/<version>/...
	pages   map[string][]byte // path → HTML
	assets  map[string][]byte // path under assets/ → content
	csp     string
}

// newSite renders the pages. connect lists origins the pages may send to
// besides their own (the upload bucket), space-separated.
func newSite(connect string) (*site, error) {
	s := &site{pages: map[string][]byte{}, assets: map[string][]byte{}}
	h := sha256.New()
	var names []string
	err := fs.WalkDir(siteFS, "site/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, p := range names {
		b, err := siteFS.ReadFile(p)
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(p, "site/assets/")
		s.assets[rel] = b
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:16]
	layout, err := template.New("layout.html").Funcs(template.FuncMap{
		"id": func(path string) string { return "f-" + strings.ReplaceAll(path, ".", "-") },
		"asset": func(name string) (string, error) {
			if _, ok := s.assets[name]; !ok {
				return "", fmt.Errorf("no asset %s", name)
			}
			return "/assets/" + s.version + "/" + name, nil
		},
	}).ParseFS(siteFS, "site/layout.html", "site/partials.html")
	if err != nil {
		return nil, err
	}
	for route, file := range Pages {
		t, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(siteFS, "site/pages/"+file); err != nil {
			return nil, fmt.Errorf("page %s: %w", file, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, pageData{Daily: groups(survey.DailyForm(), groupLegends), Weekly: groups(survey.WeeklyForm(), supplyLegends()),
			SOS: sosData{Supplies: survey.Supplies, MaxComment: sos.MaxComment, DailyForm: survey.DailyForm(), WeeklyForm: survey.WeeklyForm()}}); err != nil {
			return nil, fmt.Errorf("page %s: %w", file, err)
		}
		s.pages[route] = buf.Bytes()
	}
	s.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src 'self'" + strings.TrimRight(" "+strings.TrimSpace(connect), " ") +
		"; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return s, nil
}

func (s *site) routes() http.Handler {
	mux := http.NewServeMux()
	for route := range s.pages {
		pattern := "GET " + route
		if route == "/" {
			pattern = "GET /{$}"
		}
		mux.HandleFunc(pattern, s.page)
	}
	mux.HandleFunc("GET /assets/{version}/{path...}", s.asset)
	return s.secure(mux)
}

// secure sets the headers every answer carries.
func (s *site) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func (s *site) page(w http.ResponseWriter, r *http.Request) {
	b, ok := s.pages[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages name the current assets: they are asked for again each time.
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (s *site) asset(w http.ResponseWriter, r *http.Request) {
	b, ok := s.assets[r.PathValue("path")]
	if !ok || r.PathValue("version") != s.version {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(r.PathValue("path")))
	if strings.HasSuffix(r.PathValue("path"), ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(b)
}
