package main

import (
	"strings"
	"testing"
)

func TestPathParametersGet400NamingThem(t *testing.T) {
	e := stackEnv(t)
	c := national(t, e)
	long := strings.Repeat("A", 5000)
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/auth/users/" + long, "userId"},
		{"GET", "/admin/masters/institutions/" + long, "code"},
		{"GET", "/admin/masters/institutions/" + long + "/history", "code"},
		{"POST", "/admin/users/" + long + "/stop", "userId"},
		{"DELETE", "/admin/users/" + long, "userId"},
		{"POST", "/admin/users/import/" + long + "/notify", "batchId"},
		{"POST", "/admin/maintenance-windows/" + long + "/end", "id"},
		{"GET", "/auth/users/AB%00CD", "userId"},
		{"GET", "/admin/masters/institutions/13%00", "code"},
		{"POST", "/admin/users/AB%0D%0ACD/unlock", "userId"},
	} {
		r := c.Do(tc.method, tc.path, nil)
		if r.Status != 400 || r.ErrorField() != tc.field {
			t.Errorf("%s %.50s… = %d %.200s, want 400 naming %s", tc.method, tc.path, r.Status, r.Body, tc.field)
		}
	}
}
