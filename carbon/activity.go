package carbon

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carbonkit/carbonkit/internal/dec"
)

// MaxAttributeLen is the longest attribute value, in bytes, that an Activity
// may carry.
const MaxAttributeLen = 1024

// Activity is what a partner reports: one low-carbon action by one user. Its
// ID is the partner's own event ID, unique per partner, and is the handle that
// makes crediting idempotent: the same (Partner, ID) is credited once, ever.
//
// Quantities are the measured inputs a methodology reads ("orders": 1 order,
// "distance": 6.4 km); Attributes are the categorical ones ("category":
// "phone", "condition": "good"). The maps are not copied by carbonkit's
// functions that read an Activity, and must not be modified while one of them
// runs.
type Activity struct {
	ID         string              `json:"id"`
	Partner    PartnerID           `json:"partner"`
	User       UserID              `json:"user"`
	Scenario   Scenario            `json:"scenario"`
	OccurredAt time.Time           `json:"occurred_at"`
	Region     Region              `json:"region"`
	Quantities map[string]Quantity `json:"quantities,omitempty"`
	Attributes map[string]string   `json:"attributes,omitempty"`
}

// Quantity returns the named quantity and whether it is present.
func (a Activity) Quantity(name string) (Quantity, bool) {
	q, ok := a.Quantities[name]
	return q, ok
}

// Attribute returns the named attribute and whether it is present.
func (a Activity) Attribute(name string) (string, bool) {
	v, ok := a.Attributes[name]
	return v, ok
}

// Validate checks every field and returns nil or a *ValidationError naming every
// problem found, in a stable order (not just the first). The error matches
// ErrInvalidActivity, and also each problem's own sentinel (ErrInvalidID,
// ErrMissing, ErrUnknownRegion, ErrUnknownUnit, ErrOutOfRange, ErrNegative,
// ErrTooLong, ErrMalformedText, ErrNotWhole, ErrInvalidTime).
func (a Activity) Validate() error {
	var v ValidationError
	v.check("id", ValidateID("activity", a.ID))
	v.check("partner", a.Partner.Validate())
	v.check("user", a.User.Validate())
	v.check("scenario", a.Scenario.Validate())
	if a.OccurredAt.IsZero() {
		v.add("occurred_at", ErrMissing, "time is zero")
	} else if msg := unencodable(a.OccurredAt); msg != "" {
		v.add("occurred_at", ErrInvalidTime, msg)
	}
	switch {
	case a.Region == "":
		v.add("region", ErrMissing, "region is empty")
	case !a.Region.Valid():
		v.add("region", ErrUnknownRegion, fmt.Sprintf("%q is not an ISO 3166-2:CN province-level code", string(a.Region)))
	}
	// Names in order, so that problems are listed in order; on the stack
	// for a usual activity, which then validates without allocating.
	var buf [8]string
	for _, name := range appendSortedKeys(buf[:0], a.Quantities) {
		q := a.Quantities[name]
		if err := ValidateID("quantity name", name); err != nil {
			v.check("quantities["+name+"]", err)
			continue
		}
		switch {
		case !q.IsValid():
			v.add("quantities["+name+"]", ErrUnknownUnit, fmt.Sprintf("unit %q is not defined", string(q.unit)))
		case !dec.InRange(q.value):
			v.add("quantities["+name+"]", ErrOutOfRange, "value needs more than 1000 digits written out, or an exponent beyond ±1000")
		case q.IsNegative():
			v.add("quantities["+name+"]", ErrNegative, fmt.Sprintf("%s is negative", q))
		case q.IsFractionalCount():
			v.add("quantities["+name+"]", ErrNotWhole, fmt.Sprintf("%s is not a whole count", q))
		}
	}
	for _, name := range appendSortedKeys(buf[:0], a.Attributes) {
		val := a.Attributes[name]
		if err := ValidateID("attribute name", name); err != nil {
			v.check("attributes["+name+"]", err)
			continue
		}
		switch {
		case len(val) > MaxAttributeLen:
			v.add("attributes["+name+"]", ErrTooLong, fmt.Sprintf("value is %d bytes, more than %d", len(val), MaxAttributeLen))
		case !utf8.ValidString(val):
			v.add("attributes["+name+"]", ErrMalformedText, "value is not valid UTF-8")
		}
	}
	if len(v.Problems) == 0 {
		return nil
	}
	out := v // v itself stays on the stack
	return &out
}

// Problem is one thing wrong with a value under validation.
type Problem struct {
	Field string // the field, as named in JSON: "region", "quantities[distance]"
	Err   error  // a sentinel of this package or an error wrapping one
	Msg   string // what was wrong with the value
}

// String formats the problem as "field: message".
func (p Problem) String() string { return p.Field + ": " + p.Msg }

// ValidationError lists every problem found in one value. It matches
// ErrInvalidActivity and each problem's sentinel.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, separated by semicolons.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "carbon: invalid activity: " + strings.Join(parts, "; ")
}

// Is matches ErrInvalidActivity.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidActivity }

// Unwrap returns each problem's error, so errors.Is finds their sentinels.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Err
	}
	return out
}

func (e *ValidationError) add(field string, err error, msg string) {
	e.Problems = append(e.Problems, Problem{Field: field, Err: err, Msg: msg})
}

func (e *ValidationError) check(field string, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if ie, ok := err.(*IDError); ok {
		msg = ie.Reason
		if ie.ID != "" {
			msg = fmt.Sprintf("%q %s", ie.ID, ie.Reason)
		}
	}
	e.add(field, err, msg)
}

// appendSortedKeys appends m's keys to keys, sorted.
func appendSortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidTime reports whether t may be an activity's OccurredAt, as Validate
// decides: not zero, and a time RFC 3339, and so JSON, carries exactly.
func ValidTime(t time.Time) bool { return !t.IsZero() && unencodable(t) == "" }

// unencodable says why RFC 3339 cannot carry t exactly, or returns "": the
// time's digest covers its instant, which a JSON round trip must keep.
func unencodable(t time.Time) string {
	// Comparing instants is cheaper than computing the year, which only
	// the times near or past the bounds need.
	if t.Before(firstEncodable) || !t.Before(pastEncodable) {
		if y := t.Year(); y < 1 || y > 9999 {
			return fmt.Sprintf("year %d is outside 1 to 9999", y)
		}
	}
	if name, off := t.Zone(); off%60 != 0 {
		return fmt.Sprintf("zone %s's offset of %ds from UTC is not a whole number of minutes", name, off)
	}
	return ""
}

// Every instant from firstEncodable up to pastEncodable has a year of 1 to
// 9999 in every zone, as zone offsets are under a day.
var (
	firstEncodable = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
	pastEncodable  = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)
