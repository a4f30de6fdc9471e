package ledger

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error the Ledger returns matches exactly one of them
// with errors.Is (a store failure also matches the store's own error), and
// errors.As gives an *Error with the operation and the detail. The set is
// append-only.
var (
	// ErrInvalidRequest: a request field is missing or malformed (an empty
	// idempotency key, a malformed account ID, metadata too large, a page
	// limit out of range).
	ErrInvalidRequest = errors.New("ledger: invalid request")
	// ErrInvalidAmount: an amount that is zero where it must move value, or
	// negative where only a positive amount makes sense.
	ErrInvalidAmount = errors.New("ledger: invalid amount")
	// ErrUnbalanced: an entry's postings do not sum to zero for some asset.
	ErrUnbalanced = errors.New("ledger: postings do not balance")
	// ErrUnknownAsset: an asset that was never registered.
	ErrUnknownAsset = errors.New("ledger: unknown asset")
	// ErrAssetExists: an asset registered again with a different scale.
	ErrAssetExists = errors.New("ledger: asset already registered with another scale")
	// ErrUnknownAccount: an account that was never opened (or, for a child,
	// whose user was never opened).
	ErrUnknownAccount = errors.New("ledger: unknown account")
	// ErrAccountExists: an account opened again with a different policy.
	ErrAccountExists = errors.New("ledger: account already open with another policy")
	// ErrAccountClosed: a new credit to a child account whose partner was
	// unlinked.
	ErrAccountClosed = errors.New("ledger: account closed")
	// ErrInsufficientFunds: a debit or hold that would take an account below
	// its floor (zero for user accounts).
	ErrInsufficientFunds = errors.New("ledger: insufficient funds")
	// ErrOverflow: a sum that does not fit in int64.
	ErrOverflow = errors.New("ledger: amount overflow")
	// ErrUnknownEntry: an entry ID the ledger has never committed.
	ErrUnknownEntry = errors.New("ledger: unknown entry")
	// ErrNotHold: commit or void of an entry that is not a hold.
	ErrNotHold = errors.New("ledger: entry is not a hold")
	// ErrHoldFinalised: commit or void of a hold that was already committed,
	// voided or expired.
	ErrHoldFinalised = errors.New("ledger: hold already finalised")
	// ErrHoldExpired: commit of a hold after its deadline.
	ErrHoldExpired = errors.New("ledger: hold expired")
	// ErrCommitExceedsHold: a commit for more than the hold reserved.
	ErrCommitExceedsHold = errors.New("ledger: commit exceeds hold")
	// ErrReversalOfReversal: reversal of an entry that is itself a reversal.
	ErrReversalOfReversal = errors.New("ledger: cannot reverse a reversal")
	// ErrAlreadyReversed: reversal, under a new key, of an entry that was
	// already reversed.
	ErrAlreadyReversed = errors.New("ledger: entry already reversed")
	// ErrNotReversible: reversal of a hold or a void; a pending hold is voided,
	// not reversed.
	ErrNotReversible = errors.New("ledger: entry cannot be reversed")
	// ErrIdempotencyConflict: an idempotency key reused with a different
	// request.
	ErrIdempotencyConflict = errors.New("ledger: idempotency key reused with a different request")
	// ErrConflict: a store transaction lost a race with another one and may be
	// retried as it is. The Ledger retries it itself a bounded number of times
	// before returning it. Stores return it (wrapped or not) for exactly this
	// condition.
	ErrConflict = errors.New("ledger: transaction conflict")
	// ErrNotFound: returned by a Store for a record that does not exist. The
	// Ledger translates it into ErrUnknownAccount or ErrUnknownEntry and never
	// returns it itself.
	ErrNotFound = errors.New("ledger: not found")
	// ErrBrokenChain: VerifyChain found an entry whose hash, or whose sequence
	// number, does not follow from its predecessor. The error is a
	// *ChainError naming the first bad sequence number.
	ErrBrokenChain = errors.New("ledger: hash chain broken")
	// ErrInvalidCursor: a history cursor this ledger did not issue.
	ErrInvalidCursor = errors.New("ledger: invalid cursor")
	// ErrMalformedEntry: Entry.UnmarshalBinary was given bytes that are not
	// an entry's binary form.
	ErrMalformedEntry = errors.New("ledger: malformed entry encoding")
	// ErrStore: the store failed for a reason of its own (I/O, a cancelled
	// context). The operation may or may not have committed: retry it with the
	// same idempotency key to find out. The *Error unwraps to the store's error.
	ErrStore = errors.New("ledger: store failed")
)

// Error is the error every Ledger method returns. It matches its Kind with
// errors.Is, and unwraps to Err (a store error, when there is one).
type Error struct {
	Op     string // the Ledger method, "Post"
	Kind   error  // one of the package's sentinels
	Detail string // what was wrong with which value, lower case
	Err    error  // the underlying error, if any
}

// Error implements error: "ledger: Post: insufficient funds: account ...".
func (e *Error) Error() string {
	b := make([]byte, 0, 64+len(e.Detail))
	b = append(b, "ledger: "...)
	b = append(b, e.Op...)
	if e.Kind != nil {
		b = append(b, ": "...)
		b = append(b, trimPrefix(e.Kind.Error())...)
	}
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	if e.Err != nil && e.Err != e.Kind {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ChainError reports the first broken link that VerifyChain found. It matches
// ErrBrokenChain.
type ChainError struct {
	Seq    uint64 // the first entry that does not follow from its predecessor
	Reason string // "hash mismatch", "sequence gap: expected 7"
}

// Error implements error.
func (e *ChainError) Error() string {
	return "ledger: hash chain broken at seq " + strconv.FormatUint(e.Seq, 10) + ": " + e.Reason
}

// Unwrap returns ErrBrokenChain.
func (e *ChainError) Unwrap() error { return ErrBrokenChain }

func newErr(op string, kind error, detail string) *Error {
	return &Error{Op: op, Kind: kind, Detail: detail}
}

// storeErr wraps an error a Store returned. Errors that already carry a
// ledger kind (a fn error, ErrConflict) keep it; ErrNotFound becomes notFound.
func storeErr(op string, err error, notFound error) error {
	if err == nil {
		return nil // before le, which errors.As makes escape: no allocation
	}
	var le *Error
	switch {
	case errors.As(err, &le):
		return err
	case errors.Is(err, ErrNotFound) && notFound != nil:
		return &Error{Op: op, Kind: notFound, Err: err}
	case errors.Is(err, ErrConflict):
		return &Error{Op: op, Kind: ErrConflict, Err: err}
	case errors.Is(err, ErrOverflow):
		return &Error{Op: op, Kind: ErrOverflow, Err: err}
	}
	return &Error{Op: op, Kind: ErrStore, Err: err}
}

func trimPrefix(s string) string {
	const p = "ledger: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
