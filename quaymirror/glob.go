package quaymirror

import "unicode/utf8"

// MatchGlob reports whether name matches pattern with the rules of Python's
// fnmatch.fnmatchcase, which Quay's mirror worker applies to tag globs:
// "*" matches any run of characters ("/" included), "?" one character,
// "[abc]", "[a-z]" a set, "[!abc]" its complement; a "[" without a closing
// "]" is an ordinary character. Matching is case-sensitive. The engine uses
// the same rules for repository include and exclude globs, so one syntax
// serves both.
func MatchGlob(pattern, name string) bool {
	// Iterative matching with backtracking to the last star: linear in
	// practice, no recursion, no regular expression compilation.
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pattern) {
			switch pattern[p] {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				_, size := utf8.DecodeRuneInString(name[n:])
				p++
				n += size
				continue
			case '[':
				r, size := utf8.DecodeRuneInString(name[n:])
				if ok, next, isClass := matchClass(pattern, p, r); isClass {
					if ok {
						p = next
						n += size
						continue
					}
					break
				}
				// Unterminated "[": a literal.
				if name[n] == '[' {
					p++
					n++
					continue
				}
			default:
				pr, psize := utf8.DecodeRuneInString(pattern[p:])
				nr, nsize := utf8.DecodeRuneInString(name[n:])
				if pr == nr {
					p += psize
					n += nsize
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last star swallow one more character and retry.
		_, size := utf8.DecodeRuneInString(name[starN:])
		starN += size
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches r against the class starting at pattern[open] ("[").
// isClass is false when the class has no closing "]", in which case the
// "[" is a literal. next is the index after the class.
func matchClass(pattern string, open int, r rune) (ok bool, next int, isClass bool) {
	i := open + 1
	negate := false
	if i < len(pattern) && pattern[i] == '!' {
		negate = true
		i++
	}
	first := true
	matched := false
	for i < len(pattern) {
		c, size := utf8.DecodeRuneInString(pattern[i:])
		if c == ']' && !first {
			return matched != negate, i + 1, true
		}
		first = false
		i += size
		lo, hi := c, c
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			h, hsize := utf8.DecodeRuneInString(pattern[i+1:])
			hi = h
			i += 1 + hsize
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	return false, 0, false
}

// matchAny reports whether name matches one of the patterns.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if MatchGlob(p, name) {
			return true
		}
	}
	return false
}
