package gateway

import (
	"strings"

	"github.com/gmis-oss/gmis/infra/local/template"
)

// router matches requests to routes the way API Gateway HTTP APIs do: a
// full match (path variables included) beats a match through a greedy
// {proxy+}; among those the most specific path wins, segment by segment (a
// literal beats a {param}); a route's own method beats ANY; and the $default
// route catches what nothing else does. A path that no route matches, whatever the
// method, is 404: HTTP APIs have no 405.
type router struct {
	routes []compiledRoute
	def    *template.Route
}

type compiledRoute struct {
	route template.Route
	segs  []segment
}

type segmentKind int

const (
	greedySeg segmentKind = iota + 1
	paramSeg
	literalSeg
)

type segment struct {
	kind  segmentKind
	value string // the literal, or the parameter's name
}

func newRouter(routes []template.Route) *router {
	r := &router{}
	for _, rt := range routes {
		if rt.Path == "" {
			def := rt
			r.def = &def
			continue
		}
		r.routes = append(r.routes, compiledRoute{route: rt, segs: compile(rt.Path)})
	}
	return r
}

func compile(path string) []segment {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			segs[i] = segment{kind: greedySeg, value: p[1 : len(p)-2]}
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			segs[i] = segment{kind: paramSeg, value: p[1 : len(p)-1]}
		default:
			segs[i] = segment{kind: literalSeg, value: p}
		}
	}
	return segs
}

// match returns the route for method and path with its path parameters.
func (r *router) match(method, path string) (*template.Route, map[string]string) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var (
		best       *compiledRoute
		bestParams map[string]string
		bestScore  []int
	)
	for i := range r.routes {
		cr := &r.routes[i]
		if cr.route.Method != "ANY" && cr.route.Method != method {
			continue
		}
		params, score, ok := cr.matchPath(parts)
		if !ok {
			continue
		}
		full := 1
		if cr.segs[len(cr.segs)-1].kind == greedySeg {
			full = 0
		}
		score = append([]int{full}, score...)
		if cr.route.Method != "ANY" {
			score = append(score, 1)
		} else {
			score = append(score, 0)
		}
		if best == nil || better(score, bestScore) {
			best, bestParams, bestScore = cr, params, score
		}
	}
	if best != nil {
		return &best.route, bestParams
	}
	return r.def, nil
}

func (cr *compiledRoute) matchPath(parts []string) (map[string]string, []int, bool) {
	var params map[string]string
	score := make([]int, 0, len(cr.segs))
	for i, seg := range cr.segs {
		if seg.kind == greedySeg {
			if i != len(cr.segs)-1 || i >= len(parts) {
				return nil, nil, false
			}
			rest := strings.Join(parts[i:], "/")
			if rest == "" {
				return nil, nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[seg.value] = rest
			return params, append(score, int(greedySeg)), true
		}
		if i >= len(parts) {
			return nil, nil, false
		}
		switch seg.kind {
		case literalSeg:
			if parts[i] != seg.value {
				return nil, nil, false
			}
		case paramSeg:
			if parts[i] == "" {
				return nil, nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[seg.value] = parts[i]
		}
		score = append(score, int(seg.kind))
	}
	if len(parts) != len(cr.segs) {
		return nil, nil, false
	}
	return params, score, true
}

// better compares two specificity scores segment by segment.
func better(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return len(a) > len(b)
}
