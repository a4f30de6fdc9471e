package rewards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// MaxBadgeJSON is the largest badge definition document ParseBadges reads.
const MaxBadgeJSON = 4 << 20

// ParseBadges reads a JSON array of badge definitions, strictly: unknown and
// repeated fields, values of the wrong type, trailing data and every
// problem ValidateBadges finds are all reported, each with its JSON path
// ("$[1].levels[0].time_zone"), in one *ValidationError matching
// ErrInvalidBadge. Arrays and objects nested deeper than criteria of
// MaxCriterionDepth can need are refused as soon as they are read, with
// the path of the first value too deep. The form is Badge's:
//
//	[{"id": "box-reuser", "title": "Box reuser", "levels": [
//	    {"kind": "actions", "scenario": "logistics.box-reuse", "min": 10},
//	    {"kind": "actions", "scenario": "logistics.box-reuse", "min": 50}]},
//	 {"id": "earth-week", "title": "Earth week", "levels": [
//	    {"kind": "window",
//	     "window": {"start": "2026-04-22T00:00:00+08:00", "end": "2026-04-29T00:00:00+08:00"},
//	     "of": [{"kind": "all", "of": [
//	         {"kind": "streak", "min": 7, "time_zone": "Asia/Shanghai"},
//	         {"kind": "reduction", "min_reduction": "1kg"}]}]}]}]
func ParseBadges(data []byte) ([]Badge, error) {
	d := jsonDecoder{p: problems{kind: ErrInvalidBadge}}
	if len(data) > MaxBadgeJSON {
		d.p.add("$", fmt.Sprintf("document is %d bytes, more than %d", len(data), MaxBadgeJSON))
		return nil, d.p.err()
	}
	root, err := parseJSONTree(data)
	if err != nil {
		path := "$"
		if deep, ok := err.(*jsonTooDeep); ok {
			path = deep.path
		}
		d.p.add(path, err.Error())
		return nil, d.p.err()
	}
	defs := []Badge{}
	for i, item := range d.array(root, "$") {
		defs = append(defs, d.badge(item, fmt.Sprintf("$[%d]", i)))
	}
	if err := ValidateBadges(defs); err != nil {
		// Report what validation found, except where decoding already
		// reported the value (a field that failed to decode is zero).
		var ve *ValidationError
		errors.As(err, &ve)
		for _, p := range ve.Problems {
			if !d.reported(p.Path) {
				d.p.list = append(d.p.list, p)
			}
		}
	}
	if err := d.p.err(); err != nil {
		return nil, err
	}
	return defs, nil
}

// jnode is a parsed JSON value that keeps object fields in order, repeated
// keys included, so that they can be reported.
type jnode struct {
	kind   byte // 'o'bject, 'a'rray, 's'tring, 'n'umber, 'b'ool, 'z' null
	fields []jfield
	items  []*jnode
	str    string
	num    json.Number
	b      bool
}

type jfield struct {
	key string
	val *jnode
}

// maxBadgeJSONDepth is the deepest nesting of arrays and objects
// ParseBadges reads. A criterion at depth d (a level is at depth 1) is an
// object nested 2+2d deep: inside the document's array, a badge object,
// its levels array and, per level of depth below the first, an "of"
// array; its window or "of" is one deeper. The limit admits one criterion
// level beyond MaxCriterionDepth, with its window or "of", so that a
// criterion nested too deep is reported by validation at its own path;
// anything deeper is refused while parsing, before it costs stack or
// memory.
const maxBadgeJSONDepth = 2 + 2*(MaxCriterionDepth+1) + 1

// jsonTooDeep is parseJSONValue's error for nesting past maxBadgeJSONDepth.
// path is the JSON path of the value that opens one level too many, built
// as the error returns through the levels above it.
type jsonTooDeep struct{ path string }

func (e *jsonTooDeep) Error() string {
	return fmt.Sprintf("JSON nested more than %d deep: badge criteria nest at most %d deep", maxBadgeJSONDepth, MaxCriterionDepth)
}

// parseJSONTree parses data into a jnode tree. It returns a *jsonTooDeep
// for nesting past maxBadgeJSONDepth, and an error naming the byte offset
// for anything else malformed.
func parseJSONTree(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := parseJSONValue(dec, 1)
	if deep, ok := err.(*jsonTooDeep); ok {
		deep.path = "$" + deep.path
		return nil, deep
	}
	if err != nil {
		return nil, fmt.Errorf("malformed JSON near byte %d: %v", dec.InputOffset(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("malformed JSON: data after the top-level value at byte %d", dec.InputOffset())
	}
	return root, nil
}

// parseJSONValue parses the next value, an array or object of which would
// be nested depth deep. It recurses once per level, so the depth limit
// bounds its stack.
func parseJSONValue(dec *json.Decoder, depth int) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth > maxBadgeJSONDepth && (t == '{' || t == '[') {
			return nil, &jsonTooDeep{}
		}
		switch t {
		case '{':
			n := &jnode{kind: 'o'}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseJSONValue(dec, depth+1)
				if deep, ok := err.(*jsonTooDeep); ok {
					deep.path = "." + k.(string) + deep.path
				}
				if err != nil {
					return nil, err
				}
				n.fields = append(n.fields, jfield{key: k.(string), val: v})
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &jnode{kind: 'a'}
			for dec.More() {
				v, err := parseJSONValue(dec, depth+1)
				if deep, ok := err.(*jsonTooDeep); ok {
					deep.path = "[" + strconv.Itoa(len(n.items)) + "]" + deep.path
				}
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &jnode{kind: 's', str: t}, nil
	case json.Number:
		return &jnode{kind: 'n', num: t}, nil
	case bool:
		return &jnode{kind: 'b', b: t}, nil
	}
	return &jnode{kind: 'z'}, nil
}

// jsonDecoder turns a jnode tree into Go values, recording every problem
// with its path.
type jsonDecoder struct {
	p     problems
	paths []string // paths of values that failed to decode
}

func (d *jsonDecoder) fail(path, msg string) {
	d.p.add(path, msg)
	d.paths = append(d.paths, path)
}

// reported reports whether path, or a value containing it or inside it,
// already has a decoding problem.
func (d *jsonDecoder) reported(path string) bool {
	for _, q := range d.paths {
		if within(path, q) || within(q, path) {
			return true
		}
	}
	return false
}

// within reports whether path is q or inside q.
func within(path, q string) bool {
	return path == q || strings.HasPrefix(path, q) && (path[len(q)] == '.' || path[len(q)] == '[')
}

func kindName(k byte) string {
	return map[byte]string{'o': "an object", 'a': "an array", 's': "a string", 'n': "a number", 'b': "a boolean", 'z': "null"}[k]
}

func (d *jsonDecoder) array(n *jnode, path string) []*jnode {
	if n.kind != 'a' {
		d.fail(path, fmt.Sprintf("is %s, want an array", kindName(n.kind)))
		return nil
	}
	return n.items
}

// object returns n's fields by name, reporting a non-object, unknown fields
// and repeated fields.
func (d *jsonDecoder) object(n *jnode, path string, known ...string) map[string]*jnode {
	if n.kind != 'o' {
		d.fail(path, fmt.Sprintf("is %s, want an object", kindName(n.kind)))
		return nil
	}
	out := make(map[string]*jnode, len(n.fields))
	for _, f := range n.fields {
		fp := path + "." + f.key
		switch {
		case !contains(known, f.key):
			d.fail(fp, fmt.Sprintf("unknown field %q", f.key))
		case out[f.key] != nil:
			d.fail(fp, fmt.Sprintf("field %q appears more than once", f.key))
		default:
			out[f.key] = f.val
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (d *jsonDecoder) str(n *jnode, path string) string {
	if n == nil {
		return ""
	}
	if n.kind != 's' {
		d.fail(path, fmt.Sprintf("is %s, want a string", kindName(n.kind)))
		return ""
	}
	return n.str
}

func (d *jsonDecoder) int(n *jnode, path string) int64 {
	if n == nil {
		return 0
	}
	if n.kind != 'n' {
		d.fail(path, fmt.Sprintf("is %s, want an integer", kindName(n.kind)))
		return 0
	}
	v, err := strconv.ParseInt(string(n.num), 10, 64)
	if err != nil {
		d.fail(path, fmt.Sprintf("%s is not an integer in int64", n.num))
		return 0
	}
	return v
}

func (d *jsonDecoder) time(n *jnode, path string) time.Time {
	s := d.str(n, path)
	if n == nil || n.kind != 's' {
		if n == nil {
			d.fail(path, "is missing")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.fail(path, fmt.Sprintf("%q is not an RFC 3339 time", s))
		return time.Time{}
	}
	return t
}

func (d *jsonDecoder) badge(n *jnode, path string) Badge {
	f := d.object(n, path, "id", "title", "description", "levels")
	if f == nil {
		return Badge{}
	}
	b := Badge{
		ID:          BadgeID(d.str(f["id"], path+".id")),
		Title:       d.str(f["title"], path+".title"),
		Description: d.str(f["description"], path+".description"),
	}
	if f["levels"] != nil {
		for i, lv := range d.array(f["levels"], path+".levels") {
			b.Levels = append(b.Levels, d.criterion(lv, fmt.Sprintf("%s.levels[%d]", path, i), 1))
		}
	}
	return b
}

func (d *jsonDecoder) criterion(n *jnode, path string, depth int) Criterion {
	f := d.object(n, path, "kind", "min", "min_reduction", "scenario", "partner", "time_zone", "window", "of")
	if f == nil {
		return Criterion{}
	}
	c := Criterion{
		Kind:     CriterionKind(d.str(f["kind"], path+".kind")),
		Min:      d.int(f["min"], path+".min"),
		Scenario: carbon.Scenario(d.str(f["scenario"], path+".scenario")),
		Partner:  carbon.PartnerID(d.str(f["partner"], path+".partner")),
		TimeZone: d.str(f["time_zone"], path+".time_zone"),
	}
	if n := f["min_reduction"]; n != nil {
		if s := d.str(n, path+".min_reduction"); n.kind == 's' {
			m, err := carbon.ParseMass(s)
			if err != nil {
				d.fail(path+".min_reduction", fmt.Sprintf("%q is not a mass such as \"1.5kg\"", s))
			}
			c.MinReduction = m
		}
	}
	if n := f["window"]; n != nil {
		if wf := d.object(n, path+".window", "start", "end"); wf != nil {
			c.Window = &Window{Start: d.time(wf["start"], path+".window.start"), End: d.time(wf["end"], path+".window.end")}
		}
	}
	if n := f["of"]; n != nil && depth <= MaxCriterionDepth {
		for i, sub := range d.array(n, path+".of") {
			c.Of = append(c.Of, d.criterion(sub, fmt.Sprintf("%s.of[%d]", path, i), depth+1))
		}
	}
	return c
}
