package carbon

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error this package returns matches exactly one of them
// with errors.Is, and carries the offending value in its message. The set is
// append-only.
var (
	// ErrMalformedNumber: the text is not a plain decimal number (or has more
	// digits than carbonkit accepts).
	ErrMalformedNumber = errors.New("carbon: malformed number")
	// ErrNotFinite: the text spells NaN or an infinity.
	ErrNotFinite = errors.New("carbon: number is not finite")
	// ErrOutOfRange: a decimal with more digits, or a larger or smaller
	// exponent, than carbonkit accepts (1000 of either: far beyond any real
	// quantity, and a bound on what a hostile value can cost).
	ErrOutOfRange = errors.New("carbon: number out of range")
	// ErrUnknownUnit: a unit symbol carbonkit does not define.
	ErrUnknownUnit = errors.New("carbon: unknown unit")
	// ErrUnknownDimension: a dimension name carbonkit does not define.
	ErrUnknownDimension = errors.New("carbon: unknown dimension")
	// ErrDimensionMismatch: two units measure different dimensions (km where
	// kg was required), or two count units count different things.
	ErrDimensionMismatch = errors.New("carbon: dimension mismatch")
	// ErrInexact: a conversion whose exact result has no finite decimal form
	// (one hour in days).
	ErrInexact = errors.New("carbon: conversion is not exact")
	// ErrOverflow: an integer result does not fit in int64.
	ErrOverflow = errors.New("carbon: integer overflow")
	// ErrUnknownRegion: a region code outside ISO 3166-2:CN's province-level
	// divisions.
	ErrUnknownRegion = errors.New("carbon: unknown region")
	// ErrInvalidID: an identifier that is empty, too long or has characters
	// outside printable ASCII.
	ErrInvalidID = errors.New("carbon: invalid identifier")
	// ErrMissing: a required field is empty or zero.
	ErrMissing = errors.New("carbon: required value missing")
	// ErrNegative: a quantity below zero where only zero or more makes sense.
	ErrNegative = errors.New("carbon: negative value")
	// ErrTooLong: a text field longer than carbonkit accepts.
	ErrTooLong = errors.New("carbon: value too long")
	// ErrMalformedText: text that is not valid UTF-8.
	ErrMalformedText = errors.New("carbon: malformed text")
	// ErrInvalidActivity: an Activity failed validation; the error is a
	// *ValidationError listing every problem.
	ErrInvalidActivity = errors.New("carbon: invalid activity")
	// ErrInvalidRounding: a rounding mode that is not one of the defined ones.
	ErrInvalidRounding = errors.New("carbon: invalid rounding mode")
	// ErrNotWhole: a count of discrete things (orders, boxes, items,
	// sheets, trips) that is not a whole number: "2.5 order".
	ErrNotWhole = errors.New("carbon: count is not a whole number")
	// ErrInvalidTime: a time that RFC 3339, and so JSON, cannot carry
	// exactly: a year outside 1 to 9999, or a zone offset that is not a whole
	// number of minutes (JSON would move the instant).
	ErrInvalidTime = errors.New("carbon: invalid time")
)

// ParseError reports text that could not be parsed as a value of this package.
// Err is one of the package's sentinels (ErrMalformedNumber, ErrNotFinite,
// ErrUnknownUnit, ErrDimensionMismatch, ErrUnknownRegion).
type ParseError struct {
	Func  string // the function that failed, "ParseMass"
	Input string // the text given
	Err   error  // the reason, a sentinel of this package
}

// Error implements error.
func (e *ParseError) Error() string {
	return fmt.Sprintf("carbon.%s: parsing %q: %s", e.Func, e.Input, reason(e.Err))
}

// Unwrap returns the sentinel.
func (e *ParseError) Unwrap() error { return e.Err }

// ConversionError reports a unit conversion that cannot be done exactly or at
// all. It matches ErrDimensionMismatch, ErrInexact or ErrOutOfRange.
type ConversionError struct {
	From, To Unit
	Err      error
}

// Error implements error.
func (e *ConversionError) Error() string {
	return fmt.Sprintf("carbon: convert %s (%s) to %s (%s): %s",
		e.From, e.From.Dimension(), e.To, e.To.Dimension(), reason(e.Err))
}

// Unwrap returns the sentinel.
func (e *ConversionError) Unwrap() error { return e.Err }

// OverflowError reports integer arithmetic whose result does not fit in int64.
// It matches ErrOverflow.
type OverflowError struct {
	Op   string // "add", "sub", "mul", "convert"
	A, B string // the operands as text
}

// Error implements error.
func (e *OverflowError) Error() string {
	return fmt.Sprintf("carbon: integer overflow: %s %s %s", e.A, e.Op, e.B)
}

// Unwrap returns ErrOverflow.
func (e *OverflowError) Unwrap() error { return ErrOverflow }

// reason is a sentinel's message without the package prefix, for embedding in
// a message that already has one.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), "carbon: ")
}
