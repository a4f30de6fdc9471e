package methodology_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/methodology"
)

// Quantify a partner's report with the built-in catalog: the registry picks
// the version in force for the scenario at the activity's time.
func ExampleBuiltin() {
	catalog := methodology.Builtin()

	boxes, _ := carbon.ParseQuantity("3 box")
	a := carbon.Activity{
		ID: "handback-20250314-0001", Partner: "cainiao", User: "u-42",
		Scenario:   "logistics.box-reuse",
		OccurredAt: time.Date(2025, 3, 14, 18, 5, 0, 0, time.UTC),
		Region:     carbon.Zhejiang,
		Quantities: map[string]carbon.Quantity{"boxes": boxes},
	}
	res, err := catalog.Quantify(a)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Ref())
	for _, s := range res.Steps {
		fmt.Printf("%-8s %-35s %s\n", s.Name, s.Expression, s.Value)
	}
	fmt.Println("ER:", res.ER)

	// A report the methodology does not cover names every problem.
	a.Quantities["boxes"], _ = carbon.ParseQuantity("80 box")
	_, err = catalog.Quantify(a)
	fmt.Println(errors.Is(err, methodology.ErrConditionNotMet))
	fmt.Println(err)
	// Output:
	// carbonkit.logistics.box-reuse@2024.1
	// BE[0]    boxes (3 box) × box-reuse (37 g/box) 111g
	// BE       BE[0]                               111g
	// PE       0                                   0g
	// LE       0                                   0g
	// ER.gross BE − PE − LE                        111g
	// ER       ER rounded toward zero to a multiple of 0.001g 111g
	// ER: 111g
	// true
	// methodology: carbonkit.logistics.box-reuse@2024.1 cannot quantify activity "handback-20250314-0001": quantities[boxes]: 80 box is above the maximum 50 box (condition "boxes-range")
}

// A partner adds a scenario without writing Go: a declarative document loads
// into a full Methodology and registers beside the built-in ones.
func ExampleLoadJSON() {
	doc := []byte(`{
	  "id": "mall.reusable-bag", "version": "1", "scenario": "retail.reusable-bag",
	  "title": "Shopper brings a reusable bag", "status": "active",
	  "valid_from": "2025-01-01T00:00:00+08:00",
	  "parameters": [{"name": "bags", "dimension": "count", "monitoring": "monitored"}],
	  "conditions": [{"id": "bags-range", "quantity": "bags", "min": {"value": "1 item"}, "max": {"value": "5 item"}}],
	  "factors": [{
	    "id": "plastic-bag", "version": "1", "value": "0.0123", "numerator": "kg", "denominator": "item",
	    "gas": "CO2e", "data_year": 2024, "uncertainty": "0.2",
	    "source": {"organisation": "Example Mall Group", "document": "Packaging LCA 2024, table 3"}
	  }],
	  "formula": {"be": [{"quantity": "bags", "factors": ["plastic-bag"]}]},
	  "conservativeness": {"discount": "0.2"}
	}`)
	m, err := methodology.LoadJSON(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	catalog := methodology.Builtin()
	if err := catalog.Register(m); err != nil {
		fmt.Println(err)
		return
	}

	bags, _ := carbon.ParseQuantity("2 item")
	res, err := catalog.Quantify(carbon.Activity{
		ID: "receipt-881", Partner: "example-mall", User: "u-42", Scenario: "retail.reusable-bag",
		OccurredAt: time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC), Region: carbon.Shanghai,
		Quantities: map[string]carbon.Quantity{"bags": bags},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Spec().Formula)
	fmt.Println("BE:", res.BE, "ER:", res.ER) // 2 × 12.3 g = 24.6 g; × 0.8 = 19.68 g

	// A document with mistakes gets every one of them, with its JSON path.
	_, err = methodology.LoadJSON([]byte(`{"id": "x", "version": "1", "scenario": "s", "title": "t",
	  "status": "active", "valid_from": "2025-01-01T00:00:00Z", "colour": "green",
	  "parameters": [{"name": "n", "dimension": "count", "monitoring": "monitored"}],
	  "factors": [{"id": "f", "version": "1", "value": "1", "numerator": "g", "denominator": "item",
	               "gas": "CO2e", "data_year": 2024, "source": {"document": "d"}}],
	  "formula": {"be": [{"quantity": "n", "factors": ["f", "g"]}]}}`))
	var se *methodology.SpecError
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// BE = bags × plastic-bag; PE = 0; LE = 0
	// BE: 24.6g ER: 19.68g
	// $.colour: is not a field of this object
	// $.factors[0].source.organisation: missing
	// $.formula.be[0].factors[1]: "g" is not a declared factor
}

// An auditor holding the activity and the registry recomputes a result; any
// edit to it is caught and named.
func ExampleRegistry_Verify() {
	catalog := methodology.Builtin()
	km, _ := carbon.ParseQuantity("12.5 km")
	a := carbon.Activity{
		ID: "ride-7731", Partner: "metro-gz", User: "u-42", Scenario: "transport.metro",
		OccurredAt: time.Date(2025, 6, 2, 8, 15, 0, 0, time.UTC), Region: carbon.Guangdong,
		Quantities: map[string]carbon.Quantity{"distance": km},
	}
	res, _ := catalog.Quantify(a)
	fmt.Println("ER:", res.ER) // 12.5 × 170 × 0.7 − 12.5 × 30 = 1487.5 − 375
	fmt.Println("verified:", catalog.Verify(a, res) == nil)

	res.ER = carbon.GramsInt(2000)
	err := catalog.Verify(a, res)
	fmt.Println(errors.Is(err, methodology.ErrMismatch))
	fmt.Println(err)
	// Output:
	// ER: 1.1125kg
	// verified: true
	// true
	// methodology: carbonkit.transport.metro@2024.1: result er is "2kg", recomputation gives "1.1125kg"
}

// A caller that keeps only the reduction and its citation (as a points
// programme's receipt does) asks for a Brief: the same ER and Digest as
// the Result, without making the working. The Result can be remade and
// checked against the digest at any time.
func ExampleRegistry_QuantifyBrief() {
	catalog := methodology.Builtin()
	distance, _ := carbon.ParseQuantity("6.4 km")
	a := carbon.Activity{
		ID: "trip-0001", Partner: "metro", User: "u-42", Scenario: "transport.metro",
		OccurredAt: time.Date(2025, 3, 14, 8, 30, 0, 0, time.UTC), Region: carbon.Guangdong,
		Quantities: map[string]carbon.Quantity{"distance": distance},
	}
	b, err := catalog.QuantifyBrief(a)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Ref(), b.ER)

	res, _ := catalog.Quantify(a)
	fmt.Println(res.Digest == b.Digest, res.ER.Equal(b.ER))
	// Output:
	// carbonkit.transport.metro@2024.1 569.6g
	// true true
}
