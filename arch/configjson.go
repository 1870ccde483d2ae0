package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DuplicateKey is a key the top-level object of a config.json gives more
// than once. Python's json keeps the last value, and so does
// [DecodeConfig].
type DuplicateKey struct {
	Key string // the key, unescaped
	// Values are the JSON text of each value in the order the file gives
	// them, compacted and cut to 60 bytes; the last is the one kept.
	Values []string
}

// Conflict is the finding a duplicate key makes: it names the key, the
// values and the one Python's json keeps.
func (d DuplicateKey) Conflict() Conflict {
	times := "twice"
	if n := len(d.Values); n != 2 {
		times = fmt.Sprintf("%d times", n)
	}
	last := d.Values[len(d.Values)-1]
	vals := strings.Join(d.Values[:len(d.Values)-1], ", ") + ", then " + last
	return Conflict{File: "config.json", Field: d.Key,
		Message: fmt.Sprintf("config.json has %q %s: %s; Python's json keeps %s", d.Key, times, vals, last)}
}

// DecodeConfig decodes a config.json into v, a pointer to a struct, as
// Python's json.loads and transformers' PretrainedConfig read it, not as
// encoding/json does:
//
//   - keys match exactly: a struct field takes the value of the key its
//     json tag names (its Go name when untagged), and a key that differs
//     only in case ("VOCAB_SIZE") is another key, ignored like every key
//     v has no field for;
//   - a key given twice keeps its last value, and is reported among the
//     returned duplicates (in the order of their first occurrence);
//   - the document must be one JSON object in UTF-8, with nothing after
//     it;
//   - Python's NaN, Infinity and -Infinity are numbers, and a number
//     beyond the float64 range is ±Inf, as float() makes it: a float field
//     takes them, so that a non-finite value can be reported as a finding
//     rather than refused as a syntax error.
//
// A field keeps the value v gave it when its key is absent or null. Fields
// of embedded structs are not promoted. Errors wrap [ErrConfig], with the
// *json.SyntaxError or *json.UnmarshalTypeError of encoding/json when
// there is one, and name the key. The duplicates are returned whatever the
// error, as far as the object was read.
func DecodeConfig(data []byte, v any) ([]DuplicateKey, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("arch.DecodeConfig: want a non-nil pointer to a struct, got %T", v)
	}
	keys, dups, err := topLevel(data)
	if err != nil {
		return dups, fmt.Errorf("%w: config.json: %w", ErrConfig, err)
	}
	st := rv.Elem()
	for i := range st.NumField() {
		sf := st.Type().Field(i)
		name, ok := jsonName(sf)
		if !ok {
			continue
		}
		raw, ok := keys[name]
		if !ok {
			continue
		}
		if err := decodeValue(raw, st.Field(i)); err != nil {
			return dups, fmt.Errorf("%w: config key %q: %w", ErrConfig, name, err)
		}
	}
	return dups, nil
}

// jsonName returns the key a struct field is decoded from: its json tag's
// name, or its Go name; false for an unexported, embedded or "-" field.
func jsonName(sf reflect.StructField) (string, bool) {
	if !sf.IsExported() || sf.Anonymous {
		return "", false
	}
	tag := sf.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = sf.Name
	}
	return name, true
}

// decodeValue decodes one value into a field: a float field from a JSON
// number or one of Python's non-finite literals through strconv (which
// gives ±Inf beyond the range, as Python's float does), everything else
// through encoding/json.
func decodeValue(raw []byte, f reflect.Value) error {
	if k := f.Kind(); k == reflect.Float32 || k == reflect.Float64 {
		bits := 64
		if k == reflect.Float32 {
			bits = 32
		}
		if x, ok := pyFloat(raw, bits); ok {
			f.SetFloat(x)
			return nil
		}
	}
	return json.Unmarshal(raw, f.Addr().Interface())
}

// pyFloat parses raw as Python's json and float() would: a JSON number
// (±Inf beyond the range) or NaN, Infinity, -Infinity. false when raw is
// none of those (a string, null, an array: encoding/json then decides).
func pyFloat(raw []byte, bits int) (float64, bool) {
	switch s := string(raw); s {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	default:
		if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
			return 0, false
		}
		x, err := strconv.ParseFloat(s, bits)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return x, true
	}
}

// pyLiterals are Python's json extensions, each with a JSON number of the
// same length that stands in for it while encoding/json checks the
// document, so that the offsets of its errors stay those of the file.
var pyLiterals = []struct{ lit, stand string }{
	{"-Infinity", "-0.000000"},
	{"Infinity", "0.000000"},
	{"NaN", "0e0"},
}

// standIn returns data with each of Python's NaN, Infinity and -Infinity
// that stands where a JSON value may start (at the top, after a colon,
// after the bracket or a comma of an array) and ends at a delimiter
// replaced by a number of the same length. Literals anywhere else are
// left for encoding/json to refuse, so that its errors never quote a
// stand-in. data itself is not changed.
func standIn(data []byte) []byte {
	out, copied := data, false
	inString, escaped := false, false
	var open []byte // the brackets open around i
	var prev byte   // the last byte outside white space before i, 0 at the start
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		case '{', '[':
			open = append(open, c)
		case '}', ']':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case 'N', 'I', '-':
			inArray := len(open) > 0 && open[len(open)-1] == '['
			if prev != 0 && prev != ':' && prev != '[' && !(prev == ',' && inArray) {
				break
			}
			for _, p := range pyLiterals {
				end := i + len(p.lit)
				if bytes.HasPrefix(data[i:], []byte(p.lit)) && (end == len(data) || delimiter(data[end])) {
					if !copied {
						out, copied = bytes.Clone(data), true
					}
					copy(out[i:], p.stand)
					i = end - 1
					break
				}
			}
		}
		prev = data[i]
	}
	return out
}

// topLevel reads the top-level object of data: the raw text of each key's
// last value (Python's NaN, Infinity and -Infinity kept as written), and
// the keys given more than once. encoding/json checks the grammar, with
// Python's literals standing in as numbers of the same length.
func topLevel(data []byte) (map[string][]byte, []DuplicateKey, error) {
	if !utf8.Valid(data) {
		return nil, nil, errors.New("not valid UTF-8 (Python reads config.json as UTF-8)")
	}
	checked := standIn(data)
	dec := json.NewDecoder(bytes.NewReader(checked))
	dec.UseNumber()
	tok, err := dec.Token()
	switch {
	case err == io.EOF:
		return nil, nil, errors.New("empty, want a JSON object")
	case err != nil:
		return nil, nil, err
	case tok != json.Delim('{'):
		return nil, nil, fmt.Errorf("a JSON %s, want an object", kindOf(tok))
	}
	keys := map[string][]byte{}
	var dups []DuplicateKey
	seen := map[string]int{} // key → its index in dups, -1 while given once
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, dups, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, dups, fmt.Errorf("object key %v is not a string", tok)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, dups, fmt.Errorf("value of %q: %w", key, err)
		}
		end := dec.InputOffset()
		val := data[end-int64(len(raw)) : end]
		if prev, ok := keys[key]; ok {
			if seen[key] < 0 {
				seen[key] = len(dups)
				dups = append(dups, DuplicateKey{Key: key, Values: []string{shortJSON(prev)}})
			}
			d := &dups[seen[key]]
			d.Values = append(d.Values, shortJSON(val))
		} else {
			seen[key] = -1
		}
		keys[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, dups, err
	}
	switch tok, err := dec.Token(); {
	case err == io.EOF:
	case err != nil:
		return nil, dups, err
	default:
		return nil, dups, fmt.Errorf("extra data after the object at offset %d (%v)", dec.InputOffset(), tok)
	}
	return keys, dups, nil
}

// kindOf names the kind of JSON value a first token starts.
func kindOf(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// shortJSON is a value as a finding quotes it: compacted, and cut to 60
// bytes.
func shortJSON(raw []byte) string {
	var b bytes.Buffer
	s := string(raw)
	if json.Compact(&b, raw) == nil {
		s = b.String()
	} else {
		s = strings.Join(strings.Fields(s), " ")
	}
	if len(s) > 60 {
		cut := 59
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// delimiter reports whether c may follow a JSON value: white space or
// punctuation.
func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ']', '}':
		return true
	}
	return false
}

// RopeBase returns the RoPE base a config.json gives: rope_parameters'
// rope_theta when the file has that object (transformers 5 writes it
// instead of a top-level rope_theta, and its standardize_rope_params
// gives it precedence), else top, the top-level rope_theta (or its
// default). raw is rope_parameters as given (nil or "null" when absent).
// An error names the key; Python's NaN and Infinity inside the object are
// one.
func RopeBase(raw json.RawMessage, top float64) (float64, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return top, nil
	}
	rp := struct {
		RopeTheta float64 `json:"rope_theta"`
	}{top}
	if _, err := DecodeConfig(raw, &rp); err != nil {
		return 0, fmt.Errorf("config key %q: %w", "rope_parameters", err)
	}
	return rp.RopeTheta, nil
}
