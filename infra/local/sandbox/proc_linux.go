package sandbox

import "syscall"

// setParentDeathSignal makes the kernel kill the child if the local stack
// itself dies without cleaning up (kill -9), so no instance is orphaned.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
