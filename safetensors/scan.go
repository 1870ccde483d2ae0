package safetensors

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a cursor over JSON text (RFC 8259) that the schema-specific
// decoders drive token by token. It never allocates on the success path
// except to decode strings that contain escapes.
//
// Errors are *FormatError values with an empty Field, which the caller fills
// in; their Offset is base plus the position of the problem in s.
type scanner struct {
	s    string
	i    int
	base int64 // absolute offset of s[0] in the file

	// more is set when s is a window of a longer document (see stream):
	// a number or an escape that reaches the end of s may go on past it.
	more bool
	// hitEnd is set when an error reports the end of s, which for a
	// window means that more of the document is needed.
	hitEnd bool
}

// strSpecial marks the bytes that end the fast path of string scanning: the
// closing quote, a backslash and the control characters JSON forbids.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// word returns s[i:i+8] as a little-endian word.
func word(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasSpecial reports whether a byte of w is one strSpecial marks: a quote,
// a backslash or a byte below 0x20. Each term is the "has a zero byte" /
// "has a byte less than n" test of Bit Twiddling Hacks (Sean Eron
// Anderson, "Determine if a word has a byte less than n"): exact as to
// whether the word has such a byte, not as to which (a borrow can flag a
// byte above the first match), so the caller rescans the word bytewise.
// Bytes of 0x80 and above are never flagged (the &^ w term).
func hasSpecial(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q|(b-ones)&^b|(w-ones*0x20)&^w)&highs != 0
}

func (sc *scanner) errf(pos int, sentinel error, format string, args ...any) *FormatError {
	return &FormatError{
		Offset: sc.base + int64(pos),
		Err:    fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel),
	}
}

// eof reports an unexpected end of the text.
func (sc *scanner) eof() *FormatError {
	sc.hitEnd = true
	return sc.errf(len(sc.s), ErrSyntax, "unexpected end of JSON")
}

// unexpected reports the byte at pos where something else was required.
func (sc *scanner) unexpected(pos int, want string) *FormatError {
	if pos >= len(sc.s) {
		return sc.eof()
	}
	return sc.errf(pos, ErrSyntax, "invalid character %s, want %s", quoteByte(sc.s[pos]), want)
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("0x%02x", c)
}

// ws skips JSON whitespace.
func (sc *scanner) ws() {
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		if c > ' ' || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return
		}
		sc.i++
	}
}

// peek returns the byte at the cursor, or 0 at the end.
func (sc *scanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

// expect consumes c, after which it skips whitespace.
func (sc *scanner) expect(c byte, want string) *FormatError {
	if sc.i >= len(sc.s) || sc.s[sc.i] != c {
		return sc.unexpected(sc.i, want)
	}
	sc.i++
	sc.ws()
	return nil
}

// next consumes whitespace, then ',' or the closing byte of an object or
// array, then whitespace. It reports whether the container is done.
func (sc *scanner) next(closing byte) (done bool, err *FormatError) {
	sc.ws()
	if sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ',':
			sc.i++
			sc.ws()
			return false, nil
		case closing:
			sc.i++
			return true, nil
		}
	}
	return false, sc.unexpected(sc.i, fmt.Sprintf("',' or '%c'", closing))
}

// isValueStart reports whether c can begin a JSON value.
func isValueStart(c byte) bool {
	switch c {
	case '{', '[', '"', '-', 't', 'f', 'n':
		return true
	}
	return c >= '0' && c <= '9'
}

// kind names the JSON value that starts with c.
func kind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// wrongType reports that the value at the cursor is not what the schema
// wants: a schema error when a JSON value starts there, else a syntax error.
func (sc *scanner) wrongType(what, want string) *FormatError {
	if sc.i >= len(sc.s) {
		return sc.eof()
	}
	c := sc.s[sc.i]
	if !isValueStart(c) {
		return sc.unexpected(sc.i, "a value")
	}
	return sc.errf(sc.i, ErrSchema, "%s is %s, want %s", what, kind(c), want)
}

// str decodes the string at the cursor, which must be '"'. Without escapes
// the result is a substring of sc.s and nothing is allocated.
func (sc *scanner) str() (string, *FormatError) {
	s := sc.s
	start := sc.i + 1
	i := start
	// Eight bytes at a time up to the word that holds a special byte:
	// names run to tens of bytes, and this is most of scanning a header.
	for i+8 <= len(s) && !hasSpecial(word(s, i)) {
		i += 8
	}
	for ; i < len(s); i++ {
		if !strSpecial[s[i]] {
			continue
		}
		switch s[i] {
		case '"':
			sc.i = i + 1
			return s[start:i], nil
		case '\\':
			return sc.strEscaped(start, i)
		default:
			return "", sc.errf(i, ErrSyntax, "control character %s in string", quoteByte(s[i]))
		}
	}
	return "", sc.eof()
}

// strEscaped decodes a string from start, whose first escape is at i.
func (sc *scanner) strEscaped(start, i int) (string, *FormatError) {
	s := sc.s
	b := make([]byte, 0, i-start+16)
	b = append(b, s[start:i]...)
	for i < len(s) {
		c := s[i]
		if !strSpecial[c] {
			j := i + 1
			for j < len(s) && !strSpecial[s[j]] {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		switch c {
		case '"':
			sc.i = i + 1
			return string(b), nil
		case '\\':
			if i+1 >= len(s) {
				return "", sc.eof()
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					if i+6 > len(s) {
						return "", sc.eof()
					}
					return "", sc.errf(i, ErrSyntax, "invalid escape %q", s[i:i+6])
				}
				switch {
				case utf16.IsSurrogate(r) && r < 0xdc00:
					// A high surrogate must be followed by an escaped low one.
					if sc.more && i+12 > len(s) {
						return "", sc.eof() // the low one may be past the window
					}
					var r2 rune = -1
					if i+7 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
						r2, _ = hex4(s, i+8)
					}
					p := utf16.DecodeRune(r, r2)
					if p == utf8.RuneError {
						return "", sc.errf(i, ErrSyntax, "unpaired surrogate %q", s[i:i+6])
					}
					b = utf8.AppendRune(b, p)
					i += 6
				case utf16.IsSurrogate(r):
					return "", sc.errf(i, ErrSyntax, "unpaired surrogate %q", s[i:i+6])
				default:
					b = utf8.AppendRune(b, r)
				}
				i += 4 // plus the 2 below
			default:
				return "", sc.errf(i, ErrSyntax, "invalid escape %q", s[i:i+2])
			}
			i += 2
		default:
			return "", sc.errf(i, ErrSyntax, "control character %s in string", quoteByte(c))
		}
	}
	return "", sc.eof()
}

// hex4 decodes the four hex digits at s[i:i+4].
func hex4(s string, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number scans the JSON number at the cursor. It reports whether the number
// is negative, whether it has a fraction or exponent, and, for a
// non-negative integer, its value or that it overflows an int64.
func (sc *scanner) number() (v int64, neg, nonInt, overflow bool, err *FormatError) {
	s, i := sc.s, sc.i
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	switch {
	case i >= len(s):
		return 0, neg, false, false, sc.eof()
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			d := int64(s[i] - '0')
			if v > (math.MaxInt64-d)/10 {
				overflow = true
			} else {
				v = v*10 + d
			}
		}
	default:
		return 0, neg, false, false, sc.unexpected(i, "a digit")
	}
	if i < len(s) && s[i] == '.' {
		nonInt = true
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, neg, nonInt, false, sc.unexpected(i, "a digit")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		nonInt = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return 0, neg, nonInt, false, sc.unexpected(i, "a digit")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if sc.more && i == len(s) {
		return 0, neg, nonInt, false, sc.eof() // more digits may follow
	}
	sc.i = i
	return v, neg, nonInt, overflow, nil
}

// uint63 decodes a non-negative integer without fraction or exponent that
// fits in an int64; what[idx] names the value in errors.
func (sc *scanner) uint63(what string, idx int) (int64, *FormatError) {
	s, start := sc.s, sc.i
	// Fast path: plain digits followed by a delimiter.
	if start < len(s) && s[start] >= '1' && s[start] <= '9' {
		var v int64
		i := start
		for ; i < len(s) && i-start < 18; i++ {
			c := s[i] - '0'
			if c > 9 {
				break
			}
			v = v*10 + int64(c)
		}
		if i < len(s) && (s[i] == ',' || s[i] == ']' || s[i] == ' ') {
			sc.i = i
			return v, nil
		}
	}
	if start >= len(s) || (s[start] != '-' && (s[start] < '0' || s[start] > '9')) {
		return 0, sc.wrongType(fmt.Sprintf("%s[%d]", what, idx), "a non-negative integer")
	}
	v, neg, nonInt, overflow, err := sc.number()
	if err != nil {
		return 0, err
	}
	lit := clip(s[start:sc.i])
	switch {
	case neg:
		return 0, sc.errf(start, ErrSchema, "%s[%d] is negative: %s", what, idx, lit)
	case nonInt:
		return 0, sc.errf(start, ErrSchema, "%s[%d] is not an integer: %s", what, idx, lit)
	case overflow:
		return 0, sc.errf(start, ErrOverflow, "%s[%d] does not fit in an int64: %s", what, idx, lit)
	}
	return v, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// value decodes any JSON value the way encoding/json decodes into an any:
// map[string]any, []any, string, float64, bool or nil. Duplicate object keys
// are rejected. depth counts the enclosing containers.
func (sc *scanner) value(depth int) (any, *FormatError) {
	if sc.i >= len(sc.s) {
		return nil, sc.eof()
	}
	switch c := sc.s[sc.i]; c {
	case '{', '[':
		if depth >= maxDepth {
			return nil, sc.errf(sc.i, ErrLimit, "JSON nested deeper than %d levels", maxDepth)
		}
		sc.i++
		sc.ws()
		if c == '[' {
			a := []any{}
			if sc.peek() == ']' {
				sc.i++
				return a, nil
			}
			for {
				v, err := sc.value(depth + 1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
				done, err := sc.next(']')
				if err != nil {
					return nil, err
				}
				if done {
					return a, nil
				}
			}
		}
		m := map[string]any{}
		if sc.peek() == '}' {
			sc.i++
			return m, nil
		}
		for {
			kpos := sc.i
			if sc.peek() != '"' {
				return nil, sc.unexpected(sc.i, "a string key")
			}
			k, err := sc.str()
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, sc.errf(kpos, ErrSchema, "duplicate key %q", k)
			}
			sc.ws()
			if err := sc.expect(':', "':'"); err != nil {
				return nil, err
			}
			v, err := sc.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
			done, err := sc.next('}')
			if err != nil {
				return nil, err
			}
			if done {
				return m, nil
			}
		}
	case '"':
		return sc.str()
	case 't':
		return true, sc.literal("true")
	case 'f':
		return false, sc.literal("false")
	case 'n':
		return nil, sc.literal("null")
	default:
		start := sc.i
		if _, _, _, _, err := sc.number(); err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(sc.s[start:sc.i], 64)
		if err != nil {
			return nil, sc.errf(start, ErrOverflow, "number out of range: %s", clip(sc.s[start:sc.i]))
		}
		return f, nil
	}
}

// skip consumes the JSON value at the cursor, checking its syntax and its
// nesting as value does, without building it: nothing is allocated but
// the strings that hold escapes, and duplicate object keys are not looked
// for. depth counts the enclosing containers.
func (sc *scanner) skip(depth int) *FormatError {
	if sc.i >= len(sc.s) {
		return sc.eof()
	}
	switch c := sc.s[sc.i]; c {
	case '{', '[':
		if depth >= maxDepth {
			return sc.errf(sc.i, ErrLimit, "JSON nested deeper than %d levels", maxDepth)
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		sc.i++
		sc.ws()
		if sc.peek() == closing {
			sc.i++
			return nil
		}
		for {
			if c == '{' {
				if sc.peek() != '"' {
					return sc.unexpected(sc.i, "a string key")
				}
				if _, err := sc.str(); err != nil {
					return err
				}
				sc.ws()
				if err := sc.expect(':', "':'"); err != nil {
					return err
				}
			}
			if err := sc.skip(depth + 1); err != nil {
				return err
			}
			done, err := sc.next(closing)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
		}
	case '"':
		_, err := sc.str()
		return err
	case 't':
		return sc.literal("true")
	case 'f':
		return sc.literal("false")
	case 'n':
		return sc.literal("null")
	default:
		start := sc.i
		if _, _, _, _, err := sc.number(); err != nil {
			return err
		}
		if _, err := strconv.ParseFloat(sc.s[start:sc.i], 64); err != nil {
			return sc.errf(start, ErrOverflow, "number out of range: %s", clip(sc.s[start:sc.i]))
		}
		return nil
	}
}

// literal consumes the literal lit at the cursor.
func (sc *scanner) literal(lit string) *FormatError {
	for k := 0; k < len(lit); k++ {
		if sc.i+k >= len(sc.s) {
			return sc.eof()
		}
		if sc.s[sc.i+k] != lit[k] {
			return sc.unexpected(sc.i+k, fmt.Sprintf("%q", lit))
		}
	}
	sc.i += len(lit)
	return nil
}

// validUTF8 returns nil when s is valid UTF-8, else a syntax error at the
// first invalid byte.
func (sc *scanner) validUTF8() *FormatError {
	if utf8.ValidString(sc.s) {
		return nil
	}
	for i := 0; i < len(sc.s); {
		r, n := utf8.DecodeRuneInString(sc.s[i:])
		if r == utf8.RuneError && n == 1 {
			return sc.errf(i, ErrSyntax, "invalid UTF-8 byte 0x%02x", sc.s[i])
		}
		i += n
	}
	return nil
}
