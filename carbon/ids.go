package carbon

import "fmt"

// MaxIDLen is the longest identifier, in bytes, that carbonkit accepts for a
// user, partner, scenario or a partner's event ID.
const MaxIDLen = 128

// UserID identifies a user across the platform (the owner of the parent
// account). It is opaque to carbonkit.
type UserID string

// PartnerID identifies a partner app: a food-delivery app, a logistics network,
// a second-hand market, a mall.
type PartnerID string

// Scenario names a kind of low-carbon action ("food.no-cutlery",
// "logistics.box-reuse"); methodologies are registered per scenario.
type Scenario string

// Validate reports whether id is a well-formed identifier (see ValidateID).
func (id UserID) Validate() error { return ValidateID("user", string(id)) }

// Validate reports whether id is a well-formed identifier (see ValidateID).
func (id PartnerID) Validate() error { return ValidateID("partner", string(id)) }

// Validate reports whether s is a well-formed identifier (see ValidateID).
func (s Scenario) Validate() error { return ValidateID("scenario", string(s)) }

// ValidateID checks that s is 1 to MaxIDLen bytes of printable ASCII without
// spaces, the form every carbonkit identifier takes so that it can be hashed,
// logged and used as a key without escaping. kind names the identifier in the
// error, which matches ErrInvalidID.
func ValidateID(kind, s string) error {
	switch {
	case s == "":
		return &IDError{Kind: kind, ID: s, Reason: "is empty"}
	case len(s) > MaxIDLen:
		return &IDError{Kind: kind, ID: s[:16] + "...", Reason: fmt.Sprintf("is %d bytes long, more than %d", len(s), MaxIDLen)}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return &IDError{Kind: kind, ID: s, Reason: fmt.Sprintf("has byte %#02x at %d, outside printable ASCII", c, i)}
		}
	}
	return nil
}

// IDError reports a malformed identifier. It matches ErrInvalidID.
type IDError struct {
	Kind   string // "user", "partner", "scenario", "activity"
	ID     string // the identifier, shortened when long
	Reason string
}

// Error implements error.
func (e *IDError) Error() string {
	return fmt.Sprintf("carbon: invalid %s id %q: %s", e.Kind, e.ID, e.Reason)
}

// Unwrap returns ErrInvalidID.
func (e *IDError) Unwrap() error { return ErrInvalidID }
