// Static files for -dir: GET and HEAD of the files under one directory, with conditional
// requests (RFC 9110 §13) and single byte ranges (RFC 9110 §14).

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// staticFiles serves the files under dir. Paths are resolved inside an os.Root, so that
// no "..", symbolic link or absolute path can reach outside dir.
type staticFiles struct {
	root *os.Root
}

func newStaticFiles(dir string) (*staticFiles, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &staticFiles{root: root}, nil
}

func (s *staticFiles) ServeHTTP(w http1.ResponseWriter, r *http1.Request) {
	if !allow(w, r, "GET", "HEAD") {
		return
	}
	// 1. Find the file: a directory stands for its index.html.
	name := strings.TrimPrefix(path.Clean("/"+r.Path()), "/")
	if name == "" {
		name = "."
	}
	f, info, err := s.open(name)
	if err != nil {
		http1.Error(w, "404 page not found", http1.StatusNotFound)
		return
	}
	defer f.Close()

	// 2. Validators (RFC 9110 §8.8): Last-Modified, and an ETag made of size and time.
	modified := info.ModTime().UTC().Truncate(time.Second)
	etag := fmt.Sprintf(`"%x-%x"`, info.Size(), info.ModTime().UnixNano())
	h := w.Header()
	h.Set("Last-Modified", modified.Format(httpTimeFormat))
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	if ct := mime.TypeByExtension(filepath.Ext(info.Name())); ct != "" {
		h.Set("Content-Type", ct)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}

	// 3. Conditional requests (RFC 9110 §13.2.2: If-None-Match before If-Modified-Since).
	if notModified(r, etag, modified) {
		h.Del("Content-Type")
		w.WriteHeader(http1.StatusNotModified)
		return
	}

	// 4. A single byte range (RFC 9110 §14.2), honoured only if If-Range still matches.
	start, length := int64(0), info.Size()
	if spec := r.Header.Get("Range"); spec != "" && ifRangeMatches(r, etag, modified) {
		first, last, ok := parseRange(spec, info.Size())
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size()))
			http1.Error(w, "416 range not satisfiable", http1.StatusRangeNotSatisfiable)
			return
		}
		start, length = first, last-first+1
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, info.Size()))
		h.Set("Content-Length", strconv.FormatInt(length, 10))
		w.WriteHeader(http1.StatusPartialContent)
	} else {
		h.Set("Content-Length", strconv.FormatInt(length, 10))
	}
	if r.Method == "HEAD" {
		return
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return
	}
	io.Copy(w, io.LimitReader(f, length))
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// open opens name under the root, or name/index.html when name is a directory.
func (s *staticFiles) open(name string) (*os.File, fs.FileInfo, error) {
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if info.IsDir() {
		f.Close()
		if name == "." {
			return s.open("index.html")
		}
		return s.open(name + "/index.html")
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, errors.New("not a regular file")
	}
	return f, info, nil
}

// notModified applies If-None-Match, or If-Modified-Since when there is none.
func notModified(r *http1.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == etag || tag == "*" {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := time.Parse(httpTimeFormat, ims)
		return err == nil && !modified.After(t)
	}
	return false
}

// ifRangeMatches reports whether a Range applies: always without If-Range, else only when
// If-Range names the current ETag or modification time (RFC 9110 §13.1.5).
func ifRangeMatches(r *http1.Request, etag string, modified time.Time) bool {
	ir := r.Header.Get("If-Range")
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) {
		return ir == etag
	}
	t, err := time.Parse(httpTimeFormat, ir)
	return err == nil && t.Equal(modified)
}

// parseRange parses one byte range, "bytes=first-last", "bytes=first-" or "bytes=-suffix",
// against a file of size bytes. Several ranges are served as the first one only.
func parseRange(spec string, size int64) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(spec, "bytes=")
	if !found {
		return 0, 0, false
	}
	spec, _, _ = strings.Cut(spec, ",")
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	switch {
	case a == "": // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	default:
		f, err := strconv.ParseInt(a, 10, 64)
		if err != nil || f < 0 || f >= size {
			return 0, 0, false
		}
		l := size - 1
		if b != "" {
			if l, err = strconv.ParseInt(b, 10, 64); err != nil || l < f {
				return 0, 0, false
			}
			l = min(l, size-1)
		}
		return f, l, true
	}
}
