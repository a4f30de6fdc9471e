package rewards_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/carbonkit/carbonkit/rewards"
)

// FuzzParseBadges checks that no document makes ParseBadges panic, that
// every refusal is a *ValidationError matching ErrInvalidBadge with at least
// one problem, and that whatever it accepts encodes to JSON it accepts again
// and passes NewBadges.
func FuzzParseBadges(f *testing.F) {
	f.Add([]byte(badgesJSON))
	f.Add([]byte(`[{"id": "a", "title": "A", "levels": [{"kind": "points", "min": 1}]}]`))
	f.Add([]byte(`[{"id": "a", "title": "A", "levels": [{"kind": "window", "window": {"start": "2026-04-22T00:00:00+08:00", "end": "2026-04-29T00:00:00+08:00"}, "of": [{"kind": "any", "of": [{"kind": "streak", "min": 2, "time_zone": "UTC"}]}]}]}]`))
	f.Add([]byte(`[{"id": 7, "levels": [{"kind": "reduction", "min_reduction": "1e9kg", "min": 1.5}]}] x`))
	f.Add([]byte(strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		defs, err := rewards.ParseBadges(doc)
		if err != nil {
			var ve *rewards.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, rewards.ErrInvalidBadge) || len(ve.Problems) == 0 {
				t.Fatalf("refusal is not a ValidationError with problems: %v", err)
			}
			return
		}
		if _, err := rewards.NewBadges(rewards.NewMemBadgeStore(), defs, nil); err != nil {
			t.Fatalf("accepted definitions fail NewBadges: %v", err)
		}
		enc, err := json.Marshal(defs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rewards.ParseBadges(enc); err != nil {
			t.Fatalf("re-encoded definitions refused: %v\n%s", err, enc)
		}
	})
}
