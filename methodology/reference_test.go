package methodology

import (
	"github.com/carbonkit/carbonkit/carbon"
)

// referenceDigest is the result encoding as it was first written, record by
// record with canon, kept to check the encoder Quantify uses (sheet.digest)
// against it: it returns the digest of r's canonical encoding for activity a
// under a methodology whose Spec is s.
func referenceDigest(s *Spec, specDigest string, a *carbon.Activity, r *Result) string {
	c := newCanon("carbonkit.result/v1", nil)
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
