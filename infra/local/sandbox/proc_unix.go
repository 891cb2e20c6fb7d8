//go:build unix

package sandbox

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in a group of its own, so that Ctrl-C in the
// terminal reaches the local stack only, which then stops its children in
// order, and so that killing the group also ends anything the function
// started.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
