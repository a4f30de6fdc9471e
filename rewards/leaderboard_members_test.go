package rewards

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

// TestMemberTableNames checks that the member table tells users apart
// whether their IDs fit in a slot or are compared through the tree's names,
// around the boundary between the two.
func TestMemberTableNames(t *testing.T) {
	m := newMemberTable()
	var names []string
	var users []carbon.UserID
	for i := range 3000 {
		// Lengths from 1 to 40, sharing prefixes.
		u := carbon.UserID(strings.Repeat("u", i%40) + strconv.Itoa(i))
		if len(u) > 40 {
			u = u[len(u)-40:]
		}
		users = append(users, u)
	}
	for i, u := range users {
		require.Nil(t, m.find(u, names), "user %q found before it was added", u)
		names = append(names, string(u))
		m.add(u, entry{score: int64(i), id: uint32(i)})
	}
	for i, u := range users {
		e := m.find(u, names)
		require.NotNil(t, e, "user %q", u)
		require.Equal(t, int64(i), e.score, "user %q", u)
		require.Nil(t, m.find(u+"x", names))
		if len(u) > 1 {
			require.Nil(t, m.find(u[:len(u)-1]+"\x00", names))
		}
	}
}

// TestMemBoardStoreLongUserIDs runs a board whose members have IDs of every
// length around what a member slot holds itself.
func TestMemBoardStoreLongUserIDs(t *testing.T) {
	s := NewMemBoardStore()
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	var users []carbon.UserID
	for n := 1; n <= 40; n++ {
		users = append(users, carbon.UserID(strings.Repeat("a", n)), carbon.UserID(strings.Repeat("a", n-1)+"b"))
	}
	for round := range 3 {
		for i, u := range users {
			ok, err := s.Add(ctx, "b", u, EarningKey{Partner: "p", ActivityID: strconv.Itoa(round*1000 + i)}, carbon.Points(i+1), at)
			require.NoError(t, err)
			require.True(t, ok)
		}
	}
	n, err := s.Count(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, len(users), n)
	for i, u := range users {
		nb, err := s.Around(ctx, "b", u, 0)
		require.NoError(t, err)
		require.Equal(t, u, nb.Member.User)
		require.Equal(t, carbon.Points(3*(i+1)), nb.Member.Score)
	}
}
