//go:build !linux

package tcp

import "syscall"

// osTemporaryAcceptErrnos: Linux adds ENONET (accept_linux.go); other systems have none
// beyond temporaryAcceptErrnos.
var osTemporaryAcceptErrnos []syscall.Errno
