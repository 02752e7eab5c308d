package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wirelab/wirelab/http1"
	"github.com/wirelab/wirelab/internal/leakcheck"
	"github.com/wirelab/wirelab/internal/peer"
)

// staticTree makes a served folder inside a parent that also holds a secret, which no
// request may ever reach:
//
//	parent/secret.txt            SECRET
//	parent/www/index.html
//	parent/www/data.txt          0123456789
//	parent/www/page.css          a stylesheet long enough to be compressed
//	parent/www/sub/              no index: listed
//	parent/www/sub/<b>x&y.txt    a name that must be escaped in the listing
//	parent/www/withindex/index.html
//	parent/www/link-out          -> ../secret.txt   (a symbolic link out of the folder)
//	parent/www/linkdir-out       -> ..              (a directory link out of it)
//	parent/www/link-in           -> data.txt        (a link that stays inside)
func staticTree(t *testing.T) (www string, css []byte) {
	parent := t.TempDir()
	www = filepath.Join(parent, "www")
	write := func(name, content string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(parent, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(parent, name), []byte(content), 0o644))
	}
	write("secret.txt", "SECRET")
	write("www/index.html", "<h1>hi</h1>")
	write("www/data.txt", "0123456789")
	css = []byte(strings.Repeat("body { color: #333; margin: 0 auto; }\n", 100))
	write("www/page.css", string(css))
	write("www/sub/<b>x&y.txt", "escaped")
	write("www/withindex/index.html", "inner index")
	require.NoError(t, os.Symlink("../secret.txt", filepath.Join(www, "link-out")))
	require.NoError(t, os.Symlink("..", filepath.Join(www, "linkdir-out")))
	require.NoError(t, os.Symlink("data.txt", filepath.Join(www, "link-in")))
	return www, css
}

// rawGet sends target exactly as written, on its own connection, and returns the status and
// the body (the server closes after answering).
func rawGet(t *testing.T, base, target string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(waitTimeout)))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)
	reply, err := io.ReadAll(c)
	require.NoError(t, err)
	line, rest, _ := bytes.Cut(reply, []byte("\r\n"))
	fields := strings.Fields(string(line))
	require.GreaterOrEqual(t, len(fields), 2, "status line %q", line)
	status, err := strconv.Atoi(fields[1])
	require.NoError(t, err)
	_, body, _ := bytes.Cut(rest, []byte("\r\n\r\n"))
	return status, string(body)
}

func TestStaticFilesNeverLeaveTheFolder(t *testing.T) {
	leakcheck.Check(t)
	www, _ := staticTree(t)
	base := serve(t, &http1.Messages{}, www)
	// Each target tries to name parent/secret.txt. The answer may be 400 (the request is
	// not one we take) or 404 (no such file in the folder); never the secret.
	targets := []string{
		"/../secret.txt",
		"/../../secret.txt",
		"/../../../../../../../../secret.txt",
		"/%2e%2e/secret.txt",
		"/%2E%2E/secret.txt",
		"/%2e%2e%2fsecret.txt",
		"/..%2fsecret.txt",
		"/..%2Fsecret.txt",
		"/%2e%2e%5csecret.txt",
		"/.%2e/secret.txt",
		"/%2e./secret.txt",
		"/sub/../../secret.txt",
		"/sub/%2e%2e/%2e%2e/secret.txt",
		"/%252e%252e/secret.txt",
		"/%252e%252e%252fsecret.txt",
		"/..;/secret.txt",
		"//../secret.txt",
		"/./../secret.txt",
		"/....//secret.txt",
		"/..%c0%afsecret.txt",
		"/%c0%ae%c0%ae/secret.txt",
		"/%u002e%u002e/secret.txt",
		"/%00../secret.txt",
		"/secret.txt%00.html",
		"http://test/../secret.txt",
		"/link-out",
		"/sub/../link-out",
		"/linkdir-out/secret.txt",
		"/linkdir-out/www/data.txt",
		"/%6c%69%6e%6b%2d%6f%75%74",
	}
	require.GreaterOrEqual(t, len(targets), 20)
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			status, body := rawGet(t, base, target)
			assert.NotContains(t, body, "SECRET")
			assert.Contains(t, []int{400, 404}, status, "GET %s", target)
		})
	}
	// A link that stays inside the folder is followed.
	status, body := rawGet(t, base, "/link-in")
	assert.Equal(t, 200, status)
	assert.Equal(t, "0123456789", body)
}

func TestStaticDirectories(t *testing.T) {
	leakcheck.Check(t)
	www, _ := staticTree(t)
	base := serve(t, &http1.Messages{}, www)
	c := &http1.Client{}
	defer c.CloseIdleConnections()

	t.Run("a directory without its slash is redirected to it", func(t *testing.T) {
		resp, _ := do(t, c, "GET", base+"/sub?x=1", "")
		assert.Equal(t, 301, resp.StatusCode)
		assert.Equal(t, "/sub/?x=1", resp.Header.Get("Location"))
	})
	t.Run("a directory with index.html serves it", func(t *testing.T) {
		resp, body := do(t, c, "GET", base+"/withindex/", "")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "inner index", body)
	})
	t.Run("a directory without one is listed, names escaped", func(t *testing.T) {
		resp, body := do(t, c, "GET", base+"/sub/", "")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, body, "Index of /sub/")
		assert.Contains(t, body, `<a href="../">../</a>`)
		assert.Contains(t, body, "&lt;b&gt;x&amp;y.txt")
		assert.NotContains(t, body, "<b>x")
		assert.Contains(t, body, `href="./%3Cb%3Ex&amp;y.txt"`)
		// The link leads to the file.
		resp, got := do(t, c, "GET", base+"/sub/%3Cb%3Ex&y.txt", "")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "escaped", got)
	})
	t.Run("HEAD of a listing has its length and no body", func(t *testing.T) {
		get, body := do(t, c, "GET", base+"/sub/", "")
		head, none := do(t, c, "HEAD", base+"/sub/", "")
		assert.Equal(t, strconv.Itoa(len(body)), head.Header.Get("Content-Length"))
		assert.Equal(t, get.Header.Get("Content-Length"), head.Header.Get("Content-Length"))
		assert.Empty(t, none)
	})
	t.Run("other methods are refused with Allow", func(t *testing.T) {
		resp, _ := do(t, c, "DELETE", base+"/data.txt", "")
		assert.Equal(t, 405, resp.StatusCode)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	})
}

func TestStaticConditionalRequests(t *testing.T) {
	leakcheck.Check(t)
	www, _ := staticTree(t)
	base := serve(t, &http1.Messages{}, www)
	c := &http1.Client{}
	defer c.CloseIdleConnections()
	first, _ := do(t, c, "GET", base+"/data.txt", "")
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	require.True(t, strings.HasPrefix(etag, `"`), "a strong ETag, got %q", etag)
	mod, err := time.Parse(httpTimeFormat, lastMod)
	require.NoError(t, err)
	before := mod.Add(-time.Hour).Format(httpTimeFormat)
	after := mod.Add(time.Hour).Format(httpTimeFormat)

	// RFC 9110 §13.2.2 fixes the order: If-Match, If-Unmodified-Since, If-None-Match,
	// If-Modified-Since.
	cases := []struct {
		name   string
		header []string
		status int
	}{
		{"If-None-Match with the current tag: 304", []string{"If-None-Match", etag}, 304},
		{"If-None-Match with the tag as weak: 304 (weak comparison)", []string{"If-None-Match", "W/" + etag}, 304},
		{"If-None-Match in a list: 304", []string{"If-None-Match", `"other", ` + etag}, 304},
		{"If-None-Match: * matches any current file", []string{"If-None-Match", "*"}, 304},
		{"If-None-Match with another tag: 200", []string{"If-None-Match", `"other"`}, 200},
		{"If-Modified-Since the modification time: 304", []string{"If-Modified-Since", lastMod}, 304},
		{"If-Modified-Since later: 304", []string{"If-Modified-Since", after}, 304},
		{"If-Modified-Since earlier: 200", []string{"If-Modified-Since", before}, 200},
		{"If-Modified-Since in RFC 850 form", []string{"If-Modified-Since", mod.Format("Monday, 02-Jan-06 15:04:05 GMT")}, 304},
		{"If-Modified-Since in asctime form", []string{"If-Modified-Since", mod.Format("Mon Jan _2 15:04:05 2006")}, 304},
		{"If-Modified-Since that is not a date is ignored", []string{"If-Modified-Since", "yesterday"}, 200},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"other"`, "If-Modified-Since", after}, 200},
		{"If-Match with the current tag: 200", []string{"If-Match", etag}, 200},
		{"If-Match with another tag: 412", []string{"If-Match", `"other"`}, 412},
		{"If-Match with the tag as weak: 412 (strong comparison)", []string{"If-Match", "W/" + etag}, 412},
		{"If-Match: * : 200", []string{"If-Match", "*"}, 200},
		{"If-Unmodified-Since earlier: 412", []string{"If-Unmodified-Since", before}, 412},
		{"If-Unmodified-Since later: 200", []string{"If-Unmodified-Since", after}, 200},
		{"If-Match wins over If-Unmodified-Since", []string{"If-Match", etag, "If-Unmodified-Since", before}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, c, "GET", base+"/data.txt", "", tc.header...)
			assert.Equal(t, tc.status, resp.StatusCode)
			switch tc.status {
			case 200:
				assert.Equal(t, "0123456789", body)
			case 304:
				assert.Empty(t, body)
				assert.Equal(t, etag, resp.Header.Get("ETag"), "a 304 carries the validators")
				assert.Empty(t, resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestStaticRanges(t *testing.T) {
	leakcheck.Check(t)
	www, _ := staticTree(t)
	base := serve(t, &http1.Messages{}, www)
	c := &http1.Client{}
	defer c.CloseIdleConnections()
	first, _ := do(t, c, "GET", base+"/data.txt", "")
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")

	single := []struct {
		name, rng    string
		header       []string
		status       int
		contentRange string
		body         string
	}{
		{"a range", "bytes=2-4", nil, 206, "bytes 2-4/10", "234"},
		{"from an offset to the end", "bytes=7-", nil, 206, "bytes 7-9/10", "789"},
		{"the last bytes", "bytes=-3", nil, 206, "bytes 7-9/10", "789"},
		{"a suffix longer than the file is the file", "bytes=-30", nil, 206, "bytes 0-9/10", "0123456789"},
		{"a last position past the end is cut to it", "bytes=8-100", nil, 206, "bytes 8-9/10", "89"},
		{"spaces around the list are allowed", "bytes= 1-2 ", nil, 206, "bytes 1-2/10", "12"},
		{"overlapping ranges are merged", "bytes=0-3,2-5", nil, 206, "bytes 0-5/10", "012345"},
		{"adjacent ranges are merged", "bytes=0-1,2-3", nil, 206, "bytes 0-3/10", "0123"},
		{"a range past the end is dropped from a list", "bytes=1-1,50-60", nil, 206, "bytes 1-1/10", "1"},
		{"no range inside the file: 416", "bytes=20-", nil, 416, "bytes */10", ""},
		{"an empty suffix: 416", "bytes=-0", nil, 416, "bytes */10", ""},
		{"last before first makes the field invalid: ignored", "bytes=5-3", nil, 200, "", "0123456789"},
		{"another unit: ignored", "items=0-1", nil, 200, "", "0123456789"},
		{"a sign: ignored", "bytes=+1-2", nil, 200, "", "0123456789"},
		{"not a number: ignored", "bytes=a-b", nil, 200, "", "0123456789"},
		{"no dash: ignored", "bytes=5", nil, 200, "", "0123456789"},
		{"an empty list: ignored", "bytes=", nil, 200, "", "0123456789"},
		{"If-Range with the current tag", "bytes=2-4", []string{"If-Range", etag}, 206, "bytes 2-4/10", "234"},
		{"If-Range with the modification time", "bytes=2-4", []string{"If-Range", lastMod}, 206, "bytes 2-4/10", "234"},
		{"If-Range with a stale tag: the whole file", "bytes=2-4", []string{"If-Range", `"stale"`}, 200, "", "0123456789"},
		{"If-Range with a weak tag never matches", "bytes=2-4", []string{"If-Range", "W/" + etag}, 200, "", "0123456789"},
		{"If-Range with another date: the whole file", "bytes=2-4", []string{"If-Range", "Sun, 06 Nov 1994 08:49:37 GMT"}, 200, "", "0123456789"},
	}
	for _, tc := range single {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, c, "GET", base+"/data.txt", "", append([]string{"Range", tc.rng}, tc.header...)...)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.contentRange, resp.Header.Get("Content-Range"))
			if tc.status != 416 {
				assert.Equal(t, tc.body, body)
				assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"))
			}
		})
	}

	t.Run("several ranges: multipart/byteranges", func(t *testing.T) {
		resp, body := do(t, c, "GET", base+"/data.txt", "", "Range", "bytes=7-8, 0-1, -1")
		require.Equal(t, 206, resp.StatusCode)
		assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"), "the length is exact")
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "multipart/byteranges", mt)
		mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
		var got []string
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			b, err := io.ReadAll(part)
			require.NoError(t, err)
			assert.Equal(t, "text/plain; charset=utf-8", part.Header.Get("Content-Type"))
			got = append(got, part.Header.Get("Content-Range")+" "+string(b))
		}
		// In file order; 7-8 and the last byte touch, so they are one part.
		assert.Equal(t, []string{"bytes 0-1/10 01", "bytes 7-9/10 789"}, got)
	})
	t.Run("too many ranges: the whole file", func(t *testing.T) {
		big := strings.Repeat("x", 1000)
		require.NoError(t, os.WriteFile(filepath.Join(www, "big.bin"), []byte(big), 0o644))
		var specs []string
		for i := range maxRanges + 1 {
			specs = append(specs, fmt.Sprintf("%d-%d", i*10, i*10))
		}
		resp, body := do(t, c, "GET", base+"/big.bin", "", "Range", "bytes="+strings.Join(specs, ","))
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, big, body)
	})
	t.Run("HEAD ignores Range", func(t *testing.T) {
		resp, _ := do(t, c, "HEAD", base+"/data.txt", "", "Range", "bytes=2-4")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "10", resp.Header.Get("Content-Length"))
	})
}

func TestStaticGzip(t *testing.T) {
	leakcheck.Check(t)
	www, css := staticTree(t)
	base := serve(t, &http1.Messages{}, www)
	c := &http1.Client{}
	defer c.CloseIdleConnections()

	plain, body := do(t, c, "GET", base+"/page.css", "")
	assert.Empty(t, plain.Header.Get("Content-Encoding"))
	assert.Equal(t, "Accept-Encoding", plain.Header.Get("Vary"))
	assert.Equal(t, string(css), body)

	zipped, zbody := do(t, c, "GET", base+"/page.css", "", "Accept-Encoding", "br;q=1, gzip;q=0.8")
	require.Equal(t, "gzip", zipped.Header.Get("Content-Encoding"))
	assert.Equal(t, "Accept-Encoding", zipped.Header.Get("Vary"))
	assert.NotEqual(t, plain.Header.Get("ETag"), zipped.Header.Get("ETag"), "the gzip form has its own tag")
	assert.Less(t, len(zbody), len(css)/5)
	zr, err := gzip.NewReader(strings.NewReader(zbody))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, css, unzipped)

	head, none := do(t, c, "HEAD", base+"/page.css", "", "Accept-Encoding", "gzip")
	assert.Empty(t, none)
	assert.Equal(t, "gzip", head.Header.Get("Content-Encoding"))
	assert.Equal(t, strconv.Itoa(len(zbody)), head.Header.Get("Content-Length"), "HEAD tells the length GET sends")

	again, _ := do(t, c, "GET", base+"/page.css", "", "Accept-Encoding", "gzip", "If-None-Match", zipped.Header.Get("ETag"))
	assert.Equal(t, 304, again.StatusCode)

	for _, ae := range []string{"gzip;q=0", "identity", "br", "*;q=0"} {
		resp, _ := do(t, c, "GET", base+"/page.css", "", "Accept-Encoding", ae)
		assert.Empty(t, resp.Header.Get("Content-Encoding"), "Accept-Encoding: %s", ae)
	}
	star, _ := do(t, c, "GET", base+"/page.css", "", "Accept-Encoding", "*")
	assert.Equal(t, "gzip", star.Header.Get("Content-Encoding"))

	ranged, rbody := do(t, c, "GET", base+"/page.css", "", "Accept-Encoding", "gzip", "Range", "bytes=0-3")
	assert.Equal(t, 206, ranged.StatusCode)
	assert.Empty(t, ranged.Header.Get("Content-Encoding"), "ranges are of the identity form")
	assert.Equal(t, "body", rbody)

	small, _ := do(t, c, "GET", base+"/data.txt", "", "Accept-Encoding", "gzip")
	assert.Empty(t, small.Header.Get("Content-Encoding"), "too small to be worth it")
}

// TestAGibibyteFileIsServedInConstantMemory streams a sparse 1 GiB file (it takes no disk)
// and samples the heap while it goes: memory must stay at buffers, not grow with the file.
func TestAGibibyteFileIsServedInConstantMemory(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	const size = 1 << 30
	f, err := os.Create(filepath.Join(dir, "huge.bin"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	base := serve(t, &http1.Messages{}, dir)

	runtime.GC()
	var start runtime.MemStats
	runtime.ReadMemStats(&start)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(2*time.Minute)))
	fmt.Fprintf(c, "GET /huge.bin HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	head := ""
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		head += line
		if line == "\r\n" {
			break
		}
	}
	assert.Contains(t, head, "Content-Length: 1073741824\r\n")
	n, err := io.Copy(io.Discard, br)
	require.NoError(t, err)
	close(stop)
	<-sampled
	assert.Equal(t, int64(size), n)
	grown := int64(peak.Load()) - int64(start.HeapAlloc)
	t.Logf("1 GiB served; heap grew by at most %d KiB", grown>>10)
	assert.Less(t, grown, int64(32<<20), "the heap grew with the file")
}

// TestCurlRanges asks with curl's own range option, as a person would.
func TestCurlRanges(t *testing.T) {
	leakcheck.Check(t)
	curl := peer.Command(t, "curl")
	www, _ := staticTree(t)
	base := serve(t, &http1.Messages{}, www)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "10"}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	assert.Equal(t, "234", run("--range", "2-4", base+"/data.txt"))
	multi := run("-i", "--range", "0-1,8-9", base+"/data.txt")
	assert.Contains(t, multi, "206 Partial Content")
	assert.Contains(t, multi, "multipart/byteranges; boundary=")
	assert.Contains(t, multi, "Content-Range: bytes 0-1/10\r\n\r\n01\r\n")
	assert.Contains(t, multi, "Content-Range: bytes 8-9/10\r\n\r\n89\r\n")
	// Resuming a download: curl -C - asks for the rest of what it has.
	out := filepath.Join(t.TempDir(), "data.txt")
	require.NoError(t, os.WriteFile(out, []byte("01234"), 0o644))
	run("-C", "-", "-o", out, base+"/data.txt")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(got))
}
