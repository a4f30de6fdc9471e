package methodology

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// MaxDocumentSize is the largest declarative document LoadJSON reads, in
// bytes.
const MaxDocumentSize = 1 << 20

// maxDepth bounds the nesting of a declarative document; the schema needs 5.
const maxDepth = 16

// LoadJSON reads a declarative methodology document and returns it as a
// Methodology, exactly as NewDeclarative would build it from the equivalent
// Spec and Formula. The document format is described in the package
// documentation ("Declarative methodologies").
//
// LoadJSON reports every problem in the document at once, in one *SpecError
// (matching ErrInvalidSpec) whose problems carry JSON paths
// ("$.factors[2].source.organisation: missing") and sentinels: ErrMalformedJSON
// for text that is not JSON, or a value of the wrong JSON type; ErrUnknownField
// for a field the format does not define (or one given twice); and the
// sentinels of Spec.Validate and NewDeclarative for the rest. A document
// larger than MaxDocumentSize is refused unread.
func LoadJSON(data []byte) (Methodology, error) {
	if len(data) > MaxDocumentSize {
		return nil, &SpecError{Problems: []Problem{{Field: "$", Err: ErrMalformedJSON,
			Msg: fmt.Sprintf("document is %d bytes, more than %d", len(data), MaxDocumentSize)}}}
	}
	root, err := parseJSON(data)
	if err != nil {
		return nil, &SpecError{Problems: []Problem{{Field: "$", Err: ErrMalformedJSON, Msg: err.Error()}}}
	}
	var w walker
	spec, formula := w.document(root)
	spec.Formula = formula.String()

	ps := w.ps
	reported := make(map[string]bool, len(w.ps))
	for _, p := range w.ps {
		reported[p.Field] = true
	}
	var rest []Problem
	rest = append(rest, validateSpec(spec)...)
	rest = append(rest, validateFormula(&spec, formula)...)
	for _, p := range rest {
		path := "$." + p.Field
		if !covered(reported, path) {
			p.Field = path
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, &SpecError{Methodology: spec.Ref(), Problems: ps}
	}
	return NewDeclarative(spec, formula)
}

// node is a parsed JSON value that remembers object key order, so that
// problems are reported in document order.
type node struct {
	kind   byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	text   string
	fields []field
	elems  []*node
}

type field struct {
	key string
	val *node
}

// parseJSON parses exactly one JSON value, keeping numbers as text.
func parseJSON(data []byte) (*node, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	n, err := parseValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the document at offset %d", d.InputOffset())
	}
	return n, nil
}

func parseValue(d *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels at offset %d", maxDepth, d.InputOffset())
	}
	tok, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("unexpected end of document")
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o'}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok { // unreachable: the decoder only yields string keys
					return nil, fmt.Errorf("object key is not a string at offset %d", d.InputOffset())
				}
				v, err := parseValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				n.fields = append(n.fields, field{key: key, val: v})
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: 'a'}
			for d.More() {
				v, err := parseValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, fmt.Errorf("unexpected %q at offset %d", rune(t), d.InputOffset())
	case string:
		return &node{kind: 's', text: t}, nil
	case json.Number:
		return &node{kind: 'n', text: string(t)}, nil
	case bool:
		return &node{kind: 'b', text: strconv.FormatBool(t)}, nil
	case nil:
		return &node{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected token at offset %d", d.InputOffset())
}

func kindName(k byte) string {
	switch k {
	case 'o':
		return "an object"
	case 'a':
		return "an array"
	case 's':
		return "a string"
	case 'n':
		return "a number"
	case 'b':
		return "a boolean"
	}
	return "null"
}

// walker reads the document tree into a Spec and Formula, recording each
// problem it meets with its JSON path and carrying on.
type walker struct{ ps []Problem }

func (w *walker) add(path string, err error, format string, args ...any) {
	w.ps = append(w.ps, Problem{Field: path, Err: err, Msg: fmt.Sprintf(format, args...)})
}

// covered reports whether a problem was already reported at path or at a
// path enclosing it ("$.factors[2]" encloses "$.factors[2].value"), so that
// the Spec's validation does not report the same fault again (a field that
// did not parse also reads as missing). It costs one lookup per path
// component, however many problems a hostile document has.
func covered(reported map[string]bool, path string) bool {
	if reported[path] {
		return true
	}
	for i := 1; i < len(path); i++ {
		if (path[i] == '.' || path[i] == '[') && reported[path[:i]] {
			return true
		}
	}
	return false
}

// object is one JSON object being read: get marks keys as read, and done
// reports the rest as unknown.
type object struct {
	w    *walker
	path string
	n    *node
	read map[string]bool
}

// obj returns n as an object, or nil (having recorded a problem unless n is
// absent or null).
func (w *walker) obj(path string, n *node) *object {
	if n == nil || n.kind == 'z' {
		return nil
	}
	if n.kind != 'o' {
		w.add(path, ErrMalformedJSON, "is %s, want an object", kindName(n.kind))
		return nil
	}
	o := &object{w: w, path: path, n: n, read: map[string]bool{}}
	seen := map[string]bool{}
	for _, f := range n.fields {
		if seen[f.key] {
			w.add(o.at(f.key), ErrUnknownField, "is given more than once")
		}
		seen[f.key] = true
	}
	return o
}

func (o *object) at(key string) string {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return o.path + "[" + strconv.Quote(key) + "]"
		}
	}
	if key == "" {
		return o.path + `[""]`
	}
	return o.path + "." + key
}

// get returns the last value of key (duplicates are reported by obj), or
// nil.
func (o *object) get(key string) *node {
	if o == nil {
		return nil
	}
	o.read[key] = true
	var v *node
	for _, f := range o.n.fields {
		if f.key == key {
			v = f.val
		}
	}
	return v
}

func (o *object) done() {
	if o == nil {
		return
	}
	reported := map[string]bool{}
	for _, f := range o.n.fields {
		if !o.read[f.key] && !reported[f.key] {
			reported[f.key] = true
			o.w.add(o.at(f.key), ErrUnknownField, "is not a field of this object")
		}
	}
}

func (o *object) str(key string) string {
	n := o.get(key)
	if n == nil || n.kind == 'z' {
		return ""
	}
	if n.kind != 's' {
		o.w.add(o.at(key), ErrMalformedJSON, "is %s, want a string", kindName(n.kind))
		return ""
	}
	return n.text
}

func (o *object) boolean(key string) bool {
	n := o.get(key)
	if n == nil || n.kind == 'z' {
		return false
	}
	if n.kind != 'b' {
		o.w.add(o.at(key), ErrMalformedJSON, "is %s, want true or false", kindName(n.kind))
		return false
	}
	return n.text == "true"
}

// arr returns the elements of the array at key, each with its path.
func (o *object) arr(key string) ([]*node, string) {
	n := o.get(key)
	p := ""
	if o != nil {
		p = o.at(key)
	}
	if n == nil || n.kind == 'z' {
		return nil, p
	}
	if n.kind != 'a' {
		o.w.add(p, ErrMalformedJSON, "is %s, want an array", kindName(n.kind))
		return nil, p
	}
	return n.elems, p
}

func (o *object) strs(key string) []string {
	elems, p := o.arr(key)
	var out []string
	for i, e := range elems {
		if e.kind != 's' {
			o.w.add(fmt.Sprintf("%s[%d]", p, i), ErrMalformedJSON, "is %s, want a string", kindName(e.kind))
			continue
		}
		out = append(out, e.text)
	}
	return out
}

// decimal reads a decimal given as a JSON string ("0.5703") or a plain JSON
// number (0.5703); exponents are refused, as dec.Parse refuses them.
func (o *object) decimal(key string) decimal.Decimal {
	n := o.get(key)
	if n == nil || n.kind == 'z' {
		return decimal.Decimal{}
	}
	if n.kind != 's' && n.kind != 'n' {
		o.w.add(o.at(key), ErrMalformedJSON, "is %s, want a decimal number", kindName(n.kind))
		return decimal.Decimal{}
	}
	d, err := dec.Parse(n.text)
	if err != nil {
		sentinel := ErrInvalidField
		if errors.Is(err, dec.ErrTooLong) {
			sentinel = ErrOutOfRange
		}
		o.w.add(o.at(key), sentinel, "%q is not a plain decimal number (%v)", clip(n.text), err)
		return decimal.Decimal{}
	}
	return d
}

func (o *object) integer(key string) int {
	n := o.get(key)
	if n == nil || n.kind == 'z' {
		return 0
	}
	if n.kind != 'n' {
		o.w.add(o.at(key), ErrMalformedJSON, "is %s, want an integer", kindName(n.kind))
		return 0
	}
	v, err := strconv.Atoi(n.text)
	if err != nil || v < 0 || v > 1_000_000 {
		o.w.add(o.at(key), ErrInvalidField, "%s is not a year", clip(n.text))
		return 0
	}
	return v
}

func (o *object) time(key string) time.Time {
	s := o.str(key)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.w.add(o.at(key), ErrInvalidField, "%q is not an RFC 3339 time (2024-01-01T00:00:00+08:00)", clip(s))
		return time.Time{}
	}
	if t.IsZero() {
		// A Spec reads the zero time as no time at all: no end, for
		// valid_to, which is not what the document says.
		o.w.add(o.at(key), ErrInvalidField, "%q is the first instant of year 1, which a methodology cannot use", s)
		return time.Time{}
	}
	return t.UTC()
}

// text reads a string through fn (a carbon parser), reporting its error.
func text[T any](o *object, key, want string, fn func(string) (T, error)) T {
	var zero T
	s := o.str(key)
	if s == "" {
		return zero
	}
	v, err := fn(s)
	if err != nil {
		sentinel := error(ErrInvalidField)
		for _, e := range []error{carbon.ErrUnknownUnit, carbon.ErrUnknownRegion, carbon.ErrUnknownDimension} {
			if errors.Is(err, e) {
				sentinel = e
			}
		}
		o.w.add(o.at(key), sentinel, "%q is not %s", clip(s), want)
		return zero
	}
	return v
}

func (w *walker) document(root *node) (Spec, Formula) {
	var s Spec
	var f Formula
	o := w.obj("$", root)
	if o == nil {
		if root == nil || root.kind == 'z' {
			w.add("$", ErrMalformedJSON, "is null, want an object")
		}
		return s, f
	}
	s.ID = o.str("id")
	s.Version = o.str("version")
	s.Scenario = carbon.Scenario(o.str("scenario"))
	s.Title = o.str("title")
	if st := o.str("status"); st != "" {
		if err := s.Status.UnmarshalText([]byte(st)); err != nil {
			w.add(o.at("status"), ErrInvalidField, "%q is not draft, active or retired", clip(st))
		}
	}
	s.ValidFrom = o.time("valid_from")
	s.ValidTo = o.time("valid_to")

	elems, p := o.arr("endorsements")
	for i, e := range elems {
		eo := w.obj(fmt.Sprintf("%s[%d]", p, i), e)
		s.Endorsements = append(s.Endorsements, Endorsement{Body: eo.str("body"), Reference: eo.str("reference"), URL: eo.str("url")})
		eo.done()
	}
	elems, p = o.arr("parameters")
	for i, e := range elems {
		po := w.obj(fmt.Sprintf("%s[%d]", p, i), e)
		pm := Parameter{Name: po.str("name"), Description: po.str("description")}
		pm.Dimension = text(po, "dimension", "a dimension (count, mass, distance, energy, money, duration)", func(s string) (carbon.Dimension, error) {
			var d carbon.Dimension
			return d, d.UnmarshalText([]byte(s))
		})
		switch m := po.str("monitoring"); m {
		case "monitored":
			pm.Monitoring = Monitored
		case "fixed":
			pm.Monitoring = Fixed
		case "":
		default:
			w.add(po.at("monitoring"), ErrInvalidField, "%q is not monitored or fixed", clip(m))
		}
		s.Parameters = append(s.Parameters, pm)
		po.done()
	}
	elems, p = o.arr("conditions")
	for i, e := range elems {
		s.Conditions = append(s.Conditions, w.condition(fmt.Sprintf("%s[%d]", p, i), e))
	}
	elems, p = o.arr("factors")
	for i, e := range elems {
		s.Factors = append(s.Factors, w.factor(fmt.Sprintf("%s[%d]", p, i), e))
	}
	if fo := w.obj(o.at("formula"), o.get("formula")); fo != nil {
		f.BE = w.terms(fo, "be")
		f.PE = w.terms(fo, "pe")
		f.LE = w.terms(fo, "le")
		fo.done()
	}
	if co := w.obj(o.at("conservativeness"), o.get("conservativeness")); co != nil {
		s.Conservativeness.Resolution = text(co, "resolution", "a mass (1mg, 1g)", carbon.ParseMass)
		s.Conservativeness.Discount = co.decimal("discount")
		s.Conservativeness.Cap = text(co, "cap", "a mass (500g, 2kg)", carbon.ParseMass)
		co.done()
	}
	o.done()
	return s, f
}

func (w *walker) condition(path string, n *node) Condition {
	var c Condition
	o := w.obj(path, n)
	if o == nil {
		return c
	}
	c.ID = o.str("id")
	c.Description = o.str("description")
	hasQ, hasA, hasR := o.get("quantity") != nil, o.get("attribute") != nil, o.get("regions") != nil
	switch {
	case hasQ && !hasA && !hasR:
		c.Kind = QuantityRange
	case hasA && !hasQ && !hasR:
		c.Kind = AttributeIn
	case hasR && !hasQ && !hasA:
		c.Kind = RegionIn
	default:
		w.add(path, ErrInvalidField, "a condition has exactly one of quantity, attribute and regions")
	}
	c.Quantity = o.str("quantity")
	c.Min = w.bound(o, "min")
	c.Max = w.bound(o, "max")
	c.Attribute = o.str("attribute")
	c.Values = o.strs("in")
	for _, r := range o.strs("regions") {
		c.Regions = append(c.Regions, carbon.Region(r))
	}
	o.done()
	return c
}

func (w *walker) bound(o *object, key string) Bound {
	bo := w.obj(o.at(key), o.get(key))
	if bo == nil {
		return Bound{}
	}
	b := Bound{Value: text(bo, "value", "a quantity (1 order, 2.5 km)", carbon.ParseQuantity), Exclusive: bo.boolean("exclusive")}
	bo.done()
	return b
}

func (w *walker) factor(path string, n *node) Factor {
	var f Factor
	o := w.obj(path, n)
	if o == nil {
		return f
	}
	f.ID = o.str("id")
	f.Version = o.str("version")
	f.Description = o.str("description")
	f.Value = o.decimal("value")
	f.Numerator = text(o, "numerator", "a unit", carbon.ParseUnit)
	f.Denominator = text(o, "denominator", "a unit", carbon.ParseUnit)
	f.Gas = Gas(o.str("gas"))
	f.Region = text(o, "region", "an ISO 3166-2:CN code", carbon.ParseRegion)
	f.DataYear = o.integer("data_year")
	if so := w.obj(o.at("source"), o.get("source")); so != nil {
		f.Source = Source{Organisation: so.str("organisation"), Document: so.str("document"), URL: so.str("url")}
		so.done()
	}
	f.Uncertainty = o.decimal("uncertainty")
	f.Note = o.str("note")
	o.done()
	return f
}

func (w *walker) terms(fo *object, key string) []Term {
	elems, p := fo.arr(key)
	var out []Term
	for i, e := range elems {
		to := w.obj(fmt.Sprintf("%s[%d]", p, i), e)
		if to == nil {
			continue
		}
		out = append(out, Term{Quantity: to.str("quantity"), Factors: to.strs("factors")})
		to.done()
	}
	return out
}
