//go:build unix

package services

import (
	"os/exec"
	"syscall"
)

// setProcAttr gives the service a process group of its own (Ctrl-C reaches
// the local stack, which stops services last, after the functions that use
// them) and, on Linux, has the kernel kill it if the stack dies.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}
