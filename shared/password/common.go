package password

import (
	_ "embed"
	"strings"
)

// commonList is John the Ripper's password.lst, unchanged: its "#!comment:"
// header says where it comes from and that it is in the public domain, so
// the header stays with the data.
//
//go:embed common-passwords.txt
var commonList string

// commentPrefix marks John the Ripper's comment lines, which are not
// passwords.
const commentPrefix = "#!comment:"

// common holds the lowercased entries of commonList. It is built once at
// package initialisation and only read afterwards; a few thousand short
// strings cost far less than re-scanning the list on every Check.
var common = parseCommon(commonList)

// parseCommon turns the list into a set. Blank lines are skipped: the empty
// password is refused by the length rule anyway.
func parseCommon(list string) map[string]struct{} {
	set := make(map[string]struct{})
	for line := range strings.Lines(list) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, commentPrefix) {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
}

// isCommon reports whether pw is on the list. The comparison ignores case
// because "Password1" is guessed as early as "password1" is.
func isCommon(pw string) bool {
	_, ok := common[strings.ToLower(pw)]
	return ok
}
