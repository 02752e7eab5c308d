// Content coding (RFC 9110 §8.4, §12.5.3): a client that sends "Accept-Encoding: gzip" gets
// text compressed on the way out, often to a fifth of its size. Only text is worth it:
// images, video and archives are compressed already.

package main

import (
	"compress/gzip"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/wirelab/wirelab/http1"
)

// minGzipSize is the smallest file sent compressed: below it the gzip header and trailer
// (18 bytes) and the work are not paid back.
const minGzipSize = 512

// compressible reports whether a Content-Type is text, which gzip shrinks well.
func compressible(ctype string) bool {
	mt, _, _ := strings.Cut(ctype, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.HasPrefix(mt, "text/"):
		return true
	case mt == "application/javascript", mt == "application/json", mt == "application/xml",
		mt == "image/svg+xml", mt == "application/wasm", strings.HasSuffix(mt, "+json"),
		strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// acceptsGzip reads Accept-Encoding (RFC 9110 §12.5.3): gzip is acceptable when it is
// listed, or "*" is, with a weight above zero. "gzip;q=0" says no.
func acceptsGzip(r *http1.Request) bool {
	star := false
	for coding := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(coding, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		ok := weightAboveZero(params)
		switch name {
		case "gzip", "x-gzip":
			return ok
		case "*":
			star = ok
		}
	}
	return star
}

// weightAboveZero reads the ";q=…" of a list member (RFC 9110 §12.4.2); none means 1.
func weightAboveZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}

// gzipWriters keeps compressors between responses: each holds a few hundred KiB of tables,
// too much to make per request.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// sendGzip streams f compressed. The length is not known until the end, so a GET answer
// goes out chunked; for HEAD the compressed bytes are counted, not sent, so the
// Content-Length is the one a GET would have carried.
func sendGzip(w http1.ResponseWriter, f *os.File) {
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(w)
	if _, err := io.Copy(zw, f); err != nil {
		return
	}
	zw.Close()
}
