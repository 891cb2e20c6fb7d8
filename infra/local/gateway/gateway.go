// Package gateway serves an HTTP API from the template's routes the way API
// Gateway does: it matches the route, turns the request into a payload
// format 2.0 event, invokes the function and maps its answer back to HTTP,
// with API Gateway's own answers for unknown routes (404), failed functions
// (500), integration timeouts (503) and CORS preflights.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gmis-oss/gmis/infra/local/sandbox"
	"github.com/gmis-oss/gmis/infra/local/template"
)

// MaxRequestBytes is API Gateway's payload limit.
const MaxRequestBytes = 10 * 1024 * 1024

// Invoker runs one function; *sandbox.Function is one.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (sandbox.Result, error)
}

// Config is what a Gateway serves.
type Config struct {
	API       *template.HTTPAPI
	Routes    []template.Route   // the API's routes
	Functions map[string]Invoker // by logical ID
	AccountID string
	Log       io.Writer        // one line per request; nil to stay quiet
	Now       func() time.Time // nil means time.Now
}

// Gateway is an http.Handler that behaves like the HTTP API.
type Gateway struct {
	cfg    Config
	router *router
}

// New checks that every route has its function and returns the Gateway.
func New(cfg Config) (*Gateway, error) {
	for _, rt := range cfg.Routes {
		if cfg.Functions[rt.Function] == nil {
			return nil, fmt.Errorf("route %s: function %s is not running", rt.Key(), rt.Function)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if cfg.API == nil {
		cfg.API = &template.HTTPAPI{LogicalID: template.ImplicitAPI}
	}
	for i := range cfg.Routes {
		if cfg.Routes[i].IntegrationTimeout <= 0 {
			cfg.Routes[i].IntegrationTimeout = 30 * time.Second
		}
	}
	return &Gateway{cfg: cfg, router: newRouter(cfg.Routes)}, nil
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.cfg.Now()
	requestID := newRequestID()
	w.Header().Set("Apigw-Requestid", requestID)

	if g.preflight(w, r) {
		g.logLine(start, nil, r, http.StatusNoContent, "preflight")
		return
	}
	g.addCORS(w.Header(), r)

	route, params := g.router.match(r.Method, r.URL.Path)
	if route == nil {
		writeMessage(w, http.StatusNotFound, "Not Found")
		g.logLine(start, nil, r, http.StatusNotFound, "no route")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxRequestBytes {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		g.logLine(start, route, r, http.StatusRequestEntityTooLarge, "")
		return
	}
	ev := g.event(r, route, params, body, requestID, start)
	payload, err := json.Marshal(ev)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}

	// API Gateway stops waiting after the integration timeout, but the
	// invocation itself runs on to its own end, as it does in AWS.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), route.IntegrationTimeout)
	defer cancel()
	res, err := g.cfg.Functions[route.Function].Invoke(ctx, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		g.logLine(start, route, r, http.StatusServiceUnavailable, "integration timeout")
		return
	case err != nil:
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		g.logLine(start, route, r, http.StatusInternalServerError, err.Error())
		return
	case res.FunctionError != "":
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		g.logLine(start, route, r, http.StatusInternalServerError, coldOrWarm(res)+" "+res.ErrorType)
		return
	}
	resp, err := parseResponse(res.Payload)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		g.logLine(start, route, r, http.StatusInternalServerError, coldOrWarm(res)+" malformed response: "+err.Error())
		return
	}
	writeResponse(w, resp, g.cfg.API.CORS != nil)
	g.logLine(start, route, r, resp.StatusCode, coldOrWarm(res))
}

func coldOrWarm(res sandbox.Result) string {
	if res.Cold {
		return "cold"
	}
	return "warm"
}

// logLine prints one line per request: time, function, route key, method
// and path, status, duration, and cold or warm (or why it failed).
func (g *Gateway) logLine(start time.Time, route *template.Route, r *http.Request, status int, note string) {
	if g.cfg.Log == nil {
		return
	}
	fn, key := "-", "-"
	if route != nil {
		fn, key = route.Function, route.Key()
	}
	fmt.Fprintf(g.cfg.Log, "%s %-20s %-24s %s %s %d %dms %s\n", start.Format("15:04:05"), fn, key, r.Method, r.URL.RequestURI(),
		status, g.cfg.Now().Sub(start).Milliseconds(), note)
}

// event builds the payload format 2.0 event for r.
func (g *Gateway) event(r *http.Request, route *template.Route, params map[string]string, body []byte, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = h
	}
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 || r.ContentLength > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	if prev := headers["x-forwarded-for"]; prev != "" {
		headers["x-forwarded-for"] = prev + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = p
	}

	var query map[string]string
	if r.URL.RawQuery != "" {
		query = map[string]string{}
		values, _ := url.ParseQuery(r.URL.RawQuery)
		for k, v := range values {
			query[k] = strings.Join(v, ",")
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	prefix, _, _ := strings.Cut(host, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    g.cfg.AccountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        strings.ToLower(g.cfg.API.LogicalID),
			DomainName:   host,
			DomainPrefix: prefix,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText says whether API Gateway would pass the body as text. It passes
// JSON, XML, form posts and text/* as text; anything else, and any body that
// is not valid UTF-8 (a Shift_JIS CSV, say), is base64-encoded so no byte is
// lost on the way.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType == ""
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "json"), strings.HasSuffix(mt, "xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// parseResponse reads a function's answer as API Gateway does for payload
// format 2.0: an object with statusCode is a full response; any other valid
// JSON is the body of a 200 application/json response (a JSON string without
// its quotes).
func parseResponse(payload []byte) (events.APIGatewayV2HTTPResponse, error) {
	if !json.Valid(payload) {
		return events.APIGatewayV2HTTPResponse{}, errors.New("the function's answer is not JSON")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err == nil {
		if _, ok := probe["statusCode"]; ok {
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(payload, &resp); err != nil {
				return resp, err
			}
			if resp.StatusCode < 100 || resp.StatusCode > 599 {
				return resp, fmt.Errorf("statusCode %d out of range", resp.StatusCode)
			}
			return resp, nil
		}
	}
	body := string(payload)
	var str string
	if err := json.Unmarshal(payload, &str); err == nil {
		body = str // "Hello" becomes the body Hello, as in AWS's own example
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       body,
	}, nil
}

// writeResponse writes the function's response. When the API has a CORS
// configuration, API Gateway ignores CORS headers from the function; so
// does this.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse, apiCORS bool) {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = decoded
	}
	h := w.Header()
	skip := func(name string) bool {
		return apiCORS && strings.HasPrefix(strings.ToLower(name), "access-control-")
	}
	for k, v := range resp.Headers {
		if !skip(k) {
			h.Set(k, v)
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			if !skip(k) {
				h.Add(k, v)
			}
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// writeMessage writes one of API Gateway's own answers: {"message":"..."}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

// preflight answers a CORS preflight itself, as API Gateway does when the
// API has a CORS configuration; it reports whether it did.
func (g *Gateway) preflight(w http.ResponseWriter, r *http.Request) bool {
	cors := g.cfg.API.CORS
	if cors == nil || r.Method != http.MethodOptions || r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h := w.Header()
	if origin := g.allowedOrigin(r.Header.Get("Origin")); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		if cors.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		h.Set("Access-Control-Allow-Methods", allowList(cors.AllowMethods, r.Header.Get("Access-Control-Request-Method")))
		if hs := allowList(cors.AllowHeaders, r.Header.Get("Access-Control-Request-Headers")); hs != "" {
			h.Set("Access-Control-Allow-Headers", hs)
		}
		if cors.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(cors.MaxAge))
		}
		h.Add("Vary", "Origin")
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (g *Gateway) addCORS(h http.Header, r *http.Request) {
	cors := g.cfg.API.CORS
	if cors == nil || r.Header.Get("Origin") == "" {
		return
	}
	origin := g.allowedOrigin(r.Header.Get("Origin"))
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if cors.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(cors.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(cors.ExposeHeaders, ","))
	}
	h.Add("Vary", "Origin")
}

func (g *Gateway) allowedOrigin(origin string) string {
	for _, o := range g.cfg.API.CORS.AllowOrigins {
		if o == "*" {
			if g.cfg.API.CORS.AllowCredentials {
				return origin
			}
			return "*"
		}
		if strings.EqualFold(o, origin) {
			return origin
		}
	}
	return ""
}

// allowList is the configured list, or what was asked for when the list is "*".
func allowList(configured []string, requested string) string {
	for _, c := range configured {
		if c == "*" {
			return requested
		}
	}
	list := append([]string{}, configured...)
	sort.Strings(list)
	return strings.Join(list, ",")
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strings.TrimRight(base64.StdEncoding.EncodeToString(b[:]), "=")
}
