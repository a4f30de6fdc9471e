package methodology

import (
	"errors"
	"fmt"
	"strings"

	"github.com/carbonkit/carbonkit/carbon"
)

// Sentinel errors. Every error this package returns matches one of the first
// group with errors.Is; the detail types below (*ActivityError, *SpecError,
// *ResolveError, *MismatchError, *ConflictError) say which value was wrong and
// why, and also match the sentinels of each individual problem. The set is
// append-only.
var (
	// ErrNotQuantifiable: an activity cannot be quantified by a methodology.
	// The error is an *ActivityError listing every reason.
	ErrNotQuantifiable = errors.New("methodology: activity cannot be quantified")
	// ErrInvalidSpec: a Spec, a formula or a declarative document is not
	// acceptable. The error is a *SpecError listing every problem.
	ErrInvalidSpec = errors.New("methodology: invalid methodology")
	// ErrNotFound: no methodology is registered under the ID and version asked
	// for.
	ErrNotFound = errors.New("methodology: not registered")
	// ErrNoneInForce: no active methodology of the scenario is valid at the
	// time asked for. The error is a *ResolveError.
	ErrNoneInForce = errors.New("methodology: no methodology in force")
	// ErrAmbiguous: more than one active methodology of the scenario is valid
	// at the time asked for. The error is a *ResolveError naming them.
	ErrAmbiguous = errors.New("methodology: more than one methodology in force")
	// ErrConflict: a different methodology is already registered under the
	// same ID and version. The error is a *ConflictError.
	ErrConflict = errors.New("methodology: conflicting registration")
	// ErrMismatch: a result does not match its recomputation. The error is a
	// *MismatchError naming the first field that differs.
	ErrMismatch = errors.New("methodology: result does not match its recomputation")
	// ErrCalculation: a Go-coded calculation failed for a reason that is not
	// the activity's fault (a bug in the Calc, or a formula whose units do not
	// chain); it is never returned by the built-in catalog.
	ErrCalculation = errors.New("methodology: calculation failed")
)

// Problem sentinels: each problem inside an *ActivityError or a *SpecError
// carries one of these (or one of package carbon's), so that a caller can ask
// errors.Is(err, ErrMissingQuantity) of the whole error.
var (
	// ErrScenarioMismatch: the activity's scenario is not the methodology's.
	ErrScenarioMismatch = errors.New("methodology: activity scenario is not the methodology's")
	// ErrOutsideValidity: the activity occurred outside the methodology's
	// validity window [ValidFrom, ValidTo).
	ErrOutsideValidity = errors.New("methodology: activity outside the validity window")
	// ErrMissingQuantity: a quantity the methodology reads is not reported.
	ErrMissingQuantity = errors.New("methodology: required quantity missing")
	// ErrWrongUnit: a quantity is in a unit that does not convert to the one
	// required (km given where kg is required, or boxes where orders are). It
	// also matches carbon.ErrDimensionMismatch.
	ErrWrongUnit = fmt.Errorf("methodology: wrong unit: %w", carbon.ErrDimensionMismatch)
	// ErrConditionNotMet: the activity falls outside an applicability
	// condition; the problem names the condition.
	ErrConditionNotMet = errors.New("methodology: applicability condition not met")
	// ErrOutOfRange: a number is too large or too precise for carbonkit to
	// compute with safely (more than dec.MaxDigits digits, or an exponent
	// beyond that many places).
	ErrOutOfRange = errors.New("methodology: number out of range")
	// ErrMissingField: a required field of a Spec or document is empty.
	ErrMissingField = errors.New("methodology: required field missing")
	// ErrInvalidField: a field of a Spec or document has a value that is not
	// acceptable; the problem says why.
	ErrInvalidField = errors.New("methodology: invalid field")
	// ErrUnknownField: a declarative document has a field this package does
	// not define.
	ErrUnknownField = errors.New("methodology: unknown field")
	// ErrMalformedJSON: a declarative document is not well-formed JSON, or a
	// value has the wrong JSON type.
	ErrMalformedJSON = errors.New("methodology: malformed json")
	// ErrNoProvenance: a factor lacks its source (organisation, document) or
	// data year.
	ErrNoProvenance = errors.New("methodology: factor without provenance")
	// ErrUnknownReference: a formula, condition or parameter names a
	// quantity, parameter or factor the Spec does not declare.
	ErrUnknownReference = errors.New("methodology: unknown reference")
)

// Problem is one thing wrong with an activity or a Spec.
type Problem struct {
	// Field locates the problem: for an activity, the field as named in JSON
	// ("quantities[orders]", "attributes[condition]", "region",
	// "occurred_at"); for a Spec, its path ("factors[2].source.organisation");
	// for a declarative document, a JSON path ("$.factors[2].value").
	Field string
	// Err is a sentinel of this package or of package carbon.
	Err error
	// Msg says what was wrong with the value.
	Msg string
}

// String formats the problem as "field: message".
func (p Problem) String() string { return p.Field + ": " + p.Msg }

// ActivityError lists every reason one methodology cannot quantify one
// activity: fields that fail carbon.Activity.Validate, a scenario or time the
// methodology does not cover, missing or mis-dimensioned quantities, and each
// violated applicability condition. It matches ErrNotQuantifiable and every
// problem's sentinel.
type ActivityError struct {
	Methodology string // "id@version", or empty when none was resolved
	Activity    string // the activity's ID
	Problems    []Problem
}

// Error lists the problems, separated by semicolons.
func (e *ActivityError) Error() string {
	if e.Methodology == "" {
		return fmt.Sprintf("methodology: cannot quantify activity %q: %s", e.Activity, joinProblems(e.Problems))
	}
	return fmt.Sprintf("methodology: %s cannot quantify activity %q: %s", e.Methodology, e.Activity, joinProblems(e.Problems))
}

// Is matches ErrNotQuantifiable.
func (e *ActivityError) Is(target error) bool { return target == ErrNotQuantifiable }

// Unwrap returns every problem's error.
func (e *ActivityError) Unwrap() []error { return problemErrs(e.Problems) }

// SpecError lists every problem found in a Spec, its formula, or a
// declarative document. It matches ErrInvalidSpec and every problem's
// sentinel.
type SpecError struct {
	Methodology string // "id@version" as given, possibly empty or malformed
	Problems    []Problem
}

// Error lists the problems, separated by semicolons.
func (e *SpecError) Error() string {
	name := e.Methodology
	if name == "" || name == "@" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("methodology: invalid methodology %s: %s", name, joinProblems(e.Problems))
}

// Is matches ErrInvalidSpec.
func (e *SpecError) Is(target error) bool { return target == ErrInvalidSpec }

// Unwrap returns every problem's error.
func (e *SpecError) Unwrap() []error { return problemErrs(e.Problems) }

// ResolveError reports that a scenario has no methodology in force at a time,
// or more than one. It matches ErrNoneInForce or ErrAmbiguous.
type ResolveError struct {
	Scenario   carbon.Scenario
	At         string   // the time asked for, RFC 3339 in UTC
	Candidates []string // "id@version" of each methodology in force (ErrAmbiguous only)
	Err        error    // ErrNoneInForce or ErrAmbiguous
}

// Error implements error.
func (e *ResolveError) Error() string {
	if len(e.Candidates) > 0 {
		return fmt.Sprintf("methodology: scenario %q at %s: more than one methodology in force: %s",
			string(e.Scenario), e.At, strings.Join(e.Candidates, ", "))
	}
	return fmt.Sprintf("methodology: scenario %q at %s: no active methodology in force", string(e.Scenario), e.At)
}

// Unwrap returns the sentinel.
func (e *ResolveError) Unwrap() error { return e.Err }

// ConflictError reports a second registration of an ID and version whose
// content differs from the first. It matches ErrConflict.
type ConflictError struct {
	Methodology string // "id@version"
	Registered  string // content digest of the registered methodology
	Offered     string // content digest of the rejected one
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("methodology: %s is already registered with different content (registered %s, offered %s)",
		e.Methodology, short(e.Registered), short(e.Offered))
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// MismatchError reports the first field of a result that differs from its
// recomputation. It matches ErrMismatch, and also ErrNotFound when the result
// names a methodology the registry does not hold.
type MismatchError struct {
	Methodology string // "id@version" named by the result
	Field       string // "methodology", "er", "steps[3].value", "digest"...
	Got         string // the value in the result given
	Want        string // the recomputed value
	// Err, when set, is why there is no recomputation: ErrNotFound for a
	// version the registry does not hold.
	Err error
}

// Error implements error.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("methodology: %s: result %s is %q, recomputation gives %q", e.Methodology, e.Field, e.Got, e.Want)
}

// Unwrap returns ErrMismatch, and Err when set.
func (e *MismatchError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMismatch, e.Err}
	}
	return []error{ErrMismatch}
}

func joinProblems(ps []Problem) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func problemErrs(ps []Problem) []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p.Err
	}
	return out
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
