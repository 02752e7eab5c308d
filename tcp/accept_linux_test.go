package tcp_test

import (
	"syscall"
	"testing"
)

// TestAcceptRetriesENONET: ENONET is in the list of accept(2)'s Linux manual, of errors to
// retry like EAGAIN, and Linux's alone.
func TestAcceptRetriesENONET(t *testing.T) {
	checkAcceptErrorIsRetried(t, syscall.ENONET)
}
