package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/stretchr/testify/require"
)

// The statement's facts: what each app credited, the badge, the coupon, the
// donation, balances that add up, and a zero trial balance.
func TestQuickstart(t *testing.T) {
	out := runQuickstart(t)

	earned := map[string][2]string{} // partner -> reduction, points
	for _, m := range regexp.MustCompile(`(?m)^  (\S+) +\S+ +(\S+) CO2e +(\d+) points$`).FindAllStringSubmatch(out, -1) {
		earned[m[1]] = [2]string{m[2], m[3]}
	}
	require.Equal(t, map[string][2]string{
		"food-delivery": {"60g", "6"},         // 2 orders × 30 g, a point per 10 g
		"logistics":     {"111g", "11"},       // 3 boxes × 37 g
		"secondhand":    {"4.5kg", "450"},     // 10 kg × 0.5 × 0.9
		"mall":          {"85.545kg", "8554"}, // 150 kWh × 0.5703 t/MWh
	}, earned)
	require.Contains(t, out, "Badges awarded: 1 (Green all-rounder)\n")
	require.Contains(t, out, "Redeemed: Oat latte coupon, 50 points (fulfilled)\n")
	require.Contains(t, out, "Donated: 100 points, red packet CNY 1.00 from green-fund\n")

	balances := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^  (\S+(?: total)?) +(\d+) points +\S+ CO2e$`).FindAllStringSubmatch(out, -1) {
		n, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		balances[m[1]] = n
	}
	require.Len(t, balances, 5, out)
	// The parent total is the sum of the children, and what was earned
	// less the coupon and the donation.
	children := balances["food-delivery"] + balances["logistics"] + balances["secondhand"] + balances["mall"]
	require.Equal(t, balances["parent total"], children)
	require.Equal(t, 6+11+450+8554-50-100, balances["parent total"])
	// Spending at the parent takes the oldest points first: the food and
	// logistics points, then the second-hand ones; the mall's are untouched.
	require.Equal(t, map[string]int{"food-delivery": 0, "logistics": 0, "secondhand": 317, "mall": 8554, "parent total": 8871}, balances)
	require.Contains(t, out, "  parent total    8871 points  90.216kg CO2e\n")

	tb := regexp.MustCompile(`(?m)^Trial balance (\S+) +(-?\d+)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, tb, 3, "one line per asset: CNY, CO2e, points")
	for _, m := range tb {
		require.Equal(t, "0", m[2], "asset %s", m[1])
	}

	require.Equal(t, out, runQuickstart(t), "the statement is deterministic")
}

func TestQuickstartRejectsFlags(t *testing.T) {
	var buf bytes.Buffer
	require.Error(t, run(context.Background(), []string{"-users", "3"}, &buf))
}

func TestNoFloat(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	require.Empty(t, found)
}

func runQuickstart(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, run(context.Background(), nil, &buf))
	return buf.String()
}
