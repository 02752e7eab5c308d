// Static files for -dir: GET and HEAD of the files under one directory, what nginx or Apache
// do first. Conditional requests are in conditional.go, byte ranges in ranges.go, gzip in
// encoding.go; this file finds the file and puts the steps in order.

package main

import (
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// maxListEntries bounds a directory listing: a folder of a million files must not turn one
// request into a page of a hundred megabytes. The listing says how many it left out.
const maxListEntries = 10000

// staticFiles serves the files under dir. Every path is resolved inside an os.Root, so no
// "..", symbolic link or absolute path can reach outside dir: the kernel-level check is the
// root's, not a string comparison of ours that an encoding could slip past.
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
	// 1. The path, decoded and cleaned: "/a/../b" is "/b", and a ".." can never climb
	//    above "/". What is left is a name relative to the root.
	urlPath := r.Path()
	if strings.ContainsRune(urlPath, 0) {
		http1.Error(w, "400 bad path", http1.StatusBadRequest)
		return
	}
	clean := path.Clean("/" + urlPath)
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		name = "."
	}
	f, info, err := s.open(name)
	if err != nil {
		http1.Error(w, "404 page not found", http1.StatusNotFound)
		return
	}
	defer f.Close()

	// 2. A directory: its address ends in "/", so that relative links on its page work;
	//    then its index.html, or a listing of it.
	if info.IsDir() {
		if !strings.HasSuffix(urlPath, "/") {
			target := (&url.URL{Path: clean + "/"}).EscapedPath()
			if q := r.Query().Encode(); q != "" {
				target += "?" + q
			}
			w.Header().Set("Location", target)
			http1.Error(w, "301 moved to "+target, http1.StatusMovedPermanently)
			return
		}
		index, indexInfo, err := s.open(path.Join(name, "index.html"))
		if err != nil || indexInfo.IsDir() {
			if index != nil {
				index.Close()
			}
			s.list(w, r, f, clean)
			return
		}
		defer index.Close()
		f, info = index, indexInfo
	}
	s.serveFile(w, r, f, info)
}

// serveFile answers with one file: validators, preconditions, then the whole file, a part of
// it, or its gzip form.
func (s *staticFiles) serveFile(w http1.ResponseWriter, r *http1.Request, f *os.File, info fs.FileInfo) {
	h := w.Header()
	ctype := mime.TypeByExtension(filepath.Ext(info.Name()))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	v := validatorsOf(info)
	gz := compressible(ctype) && info.Size() >= minGzipSize
	if gz {
		// RFC 9110 §12.5.5: the answer depends on Accept-Encoding, so caches must know.
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) && r.Header.Get("Range") == "" {
			// The gzip form is another representation: it has its own strong ETag
			// (RFC 9110 §8.8.3), or a cache could mix bytes of the two.
			v.etag = v.gzipETag()
		} else {
			gz = false
		}
	}
	h.Set("Last-Modified", v.modified.Format(httpTimeFormat))
	h.Set("ETag", v.etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", ctype)

	// 3. Preconditions (RFC 9110 §13.2.2): 412 when the client's copy is not ours, 304 when
	//    it is still good.
	switch evaluatePreconditions(r, v) {
	case preconditionFailed:
		h.Del("Content-Type")
		h.Del("Accept-Ranges")
		http1.Error(w, "412 precondition failed", http1.StatusPreconditionFailed)
		return
	case notModified:
		// RFC 9110 §15.4.5: a 304 carries the validators, not the content's fields.
		h.Del("Content-Type")
		h.Del("Accept-Ranges")
		w.WriteHeader(http1.StatusNotModified)
		return
	}

	// 4. The gzip form, compressed as it is sent: its length is not known in advance.
	if gz {
		h.Set("Content-Encoding", "gzip")
		sendGzip(w, f)
		return
	}

	// 5. Byte ranges (RFC 9110 §14.2): only for GET, and only if If-Range still matches.
	if spec := r.Header.Get("Range"); spec != "" && r.Method == "GET" && ifRangeMatches(r, v) {
		ranges, err := parseRanges(spec, info.Size())
		switch {
		case errors.Is(err, errUnsatisfiable):
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size()))
			h.Del("Content-Type")
			http1.Error(w, "416 range not satisfiable", http1.StatusRangeNotSatisfiable)
			return
		case err == nil && len(ranges) == 1:
			sendRange(w, r, f, ranges[0], info.Size())
			return
		case err == nil:
			sendMultipart(w, r, f, ranges, ctype, info.Size())
			return
		}
		// Otherwise the Range field is not one we can use: RFC 9110 §14.2 lets a server
		// ignore it, and the whole file follows.
	}

	// 6. The whole file, streamed: its length is known, so no chunks.
	h.Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	if r.Method == "HEAD" {
		return
	}
	copyFile(w, f, 0, info.Size())
}

// copyFile writes length bytes of f from offset. io.Copy streams it in pieces of 32 KiB at
// most, so memory per response stays at one buffer, whatever the size of the file.
func copyFile(w io.Writer, f *os.File, offset, length int64) error {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, io.LimitReader(f, length))
	return err
}

// open opens name under the root. It refuses what is neither a file nor a directory (a
// device, a socket, a pipe: reading one could block forever). The open itself must not
// wait: opening a named pipe for reading blocks until a writer comes, so it is made with
// O_NONBLOCK, which changes nothing for a file or a directory, and the kind is checked
// after.
func (s *staticFiles) open(name string) (*os.File, fs.FileInfo, error) {
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() && !info.IsDir() {
		f.Close()
		return nil, nil, errors.New("not a regular file")
	}
	return f, info, nil
}

// list writes a plain HTML page linking every entry of the directory dir (at urlPath).
func (s *staticFiles) list(w http1.ResponseWriter, r *http1.Request, dir *os.File, urlPath string) {
	entries, err := dir.ReadDir(maxListEntries + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		http1.Error(w, "500 cannot read the directory", http1.StatusInternalServerError)
		return
	}
	more := len(entries) > maxListEntries
	if more {
		entries = entries[:maxListEntries]
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })

	var b strings.Builder
	title := html.EscapeString("Index of " + strings.TrimSuffix(urlPath, "/") + "/")
	fmt.Fprintf(&b, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<h1>%s</h1>\n<pre>\n", title, title)
	if urlPath != "/" {
		b.WriteString("<a href=\"../\">../</a>\n")
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		// The name goes into an attribute as a relative URL (percent-encoded, and "./"
		// first so that a name with a colon is not read as a scheme), and into the text
		// escaped as HTML: a file named <script> is shown, never run.
		href := "./" + (&url.URL{Path: name}).EscapedPath()
		size, when := "-", ""
		if info, err := e.Info(); err == nil {
			when = info.ModTime().UTC().Format("2006-01-02 15:04")
			if !e.IsDir() {
				size = strconv.FormatInt(info.Size(), 10)
			}
		}
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>  %s  %s\n", html.EscapeString(href), html.EscapeString(name), when, size)
	}
	if more {
		fmt.Fprintf(&b, "… and more entries than the %d listed\n", maxListEntries)
	}
	b.WriteString("</pre>\n")

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method == "HEAD" {
		return
	}
	io.WriteString(w, b.String())
}

// httpTimeFormat is the IMF-fixdate of RFC 9110 §5.6.7, the only form a server sends.
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// modTime is the modification time as an HTTP date can carry it: whole seconds, UTC.
func modTime(info fs.FileInfo) time.Time { return info.ModTime().UTC().Truncate(time.Second) }
