package methodology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// Result is one activity's quantified reduction with everything an auditor
// needs to recompute it: the emissions, each step of the formula with its
// value, the factors used, the rounding, and a digest binding them to the
// activity and to the methodology version.
//
// BE, PE and LE are exact (unrounded); ER is final: never negative, discounted,
// capped, and rounded once toward zero to a multiple of Resolution.
//
// Result holds masses, so it must not be compared with ==: use Verify, or
// compare Digest values, which are equal exactly when the encoded contents
// are.
type Result struct {
	MethodologyID string
	Version       string
	// SpecDigest is the methodology's Spec.Digest, so that a verifier holding
	// a copy of the Spec can tell it is the same one.
	SpecDigest string

	BE carbon.Mass // baseline emissions
	PE carbon.Mass // project emissions
	LE carbon.Mass // leakage emissions
	ER carbon.Mass // the reduction: BE − PE − LE after Conservativeness

	// Steps are the formula's steps in evaluation order: each term
	// ("BE[0]"), each sum ("BE", "PE", "LE"), "ER.gross", then whichever
	// adjustments applied ("ER.floor", "ER.discount", "ER.cap") and last
	// "ER", the rounded value.
	Steps []Step
	// Factors lists each factor used, once, in order of first use.
	Factors []FactorRef
	// Resolution and Rounding say how ER was rounded: toward zero, to a
	// multiple of Resolution.
	Resolution carbon.Mass
	Rounding   carbon.Rounding
	// Digest is the SHA-256 (lower-case hex) of the canonical encoding of the
	// methodology ID, version and spec digest, the activity, the factors
	// used, every step and the emissions (see the package documentation).
	Digest string
}

// Ref returns "MethodologyID@Version".
func (r Result) Ref() string { return r.MethodologyID + "@" + r.Version }

// Brief returns what r says in short.
func (r Result) Brief() Brief {
	return Brief{MethodologyID: r.MethodologyID, Version: r.Version, ER: r.ER, Digest: r.Digest}
}

// Brief is a Result without its working: which methodology version
// quantified the activity, the reduction and the digest. It is what a
// caller that keeps a reduction needs to cite it: Quantify under the
// version named reproduces the whole Result, whose Digest is this one, and
// Verify proves it. A Brief holds a decimal and must not be compared with
// ==.
type Brief struct {
	MethodologyID string
	Version       string
	ER            carbon.Mass // the reduction
	Digest        string      // the Result's Digest
}

// Ref returns "MethodologyID@Version".
func (b Brief) Ref() string { return b.MethodologyID + "@" + b.Version }

// Step is one step of a formula's evaluation.
type Step struct {
	Name       string      // "BE[0]", "BE", "ER.gross", "ER"
	Expression string      // how Value was computed, with the numbers used
	Value      carbon.Mass // exact, except the final "ER" step
}

// FactorRef identifies a factor used in a result.
type FactorRef struct {
	ID      string
	Version string
}

// Verify recomputes the result of activity a under m and returns nil when r
// is that result in every field, and otherwise a *MismatchError naming the
// first field that differs (the methodology, an emission, a step, a factor or
// the digest). If m no longer quantifies a at all, the error is Quantify's; a
// nil m is a *MismatchError matching ErrNotFound.
func Verify(m Methodology, a carbon.Activity, r Result) error {
	if m == nil {
		return &MismatchError{Methodology: r.Ref(), Field: "methodology", Got: r.Ref(), Want: "a methodology", Err: ErrNotFound}
	}
	spec := m.Spec()
	if r.Ref() != spec.Ref() {
		return &MismatchError{Methodology: r.Ref(), Field: "methodology", Got: r.Ref(), Want: spec.Ref()}
	}
	want, err := m.Quantify(a)
	if err != nil {
		return err
	}
	return compareResults(r, want)
}

func compareResults(got, want Result) error {
	mis := func(field, g, w string) error {
		return &MismatchError{Methodology: got.Ref(), Field: field, Got: g, Want: w}
	}
	masses := []struct {
		name string
		g, w carbon.Mass
	}{
		{"be", got.BE, want.BE}, {"pe", got.PE, want.PE}, {"le", got.LE, want.LE},
		{"er", got.ER, want.ER}, {"resolution", got.Resolution, want.Resolution},
	}
	switch {
	case got.Ref() != want.Ref():
		return mis("methodology", got.Ref(), want.Ref())
	case got.SpecDigest != want.SpecDigest:
		return mis("spec_digest", got.SpecDigest, want.SpecDigest)
	}
	for _, m := range masses {
		if !m.g.Equal(m.w) {
			return mis(m.name, m.g.String(), m.w.String())
		}
	}
	if got.Rounding != want.Rounding {
		return mis("rounding", got.Rounding.String(), want.Rounding.String())
	}
	if len(got.Factors) != len(want.Factors) {
		return mis("factors", fmt.Sprint(len(got.Factors)), fmt.Sprint(len(want.Factors)))
	}
	for i := range got.Factors {
		if got.Factors[i] != want.Factors[i] {
			g, w := got.Factors[i], want.Factors[i]
			return mis(fmt.Sprintf("factors[%d]", i), g.ID+"@"+g.Version, w.ID+"@"+w.Version)
		}
	}
	if len(got.Steps) != len(want.Steps) {
		return mis("steps", fmt.Sprint(len(got.Steps)), fmt.Sprint(len(want.Steps)))
	}
	for i := range got.Steps {
		g, w := got.Steps[i], want.Steps[i]
		switch {
		case g.Name != w.Name:
			return mis(fmt.Sprintf("steps[%d].name", i), g.Name, w.Name)
		case g.Expression != w.Expression:
			return mis(fmt.Sprintf("steps[%d].expression", i), g.Expression, w.Expression)
		case !g.Value.Equal(w.Value):
			return mis(fmt.Sprintf("steps[%d].value", i), g.Value.String(), w.Value.String())
		}
	}
	if got.Digest != want.Digest {
		return mis("digest", got.Digest, want.Digest)
	}
	return nil
}

// quantities returns a's quantities in byte order of name.
func (s *sheet) quantities(a *carbon.Activity) []namedQuantity {
	if s.qsAll && len(s.qs) > 0 {
		return s.qs // admit found them all
	}
	qs := s.qs[:0]
	for name, q := range a.Quantities {
		qs = append(qs, namedQuantity{name, q})
	}
	if len(qs) > 1 {
		slices.SortFunc(qs, func(x, y namedQuantity) int { return strings.Compare(x.name, y.name) })
	}
	s.qs = qs
	return qs
}

// appendValue is the package function appendValue, using v's encoding
// when it was made in advance.
func (s *sheet) appendValue(b []byte, v *value) []byte {
	if v.from < v.to {
		return append(b, s.vals[v.from:v.to]...)
	}
	return appendValue(b, v)
}

// resultEncoding names the result encoding and its version.
const resultEncoding = "carbonkit.result/v1"

// digest returns the digest of the canonical encoding of the result that s
// has computed for activity a. The tags are field names; the fixed order
// below gives them their meaning. Records, in order (see canon for the
// record syntax):
//
//	encoding     "carbonkit.result/v1"
//	methodology, version, spec (the methodology's ID, version, Spec digest)
//	activity, partner, user, scenario, occurred_at (UTC), region
//	quantities (count), then for each quantity in byte order of name:
//	  quantity (name), value (in the reported unit), unit
//	attributes (count), then for each attribute in byte order of name:
//	  attribute (name), value
//	factors (count), then for each factor used, in order of first use:
//	  factor (ID), version, value (the rest of each factor, units and
//	  provenance, is bound by the Spec digest)
//	steps (count), then for each step: step (name), expression, value
//	be, pe, le, er, resolution, rounding
//
// The first four records and the last two depend on the Spec alone, so
// compile encodes them in advance (and hashes the first four); so does it
// the records of each factor, and the start of each usual step's
// (stepHead). The encoding is written in one buffer and hashed at once.
// referenceDigest, in the tests, writes it record by record.
func (s *sheet) digest(a *carbon.Activity) string {
	m := s.m
	b := s.enc[:0]
	b = appendRec(b, "activity ", a.ID)
	b = appendRec(b, "partner ", string(a.Partner))
	b = appendRec(b, "user ", string(a.User))
	b = appendRec(b, "scenario ", string(a.Scenario))
	var tmp [64]byte
	t := tmp[:0]
	if !a.OccurredAt.IsZero() {
		t = a.OccurredAt.UTC().AppendFormat(t, time.RFC3339Nano)
	}
	b = appendRecBytes(b, "occurred_at ", t)
	b = appendRec(b, "region ", string(a.Region))

	qs := s.quantities(a)
	b = appendCount(b, "quantities ", len(qs))
	for i := range qs {
		q := &qs[i].q
		b = appendRec(b, "quantity ", qs[i].name)
		v := exactValue(q.Value())
		b = appendValue(append(b, "value "...), &v)
		b = appendRec(b, "unit ", string(q.Unit()))
	}
	attrs := s.attrs[:0]
	for name, v := range a.Attributes {
		attrs = append(attrs, [2]string{name, v})
	}
	if len(attrs) > 1 {
		slices.SortFunc(attrs, func(x, y [2]string) int { return strings.Compare(x[0], y[0]) })
	}
	b = appendCount(b, "attributes ", len(attrs))
	for _, kv := range attrs {
		b = appendRec(b, "attribute ", kv[0])
		b = appendRec(b, "value ", kv[1])
	}
	s.attrs = attrs

	b = appendCount(b, "factors ", len(s.used))
	for _, k := range s.used {
		b = append(b, m.factors[k].records...)
	}
	b = appendCount(b, "steps ", len(s.steps))
	for i := range s.steps {
		st := &s.steps[i]
		b = append(b, st.head...)
		if st.inText {
			b = appendRecBytes(b, "", s.text[st.from:st.to])
			b = append(b, "value "...)
		}
		b = s.appendValue(b, &st.val)
	}
	b = s.appendValue(append(b, "be "...), &s.be)
	b = s.appendValue(append(b, "pe "...), &s.pe)
	b = s.appendValue(append(b, "le "...), &s.le)
	b = s.appendValue(append(b, "er "...), &s.er)
	b = append(b, m.tail...)
	s.enc = b

	if m.prefixSum == nil || s.hs == nil || s.hs.UnmarshalBinary(m.prefixSum) != nil {
		s.h.Reset()
		s.h.Write(m.prefix)
	}
	s.h.Write(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], s.h.Sum(s.hsum[:0]))
	return string(out[:])
}

// encodeSpec returns the digest of s's canonical encoding. Records, in order:
//
//	encoding "carbonkit.spec/v1"
//	id, version, scenario, title, status, valid_from, valid_to
//	endorsements (count), then each: endorsement.body, .reference, .url
//	conditions (count), then each: condition.id, .description, .kind,
//	  .quantity, .min.value, .min.unit, .min.exclusive, .max.value,
//	  .max.unit, .max.exclusive, .attribute, .values (count) and each
//	  .value, .regions (count) and each .region
//	parameters (count), then each: parameter.name, .description, .dimension,
//	  .monitoring
//	factors (count), then each: factor.id, .version, .description, .value,
//	  .numerator, .denominator, .gas, .region, .data_year,
//	  .source.organisation, .source.document, .source.url, .uncertainty, .note
//	formula
//	conservativeness.resolution (the effective one: zero encodes as 1 mg),
//	conservativeness.discount, conservativeness.cap
func encodeSpec(s Spec) string {
	c := newCanon("carbonkit.spec/v1", nil)
	c.str("id", s.ID)
	c.str("version", s.Version)
	c.str("scenario", string(s.Scenario))
	c.str("title", s.Title)
	c.str("status", s.Status.String())
	c.time("valid_from", s.ValidFrom)
	c.time("valid_to", s.ValidTo)
	c.int("endorsements", len(s.Endorsements))
	for _, e := range s.Endorsements {
		c.str("endorsement.body", e.Body)
		c.str("endorsement.reference", e.Reference)
		c.str("endorsement.url", e.URL)
	}
	c.int("conditions", len(s.Conditions))
	for _, cd := range s.Conditions {
		c.str("condition.id", cd.ID)
		c.str("condition.description", cd.Description)
		c.str("condition.kind", cd.Kind.String())
		c.str("condition.quantity", cd.Quantity)
		for _, b := range [2]struct {
			tag string
			b   Bound
		}{{"condition.min", cd.Min}, {"condition.max", cd.Max}} {
			if b.b.IsSet() {
				c.dec(b.tag+".value", b.b.Value.Value())
			} else {
				c.str(b.tag+".value", "")
			}
			c.str(b.tag+".unit", string(b.b.Value.Unit()))
			c.bool(b.tag+".exclusive", b.b.Exclusive)
		}
		c.str("condition.attribute", cd.Attribute)
		c.int("condition.values", len(cd.Values))
		for _, v := range cd.Values {
			c.str("condition.value", v)
		}
		c.int("condition.regions", len(cd.Regions))
		for _, r := range cd.Regions {
			c.str("condition.region", string(r))
		}
	}
	c.int("parameters", len(s.Parameters))
	for _, p := range s.Parameters {
		c.str("parameter.name", p.Name)
		c.str("parameter.description", p.Description)
		c.str("parameter.dimension", p.Dimension.String())
		c.str("parameter.monitoring", p.Monitoring.String())
	}
	c.int("factors", len(s.Factors))
	for _, f := range s.Factors {
		c.str("factor.id", f.ID)
		c.str("factor.version", f.Version)
		c.str("factor.description", f.Description)
		c.dec("factor.value", f.Value)
		c.str("factor.numerator", string(f.Numerator))
		c.str("factor.denominator", string(f.Denominator))
		c.str("factor.gas", string(f.Gas))
		c.str("factor.region", string(f.Region))
		c.int("factor.data_year", f.DataYear)
		c.str("factor.source.organisation", f.Source.Organisation)
		c.str("factor.source.document", f.Source.Document)
		c.str("factor.source.url", f.Source.URL)
		c.dec("factor.uncertainty", f.Uncertainty)
		c.str("factor.note", f.Note)
	}
	c.str("formula", s.Formula)
	c.mass("conservativeness.resolution", s.Conservativeness.resolution())
	c.dec("conservativeness.discount", s.Conservativeness.Discount)
	c.mass("conservativeness.cap", s.Conservativeness.Cap)
	return c.sum()
}

// sortedNames appends m's keys to buf in byte order.
func sortedNames[V any](buf []string, m map[string]V) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
