package env

import (
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	vars := map[string]string{"A": "x", "D": "90m", "S": "15", "L": " a, ,b ", "BAD_D": "soon", "BAD_S": "-1"}
	e := New(func(k string) string { return vars[k] })
	if got := e.Need("A"); got != "x" {
		t.Errorf("Need(A) = %q", got)
	}
	if got := e.Duration("D", time.Hour); got != 90*time.Minute {
		t.Errorf("Duration(D) = %v", got)
	}
	if got := e.Duration("UNSET", time.Hour); got != time.Hour {
		t.Errorf("Duration default = %v", got)
	}
	if got := e.Seconds("S", 0); got != 15*time.Second {
		t.Errorf("Seconds(S) = %v", got)
	}
	if got := e.List("L"); strings.Join(got, "|") != "a|b" {
		t.Errorf("List(L) = %q", got)
	}
	if err := e.Err(); err != nil {
		t.Fatalf("Err = %v with every variable fine", err)
	}
	e.Need("MISSING")
	e.Duration("BAD_D", time.Hour)
	e.Seconds("BAD_S", 0)
	err := e.Err()
	for _, want := range []string{"MISSING is not set", `BAD_D="soon"`, `BAD_S="-1"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Err = %v, want it to name %s", err, want)
		}
	}
}
