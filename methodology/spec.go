package methodology

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Spec describes a methodology version the way a carbon standard publishes it:
// what it applies to, when, on whose authority, which data it reads and which
// factors it multiplies them by. A Spec is data: the same Spec (including its
// Formula text) always means the same calculation, which is why a registry
// compares registrations by the digest of the Spec's canonical encoding.
//
// A Spec has at most 256 factors, 64 parameters, 64 conditions (each with
// at most 256 values or regions) and 16 endorsements, and free text of at
// most 4096 bytes per field.
//
// Spec holds decimals (in its factors and conditions), so it must not be
// compared with ==; compare Digest values.
type Spec struct {
	// ID names the methodology across its versions ("cn.food.no-cutlery").
	// It is a carbon identifier (see carbon.ValidateID) without '@'.
	ID string
	// Version names this version ("2024.1"). Versions are opaque: carbonkit
	// never orders them, it resolves by validity window. No '@'.
	Version string
	// Scenario is the kind of activity quantified ("food.no-cutlery").
	Scenario carbon.Scenario
	// Title is a human-readable name.
	Title string
	// Status: only an active methodology is returned by Registry.Resolve;
	// draft and retired ones can still be got by ID and version, to test or
	// to re-verify old results.
	Status Status
	// ValidFrom is the first instant the version applies to; ValidTo, if not
	// zero, the first instant it no longer does: the window is
	// [ValidFrom, ValidTo).
	ValidFrom, ValidTo time.Time
	// Endorsements name who approved this version, if anyone.
	Endorsements []Endorsement
	// Conditions are the applicability conditions: an activity that fails
	// any of them is not quantified.
	Conditions []Condition
	// Parameters are the data the formula reads: monitored ones from each
	// activity's quantities, fixed ones from the Spec's factors.
	Parameters []Parameter
	// Factors are the emission factors and ratios the formula multiplies by,
	// each with its provenance.
	Factors []Factor
	// Formula states the calculation for a human reader ("BE = orders ×
	// cutlery-set; PE = 0; LE = 0"). For a declarative methodology it is
	// generated from the terms; for a Go-coded one its author writes it, and
	// must change the version whenever the code's arithmetic changes.
	Formula string
	// Conservativeness holds the rounding resolution, uncertainty discount and
	// per-event cap applied to ER.
	Conservativeness Conservativeness
}

// Ref returns "ID@Version", the name a Result and the ledger carry.
func (s Spec) Ref() string { return s.ID + "@" + s.Version }

// Digest returns the SHA-256 (lower-case hex) of the Spec's canonical encoding
// (see the package documentation, "Digests"). Two Specs with the same digest
// describe the same calculation (for a Go-coded methodology, provided its
// author changes the version whenever the code changes). It never fails: an
// invalid Spec has a digest too.
func (s Spec) Digest() string { return encodeSpec(s) }

// Validate returns nil or a *SpecError naming every problem in s, each with
// its path ("factors[2].source.organisation") and a sentinel: ErrMissingField,
// ErrInvalidField, ErrNoProvenance, ErrUnknownReference, ErrWrongUnit,
// ErrOutOfRange, or one of package carbon's (ErrInvalidID, ErrUnknownUnit,
// ErrUnknownRegion).
func (s Spec) Validate() error {
	if ps := validateSpec(s); len(ps) > 0 {
		return &SpecError{Methodology: s.Ref(), Problems: ps}
	}
	return nil
}

// Status is a methodology version's publication status. The zero value is not
// a status, so a forgotten one fails validation.
type Status uint8

// Statuses.
const (
	// Draft: under review; never resolved for a scenario.
	Draft Status = iota + 1
	// Active: in force within its validity window.
	Active
	// Retired: withdrawn; kept so that results it produced still verify.
	Retired
)

// String returns "draft", "active", "retired", or "Status(n)" for an undefined
// value.
func (s Status) String() string {
	switch s {
	case Draft:
		return "draft"
	case Active:
		return "active"
	case Retired:
		return "retired"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText encodes the status by name; an undefined status is a
// *SpecError matching ErrInvalidSpec and ErrInvalidField.
func (s Status) MarshalText() ([]byte, error) {
	if s < Draft || s > Retired {
		return nil, statusError(fmt.Sprintf("%d is not defined", uint8(s)))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "draft", "active" or "retired"; anything else is a
// *SpecError matching ErrInvalidSpec and ErrInvalidField.
func (s *Status) UnmarshalText(b []byte) error {
	for i := Draft; i <= Retired; i++ {
		if i.String() == string(b) {
			*s = i
			return nil
		}
	}
	return statusError(fmt.Sprintf("%q is not draft, active or retired", clip(string(b))))
}

// statusError reports a status that does not encode or decode: a problem of
// a Spec, whichever Spec it is.
func statusError(msg string) error {
	return &SpecError{Problems: []Problem{{Field: "status", Err: ErrInvalidField, Msg: msg}}}
}

// Endorsement records an approval of a methodology version: by a standards
// body, an exchange, a regulator or the host's own review board.
type Endorsement struct {
	Body      string // who endorsed it (required)
	Reference string // their document or decision number
	URL       string // where it is published, if anywhere (absolute http or https)
}

// Monitoring says where a parameter's value comes from.
type Monitoring uint8

// Monitoring kinds, after the CDM's "data and parameters monitored" and "not
// monitored".
const (
	// Monitored: reported with each activity, as the quantity of the same
	// name; required, and of the parameter's dimension.
	Monitored Monitoring = iota + 1
	// Fixed: fixed ex ante in the Spec, as the factor whose ID is the
	// parameter's name (so it has provenance like any factor).
	Fixed
)

// String returns "monitored", "fixed", or "Monitoring(n)".
func (m Monitoring) String() string {
	switch m {
	case Monitored:
		return "monitored"
	case Fixed:
		return "fixed"
	}
	return fmt.Sprintf("Monitoring(%d)", uint8(m))
}

// Parameter is one datum the formula reads.
type Parameter struct {
	// Name is the activity quantity's name (Monitored) or the factor's ID
	// (Fixed).
	Name        string
	Description string
	// Dimension is what a monitored quantity must measure; for a fixed
	// parameter, the dimension of its factor's numerator (carbon.DimUnknown
	// for a dimensionless ratio).
	Dimension  carbon.Dimension
	Monitoring Monitoring
}

// Gas is the gas basis of an emission factor.
type Gas string

// Gas bases. Results are in CO2e; a CO2-only factor counts as CO2e. That
// understates a baseline (conservative) but also a project or leakage
// emission (not conservative), so prefer CO2e factors on the PE and LE side.
const (
	CO2e Gas = "CO2e" // all Kyoto gases weighted by GWP
	CO2  Gas = "CO2"  // carbon dioxide only
)

// Factor is a sourced number the formula multiplies by. An emission factor has
// a mass Numerator ("g" per "order", "t" per "MWh"); an intermediate factor
// another dimension ("kWh" per "item"); a dimensionless ratio (a substitution
// rate) has neither unit.
//
// Factor holds decimals, so it must not be compared with ==.
type Factor struct {
	ID          string // unique within the Spec; a carbon identifier
	Version     string // the factor's own version, so a revision is visible
	Description string
	// Value is the exact factor, never negative.
	Value decimal.Decimal
	// Numerator and Denominator are the units of Value (Value Numerator per
	// Denominator); both empty for a dimensionless ratio.
	Numerator, Denominator carbon.Unit
	// Gas is required when Numerator is a mass unit, and must be empty
	// otherwise.
	Gas Gas
	// Region is the region the factor was derived for; empty for a national or
	// region-independent figure.
	Region carbon.Region
	// DataYear is the year of the data the factor was derived from (required).
	DataYear int
	// Source says who published the factor and where (required).
	Source Source
	// Uncertainty is the factor's relative uncertainty as a fraction in
	// [0, 1) (0.1 for ±10%), or zero when not stated.
	Uncertainty decimal.Decimal
	// Note carries caveats: "illustrative", assumptions, derivations.
	Note string
}

// Ratio reports whether f is dimensionless.
func (f Factor) Ratio() bool { return f.Numerator == "" && f.Denominator == "" }

// Source is a factor's provenance.
type Source struct {
	Organisation string // who published it (required)
	Document     string // the publication: title, number, table (required)
	URL          string // where to read it (absolute http or https), if online
}

// Conservativeness holds the adjustments that can only lower ER, applied in
// this order after ER = BE − PE − LE: a negative ER becomes zero; the
// uncertainty discount multiplies by (1 − Discount); the cap lowers ER to Cap;
// and the result is rounded once, toward zero, to a multiple of Resolution.
type Conservativeness struct {
	// Resolution is the rounding step; zero means DefaultResolution.
	Resolution carbon.Mass
	// Discount is the uncertainty discount u in [0, 1): ER × (1 − u). Zero
	// means none.
	Discount decimal.Decimal
	// Cap is the most ER one activity may earn; zero means no cap.
	Cap carbon.Mass
}

// DefaultResolution is the rounding resolution used when a Spec states none:
// one milligram, the ledger's CO2e scale.
func DefaultResolution() carbon.Mass { return carbon.Grams(decimal.New(1, -3)) }

// resolution returns the effective rounding step.
func (c Conservativeness) resolution() carbon.Mass {
	if c.Resolution.IsZero() {
		return DefaultResolution()
	}
	return c.Resolution
}

// ConditionKind says what an applicability condition tests.
type ConditionKind uint8

// Condition kinds.
const (
	// QuantityRange: a monitored quantity lies within Min and Max.
	QuantityRange ConditionKind = iota + 1
	// AttributeIn: an attribute is present and one of Values.
	AttributeIn
	// RegionIn: the activity's region is one of Regions.
	RegionIn
)

// String returns "quantity-range", "attribute-in", "region-in", or
// "ConditionKind(n)".
func (k ConditionKind) String() string {
	switch k {
	case QuantityRange:
		return "quantity-range"
	case AttributeIn:
		return "attribute-in"
	case RegionIn:
		return "region-in"
	}
	return fmt.Sprintf("ConditionKind(%d)", uint8(k))
}

// Condition is one applicability condition on an activity's fields. Only the
// fields of its Kind may be set.
type Condition struct {
	ID          string // names the condition in errors; unique within the Spec
	Description string
	Kind        ConditionKind

	// QuantityRange: Quantity names a monitored parameter; Min and Max bound
	// it (either may be unset, not both).
	Quantity string
	Min, Max Bound

	// AttributeIn: Attribute must be present with one of Values (compared
	// exactly, case-sensitive).
	Attribute string
	Values    []string

	// RegionIn: the activity's region must be one of Regions.
	Regions []carbon.Region
}

// Bound is one end of a QuantityRange. The zero Bound is unset; a set bound is
// inclusive unless Exclusive.
type Bound struct {
	Value     carbon.Quantity
	Exclusive bool
}

// IsSet reports whether b bounds anything.
func (b Bound) IsSet() bool { return b.Value.IsValid() }

// AtLeast returns the inclusive lower bound q. An invalid q (the zero
// Quantity) gives an unset Bound, which Spec.Validate reports when the
// condition has no other bound.
func AtLeast(q carbon.Quantity) Bound { return Bound{Value: q} }

// Above returns the exclusive lower bound q; an invalid q is reported by
// Spec.Validate.
func Above(q carbon.Quantity) Bound { return Bound{Value: q, Exclusive: true} }

// AtMost returns the inclusive upper bound q; see AtLeast for an invalid q.
func AtMost(q carbon.Quantity) Bound { return Bound{Value: q} }

// Below returns the exclusive upper bound q; an invalid q is reported by
// Spec.Validate.
func Below(q carbon.Quantity) Bound { return Bound{Value: q, Exclusive: true} }

// clone returns a copy of s sharing no slices with it.
func (s Spec) clone() Spec {
	s.Endorsements = append([]Endorsement(nil), s.Endorsements...)
	s.Parameters = append([]Parameter(nil), s.Parameters...)
	s.Factors = append([]Factor(nil), s.Factors...)
	cs := make([]Condition, len(s.Conditions))
	for i, c := range s.Conditions {
		c.Values = append([]string(nil), c.Values...)
		c.Regions = append([]carbon.Region(nil), c.Regions...)
		cs[i] = c
	}
	if s.Conditions == nil {
		cs = nil
	}
	s.Conditions = cs
	return s
}

// factor returns the factor with the given ID.
func (s *Spec) factor(id string) (*Factor, bool) {
	for i := range s.Factors {
		if s.Factors[i].ID == id {
			return &s.Factors[i], true
		}
	}
	return nil, false
}

// parameter returns the parameter with the given name.
func (s *Spec) parameter(name string) (*Parameter, bool) {
	for i := range s.Parameters {
		if s.Parameters[i].Name == name {
			return &s.Parameters[i], true
		}
	}
	return nil, false
}

// maxText bounds free-text fields, which are hashed into every digest.
const maxText = 4096

// Bounds on the size of a Spec, far beyond any real methodology, so that a
// hostile declarative document cannot make validation or Quantify slow.
const (
	maxFactors      = 256
	maxParameters   = 64
	maxConditions   = 64
	maxEndorsements = 16
	maxValues       = 256 // values of one attribute condition, regions of one region condition
)

// specCheck accumulates problems with their paths.
type specCheck struct{ ps []Problem }

func (c *specCheck) add(path string, err error, format string, args ...any) {
	c.ps = append(c.ps, Problem{Field: path, Err: err, Msg: fmt.Sprintf(format, args...)})
}

func (c *specCheck) id(path, kind, s string) {
	switch {
	case s == "":
		c.add(path, ErrMissingField, "missing")
	case carbon.ValidateID(kind, s) != nil:
		c.add(path, carbon.ErrInvalidID, "%q must be 1 to %d bytes of printable ASCII without spaces", clip(s), carbon.MaxIDLen)
	case strings.Contains(s, "@"):
		c.add(path, ErrInvalidField, "%q must not contain '@'", s)
	}
}

func (c *specCheck) text(path, s string, required bool) {
	switch {
	case s == "" && required:
		c.add(path, ErrMissingField, "missing")
	case len(s) > maxText:
		c.add(path, ErrInvalidField, "is %d bytes long, more than %d", len(s), maxText)
	case !utf8.ValidString(s):
		c.add(path, ErrInvalidField, "is not valid UTF-8")
	}
}

func (c *specCheck) url(path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > maxText {
		c.add(path, ErrInvalidField, "%q is not an absolute http or https URL", clip(s))
	}
}

func (c *specCheck) number(path string, d decimal.Decimal) bool {
	if !dec.InRange(d) {
		c.add(path, ErrOutOfRange, "has more than %d digits or decimal places", maxExponent)
		return false
	}
	return true
}

// fraction checks 0 <= d < 1.
func (c *specCheck) fraction(path string, d decimal.Decimal) {
	if !c.number(path, d) {
		return
	}
	if d.Sign() < 0 || d.Cmp(decimal.New(1, 0)) >= 0 {
		c.add(path, ErrInvalidField, "%s is not a fraction in [0, 1)", formatDecimal(d))
	}
}

func validateSpec(s Spec) []Problem {
	var c specCheck
	c.id("id", "methodology", s.ID)
	c.id("version", "version", s.Version)
	if s.Scenario == "" {
		c.add("scenario", ErrMissingField, "missing")
	} else if s.Scenario.Validate() != nil {
		c.add("scenario", carbon.ErrInvalidID, "%q must be 1 to %d bytes of printable ASCII without spaces", clip(string(s.Scenario)), carbon.MaxIDLen)
	}
	c.text("title", s.Title, true)
	switch {
	case s.Status == 0:
		c.add("status", ErrMissingField, "missing")
	case s.Status > Retired:
		c.add("status", ErrInvalidField, "%s is not draft, active or retired", s.Status)
	}
	if s.ValidFrom.IsZero() {
		c.add("valid_from", ErrMissingField, "missing")
	}
	if !s.ValidTo.IsZero() && !s.ValidTo.After(s.ValidFrom) {
		c.add("valid_to", ErrInvalidField, "%s is not after valid_from", s.ValidTo.UTC().Format(time.RFC3339))
	}
	if len(s.Endorsements) > maxEndorsements || len(s.Factors) > maxFactors ||
		len(s.Parameters) > maxParameters || len(s.Conditions) > maxConditions {
		for _, l := range [4]struct {
			path   string
			n, max int
		}{
			{"endorsements", len(s.Endorsements), maxEndorsements}, {"factors", len(s.Factors), maxFactors},
			{"parameters", len(s.Parameters), maxParameters}, {"conditions", len(s.Conditions), maxConditions},
		} {
			if l.n > l.max {
				c.add(l.path, ErrInvalidField, "has %d entries, more than %d", l.n, l.max)
			}
		}
		return c.ps // too large to check entry by entry
	}
	for i, e := range s.Endorsements {
		p := fmt.Sprintf("endorsements[%d]", i)
		c.text(p+".body", e.Body, true)
		c.text(p+".reference", e.Reference, false)
		c.url(p+".url", e.URL)
	}
	c.text("formula", s.Formula, true)

	seen := map[string]bool{}
	for i, f := range s.Factors {
		p := fmt.Sprintf("factors[%d]", i)
		c.id(p+".id", "factor", f.ID)
		if f.ID != "" && seen[f.ID] {
			c.add(p+".id", ErrInvalidField, "%q is declared twice", f.ID)
		}
		seen[f.ID] = true
		c.id(p+".version", "version", f.Version)
		c.text(p+".description", f.Description, false)
		c.text(p+".note", f.Note, false)
		validateFactor(&c, p, f)
	}
	validateConservativeness(&c, s.Conservativeness)

	params := map[string]bool{}
	for i, pm := range s.Parameters {
		p := fmt.Sprintf("parameters[%d]", i)
		c.id(p+".name", "parameter", pm.Name)
		if pm.Name != "" && params[pm.Name] {
			c.add(p+".name", ErrInvalidField, "%q is declared twice", pm.Name)
		}
		params[pm.Name] = true
		c.text(p+".description", pm.Description, false)
		switch pm.Monitoring {
		case Monitored:
			if pm.Dimension == carbon.DimUnknown || pm.Dimension > carbon.DimDuration {
				c.add(p+".dimension", ErrInvalidField, "a monitored parameter needs a dimension")
			}
		case Fixed:
			f, ok := s.factor(pm.Name)
			switch {
			case !ok:
				c.add(p+".name", ErrUnknownReference, "fixed parameter %q names no factor", pm.Name)
			case f.Numerator.Dimension() != pm.Dimension:
				c.add(p+".dimension", ErrInvalidField, "is %s, but factor %q's numerator measures %s", pm.Dimension, f.ID, f.Numerator.Dimension())
			}
		default:
			c.add(p+".monitoring", ErrInvalidField, "%s is not monitored or fixed", pm.Monitoring)
		}
	}

	conds := map[string]bool{}
	for i, cd := range s.Conditions {
		p := fmt.Sprintf("conditions[%d]", i)
		c.id(p+".id", "condition", cd.ID)
		if cd.ID != "" && conds[cd.ID] {
			c.add(p+".id", ErrInvalidField, "%q is declared twice", cd.ID)
		}
		conds[cd.ID] = true
		c.text(p+".description", cd.Description, false)
		validateCondition(&c, p, cd, &s)
	}
	return c.ps
}

func validateFactor(c *specCheck, p string, f Factor) {
	if c.number(p+".value", f.Value) && f.Value.Sign() < 0 {
		c.add(p+".value", ErrInvalidField, "%s is negative", formatDecimal(f.Value))
	}
	switch {
	case f.Ratio():
		if f.Gas != "" {
			c.add(p+".gas", ErrInvalidField, "a dimensionless ratio has no gas basis")
		}
	case f.Numerator == "" || f.Denominator == "":
		missing := "numerator"
		if f.Numerator != "" {
			missing = "denominator"
		}
		c.add(p+"."+missing, ErrMissingField, "missing (a factor has both units or, if a ratio, neither)")
	default:
		for _, u := range [2]struct {
			name string
			unit carbon.Unit
		}{{"numerator", f.Numerator}, {"denominator", f.Denominator}} {
			if !u.unit.Valid() {
				c.add(p+"."+u.name, carbon.ErrUnknownUnit, "unit %q is not defined", clip(string(u.unit)))
			}
		}
		isMass := f.Numerator.Dimension() == carbon.DimMass
		switch {
		case isMass && f.Gas == "":
			c.add(p+".gas", ErrMissingField, "missing (an emission factor states its gas basis)")
		case isMass && f.Gas != CO2e && f.Gas != CO2:
			c.add(p+".gas", ErrInvalidField, "%q is not CO2e or CO2", clip(string(f.Gas)))
		case !isMass && f.Gas != "":
			c.add(p+".gas", ErrInvalidField, "only a factor with a mass numerator has a gas basis")
		}
	}
	if f.Region != "" && !f.Region.Valid() {
		c.add(p+".region", carbon.ErrUnknownRegion, "%q is not an ISO 3166-2:CN province-level code", clip(string(f.Region)))
	}
	switch {
	case f.DataYear == 0:
		c.add(p+".data_year", ErrNoProvenance, "missing")
	case f.DataYear < 1900 || f.DataYear > 2200:
		c.add(p+".data_year", ErrInvalidField, "%d is not a plausible year", f.DataYear)
	}
	if f.Source.Organisation == "" {
		c.add(p+".source.organisation", ErrNoProvenance, "missing")
	} else {
		c.text(p+".source.organisation", f.Source.Organisation, true)
	}
	if f.Source.Document == "" {
		c.add(p+".source.document", ErrNoProvenance, "missing")
	} else {
		c.text(p+".source.document", f.Source.Document, true)
	}
	c.url(p+".source.url", f.Source.URL)
	c.fraction(p+".uncertainty", f.Uncertainty)
}

func validateConservativeness(c *specCheck, k Conservativeness) {
	if c.number("conservativeness.resolution", k.Resolution.Grams()) && k.Resolution.IsNegative() {
		c.add("conservativeness.resolution", ErrInvalidField, "%s is negative", k.Resolution)
	}
	c.fraction("conservativeness.discount", k.Discount)
	if c.number("conservativeness.cap", k.Cap.Grams()) && k.Cap.IsNegative() {
		c.add("conservativeness.cap", ErrInvalidField, "%s is negative", k.Cap)
	}
}

func validateCondition(c *specCheck, p string, cd Condition, s *Spec) {
	qty := cd.Quantity != "" || cd.Min.IsSet() || cd.Max.IsSet() || cd.Min.Exclusive || cd.Max.Exclusive
	attr := cd.Attribute != "" || len(cd.Values) > 0
	reg := len(cd.Regions) > 0
	stray := func(field string, set bool) {
		if set {
			c.add(p+"."+field, ErrInvalidField, "does not belong to a %s condition", cd.Kind)
		}
	}
	switch cd.Kind {
	case QuantityRange:
		stray("attribute", attr)
		stray("regions", reg)
		c.id(p+".quantity", "quantity", cd.Quantity)
		if pm, ok := s.parameter(cd.Quantity); cd.Quantity != "" && (!ok || pm.Monitoring != Monitored) {
			c.add(p+".quantity", ErrUnknownReference, "%q is not a monitored parameter", clip(cd.Quantity))
		} else if ok {
			checkBound(c, p+".min", cd.Min, pm.Dimension)
			checkBound(c, p+".max", cd.Max, pm.Dimension)
		}
		if !cd.Min.IsSet() && !cd.Max.IsSet() {
			c.add(p, ErrMissingField, "a quantity condition needs min, max or both")
		}
		if cd.Min.IsSet() && cd.Max.IsSet() {
			if cmp, err := cd.Min.Value.Cmp(cd.Max.Value); err == nil && (cmp > 0 || (cmp == 0 && (cd.Min.Exclusive || cd.Max.Exclusive))) {
				c.add(p, ErrInvalidField, "min %s and max %s admit no value", cd.Min.Value, cd.Max.Value)
			}
		}
	case AttributeIn:
		stray("quantity", qty)
		stray("regions", reg)
		c.id(p+".attribute", "attribute", cd.Attribute)
		switch {
		case len(cd.Values) == 0:
			c.add(p+".in", ErrMissingField, "an attribute condition needs at least one value")
		case len(cd.Values) > maxValues:
			c.add(p+".in", ErrInvalidField, "has %d values, more than %d", len(cd.Values), maxValues)
			return
		}
		for j, v := range cd.Values {
			c.text(fmt.Sprintf("%s.in[%d]", p, j), v, true)
		}
	case RegionIn:
		stray("quantity", qty)
		stray("attribute", attr)
		switch {
		case len(cd.Regions) == 0:
			c.add(p+".regions", ErrMissingField, "a region condition needs at least one region")
		case len(cd.Regions) > maxValues:
			c.add(p+".regions", ErrInvalidField, "has %d regions, more than %d", len(cd.Regions), maxValues)
			return
		}
		for j, r := range cd.Regions {
			if !r.Valid() {
				c.add(fmt.Sprintf("%s.regions[%d]", p, j), carbon.ErrUnknownRegion, "%q is not an ISO 3166-2:CN province-level code", clip(string(r)))
			}
		}
	default:
		c.add(p+".kind", ErrInvalidField, "%s is not a condition kind", cd.Kind)
	}
}

func checkBound(c *specCheck, p string, b Bound, dim carbon.Dimension) {
	switch {
	case !b.IsSet():
		if b.Exclusive {
			c.add(p, ErrMissingField, "an exclusive bound needs a value")
		}
	case !c.number(p+".value", b.Value.Value()):
	case b.Value.Dimension() != dim:
		c.add(p+".value", ErrWrongUnit, "%s measures %s, the quantity measures %s", b.Value, b.Value.Dimension(), dim)
	}
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
