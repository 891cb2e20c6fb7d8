package session

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gmis-oss/gmis/shared/apperr"
	"github.com/gmis-oss/gmis/shared/httpapi"
)

// Router is the only way HTTP functions register routes. A route is
// private (a live session required) unless it is registered as Public; a
// session whose password must be changed reaches only the routes
// registered with DuringPasswordChange. State-changing requests from a
// browser must come from an allowed origin (CSRF defence on top of the
// SameSite=Strict cookie).
type Router struct {
	mux            *http.ServeMux
	sessions       *Manager
	allowedOrigins map[string]bool
}

// NewRouter returns a Router; allowedOrigins are the browser origins
// (scheme://host[:port]) that may send state-changing requests.
func NewRouter(sessions *Manager, allowedOrigins []string) *Router {
	allowed := map[string]bool{}
	for _, o := range allowedOrigins {
		if o = strings.TrimSpace(o); o != "" {
			allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
		}
	}
	return &Router{mux: http.NewServeMux(), sessions: sessions, allowedOrigins: allowed}
}

// Public registers a route anyone may call (login, password reset, health).
func (rt *Router) Public(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.checkOrigin(checkPath(pattern, h)))
}

// Private registers a route that needs a live session whose password is
// not due for a forced change.
func (rt *Router) Private(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.checkOrigin(rt.requireSession(checkPath(pattern, h), false)))
}

// DuringPasswordChange registers a route that a session may use even while
// its password must be changed (me, logout, the change itself).
func (rt *Router) DuringPasswordChange(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.checkOrigin(rt.requireSession(checkPath(pattern, h), true)))
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.mux.ServeHTTP(w, r)
}

func (rt *Router) requireSession(h http.HandlerFunc, allowMustChange bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := rt.sessions.Resolve(r)
		if err != nil {
			if apperr.CodeOf(err) == apperr.Unauthenticated {
				http.SetCookie(w, ClearCookie())
			}
			httpapi.WriteError(w, r, err)
			return
		}
		if s.MustChangePassword && !allowMustChange {
			httpapi.WriteError(w, r, &apperr.Error{Code: apperr.Forbidden, Field: "password",
				Message:   "初回ログインのため、パスワードを変更してください。",
				MessageEn: "change your password before using the system"})
			return
		}
		httpapi.SetUserID(r.Context(), s.UserID)
		h(w, r.WithContext(With(r.Context(), s)))
	}
}

// checkOrigin refuses state-changing requests that a browser sent from a
// page of another origin. Requests without Origin and Sec-Fetch-Site come
// from non-browser clients (curl, tests, other services) and pass; the
// SameSite=Strict cookie already keeps cross-site browsers' sessions out.
func (rt *Router) checkOrigin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h(w, r)
			return
		}
		origin := r.Header.Get("Origin")
		ok := true
		switch {
		case origin != "" && origin != "null":
			ok = rt.allowedOrigins[strings.ToLower(origin)] || sameHost(origin, r)
		case origin == "null":
			ok = false
		case r.Header.Get("Sec-Fetch-Site") == "cross-site":
			ok = false
		}
		if !ok {
			httpapi.WriteError(w, r, &apperr.Error{Code: apperr.Forbidden, Field: "Origin",
				Message:   "許可されていないサイトからの送信のため、処理できません。",
				MessageEn: "request from an origin that is not allowed"})
			return
		}
		h(w, r)
	})
}

// sameHost accepts a page served by this very API (the browser pages are
// served from the same host).
func sameHost(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// MaxPathValueBytes is the longest path parameter a route accepts. Our IDs
// and codes are far shorter; DynamoDB refuses keys over 1,024 bytes (sort
// keys) with an error that would otherwise surface as a 500.
const MaxPathValueBytes = 128

// pathParams lists the wildcard names of a ServeMux pattern
// ("GET /admin/users/{userId}/{action}" → userId, action).
func pathParams(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		names = append(names, strings.TrimSuffix(pattern[i+1:i+j], "..."))
		pattern = pattern[i+j+1:]
	}
}

// checkPath refuses path parameters that no ID or code of ours can be, so
// that every route, present and future, hands its handler only short,
// plain values, whatever the handler does with them.
func checkPath(pattern string, h http.HandlerFunc) http.HandlerFunc {
	names := pathParams(pattern)
	if len(names) == 0 {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		for _, name := range names {
			if err := CheckPathValue(name, r.PathValue(name)); err != nil {
				httpapi.WriteError(w, r, err)
				return
			}
		}
		h(w, r)
	}
}

// CheckPathValue checks one path parameter: 1 to MaxPathValueBytes of
// ASCII letters, digits and - . _ ~ (URL's unreserved characters: IDs,
// codes and names of kinds and actions are all made of them).
func CheckPathValue(name, v string) error {
	if v == "" || len(v) > MaxPathValueBytes {
		return apperr.InvalidField(name,
			fmt.Sprintf("%s は1〜%d文字で指定してください。", name, MaxPathValueBytes),
			fmt.Sprintf("%s must be 1 to %d characters", name, MaxPathValueBytes))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' {
			continue
		}
		return apperr.InvalidField(name,
			fmt.Sprintf("%s に使えない文字が含まれています（半角英数字と - . _ ~ のみ）。", name),
			fmt.Sprintf("%s may hold only ASCII letters, digits and - . _ ~", name))
	}
	return nil
}
