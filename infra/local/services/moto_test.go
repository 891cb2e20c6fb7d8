package services

import "testing"

func TestMotoDataReadIsOnlyTheDataRoute(t *testing.T) {
	for line, want := range map[string]bool{
		`127.0.0.1 - - [01/Dec/2026 05:40:41] "GET /moto-api/data.json HTTP/1.1" 200 -`: true,
		`127.0.0.1 - - [01/Dec/2026 05:40:41] "POST / HTTP/1.1" 200 -`:                  false,
		`127.0.0.1 - - [01/Dec/2026 05:40:41] "POST /moto-api/reset HTTP/1.1" 200 -`:    false,
	} {
		if got := MotoDataRead([]byte(line)); got != want {
			t.Errorf("MotoDataRead(%q) = %v, want %v", line, got, want)
		}
	}
}
