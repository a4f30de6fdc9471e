package methodology

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// Registry holds methodology versions by ID and version, and resolves the one
// in force for a scenario at a time. Create one with New (the zero value is
// an empty Registry too). A Registry is safe for concurrent use: registration takes a
// write lock, everything else a read lock, and Methodology values are
// immutable, so a methodology returned by Get or Resolve stays valid and
// unchanged for as long as the caller holds it.
//
// Registered versions are immutable: a version can be neither replaced nor
// removed, so a result can always be verified against the version that
// produced it. To withdraw a version, register a successor whose validity
// window starts where the old one should stop (and give the old one a
// matching ValidTo in a new version of its own, or retire it), never edit it.
type Registry struct {
	mu    sync.RWMutex
	byRef map[string]entry
	// byScenario lists each scenario's entries in registration order.
	byScenario map[carbon.Scenario][]entry
}

type entry struct {
	m      Methodology
	spec   Spec // the Spec as registered, never exposed
	digest string
}

// New returns an empty Registry.
func New() *Registry {
	return &Registry{byRef: map[string]entry{}, byScenario: map[carbon.Scenario][]entry{}}
}

// Register adds m. Registering the same content again under its ID and
// version is a no-op that returns nil; registering different content (by
// Spec.Digest) under an ID and version already held is a *ConflictError
// matching ErrConflict. A nil m or an invalid Spec is a *SpecError matching
// ErrInvalidSpec. Overlapping validity windows of active versions are allowed
// here and reported by Resolve, since either may be the one a host meant to
// retire.
func (r *Registry) Register(m Methodology) error {
	if m == nil {
		return &SpecError{Problems: []Problem{{Field: "methodology", Err: ErrMissingField, Msg: "nil methodology"}}}
	}
	spec := m.Spec()
	if ps := validateSpec(spec); len(ps) > 0 {
		return &SpecError{Methodology: spec.Ref(), Problems: ps}
	}
	var digest string
	if cd, ok := m.(contentDigester); ok {
		digest = cd.contentDigest()
	} else {
		digest = encodeSpec(spec)
	}
	ref := spec.Ref()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byRef == nil {
		r.byRef, r.byScenario = map[string]entry{}, map[carbon.Scenario][]entry{}
	}
	if old, ok := r.byRef[ref]; ok {
		if old.digest == digest {
			return nil
		}
		return &ConflictError{Methodology: ref, Registered: old.digest, Offered: digest}
	}
	e := entry{m: m, spec: spec, digest: digest}
	r.byRef[ref] = e
	r.byScenario[spec.Scenario] = append(r.byScenario[spec.Scenario], e)
	return nil
}

// Get returns the methodology registered as id@version, whatever its status,
// or an error matching ErrNotFound.
func (r *Registry) Get(id, version string) (Methodology, error) {
	r.mu.RLock()
	e, ok := r.byRef[id+"@"+version]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q version %q", ErrNotFound, clip(id), clip(version))
	}
	return e.m, nil
}

// Resolve returns the one active methodology of scenario whose validity
// window [ValidFrom, ValidTo) contains at. It returns a *ResolveError
// matching ErrNoneInForce when there is none (an unknown scenario, a time
// before the first version or after the last, or only draft and retired
// versions), and one matching ErrAmbiguous, naming the candidates, when more
// than one is in force.
func (r *Registry) Resolve(scenario carbon.Scenario, at time.Time) (Methodology, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// The usual case, one version in force, allocates nothing.
	list := r.byScenario[scenario]
	var found Methodology
	n := 0
	for i := range list {
		if list[i].inForce(at) {
			found = list[i].m
			n++
		}
	}
	switch n {
	case 1:
		return found, nil
	case 0:
		return nil, &ResolveError{Scenario: scenario, At: at.UTC().Format(time.RFC3339Nano), Err: ErrNoneInForce}
	}
	names := make([]string, 0, n)
	for i := range list {
		if list[i].inForce(at) {
			names = append(names, list[i].spec.Ref())
		}
	}
	slices.Sort(names)
	return nil, &ResolveError{Scenario: scenario, At: at.UTC().Format(time.RFC3339Nano), Candidates: names, Err: ErrAmbiguous}
}

// inForce reports whether e is active and valid at t.
func (e *entry) inForce(t time.Time) bool {
	s := &e.spec
	return s.Status == Active && !t.Before(s.ValidFrom) && (s.ValidTo.IsZero() || t.Before(s.ValidTo))
}

// List returns a copy of every registered Spec, ordered by scenario, then
// ValidFrom, then ID and version.
func (r *Registry) List() []Spec {
	r.mu.RLock()
	out := make([]Spec, 0, len(r.byRef))
	for _, e := range r.byRef {
		out = append(out, e.spec.clone())
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Spec) int {
		return cmp.Or(
			strings.Compare(string(a.Scenario), string(b.Scenario)),
			a.ValidFrom.Compare(b.ValidFrom),
			strings.Compare(a.ID, b.ID),
			strings.Compare(a.Version, b.Version),
		)
	})
	return out
}

// Quantify resolves the methodology in force for the activity's scenario at
// its OccurredAt and quantifies the activity with it. An activity that fails
// carbon.Activity.Validate is an *ActivityError (ErrNotQuantifiable) naming
// every problem, whether or not a methodology resolves; otherwise errors are
// Resolve's
// (ErrNoneInForce for an unknown scenario or a time no version covers,
// ErrAmbiguous) and the methodology's (ErrNotQuantifiable).
func (r *Registry) Quantify(a carbon.Activity) (Result, error) {
	m, err := r.resolveFor(&a)
	if err != nil {
		return Result{}, err
	}
	return m.Quantify(a)
}

// resolveFor resolves the methodology for a, as Quantify does.
func (r *Registry) resolveFor(a *carbon.Activity) (Methodology, error) {
	m, err := r.Resolve(a.Scenario, a.OccurredAt)
	if err != nil {
		// An invalid activity (no time, a malformed scenario) would resolve
		// to nothing: say what is wrong with it instead.
		if ps := validateActivity(a); len(ps) > 0 {
			return nil, &ActivityError{Activity: a.ID, Problems: ps}
		}
		return nil, err
	}
	return m, nil
}

// QuantifyBrief is Quantify for a caller that keeps the reduction and its
// citation, not the working: it returns the Brief of the Result that
// Quantify returns (the same ER and Digest), or the same error. For the
// methodologies this package makes (the built-in ones, LoadJSON's and
// NewDeclarative's, and Build's Go-coded ones) it makes no Result, and
// costs less; for any other Methodology it calls Quantify.
func (r *Registry) QuantifyBrief(a carbon.Activity) (Brief, error) {
	m, err := r.resolveFor(&a)
	if err != nil {
		return Brief{}, err
	}
	if b, ok := m.(*built); ok {
		return b.brief(&a)
	}
	res, err := m.Quantify(a)
	if err != nil {
		return Brief{}, err
	}
	return res.Brief(), nil
}

// Verify recomputes res under the methodology version it names, whatever that
// version's status now, and returns nil when res is exactly that result (see
// the package function Verify). A result naming a version the registry does
// not hold is an error matching both ErrMismatch and ErrNotFound.
func (r *Registry) Verify(a carbon.Activity, res Result) error {
	m, err := r.Get(res.MethodologyID, res.Version)
	if err != nil {
		return &MismatchError{Methodology: res.Ref(), Field: "methodology", Got: res.Ref(), Want: "a registered version", Err: err}
	}
	return Verify(m, a, res)
}
