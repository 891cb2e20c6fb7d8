package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const prSetChildSubreaper = 36

// adoptOrphans makes this test process the reaper of its descendants'
// orphans, so anything the local stack started and left running becomes our
// child when the stack exits. It returns a function listing those children.
func adoptOrphans(t *testing.T) func() []string {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Fatalf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
	t.Cleanup(func() { _, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0) })
	self := strconv.Itoa(os.Getpid())
	return func() []string {
		var left []string
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, path := range stats {
			data, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			// Fields after the parenthesised command: state, ppid, ...
			s := string(data)
			rest := s[strings.LastIndexByte(s, ')')+2:]
			fields := strings.Fields(rest)
			if len(fields) > 1 && fields[1] == self && fields[0] != "Z" {
				cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "cmdline"))
				left = append(left, strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
		return left
	}
}
