package seal

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(DeriveKey([]byte("a secret of at least thirty-two bytes"), "test"))
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := b.Seal([]byte("initial"))
	s2, _ := b.Seal([]byte("initial"))
	if s1 == s2 {
		t.Error("two seals of the same text are equal; the nonce is not random")
	}
	got, err := b.Open(s1)
	if err != nil || !bytes.Equal(got, []byte("initial")) {
		t.Errorf("Open = %q, %v", got, err)
	}
	other, _ := New(DeriveKey([]byte("a secret of at least thirty-two bytes"), "other"))
	if _, err := other.Open(s1); err == nil {
		t.Error("a box with another key opened the seal")
	}
	if _, err := b.Open(s1[:len(s1)-2] + "AA"); err == nil {
		t.Error("a tampered seal opened")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a short key")
	}
}
