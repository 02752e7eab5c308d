// Byte ranges (RFC 9110 §14): "Range: bytes=0-99" asks for a part of a file, as a video
// player does when it seeks or a download resumes. One range comes back as 206 Partial
// Content with Content-Range; several as one multipart/byteranges body, each part with its
// own Content-Range.

package main

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/wirelab/wirelab/http1"
)

// maxRanges bounds the parts of one multipart answer, after overlapping and adjacent
// ranges are merged. Many tiny ranges cost a part header each and a seek each: RFC 9110
// §14.2 lets a server ignore such a Range, and past this one it is ignored (the whole file
// is sent, 200).
const maxRanges = 32

// A byteRange is the bytes first..last of a file, both included.
type byteRange struct{ first, last int64 }

func (br byteRange) length() int64 { return br.last - br.first + 1 }

var (
	// errUnsatisfiable: a well-formed Range of which no range overlaps the file (416).
	errUnsatisfiable = errors.New("no range overlaps the file")
	// errIgnoreRange: a Range the server does not use; the whole file is sent (200).
	errIgnoreRange = errors.New("range ignored")
)

// parseRanges reads a Range field value against a file of size bytes and returns the
// satisfiable ranges, merged and in file order.
func parseRanges(field string, size int64) ([]byteRange, error) {
	// 1. The unit: only bytes (RFC 9110 §14.1). Any other unit is not ours to serve.
	spec, ok := strings.CutPrefix(strings.TrimSpace(field), "bytes=")
	if !ok || size == 0 {
		// A file of zero bytes has no range to point at: the whole (empty) file is the
		// simplest correct answer.
		return nil, errIgnoreRange
	}
	// 2. Each range-spec of the list (RFC 9110 §14.1.2): "first-last", "first-", "-suffix".
	var ranges []byteRange
	specs := 0
	for s := range strings.SplitSeq(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue // RFC 9110 §5.6.1: a recipient accepts empty list elements
		}
		specs++
		a, b, found := strings.Cut(s, "-")
		if !found {
			return nil, errIgnoreRange
		}
		if a == "" { // suffix-range: the last b bytes
			n, ok := digits(b)
			if !ok {
				return nil, errIgnoreRange
			}
			if n > 0 {
				ranges = append(ranges, byteRange{max(size-n, 0), size - 1})
			}
			continue
		}
		first, ok := digits(a)
		if !ok {
			return nil, errIgnoreRange
		}
		last := size - 1
		if b != "" {
			l, ok := digits(b)
			// RFC 9110 §14.1.1: a range-spec whose last-pos is below its first-pos is
			// invalid, and so is the whole field.
			if !ok || l < first {
				return nil, errIgnoreRange
			}
			last = min(l, size-1)
		}
		if first < size { // satisfiable: it starts inside the file
			ranges = append(ranges, byteRange{first, last})
		}
	}
	if specs == 0 {
		return nil, errIgnoreRange
	}
	// 3. Nothing overlaps the file: 416 (RFC 9110 §15.5.17).
	if len(ranges) == 0 {
		return nil, errUnsatisfiable
	}
	// 4. Merge ranges that overlap or touch (RFC 9110 §14.2 allows it), so that no byte is
	//    sent twice, and bound what is left.
	slices.SortFunc(ranges, func(x, y byteRange) int { return cmp.Compare(x.first, y.first) })
	merged := ranges[:1]
	for _, br := range ranges[1:] {
		top := &merged[len(merged)-1]
		if br.first <= top.last+1 {
			top.last = max(top.last, br.last)
			continue
		}
		merged = append(merged, br)
	}
	if len(merged) > maxRanges {
		return nil, errIgnoreRange
	}
	return merged, nil
}

// digits reads a non-negative decimal number of ASCII digits only: no sign, no spaces, and
// not so many digits that it overflows.
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// sendRange answers with one range: 206, its Content-Range, and its bytes.
func sendRange(w http1.ResponseWriter, r *http1.Request, f *os.File, br byteRange, size int64) {
	h := w.Header()
	h.Set("Content-Range", contentRange(br, size))
	h.Set("Content-Length", strconv.FormatInt(br.length(), 10))
	w.WriteHeader(http1.StatusPartialContent)
	copyFile(w, f, br.first, br.length())
}

// sendMultipart answers with several ranges as one multipart/byteranges body (RFC 9110
// §14.6). Its length is known before the first byte: each part is a boundary line, two
// fields, an empty line and the bytes of the range.
func sendMultipart(w http1.ResponseWriter, r *http1.Request, f *os.File, ranges []byteRange, ctype string, size int64) {
	boundary := newBoundary()
	heads := make([]string, len(ranges))
	total := int64(0)
	for i, br := range ranges {
		// The first boundary starts the body; the others start on a new line.
		sep := "\r\n"
		if i == 0 {
			sep = ""
		}
		heads[i] = sep + "--" + boundary + "\r\nContent-Type: " + ctype +
			"\r\nContent-Range: " + contentRange(br, size) + "\r\n\r\n"
		total += int64(len(heads[i])) + br.length()
	}
	tail := "\r\n--" + boundary + "--\r\n"
	total += int64(len(tail))

	h := w.Header()
	h.Set("Content-Type", "multipart/byteranges; boundary="+boundary)
	h.Set("Content-Length", strconv.FormatInt(total, 10))
	w.WriteHeader(http1.StatusPartialContent)
	for i, br := range ranges {
		if _, err := w.Write([]byte(heads[i])); err != nil {
			return
		}
		if err := copyFile(w, f, br.first, br.length()); err != nil {
			return
		}
	}
	w.Write([]byte(tail))
}

func contentRange(br byteRange, size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", br.first, br.last, size)
}

// newBoundary returns a boundary that the file's bytes are, in practice, never going to
// contain: 20 random bytes in hex.
func newBoundary() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}
