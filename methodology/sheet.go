package methodology

import (
	"crypto/sha256"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"slices"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// A Quantify call works in a sheet. Each term is computed in int64
// (fastTerm) and, when a number does not fit or a conversion is not a
// power of ten, with decimal.Decimal (exactTerm), the way Quantify first
// did; after an exact term the sums and adjustments are exact too
// (finishExact), and otherwise in int64 again (finishFast). The two ways
// give the same Result: see amount.go and fast_test.go.

// sheet is the working state of one Quantify call. Sheets are reused from
// one call to the next (built.sheets), so that their buffers are allocated
// once.
type sheet struct {
	m     *built
	act   carbon.Activity // for a Calc, a copy: the caller's maps, not their contents
	ref   bool            // compute with decimal.Decimal alone
	brief bool            // for a Brief: values that fit an fx get no decimal (value.lazy)
	exact bool            // a term was computed with decimal.Decimal, so the rest is too
	terms [3]int          // by Part-1
	steps []stepRec
	used  []int           // factor indexes, in order of first use
	text  []byte          // the expressions of the steps that have one of their own
	vals  []byte          // encodings of values (see value)
	enc   []byte          // the result encoding, after its prefix
	qs    []namedQuantity // the monitored quantities, in byte order of name, once admitted
	qsAll bool            // qs holds all the activity's quantities
	attrs [][2]string
	h     hash.Hash
	hs    encoding.BinaryUnmarshaler // h, to restore a saved state
	hsum  [sha256.Size]byte          // h.Sum's output

	be, pe, le, er value // the result's emissions, once finished
}

// stepRec is a step under construction: its expression is expr, or
// text[from:to] when inText. head is the start of its encoding (see
// stepHead).
type stepRec struct {
	name     string
	expr     string
	head     string
	from, to int
	inText   bool
	part     Part // a term's part; 0 for the other steps
	val      value
}

// value is a step's value: its decimal, and the same number as an fx when
// it fits one. When from < to, the value's encoding (see appendValue) is
// in the sheet's vals[from:to], so that a value shared by several steps is
// written out once.
//
// A lazy value (in a brief sheet) has no decimal: decimal makes it from x
// when needed.
type value struct {
	d        decimal.Decimal
	x        fx
	fit      bool
	lazy     bool
	from, to int32
}

// decimal returns v's decimal.
func (v *value) decimal() decimal.Decimal {
	if v.lazy {
		return v.x.decimal()
	}
	return v.d
}

// exactValue returns d as a value.
func exactValue(d decimal.Decimal) value {
	x, ok := fxOf(d)
	return value{d: d, x: x, fit: ok}
}

// fxValue returns x as a value, allocating its decimal unless the sheet
// is brief, and encodes it.
func (s *sheet) fxValue(x fx) value {
	v := value{x: x, fit: true, lazy: s.brief}
	if !s.brief {
		v.d = x.decimal()
	}
	from := len(s.vals)
	s.vals = appendValue(s.vals, &v)
	v.from, v.to = int32(from), int32(len(s.vals))
	return v
}

// zeroValue is decimal.Decimal's zero value, which costs no allocation.
func zeroValue() value { return value{fit: true} }

// appendText appends v in the canonical notation (dec.Format's).
func (v *value) appendText(b []byte) []byte {
	if v.fit {
		return dec.AppendInt64(b, v.x.c, v.x.e)
	}
	return dec.Append(b, v.d)
}

type namedQuantity struct {
	name string
	q    carbon.Quantity
}

// getSheet returns a sheet for one Quantify call.
func (m *built) getSheet(ref bool) *sheet {
	s, _ := m.sheets.Get().(*sheet)
	if s == nil {
		s = &sheet{m: m, h: sha256.New()}
		s.hs, _ = s.h.(encoding.BinaryUnmarshaler)
	}
	s.ref, s.exact, s.terms, s.qsAll, s.brief = ref, ref, [3]int{}, false, false
	s.steps, s.used, s.text, s.vals, s.qs = s.steps[:0], s.used[:0], s.text[:0], s.vals[:0], s.qs[:0]
	return s
}

// putSheet returns s for reuse, dropping its references to the caller's
// data and to the result's.
func (m *built) putSheet(s *sheet) {
	s.act = carbon.Activity{}
	clear(s.steps)
	clear(s.qs)
	clear(s.attrs)
	s.be, s.pe, s.le, s.er = value{}, value{}, value{}, value{}
	m.sheets.Put(s)
}

// termFactors names a term's factors: by ID (Term), or by index in the Spec
// (a declarative formula).
type termFactors struct {
	ids []string
	idx []int
}

func (fs termFactors) len() int {
	if fs.idx != nil {
		return len(fs.idx)
	}
	return len(fs.ids)
}

// index returns the index of the j-th factor in the Spec, and false when the
// Spec declares no such factor.
func (fs termFactors) index(m *built, j int) (int, bool) {
	if fs.idx != nil {
		return fs.idx[j], true
	}
	return m.factorIndex(fs.ids[j])
}

// term is Term, for activity a, after the checks of its arguments.
func (s *sheet) term(a *carbon.Activity, part Part, quantity string, q carbon.Quantity, fs termFactors) error {
	// The expression is appended after s.text's end, which moves only on
	// success.
	var v value
	b, x, ok := s.fastTerm(quantity, q, fs)
	if ok {
		v = s.fxValue(x)
	} else {
		var err error
		var d decimal.Decimal
		if b, d, err = s.exactTerm(a, quantity, q, fs); err != nil {
			return err
		}
		v, s.exact = exactValue(d), true
	}
	from := len(s.text)
	s.text = b
	for j := range fs.len() {
		k, _ := fs.index(s.m, j)
		if !slices.Contains(s.used, k) {
			s.used = append(s.used, k)
		}
	}
	i := part - 1
	name, head := termName(part, s.terms[i]), ""
	if n := s.terms[i]; n < len(s.m.heads.term[i]) {
		head = s.m.heads.term[i][n]
	} else {
		head = stepHead(name, "", true)
	}
	s.steps = append(s.steps, stepRec{name: name, head: head, from: from, to: len(b), inText: true, part: part, val: v})
	s.terms[i]++
	return nil
}

// fastTerm computes a term in int64, reporting false when anything does
// not fit or is out of the ordinary (a conversion that is not a power of
// ten, an error), which exactTerm then computes or reports.
func (s *sheet) fastTerm(quantity string, q carbon.Quantity, fs termFactors) ([]byte, fx, bool) {
	m := s.m
	x, ok := fxOf(q.Value())
	if !ok || s.ref {
		return nil, fx{}, false
	}
	b := append(s.text, quantity...)
	b = append(b, " ("...)
	b = dec.AppendInt64(b, x.c, x.e)
	b = append(b, ' ')
	b = append(b, q.Unit()...)
	b = append(b, ')')
	unit := q.Unit()
	for j := range fs.len() {
		k, ok := fs.index(m, j)
		if !ok {
			return nil, fx{}, false
		}
		f := &m.factors[k]
		if !f.fit {
			return nil, fx{}, false
		}
		if !f.ratio && unit != f.den {
			sh, ok := pow10Ratios[unitPair{unit, f.den}]
			if !ok {
				return nil, fx{}, false
			}
			if x, ok = shiftFx(x, sh); !ok || !x.inRange() {
				return nil, fx{}, false
			}
			b = append(b, " → "...)
			b = dec.AppendInt64(b, x.c, x.e)
			b = append(b, ' ')
			b = append(b, f.den...)
			unit = f.den
		}
		b = append(b, f.text...)
		if !f.ratio {
			unit = f.num
		}
		if x, ok = mulFx(x, f.value); !ok || !x.inRange() {
			return nil, fx{}, false
		}
	}
	if unit != carbon.Gram {
		sh, ok := pow10Ratios[unitPair{unit, carbon.Gram}]
		if !ok {
			return nil, fx{}, false
		}
		if x, ok = shiftFx(x, sh); !ok || !x.inRange() {
			return nil, fx{}, false
		}
	}
	return b, x, true
}

// exactTerm computes a term with decimal.Decimal, returning its expression
// appended to s.text and its value in grams, or Term's errors.
func (s *sheet) exactTerm(a *carbon.Activity, quantity string, q carbon.Quantity, fs termFactors) ([]byte, decimal.Decimal, error) {
	m := s.m
	b := append(s.text, quantity...)
	b = append(b, " ("...)
	b = dec.Append(b, q.Value())
	b = append(b, ' ')
	b = append(b, q.Unit()...)
	b = append(b, ')')
	v, unit := q.Value(), q.Unit()
	converted := false // whether a unit-bearing factor has applied yet
	for j := range fs.len() {
		k, ok := fs.index(m, j)
		if !ok {
			return nil, decimal.Decimal{}, fmt.Errorf("%w: %s: term uses undeclared factor %q", ErrCalculation, m.ref, fs.ids[j])
		}
		f, sf := &m.factors[k], &m.spec.Factors[k]
		if !f.ratio && unit != f.den {
			cv, err := convert(v, unit, f.den)
			if err != nil {
				if !converted {
					p := Problem{Field: quantityField(quantity), Err: ErrWrongUnit,
						Msg: fmt.Sprintf("%s given where %s is required", q, unitPhrase(f.den))}
					if errors.Is(err, carbon.ErrInexact) {
						// The right dimension, but no exact decimal in the
						// unit required: 600 s is 1/6 hour.
						p.Err, p.Msg = carbon.ErrInexact, fmt.Sprintf("%s is no exact decimal number of %s; report it in %s", q, f.den, f.den)
					}
					return nil, decimal.Decimal{}, &ActivityError{Methodology: m.ref, Activity: a.ID, Problems: []Problem{p}}
				}
				return nil, decimal.Decimal{}, fmt.Errorf("%w: %s: factor %q is per %s, but the term so far measures %s", ErrCalculation, m.ref, sf.ID, f.den, unit)
			}
			if !dec.InRange(cv) {
				return nil, decimal.Decimal{}, s.termOutOfRange(a, quantity, q)
			}
			b = append(b, " → "...)
			b = dec.Append(b, cv)
			b = append(b, ' ')
			b = append(b, f.den...)
			v, unit = cv, f.den
		}
		b = append(b, f.text...)
		if !f.ratio {
			unit = f.num
			converted = true
		}
		if v = v.Mul(sf.Value); !dec.InRange(v) {
			return nil, decimal.Decimal{}, s.termOutOfRange(a, quantity, q)
		}
	}
	grams, err := convert(v, unit, carbon.Gram)
	if err != nil {
		return nil, decimal.Decimal{}, fmt.Errorf("%w: %s: term ends in %s, not a mass", ErrCalculation, m.ref, unitPhrase(unit))
	}
	if !dec.InRange(grams) {
		return nil, decimal.Decimal{}, s.termOutOfRange(a, quantity, q)
	}
	return b, grams, nil
}

// termOutOfRange reports a term of quantity q, for activity a, whose
// running product leaves the numbers carbonkit computes with exactly
// (dec.InRange): written out, they would not parse back, and the result's
// digest would depend on how the decimals were scaled.
func (s *sheet) termOutOfRange(a *carbon.Activity, quantity string, q carbon.Quantity) error {
	return &ActivityError{Methodology: s.m.ref, Activity: a.ID, Problems: []Problem{{
		Field: quantityField(quantity), Err: ErrOutOfRange,
		Msg: fmt.Sprintf("%s times the methodology's factors needs more than 1000 digits or decimal places", q),
	}}}
}

// inRange reports whether every value of the finished sheet is within
// dec.InRange: the terms' (which term checks), and the sums and adjustments
// made of them.
func (s *sheet) inRange() bool {
	for i := range s.steps {
		if !s.steps[i].val.inRange() {
			return false
		}
	}
	return s.be.inRange() && s.pe.inRange() && s.le.inRange() && s.er.inRange()
}

// inRange reports whether v is within dec.InRange.
func (v *value) inRange() bool {
	if v.fit {
		return v.x.inRange()
	}
	return dec.InRange(v.d)
}

// run evaluates a declarative formula for a, as its calc would with Term.
func (s *sheet) run(a *carbon.Activity, pl *plan) error {
	for i := range pl.parts {
		for _, t := range pl.parts[i] {
			var q carbon.Quantity
			if t.name < len(s.qs) { // admitted, and a validated formula reads monitored quantities
				q = s.qs[t.name].q
			} else {
				var ok bool
				if q, ok = a.Quantities[t.quantity]; !ok { // Quantify checked every monitored parameter is present
					return fmt.Errorf("%w: %s: quantity %q missing", ErrCalculation, s.m.ref, t.quantity)
				}
			}
			if err := s.term(a, Part(i+1), t.quantity, q, termFactors{idx: t.factors}); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishExact sums the parts and applies Conservativeness with
// decimal.Decimal, appending the steps after the terms'.
func (m *built) finishExact(s *sheet) {
	var sums [3]decimal.Decimal // grams, by Part-1
	var seen [3]bool
	for i := range s.steps {
		st := &s.steps[i]
		if p := st.part - 1; !seen[p] {
			sums[p], seen[p] = st.val.decimal(), true
		} else {
			sums[p] = sums[p].Add(st.val.decimal())
		}
	}
	s.be = s.sumStep(Baseline, exactValue(sums[0]))
	s.pe = s.sumStep(Project, exactValue(sums[1]))
	s.le = s.sumStep(Leakage, exactValue(sums[2]))
	er := s.be.d
	if s.pe.d.Sign() != 0 {
		er = er.Sub(s.pe.d)
	}
	if s.le.d.Sign() != 0 {
		er = er.Sub(s.le.d)
	}
	s.step("ER.gross", "BE − PE − LE", m.heads.gross, exactValue(er))
	if er.Sign() < 0 {
		er = decimal.Decimal{}
		s.step("ER.floor", "max(0, ER.gross)", m.heads.floor, exactValue(er))
	}
	if m.discount {
		er = er.Mul(m.keep)
		s.step("ER.discount", m.discountText, m.heads.discount, exactValue(er))
	}
	if m.capped {
		if c := m.spec.Conservativeness.Cap.Grams(); er.Cmp(c) > 0 {
			er = c
		}
		s.step("ER.cap", m.capText, m.heads.cap, exactValue(er))
	}
	s.er = exactValue(roundDown(carbon.Grams(er), m.resolution, m.resPow10).Grams())
	s.step("ER", m.roundingText, m.heads.round, s.er)
}

// finishFast is finishExact in int64. When a number does not fit it reports
// false, having changed nothing. The decimals of the steps are shared where
// finishExact's arithmetic shares them, so that each new number is
// allocated once.
func (m *built) finishFast(s *sheet) bool {
	var sums [3]fx
	var first [3]int // the index of each part's first term
	var seen [3]bool
	var ok bool
	for i := range s.steps {
		st := &s.steps[i]
		if p := st.part - 1; !seen[p] {
			sums[p], first[p], seen[p] = st.val.x, i, true
		} else if sums[p], ok = addFx(sums[p], st.val.x); !ok {
			return false
		}
	}
	be, pe, le := sums[0], sums[1], sums[2]
	er := be
	if pe.c != 0 {
		if er, ok = subFx(er, pe); !ok {
			return false
		}
	}
	if le.c != 0 {
		if er, ok = subFx(er, le); !ok {
			return false
		}
	}
	gross := er
	floored := er.c < 0
	if floored {
		er = fx{}
	}
	discounted := er
	if m.discount {
		if !m.keepFit {
			return false
		}
		if er, ok = mulFx(er, m.keepFx); !ok {
			return false
		}
		discounted = er
	}
	capHit := false
	if m.capped {
		if !m.capV.fit {
			return false
		}
		c, ok := cmpFx(er, m.capV.x)
		if !ok {
			return false
		}
		if capHit = c > 0; capHit {
			er = m.capV.x
		}
	}
	if m.resPow10 == unusedPow10 {
		return false
	}
	rounded := er.e < m.resPow10
	final := er
	if rounded {
		final = roundDownFx(er, m.resPow10)
	}

	// Everything fits: the steps.
	sum := func(p Part, x fx) value {
		i := p - 1
		switch s.terms[i] {
		case 0:
			return s.sumStep(p, zeroValue())
		case 1:
			return s.sumStep(p, s.steps[first[i]].val)
		}
		return s.sumStep(p, s.fxValue(x))
	}
	s.be, s.pe, s.le = sum(Baseline, be), sum(Project, pe), sum(Leakage, le)
	v := s.be
	if pe.c != 0 || le.c != 0 {
		v = s.fxValue(gross)
	}
	s.step("ER.gross", "BE − PE − LE", m.heads.gross, v)
	if floored {
		v = zeroValue()
		s.step("ER.floor", "max(0, ER.gross)", m.heads.floor, v)
	}
	if m.discount {
		v = s.fxValue(discounted)
		s.step("ER.discount", m.discountText, m.heads.discount, v)
	}
	if m.capped {
		if capHit {
			v = m.capV
		}
		s.step("ER.cap", m.capText, m.heads.cap, v)
	}
	if rounded {
		v = s.fxValue(final)
	}
	s.er = v
	s.step("ER", m.roundingText, m.heads.round, v)
	return true
}

// result returns the finished Result of s, for activity a.
func (m *built) result(s *sheet, a *carbon.Activity) Result {
	// One allocation for the steps and factors when they are few, and one
	// for the text of every expression.
	var steps []Step
	var factors []FactorRef
	if len(s.steps) <= len(resultSpace{}.steps) && len(s.used) <= len(resultSpace{}.factors) {
		rs := new(resultSpace)
		steps, factors = rs.steps[:len(s.steps):len(s.steps)], rs.factors[:len(s.used):len(s.used)]
	} else {
		steps, factors = make([]Step, len(s.steps)), make([]FactorRef, len(s.used))
	}
	text := string(s.text)
	for i := range s.steps {
		st := &s.steps[i]
		expr := st.expr
		if st.inText {
			expr = text[st.from:st.to]
		}
		steps[i] = Step{Name: st.name, Expression: expr, Value: carbon.Grams(st.val.d)}
	}
	for i, k := range s.used {
		factors[i] = m.factors[k].ref
	}
	return Result{
		MethodologyID: m.spec.ID,
		Version:       m.spec.Version,
		SpecDigest:    m.digest,
		BE:            carbon.Grams(s.be.d),
		PE:            carbon.Grams(s.pe.d),
		LE:            carbon.Grams(s.le.d),
		ER:            carbon.Grams(s.er.d),
		Steps:         steps,
		Factors:       factors,
		Resolution:    m.resolution,
		Rounding:      carbon.TowardZero,
		Digest:        s.digest(a),
	}
}

// resultSpace is the backing store of a usual Result's steps and factors.
type resultSpace struct {
	steps   [8]Step
	factors [4]FactorRef
}

// step appends a step whose expression is expr and whose encoding starts
// with head.
func (s *sheet) step(name, expr, head string, v value) {
	s.steps = append(s.steps, stepRec{name: name, expr: expr, head: head, val: v})
}

// sumStep appends the step summing part p, whose value is v, and returns v.
func (s *sheet) sumStep(p Part, v value) value {
	i, h := p-1, &s.m.heads
	switch n := s.terms[i]; n {
	case 0:
		s.step(p.String(), "0", h.sum[i][0], v)
	case 1:
		s.step(p.String(), termName(p, 0), h.sum[i][1], v)
	default:
		from := len(s.text)
		for j := range n {
			if j > 0 {
				s.text = append(s.text, " + "...)
			}
			s.text = append(s.text, termName(p, j)...)
		}
		s.steps = append(s.steps, stepRec{name: p.String(), head: h.sum[i][2], from: from, to: len(s.text), inText: true, val: v})
	}
	return v
}
