package prefix

import (
	"bytes"
	"testing"
)

func TestSkippedLinesAreLeftOut(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "moto").Skipping(func(line []byte) bool { return bytes.HasPrefix(line, []byte("poll")) })
	w.Write([]byte("sent mail\npoll 1\npo"))
	w.Write([]byte("ll 2\nsent sms\n"))
	if got, want := out.String(), "[moto] sent mail\n[moto] sent sms\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}
