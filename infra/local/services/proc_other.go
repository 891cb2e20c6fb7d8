//go:build unix && !linux

package services

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
