// Package methodology turns a carbon.Activity into an auditable reduction, the
// way carbon standards (CDM, Verra, China's CCER and carbon-inclusion
// schemes) write it: ER = BE − PE − LE, baseline minus project minus leakage
// emissions. A Methodology is a versioned Spec (what it applies to, when, on
// whose authority, which data it reads, which sourced factors it multiplies
// them by) and a pure Quantify. Every Result carries each step of the formula
// with its value, the factors used, the rounding applied and a SHA-256 digest,
// so that an exchange or a certification body can recompute it bit for bit
// with Verify.
//
// # Call sequence
//
// A host builds one Registry at start-up, registers the versions its
// programme has approved (or starts from the built-in catalog), and
// quantifies each activity a partner reports:
//
//	reg := methodology.Builtin()                 // or methodology.New()
//	m, err := methodology.LoadJSON(doc)          // a partner's declarative methodology
//	err = reg.Register(m)                        // idempotent; a different m under the same ID@version is ErrConflict
//	res, err := reg.Quantify(activity)           // Resolve(scenario, activity time), then Quantify
//	// store res.Ref() and res.Digest with the ledger entry; credit res.ER
//	err = reg.Verify(activity, res)              // later, anyone: recompute and compare
//
// A caller that stores only the reduction and its citation calls
// QuantifyBrief instead: the same ER and Digest, without making the steps.
//
// Quantify refuses, with an *ActivityError naming every problem, an activity
// that is invalid (carbon.Activity.Validate), of another scenario, outside
// the version's validity window [ValidFrom, ValidTo), missing a monitored
// quantity, reporting one in a unit that does not convert (km where kg is
// required), or failing any applicability condition.
//
// # Writing methodologies
//
// A linear methodology (BE, PE and LE each a sum of quantity × factor ×
// factor... terms) needs no Go: NewDeclarative takes a Spec and a Formula,
// and LoadJSON takes the same as a JSON document. A methodology whose
// arithmetic depends on the activity (which factor applies to which
// attribute) is Go code: Build takes a Spec and a Calc that adds terms to a
// Worksheet; the second-hand resale methodology of the catalog is written
// this way. All three give the same kind of Methodology, with the same
// checks, steps and digests, and register interchangeably.
//
// Every factor has provenance: a source organisation and document and a data
// year are required, with the gas basis (for an emission factor), region,
// uncertainty, URL and a note. A Spec without them fails validation, at
// construction and again at registration.
//
// # Conservativeness
//
// Terms are computed exactly (decimal multiplication and exact unit
// conversion, never division or floating point). After ER = BE − PE − LE, a
// negative ER becomes zero; an optional uncertainty discount multiplies it by
// (1 − u); an optional per-event cap lowers it; and it is rounded once, toward
// zero, to a multiple of the resolution (default one milligram, the ledger's
// scale). Each adjustment that applies is a step of the Result. None can
// raise ER, and ER is never negative.
//
// # Digests
//
// Result.Digest and Spec.Digest are SHA-256 digests, in lower-case hex, of
// canonical encodings. An encoding is a sequence of records
//
//	tag SP length ":" value LF
//
// where tag is a fixed ASCII name, length the decimal byte length of value,
// and value the bytes themselves, so no value can be mistaken for another.
// Decimals are written in plain notation without trailing fractional zeros
// ("1.5", never "1.50" or "15E-1"); masses in grams; times in UTC as RFC 3339
// with nanoseconds; lists as a count record followed by their elements. The
// first record names the encoding and its version: "carbonkit.result/v1" or
// "carbonkit.spec/v1".
//
// A result's encoding holds, in order: the methodology's ID, version and Spec
// digest; the activity's ID, partner, user, scenario, time and region, its
// quantities (name, value in the reported unit, unit; by name) and attributes
// (by name); the ID, version and value of each factor used; every step (name,
// expression, value); and BE, PE, LE, ER, resolution and rounding mode.
// Quantifying the same activity under the same version therefore gives the
// same digest in any process, after a JSON round trip of the activity, and
// whatever time zone or decimal scale the inputs were written in; changing any
// input, factor, spec field or version changes it. For that, every number a
// result holds stays within what carbonkit parses (1000 digits, and an
// exponent within ±1000): an activity whose terms would leave that range is
// not quantifiable, with a problem matching ErrOutOfRange.
//
// # Declarative methodologies
//
// A declarative document is one JSON object. Unknown fields, fields given
// twice, and values of the wrong JSON type are errors; LoadJSON reports every
// problem at once with its JSON path. Decimals may be JSON strings or plain
// JSON numbers (no exponent); quantities and masses are strings ("1 order",
// "1mg").
//
//	{
//	  "id": "partner.no-cutlery", "version": "1", "scenario": "food.no-cutlery",
//	  "title": "...", "status": "active",                 // draft | active | retired
//	  "valid_from": "2024-01-01T00:00:00+08:00",          // RFC 3339
//	  "valid_to": "2026-01-01T00:00:00+08:00",            // optional, exclusive
//	  "endorsements": [{"body": "...", "reference": "...", "url": "https://..."}],
//	  "parameters": [{"name": "orders", "dimension": "count", "monitoring": "monitored"}],
//	  "conditions": [
//	    {"id": "orders-range", "quantity": "orders", "min": {"value": "1 order"},
//	     "max": {"value": "10 order", "exclusive": false}},
//	    {"id": "no-cutlery", "attribute": "cutlery", "in": ["none"]},
//	    {"id": "pilot-regions", "regions": ["CN-GD", "CN-ZJ"]}
//	  ],
//	  "factors": [{
//	    "id": "cutlery-set", "version": "1", "value": "30",
//	    "numerator": "g", "denominator": "order", "gas": "CO2e",
//	    "region": "", "data_year": 2023, "uncertainty": "0.3",
//	    "source": {"organisation": "...", "document": "...", "url": "https://..."},
//	    "note": "..."
//	  }],
//	  "formula": {"be": [{"quantity": "orders", "factors": ["cutlery-set"]}], "pe": [], "le": []},
//	  "conservativeness": {"resolution": "1mg", "discount": "0.1", "cap": "1kg"}
//	}
//
// A term's quantity is converted to its first unit-bearing factor's
// denominator; each later factor's denominator must be a unit the running
// product converts to exactly (kWh to MWh); dimensionless factors (no units)
// multiply without changing the unit; and the product must end as a mass.
// These rules are checked when the document is loaded.
//
// # Built-in catalog
//
// Builtin returns a fresh Registry with the methodologies below, all version
// 2024.1, valid from 2024-01-01 (China Standard Time) with no end. Their
// factors are illustrative public defaults: each cites its source, and its
// note says where carbonkit could not verify the figure. A programme that
// issues points people value registers its own approved versions, with its
// own factors and endorsements; the catalog is a starting point and a worked
// example, not an approved standard.
//
//	Scenario                      Formula                                                 Factors                                      Sources
//	food.no-cutlery               BE = orders × cutlery-set                               30 g CO2e/order                              Ele.me Blue Planet public totals (illustrative)
//	logistics.box-reuse           BE = boxes × box-reuse                                  37 g CO2e/box                                Cainiao, National Carton Recycling Day 2019
//	logistics.e-waybill           BE = waybills × paper-waybill;                          26 g CO2e/sheet; 4 g CO2e/sheet              carbonkit estimate from paper mass (illustrative)
//	                              PE = waybills × thermal-label
//	secondhand.resale (Go)        BE = items × production.<category> ×                    phone 50, laptop 200, tablet 80,             Apple Product Environmental Report;
//	                              substitution.<condition>; ER × 0.9, cap 1 t             clothing 10, book 1.5 kg CO2e/item;          illustrative compilation
//	                                                                                      like-new 0.6, good 0.5, fair 0.3
//	retail.efficient-product      BE = items × ac-first-year-saving × grid.cn             150 kWh/item; 0.5703 t CO2/MWh               GB 21455-2019 (illustrative); MEE
//	transport.bus                 BE = distance × car × car-occupancy;                    170 g CO2e/km × 0.7; 100 g CO2e/km           UK DESNZ 2023 conversion factors (proxy)
//	                              PE = distance × bus
//	transport.metro               BE as bus; PE = distance × metro                        30 g CO2e/km                                 UK DESNZ 2023 (proxy)
//	transport.bicycle             BE as bus; PE = 0                                       —                                            —
//	transport.walk                BE as bus; PE = 0                                       —                                            —
//	enterprise.electricity-saving BE = electricity_saved × grid.cn                        0.5703 t CO2/MWh                             MEE, national grid average factor
//
// The applicability conditions (ranges per event, required attributes) are
// in each Spec and in CATALOG.md beside this package.
//
// # Concurrency
//
// A Registry is safe for concurrent use. Methodology values built by this
// package are immutable and safe for concurrent use; Spec returns a copy.
// Nothing in this package has package-level mutable state, and nothing reads
// or changes shopspring/decimal's process-wide settings.
package methodology
