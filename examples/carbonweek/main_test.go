package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/stretchr/testify/require"
)

// simulate runs the campaign with args and returns its report.
func simulate(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), args, &out, &bytes.Buffer{}))
	return out.String()
}

// number parses a number printed with thousands separators.
func number(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	require.NoError(t, err, s)
	return n
}

// field returns the number after label at the start of a report line.
func field(t *testing.T, out, label string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + ` +(-?[\d,]+)`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q line in\n%s", label, out)
	return number(t, m[1])
}

// The report's facts at a small size: a zero trial balance, a verified
// chain, sorted boards with competition ranks, and point totals that add
// up.
func TestCarbonWeek(t *testing.T) {
	out := simulate(t, "-users", "500", "-seed", "1")
	t.Log("\n" + out)

	require.Contains(t, out, "500 users, seed 1\n")
	byProvince := regexp.MustCompile(`users by province: CN-GD ([\d,]+), CN-ZJ ([\d,]+), CN-BJ ([\d,]+)\n`).FindStringSubmatch(out)
	require.NotNil(t, byProvince)
	require.Equal(t, int64(500), number(t, byProvince[1])+number(t, byProvince[2])+number(t, byProvince[3]))

	// Trial balance: zero for every asset.
	tb := regexp.MustCompile(`trial balance: (.*) \(zero per asset\)\n`).FindStringSubmatch(out)
	require.NotNil(t, tb)
	assets := strings.Split(tb[1], ", ")
	require.Len(t, assets, 3, "CNY, CO2e and points")
	for _, a := range assets {
		name, sum, ok := strings.Cut(a, " ")
		require.True(t, ok, a)
		require.Equal(t, "0", sum, "asset %s", name)
	}

	// The hash chain was verified over every entry.
	chain := regexp.MustCompile(`hash chain: ([\d,]+) entries verified\n`).FindStringSubmatch(out)
	require.NotNil(t, chain)
	activities := number(t, regexp.MustCompile(`activities credited: ([\d,]+)`).FindStringSubmatch(out)[1])
	require.Greater(t, number(t, chain[1]), activities, "an entry per credit, and more")
	require.Contains(t, out, "audit: the ledger agrees with every receipt, redemption and donation\n")

	// Points: what was issued is in accounts, redeemed, donated or expired,
	// and every figure is real.
	issued, redeemed := field(t, out, "issued"), field(t, out, "redeemed")
	donated, expired := field(t, out, "donated"), field(t, out, "expired")
	inAccounts := field(t, out, "in accounts")
	require.Equal(t, issued-redeemed-donated-expired, inAccounts)
	for _, n := range []int64{issued, redeemed, donated, expired, inAccounts} {
		require.Positive(t, n)
	}

	// Reductions: the rows add up to the total, whose points are the
	// points issued.
	rows := regexp.MustCompile(`(?m)^  (carbonkit\.\S+|total) +([\d,]+) +([\d,]+)\.(\d{3}) kg +([\d,]+)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, rows, 7, "six methodologies and the total")
	var acts, grams, points int64
	for _, r := range rows[:6] {
		acts += number(t, r[2])
		grams += number(t, r[3])*1000 + number(t, r[4])
		points += number(t, r[5])
	}
	total := rows[6]
	require.Equal(t, "total", total[1])
	require.Equal(t, number(t, total[2]), acts)
	require.Equal(t, number(t, total[3])*1000+number(t, total[4]), grams)
	require.Equal(t, number(t, total[5]), points)
	require.Equal(t, issued, points)
	require.Equal(t, activities, acts)

	// Badges were awarded.
	badges := regexp.MustCompile(`(?m)^  (.+?) +level (\d) +([\d,]+)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, badges, 8)
	for _, b := range badges {
		require.Positive(t, number(t, b[3]), "%s level %s", b[1], b[2])
	}

	// One board per province, each a top 10 in board order with
	// competition ranks (1, 2, 2, 4).
	boards := regexp.MustCompile(`(?m)^  (CN-\w\w) \w+: ([\d,]+) members, frozen 2026-08-17 01:00\n((?:    .*\n)*)`).FindAllStringSubmatch(out, -1)
	require.Len(t, boards, 3)
	standing := regexp.MustCompile(`^ +(\d+)  (u-\d+) +([\d,]+)$`)
	for _, b := range boards {
		lines := strings.Split(strings.TrimSuffix(b[3], "\n"), "\n")
		require.Len(t, lines, 10, "board %s", b[1])
		var prevScore int64
		for i, line := range lines {
			m := standing.FindStringSubmatch(line)
			require.NotNil(t, m, line)
			rank, score := int(number(t, m[1])), number(t, m[3])
			switch {
			case i == 0:
				require.Equal(t, 1, rank, "board %s", b[1])
			case score == prevScore:
				prev := standing.FindStringSubmatch(lines[i-1])
				require.Equal(t, int(number(t, prev[1])), rank, "board %s: equal scores share a rank", b[1])
			default:
				require.Less(t, score, prevScore, "board %s is sorted", b[1])
				require.Equal(t, i+1, rank, "board %s: competition rank", b[1])
			}
			prevScore = score
		}
	}
}

// The report depends on the seed and the users, never on the number of
// workers or the scheduling.
func TestCarbonWeekDeterministic(t *testing.T) {
	withoutWallTime := func(s string) string {
		return regexp.MustCompile(`(?m)^  wall time: .*\n`).ReplaceAllString(s, "")
	}
	one := withoutWallTime(simulate(t, "-users", "300", "-seed", "7", "-workers", "1"))
	many := withoutWallTime(simulate(t, "-users", "300", "-seed", "7", "-workers", "5"))
	require.Equal(t, one, many)
	require.NotEqual(t, one, withoutWallTime(simulate(t, "-users", "300", "-seed", "8", "-workers", "5")))
}

// With -progress, a bar is drawn for each phase on the writer given.
func TestCarbonWeekProgress(t *testing.T) {
	var out, progress bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-users", "50", "-progress"}, &out, &progress))
	for _, phase := range []string{"enrolling", "earning", "spending", "expiring", "auditing"} {
		require.Regexp(t, `\r`+phase+` +\[#{30}\] 100%`, progress.String())
	}
	progress.Reset()
	require.NoError(t, run(context.Background(), []string{"-users", "50"}, &out, &progress))
	require.Empty(t, progress.String(), "no bar unless stderr is a terminal or -progress is set")
}

func TestCarbonWeekFlags(t *testing.T) {
	for _, args := range [][]string{{"-users", "0"}, {"-workers", "0"}, {"-users", "x"}, {"extra"}} {
		require.Error(t, run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}), "%q", args)
	}
}

func TestNoFloat(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	require.Empty(t, found)
}
