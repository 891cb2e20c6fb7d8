// Package env reads a function's configuration from its environment and
// reports every missing or malformed variable at once, so a function fails
// fast at cold start with one clear message.
package env

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reader reads variables and remembers the problems.
type Reader struct {
	get      func(string) string
	problems []string
}

// New returns a Reader over get (os.Getenv, or a map's lookup in tests).
func New(get func(string) string) *Reader { return &Reader{get: get} }

// Need returns a variable that must be set.
func (r *Reader) Need(name string) string {
	v := r.get(name)
	if v == "" {
		r.problems = append(r.problems, name+" is not set")
	}
	return v
}

// Get returns a variable or "".
func (r *Reader) Get(name string) string { return r.get(name) }

// List returns a comma-separated variable as a list without empty items.
func (r *Reader) List(name string) []string {
	var out []string
	for _, s := range strings.Split(r.get(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Duration returns a Go duration ("3h", "30m"), or def when unset.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not a positive duration such as 3h or 30m", name, v))
		return def
	}
	return d
}

// Seconds returns a whole number of seconds as a duration, or def when unset.
func (r *Reader) Seconds(name string, def time.Duration) time.Duration {
	v := r.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not a whole number of seconds", name, v))
		return def
	}
	return time.Duration(n) * time.Second
}

// Int returns a whole number of 1 or more, or def when unset.
func (r *Reader) Int(name string, def int) int {
	v := r.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not a whole number of 1 or more", name, v))
		return def
	}
	return n
}

// Err reports every problem met so far.
func (r *Reader) Err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(r.problems, "; "))
}
