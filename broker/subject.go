// Subjects: the dot-separated names messages are published to, and the wildcards that
// subscriptions use to match many of them.

package broker

import "strings"

// Subject syntax (NATS protocol, "Subject names"): tokens separated by '.', each token at
// least one character with no whitespace. In a subscription, the token "*" matches any one
// token and a final token ">" matches one or more tokens.
const (
	tokenSeparator = '.'
	wildcardOne    = "*"
	wildcardRest   = ">"
)

// validSubject reports whether subject is well formed. With wildcards false (a subject to
// publish to) the tokens "*" and ">" are refused; with wildcards true (a subscription) they
// are allowed, ">" only as the last token.
func validSubject(subject []byte, wildcards bool) bool {
	if len(subject) == 0 {
		return false
	}
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) {
			c := subject[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 {
				return false
			}
			if c != tokenSeparator {
				continue
			}
		}
		tok := subject[start:i]
		switch {
		case len(tok) == 0:
			return false // "a..b", ".a", "a.": an empty token
		case string(tok) == wildcardOne:
			if !wildcards {
				return false
			}
		case string(tok) == wildcardRest:
			if !wildcards || i != len(subject) {
				return false
			}
		}
		start = i + 1
	}
	return true
}

// validQueue reports whether a queue group name is usable: not empty, no whitespace.
func validQueue(queue []byte) bool {
	return len(queue) > 0 && !strings.ContainsAny(string(queue), " \t\r\n")
}

// splitSubject returns subject's tokens, or nil if one of them is empty: an empty token
// matches no subscription.
func splitSubject(subject string) []string {
	toks := strings.Split(subject, string(tokenSeparator))
	for _, t := range toks {
		if t == "" {
			return nil
		}
	}
	return toks
}

// subjectMatches reports whether a subscription's pattern matches a literal subject. It is
// the reference the index must agree with, and what the match cache uses to find the
// entries a new or removed subscription makes stale: on a full cache that is a thousand
// calls per SUB, so it walks both strings in place and allocates nothing.
func subjectMatches(pattern, subject string) bool {
	for {
		ptok, prest, pmore := nextToken(pattern)
		stok, srest, smore := nextToken(subject)
		if ptok == "" || stok == "" {
			return false // an empty token matches nothing
		}
		if ptok == wildcardRest && !pmore {
			// ">" takes this token and all that follow: one or more, never zero.
			return !smore || noEmptyTokens(srest)
		}
		if ptok != wildcardOne && ptok != stok {
			return false
		}
		if !pmore || !smore {
			return pmore == smore // both must end together
		}
		pattern, subject = prest, srest
	}
}

// nextToken cuts the first token off s; more reports whether a separator followed it.
func nextToken(s string) (tok, rest string, more bool) {
	i := strings.IndexByte(s, tokenSeparator)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// noEmptyTokens reports whether every token of s has at least one character.
func noEmptyTokens(s string) bool {
	return s != "" && s[0] != tokenSeparator && s[len(s)-1] != tokenSeparator &&
		!strings.Contains(s, "..")
}
