//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
)

// TestANamedPipeInTheFolderIsRefusedWithoutWaitingForAWriter: a FIFO under -dir is not a
// file to serve, and a request for it must get its 404 at once. Opening a FIFO for reading
// waits for a writer, so the check of the file's kind must not come after a blocking open.
func TestANamedPipeInTheFolderIsRefusedWithoutWaitingForAWriter(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	base := serve(t, &http1.Messages{}, dir)
	// Should the server still be in its open of the FIFO when the test ends, a writer
	// lets it out, so that the server's Shutdown can finish.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	})

	status, _ := rawGet(t, base, "/pipe")
	assert.Equal(t, 404, status)
}
