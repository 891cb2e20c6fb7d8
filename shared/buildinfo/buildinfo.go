// Package buildinfo says which build of the system is running.
package buildinfo

// Version is set at link time by the Makefile
// (-X github.com/gmis-oss/gmis/shared/buildinfo.Version=...).
var Version = "dev"
