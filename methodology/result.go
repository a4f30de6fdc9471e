package methodology

import (
	"fmt"
	"slices"

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

// encodeResult returns the digest of r's canonical encoding for activity a
// under a methodology whose Spec is s. The tags are field names; the fixed
// order below gives them their meaning. Records, in order (see canon for the
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
// buf is scratch space for the encoder; its contents are overwritten.
func encodeResult(s *Spec, specDigest string, a *carbon.Activity, r *Result, buf []byte) string {
	c := newCanon("carbonkit.result/v1", buf)
	c.str("methodology", s.ID)
	c.str("version", s.Version)
	c.str("spec", specDigest)

	c.str("activity", a.ID)
	c.str("partner", string(a.Partner))
	c.str("user", string(a.User))
	c.str("scenario", string(a.Scenario))
	c.time("occurred_at", a.OccurredAt)
	c.str("region", string(a.Region))
	var stack [16]string
	names := sortedNames(stack[:0], a.Quantities)
	c.int("quantities", len(names))
	for _, n := range names {
		q := a.Quantities[n]
		c.str("quantity", n)
		c.dec("value", q.Value())
		c.str("unit", string(q.Unit()))
	}
	names = sortedNames(names[:0], a.Attributes)
	c.int("attributes", len(names))
	for _, n := range names {
		c.str("attribute", n)
		c.str("value", a.Attributes[n])
	}

	c.int("factors", len(r.Factors))
	for _, ref := range r.Factors {
		f, _ := s.factor(ref.ID)
		c.str("factor", f.ID)
		c.str("version", f.Version)
		c.dec("value", f.Value)
	}
	c.int("steps", len(r.Steps))
	for _, st := range r.Steps {
		c.str("step", st.Name)
		c.str("expression", st.Expression)
		c.mass("value", st.Value)
	}
	c.mass("be", r.BE)
	c.mass("pe", r.PE)
	c.mass("le", r.LE)
	c.mass("er", r.ER)
	c.mass("resolution", r.Resolution)
	c.str("rounding", r.Rounding.String())
	return c.sum()
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
