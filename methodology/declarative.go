package methodology

import (
	"fmt"
	"strings"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
)

// Formula is a declarative methodology's calculation: BE, PE and LE each the
// sum of their terms (an empty sum is zero).
type Formula struct {
	BE, PE, LE []Term
}

// Term is quantity × factor × factor...: the monitored quantity Quantity,
// converted to the first unit-bearing factor's denominator, times each factor
// in Factors in order (see Worksheet.Term for how units chain).
type Term struct {
	Quantity string
	Factors  []string
}

// String returns the formula as Spec.Formula states it for a declarative
// methodology: "BE = orders × cutlery-set; PE = 0; LE = 0".
func (f Formula) String() string {
	var b strings.Builder
	for i, part := range [3]struct {
		name  string
		terms []Term
	}{{"BE", f.BE}, {"PE", f.PE}, {"LE", f.LE}} {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(part.name)
		b.WriteString(" = ")
		if len(part.terms) == 0 {
			b.WriteString("0")
		}
		for j, t := range part.terms {
			if j > 0 {
				b.WriteString(" + ")
			}
			b.WriteString(t.Quantity)
			for _, id := range t.Factors {
				b.WriteString(" × ")
				b.WriteString(id)
			}
		}
	}
	return b.String()
}

// maxTerms bounds the terms of one part of a declarative formula.
const maxTerms = 64

// NewDeclarative returns the Methodology whose emissions are formula's sums:
// the same Methodology, with the same results and digests, that LoadJSON
// returns for the equivalent document. If spec.Formula is empty it is set to
// formula.String(); otherwise it must equal it. Every problem in spec or
// formula is reported in one *SpecError (matching ErrInvalidSpec), with paths
// such as "formula.be[0].factors[1]": a quantity that is not a monitored
// parameter, an undeclared factor, a term with no unit-bearing factor, units
// that do not chain exactly, or a product that is not a mass.
func NewDeclarative(spec Spec, formula Formula) (Methodology, error) {
	want := formula.String()
	var extra []Problem
	switch {
	case spec.Formula == "":
		spec.Formula = want
	case spec.Formula != want:
		extra = append(extra, Problem{Field: "formula", Err: ErrInvalidField,
			Msg: fmt.Sprintf("%q does not state the terms, which read %q", clip(spec.Formula), clip(want))})
	}
	ps := append(validateSpec(spec), extra...)
	ps = append(ps, validateFormula(&spec, formula)...)
	if len(ps) > 0 {
		return nil, &SpecError{Methodology: spec.Ref(), Problems: ps}
	}
	return build(spec, nil, compilePlan(&spec, formula)), nil
}

// plan is a declarative formula with its factors resolved: the terms of BE,
// PE and LE in order.
type plan struct {
	parts [3][]planTerm
}

type planTerm struct {
	quantity string
	name     int   // the quantity's index in built.names
	factors  []int // indexes in the Spec's factors
}

// compilePlan resolves a validated formula's factors in s.
func compilePlan(s *Spec, f Formula) *plan {
	pl := &plan{}
	for i, terms := range [3][]Term{f.BE, f.PE, f.LE} {
		for _, t := range terms {
			pt := planTerm{quantity: t.Quantity, factors: make([]int, len(t.Factors))}
			for j, id := range t.Factors {
				for k := range s.Factors {
					if s.Factors[k].ID == id {
						pt.factors[j] = k
						break
					}
				}
			}
			pl.parts[i] = append(pl.parts[i], pt)
		}
	}
	return pl
}

// validateFormula checks every term statically, so that a declarative
// methodology can fail at run time only because of the activity.
func validateFormula(s *Spec, f Formula) []Problem {
	var c specCheck
	if len(f.BE) == 0 {
		c.add("formula.be", ErrMissingField, "missing (a reduction needs a baseline)")
	}
	for _, part := range [3]struct {
		name  string
		terms []Term
	}{{"be", f.BE}, {"pe", f.PE}, {"le", f.LE}} {
		if len(part.terms) > maxTerms {
			c.add("formula."+part.name, ErrInvalidField, "has %d terms, more than %d", len(part.terms), maxTerms)
			continue
		}
		for i, t := range part.terms {
			validateTerm(&c, fmt.Sprintf("formula.%s[%d]", part.name, i), s, t)
		}
	}
	return c.ps
}

func validateTerm(c *specCheck, p string, s *Spec, t Term) {
	pm, ok := s.parameter(t.Quantity)
	switch {
	case t.Quantity == "":
		c.add(p+".quantity", ErrMissingField, "missing")
		ok = false
	case !ok || pm.Monitoring != Monitored:
		c.add(p+".quantity", ErrUnknownReference, "%q is not a monitored parameter", clip(t.Quantity))
		ok = false
	}
	switch {
	case len(t.Factors) == 0:
		c.add(p+".factors", ErrMissingField, "missing (a term multiplies by at least one factor)")
		return
	case len(t.Factors) > maxTermFactors:
		c.add(p+".factors", ErrInvalidField, "has %d factors, more than %d", len(t.Factors), maxTermFactors)
		return
	}
	// Walk the units: dim/unit is what the running product measures; unit is
	// empty until the first unit-bearing factor fixes it.
	var dim carbon.Dimension
	var unit carbon.Unit
	if ok {
		dim = pm.Dimension
	}
	known := ok && dim != carbon.DimUnknown // else already reported
	hasUnits := false
	for j, id := range t.Factors {
		fp := fmt.Sprintf("%s.factors[%d]", p, j)
		f, found := s.factor(id)
		if !found {
			c.add(fp, ErrUnknownReference, "%q is not a declared factor", clip(id))
			known = false
			continue
		}
		if f.Ratio() || !f.Numerator.Valid() || !f.Denominator.Valid() {
			continue
		}
		hasUnits = true
		if known {
			switch {
			case unit == "" && f.Denominator.Dimension() != dim:
				c.add(fp, ErrWrongUnit, "factor %q is per %s, but %q measures %s", id, f.Denominator, t.Quantity, dim)
			case unit != "":
				if _, err := convert(decimal.New(1, 0), unit, f.Denominator); err != nil {
					c.add(fp, ErrWrongUnit, "factor %q is per %s, but the product so far is in %s, which does not convert to it exactly", id, f.Denominator, unit)
				}
			}
		}
		unit, dim, known = f.Numerator, f.Numerator.Dimension(), true
	}
	switch {
	case !hasUnits && len(t.Factors) > 0 && known:
		c.add(p+".factors", ErrInvalidField, "has no emission factor (every factor is a ratio)")
	case known && hasUnits && unit.Dimension() != carbon.DimMass:
		c.add(p+".factors", ErrWrongUnit, "the product is in %s, not a mass", unit)
	}
}
