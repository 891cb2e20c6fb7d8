package session

import (
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
	rt.mux.Handle(pattern, rt.checkOrigin(h))
}

// Private registers a route that needs a live session whose password is
// not due for a forced change.
func (rt *Router) Private(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.checkOrigin(rt.requireSession(h, false)))
}

// DuringPasswordChange registers a route that a session may use even while
// its password must be changed (me, logout, the change itself).
func (rt *Router) DuringPasswordChange(pattern string, h http.HandlerFunc) {
	rt.mux.Handle(pattern, rt.checkOrigin(rt.requireSession(h, true)))
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
