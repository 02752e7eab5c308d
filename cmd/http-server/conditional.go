// Conditional requests (RFC 9110 §13): a client that already holds a copy asks "only if it
// changed" (If-None-Match, If-Modified-Since: 304 Not Modified) or "only if it did not"
// (If-Match, If-Unmodified-Since: 412 Precondition Failed), and If-Range makes a range
// request fall back to the whole file when its copy is stale.

package main

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/wirelab/wirelab/http1"
)

// validators are what identifies one version of a file (RFC 9110 §8.8).
type validators struct {
	etag     string    // a strong entity tag: size and modification time, in nanoseconds
	modified time.Time // Last-Modified, in whole seconds
	base     string    // the tag without quotes, for the tags of other representations
}

func validatorsOf(info fs.FileInfo) validators {
	base := fmt.Sprintf("%x-%x", info.Size(), info.ModTime().UnixNano())
	return validators{etag: `"` + base + `"`, modified: modTime(info), base: base}
}

// gzipETag is the tag of the file's gzip form: another representation, another tag.
func (v validators) gzipETag() string { return `"` + v.base + `-gzip"` }

// A precondition's outcome.
type precondition int

const (
	proceed            precondition = iota // serve the file as asked
	notModified                            // 304: the client's copy is current
	preconditionFailed                     // 412: the client's copy is not the current one
)

// evaluatePreconditions applies the conditional fields in the order RFC 9110 §13.2.2 fixes.
func evaluatePreconditions(r *http1.Request, v validators) precondition {
	h := &r.Header
	// 1. If-Match, else If-Unmodified-Since: the client wants the version it knows.
	if im := h.Get("If-Match"); im != "" {
		if !matchTags(im, v.etag, strongCompare) {
			return preconditionFailed
		}
	} else if ius, ok := parseHTTPDate(h.Get("If-Unmodified-Since")); ok {
		if v.modified.After(ius) {
			return preconditionFailed
		}
	}
	// 2. If-None-Match, else If-Modified-Since: the client has a copy and asks whether it
	//    is still good. Both are for GET and HEAD only here (the handler takes no other).
	if inm := h.Get("If-None-Match"); inm != "" {
		if matchTags(inm, v.etag, weakCompare) {
			return notModified
		}
		return proceed
	}
	// RFC 9110 §13.1.3: a recipient MUST ignore If-Modified-Since that is not a valid
	// HTTP-date or has more than one member.
	if ims, ok := parseHTTPDate(h.Get("If-Modified-Since")); ok && !v.modified.After(ims) {
		return notModified
	}
	return proceed
}

// ifRangeMatches reports whether a Range applies: always without If-Range, else only when
// If-Range names the current version (RFC 9110 §13.1.5). An entity tag must match by the
// strong comparison; a date must be the Last-Modified exactly.
func ifRangeMatches(r *http1.Request, v validators) bool {
	ir := strings.TrimSpace(r.Header.Get("If-Range"))
	switch {
	case ir == "":
		return true
	case strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/"):
		return strongCompare(ir, v.etag)
	}
	t, ok := parseHTTPDate(ir)
	return ok && t.Equal(v.modified)
}

// matchTags reports whether the field value (a list of entity tags, or "*") matches tag.
func matchTags(field, tag string, same func(a, b string) bool) bool {
	if strings.TrimSpace(field) == "*" {
		return true // the file exists: any current representation matches
	}
	for t := range strings.SplitSeq(field, ",") {
		if same(strings.TrimSpace(t), tag) {
			return true
		}
	}
	return false
}

// RFC 9110 §8.8.3.2: two tags match strongly when neither is weak and they are the same
// string; weakly when they are the same after dropping a "W/".
func strongCompare(a, b string) bool {
	return !strings.HasPrefix(a, "W/") && !strings.HasPrefix(b, "W/") && a == b
}

func weakCompare(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// httpDateForms are the three forms RFC 9110 §5.6.7 requires a recipient to accept: the
// IMF-fixdate every sender must use, and two obsolete ones still seen.
var httpDateForms = []string{
	httpTimeFormat,                   // Sun, 06 Nov 1994 08:49:37 GMT
	"Monday, 02-Jan-06 15:04:05 GMT", // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
	"Mon Jan _2 15:04:05 2006",       // asctime: Sun Nov  6 08:49:37 1994
}

// parseHTTPDate reads an HTTP-date; ok is false for anything else, a list included.
func parseHTTPDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, form := range httpDateForms {
		if t, err := time.Parse(form, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
