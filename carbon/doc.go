// Package carbon is carbonkit's shared vocabulary: the values every other
// package speaks, with no I/O and no dependency on the rest of carbonkit.
//
//   - Mass is an exact CO2e mass (decimal grams, never float64): Grams,
//     Kilograms, Tonnes, ParseMass("1.5kg"), exact Add/Sub/Mul, and IntIn to a
//     whole count of a unit with an explicit Rounding.
//   - Points is an integer count of carbon points with overflow-checked
//     arithmetic.
//   - Unit and Dimension: the defined units (order, box, item, sheet, trip, mg,
//     g, kg, t, m, km, Wh, kWh, MWh, fen, CNY, s, hour, day), each measuring one
//     dimension. Quantity is an exact decimal value with a unit; conversion
//     works inside a dimension and is a typed error across dimensions.
//   - Activity is what a partner reports: its event ID (the idempotency handle),
//     partner, user, scenario, time, region and measured quantities.
//     Validate names every problem, not just the first.
//   - UserID, PartnerID, Scenario, Region (ISO 3166-2:CN province-level codes)
//     and Clock (SystemClock, and TestClock for tests and simulations).
//
// Values holding a decimal (Mass, Quantity) must not be compared with ==; use
// Equal or Cmp. Text forms never depend on shopspring/decimal's process-wide
// settings, which this package never changes.
//
// Every error is checkable with errors.Is against one of the Err sentinels,
// and errors.As gives the detail (*ParseError, *ConversionError,
// *OverflowError, *IDError, *ValidationError).
//
// A typical sequence in a partner backend:
//
//	q, err := carbon.ParseQuantity("6.4 km")           // from the partner's payload
//	a := carbon.Activity{
//		ID: "trip-20260815-0001", Partner: "metro", User: "u-42",
//		Scenario: "transport.metro", OccurredAt: when, Region: carbon.Guangdong,
//		Quantities: map[string]carbon.Quantity{"distance": q},
//	}
//	if err := a.Validate(); err != nil { ... }          // every problem at once
package carbon
