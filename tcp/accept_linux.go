package tcp

import "syscall"

// osTemporaryAcceptErrnos are the errors of isTemporary that only Linux has: ENONET, in
// accept(2)'s list of errors of a pending connection to retry "like EAGAIN".
var osTemporaryAcceptErrnos = []syscall.Errno{syscall.ENONET}
