package sse

// sse-server over TLS, end to end: the command built and run as a person runs it, with
// -tls-cert/-tls-key from a test CA, read over https:// by this package's Client, by curl
// and by Chromium's EventSource; and a Client that does not trust the server stops at once
// instead of reconnecting for ever.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/cdp"
	"github.com/wirelab/wirelab/internal/cli/clitest"
	"github.com/wirelab/wirelab/internal/peer"
)

// tlsTestTimeout bounds each exchange with the command.
const tlsTestTimeout = 60 * time.Second

// publish POSTs data to the server's /publish over c.
func publish(c *http1.Client, base, data string) error {
	ctx, cancel := context.WithTimeout(context.Background(), tlsTestTimeout)
	defer cancel()
	req, err := http1.NewRequest(ctx, "POST", base+"/publish", strings.NewReader(data))
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("publish: %d %s", resp.StatusCode, body)
	}
	return err
}

func TestSSEServerCommandOverTLS(t *testing.T) {
	bin := clitest.Build(t, "sse-server")
	ca := clitest.NewCA(t)
	leaf := ca.Issue(t, "localhost", "127.0.0.1")
	srv := clitest.Start(t, bin+"/sse-server", "-tls-cert", leaf.CertFile, "-tls-key", leaf.KeyFile)
	assert.Equal(t, "https://"+srv.Addr, srv.URL, "the second start-up line names the scheme")
	httpc := &http1.Client{TLSConfig: &tls.Config{RootCAs: ca.Pool}}
	defer httpc.CloseIdleConnections()
	// The first event is in the history before any reader connects: each reader asks for
	// what followed event 0, so none depends on having connected in time.
	require.NoError(t, publish(httpc, srv.URL, "first over tls"))

	t.Run("our Client, trusting the CA", func(t *testing.T) {
		c := &Client{URL: srv.URL + "/events", HTTP: httpc, LastEventID: "0"}
		ctx, cancel := context.WithTimeout(context.Background(), tlsTestTimeout)
		defer cancel()
		var got []Event
		published := make(chan error, 1)
		err := c.Run(ctx, func(ev Event) error {
			got = append(got, ev)
			if len(got) == 1 {
				// Connected and reading: a live event follows the replayed one.
				go func() { published <- publish(httpc, srv.URL, "second over tls") }()
			}
			if len(got) == 2 {
				return ErrStop
			}
			return nil
		})
		require.NoError(t, err)
		require.NoError(t, <-published)
		require.Len(t, got, 2)
		assert.Equal(t, "first over tls", got[0].Data)
		assert.Equal(t, "second over tls", got[1].Data)
		assert.Equal(t, "2", c.LastEventID)
	})

	t.Run("curl --cacert", func(t *testing.T) {
		curl := peer.Command(t, "curl")
		lines := clitest.Lines(t, curl, "-sN", "--cacert", ca.File, "-H", "Last-Event-ID: 0", srv.URL+"/events")
		timeout := time.After(tlsTestTimeout)
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "curl's stream ended before the event")
				if l == "data: first over tls" {
					return
				}
			case <-timeout:
				t.Fatal("curl printed no event")
			}
		}
	})

	t.Run("Chromium's EventSource, trusting the certificate's key by flag", func(t *testing.T) {
		page := cdp.Launch(t, "--ignore-certificate-errors-spki-list="+leaf.SPKIHash)
		ctx, cancel := context.WithTimeout(context.Background(), tlsTestTimeout)
		defer cancel()
		// A page of the server's own origin (its 404 page, over https://), so that the
		// stream is same-origin.
		require.NoError(t, page.Navigate(ctx, srv.URL+"/"))
		require.NoError(t, page.WaitFor(ctx, `location.protocol === "https:" && document.readyState === "complete"`))
		var data string
		require.NoError(t, page.Eval(ctx, `new Promise((resolve) => {
  const es = new EventSource("/events?lastEventId=0");
  es.onmessage = (e) => { es.close(); resolve(e.data); };
})`, &data))
		assert.Equal(t, "first over tls", data)
	})

	srv.Stop(t)
}

func TestClientDoesNotReconnectToAServerItCannotVerify(t *testing.T) {
	bin := clitest.Build(t, "sse-server")
	srv := clitest.Start(t, bin+"/sse-server", "-tls")
	ctx, cancel := context.WithTimeout(context.Background(), tlsTestTimeout)
	defer cancel()
	c := &Client{URL: srv.URL + "/events", Retry: time.Millisecond}
	err := c.Run(ctx, func(Event) error { return nil })
	var verifyErr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verifyErr, "a self-signed certificate is trusted by no root")
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
	srv.Stop(t)
}
