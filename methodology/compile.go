package methodology

import (
	"crypto/sha256"
	"encoding"
	"slices"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
)

// What Quantify can derive from a methodology's Spec alone it derives once,
// when the methodology is built: the factors' values as fx and their parts
// of expressions and encodings, the conditions' bounds, the constant
// records of the result encoding and the SHA-256 state after the first of
// them.

// factorInfo is what Quantify needs of a factor, prepared in advance.
type factorInfo struct {
	ref      FactorRef
	value    fx   // the factor's value, when fit
	fit      bool // whether value holds it
	ratio    bool
	num, den carbon.Unit
	text     string // its part of a term's expression: " × id (value num/den)"
	records  string // its records in a result encoding
}

// condInfo holds a quantity condition's bounds as fx, when they fit, and
// the index of its quantity in built.names.
type condInfo struct {
	min, max       fx
	minFit, maxFit bool
	name           int
}

// compile prepares m's factors, conditions and encodings for Quantify.
func (m *built) compile() {
	s := &m.spec
	m.factors = make([]factorInfo, len(s.Factors))
	for i := range s.Factors {
		f := &s.Factors[i]
		fi := &m.factors[i]
		fi.ref = FactorRef{ID: f.ID, Version: f.Version}
		fi.value, fi.fit = fxOf(f.Value)
		fi.ratio, fi.num, fi.den = f.Ratio(), f.Numerator, f.Denominator
		b := append([]byte(" × "), f.ID...)
		b = append(b, " ("...)
		b = dec.Append(b, f.Value)
		if !fi.ratio {
			b = append(b, ' ')
			b = append(b, f.Numerator...)
			b = append(b, '/')
			b = append(b, f.Denominator...)
		}
		fi.text = string(append(b, ')'))
		r := appendRecord(nil, "factor", f.ID)
		r = appendRecord(r, "version", f.Version)
		fi.records = string(appendDecimalRecord(r, "value", exactValue(f.Value)))
	}
	if len(s.Factors) > linearFactors {
		m.factorIDs = make(map[string]int, len(s.Factors))
		for i := range s.Factors {
			m.factorIDs[s.Factors[i].ID] = i
		}
	}
	for i := range s.Parameters {
		if s.Parameters[i].Monitoring == Monitored {
			m.names = append(m.names, s.Parameters[i].Name)
		}
	}
	slices.Sort(m.names)
	m.dims, m.units = make([]carbon.Dimension, len(m.names)), make([]carbon.Unit, len(m.names))
	for i, name := range m.names {
		pm, _ := s.parameter(name)
		m.dims[i] = pm.Dimension
		// The unit the Spec's conditions bound the quantity in is the one
		// activities most likely report it in.
		for _, cd := range s.Conditions {
			if cd.Kind != QuantityRange || cd.Quantity != name {
				continue
			}
			for _, u := range [2]carbon.Unit{cd.Max.Value.Unit(), cd.Min.Value.Unit()} {
				if m.units[i] == "" && u.Valid() && u.Dimension() == pm.Dimension {
					m.units[i] = u
				}
			}
		}
	}
	if m.plan != nil {
		for i := range m.plan.parts {
			for j := range m.plan.parts[i] {
				t := &m.plan.parts[i][j]
				t.name, _ = slices.BinarySearch(m.names, t.quantity)
			}
		}
	}
	m.conds = make([]condInfo, len(s.Conditions))
	for i := range s.Conditions {
		cd, ci := &s.Conditions[i], &m.conds[i]
		if cd.Min.IsSet() {
			ci.min, ci.minFit = fxOf(cd.Min.Value.Value())
		}
		if cd.Max.IsSet() {
			ci.max, ci.maxFit = fxOf(cd.Max.Value.Value())
		}
		if cd.Kind == QuantityRange {
			ci.name, _ = slices.BinarySearch(m.names, cd.Quantity)
		}
	}
	m.keepFx, m.keepFit = fxOf(m.keep)
	m.capV = exactValue(s.Conservativeness.Cap.Grams())

	// See sheet.digest for the records.
	p := appendRecord(nil, "encoding", resultEncoding)
	p = appendRecord(p, "methodology", s.ID)
	p = appendRecord(p, "version", s.Version)
	m.prefix = appendRecord(p, "spec", m.digest)
	h := sha256.New()
	h.Write(m.prefix)
	if bm, ok := h.(encoding.BinaryMarshaler); ok {
		if state, err := bm.MarshalBinary(); err == nil {
			m.prefixSum = state
		}
	}
	t := appendDecimalRecord(nil, "resolution", exactValue(m.resolution.Grams()))
	m.tail = appendRecord(t, "rounding", carbon.TowardZero.String())
}

// linearFactors is how many factors a Spec may have before Term looks them
// up in a map rather than in order.
const linearFactors = 16

// factorIndex returns the index of the factor with the given ID.
func (m *built) factorIndex(id string) (int, bool) {
	if m.factorIDs != nil {
		i, ok := m.factorIDs[id]
		return i, ok
	}
	for i := range m.spec.Factors {
		if m.spec.Factors[i].ID == id {
			return i, true
		}
	}
	return 0, false
}

// heads holds the start of the encoding of each usual step (see stepHead).
type heads struct {
	term                               [3][4]string // BE[0] to LE[3]
	sum                                [3][3]string // BE, PE, LE: of no term, of one, of more
	gross, floor, discount, cap, round string
}

// stepHead returns the records that start the encoding of the step name
// whose expression is expr (see encodeResult), up to the tag of the
// record that comes next: "value " after a constant expression, and
// "expression " before one in text (inText).
func stepHead(name, expr string, inText bool) string {
	b := appendRecord(nil, "step", name)
	if inText {
		return string(append(b, "expression "...))
	}
	b = appendRecord(b, "expression", expr)
	return string(append(b, "value "...))
}

// compileHeads fills m.heads.
func (m *built) compileHeads() {
	h := &m.heads
	for i, p := range [3]Part{Baseline, Project, Leakage} {
		for j := range h.term[i] {
			h.term[i][j] = stepHead(termName(p, j), "", true)
		}
		h.sum[i] = [3]string{stepHead(p.String(), "0", false), stepHead(p.String(), termName(p, 0), false), stepHead(p.String(), "", true)}
	}
	h.gross = stepHead("ER.gross", "BE − PE − LE", false)
	h.floor = stepHead("ER.floor", "max(0, ER.gross)", false)
	h.discount = stepHead("ER.discount", m.discountText, false)
	h.cap = stepHead("ER.cap", m.capText, false)
	h.round = stepHead("ER", m.roundingText, false)
}
