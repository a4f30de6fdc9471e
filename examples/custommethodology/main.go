// Custommethodology shows a partner adding a scenario of its own without
// writing Go: a coffee chain describes "a drink served in the customer's own
// cup" as a declarative JSON methodology (reusable-cup.json, embedded in the
// program), the host loads it with methodology.LoadJSON and registers it
// beside the built-in catalog, and the programme then credits the chain's
// activities like any other: the result's steps, the points, the ledger
// entry, and a verification that anyone holding the activity can repeat.
//
//	go run ./examples/custommethodology
//	go run ./examples/custommethodology -cups 3
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

// cupJSON is the partner's methodology: BE = cups × paper-cup, PE = cups ×
// cup-wash, a 10% uncertainty discount and a 1 kg cap per event.
//
//go:embed reusable-cup.json
var cupJSON []byte

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "custommethodology:", err)
		os.Exit(1)
	}
}

// run registers the partner's methodology, earns with it and prints what
// happened to w. The flags are -cups (cups in the order) and -user.
func run(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("custommethodology", flag.ContinueOnError)
	cups := fs.Int64("cups", 2, "drinks served in the customer's own cup (the methodology accepts 1 to 5)")
	user := fs.String("user", "u-42", "the user's ID")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// The host's registry: the built-in catalog plus the partner's document.
	// LoadJSON checks the document (every problem, with its JSON path), and
	// Register refuses different content under an ID@version already used.
	reg := methodology.Builtin()
	m, err := methodology.LoadJSON(cupJSON)
	if err != nil {
		return fmt.Errorf("loading reusable-cup.json: %w", err)
	}
	if err := reg.Register(m); err != nil {
		return err
	}
	spec := m.Spec()
	fmt.Fprintf(w, "Registered %s (%q) for scenario %s, beside %d built-in methodologies\n",
		spec.Ref(), spec.Title, spec.Scenario, len(reg.List())-1)
	fmt.Fprintf(w, "  formula: %s\n", spec.Formula)
	for _, f := range spec.Factors {
		fmt.Fprintf(w, "  factor %s@%s = %s %s/%s %s (data year %d; %s: %s)\n",
			f.ID, f.Version, f.Value, f.Numerator, f.Denominator, f.Gas, f.DataYear, f.Source.Organisation, f.Source.Document)
	}

	// The programme: the chain is a partner, the user has linked it.
	cst := time.FixedZone("CST", 8*3600)
	clock := carbon.NewTestClock(time.Date(2026, 4, 22, 8, 30, 0, 0, cst))
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock})
	if err != nil {
		return err
	}
	p, err := rewards.NewProgramme(reg, l, &rewards.ProgrammeOptions{
		Clock: clock, TimeZone: cst, Partners: []carbon.PartnerID{"brewhouse"},
		Policies: []rewards.EarnPolicy{{ID: "standard", Version: "2026.1", ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, cst),
			PointsPerGram: decimal.New(1, -1)}}, // a point per 10 g
	})
	if err != nil {
		return err
	}
	u := carbon.UserID(*user)
	if _, err := l.OpenUser(ctx, u); err != nil {
		return err
	}
	if _, err := l.LinkPartner(ctx, u, "brewhouse"); err != nil {
		return err
	}

	// The chain reports an order served in the customer's cup, and the
	// programme credits it: Quantify with the version in force, the earn
	// policy, one ledger entry carrying the methodology and result digest.
	a := order("order-20260422-0001", u, *cups, clock.Now())
	r, err := p.Earn(ctx, a)
	if err != nil {
		return err
	}
	bal, err := l.Balance(ctx, ledger.PartnerAccount(u, "brewhouse"), ledger.Points)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nActivity %s: %d drinks in the customer's own cup\n", a.ID, *cups)
	fmt.Fprintf(w, "  credited %d points for %s CO2e (%d base × %s, policy %s)\n", r.Points, r.Reduction, r.BasePoints, r.Multiplier, r.Policy)
	fmt.Fprintf(w, "  ledger entry %s; balance of %s at brewhouse: %d points\n", r.Entry, u, bal.Posted)
	fmt.Fprintf(w, "  methodology %s, result digest %s\n", r.Methodology, r.ResultDigest)

	// Anyone holding the activity and the registry can recompute the
	// figure, step by step, and check it against the receipt's digest.
	res, err := reg.Quantify(a)
	if err != nil {
		return err
	}
	if res.Digest != r.ResultDigest {
		return fmt.Errorf("recomputed digest %s differs from the receipt's %s", res.Digest, r.ResultDigest)
	}
	fmt.Fprintf(w, "\nRecomputed by %s:\n", res.Ref())
	for _, s := range res.Steps {
		fmt.Fprintf(w, "  %-11s %-48s = %s\n", s.Name, s.Expression, s.Value)
	}
	fmt.Fprintln(w, "  verified: the digest matches the receipt's, bit for bit")

	// An order outside the methodology's conditions is refused, naming why.
	_, err = p.Earn(ctx, order("order-20260422-0002", u, 9, clock.Now()))
	if !errors.Is(err, rewards.ErrNotQuantifiable) {
		return fmt.Errorf("an order of 9 cups: got %v, want a refusal", err)
	}
	fmt.Fprintf(w, "\nRefused an order of 9 cups: %v\n", errors.Unwrap(err))
	return nil
}

// order is the chain's report of n drinks served in the customer's own cup.
func order(id string, u carbon.UserID, n int64, at time.Time) carbon.Activity {
	cups, err := carbon.ParseQuantity(strconv.FormatInt(n, 10) + " item")
	if err != nil {
		panic(err) // an integer and a unit always parse
	}
	return carbon.Activity{ID: id, Partner: "brewhouse", User: u, Scenario: "food.reusable-cup",
		OccurredAt: at, Region: carbon.Zhejiang,
		Quantities: map[string]carbon.Quantity{"cups": cups}, Attributes: map[string]string{"cup": "reusable"}}
}
