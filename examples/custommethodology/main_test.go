package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// steps returns the formula steps printed, name to value.
func steps(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  ((?:BE|PE|LE|ER)\S*) +.* = (\S+)$`).FindAllStringSubmatch(out, -1) {
		got[m[1]] = m[2]
	}
	return got
}

func TestCustomMethodology(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		steps  map[string]string
		points string
	}{
		{"two cups", nil, map[string]string{
			"BE[0]": "220g", "PE[0]": "24g", "BE": "220g", "PE": "24g", "LE": "0g",
			"ER.gross": "196g", "ER.discount": "176.4g", "ER.cap": "176.4g", "ER": "176.4g",
		}, "credited 17 points for 176.4g CO2e"},
		{"five cups", []string{"-cups", "5"}, map[string]string{
			"BE[0]": "550g", "PE[0]": "60g", "BE": "550g", "PE": "60g", "LE": "0g",
			"ER.gross": "490g", "ER.discount": "441g", "ER.cap": "441g", "ER": "441g",
		}, "credited 44 points for 441g CO2e"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, run(context.Background(), tc.args, &buf))
			out := buf.String()
			require.Contains(t, out, "Registered brewhouse.reusable-cup@2026.1")
			require.Contains(t, out, "beside 10 built-in methodologies")
			require.Contains(t, out, "formula: BE = cups × paper-cup; PE = cups × cup-wash; LE = 0\n")
			require.Equal(t, tc.steps, steps(t, out))
			require.Contains(t, out, tc.points)
			points := regexp.MustCompile(`credited (\d+) points`).FindStringSubmatch(out)[1]
			require.Contains(t, out, "; balance of u-42 at brewhouse: "+points+" points\n")
			require.Regexp(t, `methodology brewhouse\.reusable-cup@2026\.1, result digest [0-9a-f]{64}\n`, out)
			require.Contains(t, out, "verified: the digest matches the receipt's, bit for bit\n")
			require.Contains(t, out, `9 item is above the maximum 5 item (condition "cups-range")`)
		})
	}
}

// An order the methodology does not cover is refused with the
// programme's typed error.
func TestCustomMethodologyRefusal(t *testing.T) {
	var buf bytes.Buffer
	err := run(context.Background(), []string{"-cups", "6"}, &buf)
	require.ErrorIs(t, err, rewards.ErrNotQuantifiable)
	require.ErrorContains(t, err, `6 item is above the maximum 5 item`)
}

func TestNoFloat(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	require.Empty(t, found)
}
