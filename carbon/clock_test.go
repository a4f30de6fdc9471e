package carbon_test

import (
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

func TestTestClock(t *testing.T) {
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	c := carbon.NewTestClock(start)
	require.True(t, c.Now().Equal(start))
	require.True(t, c.Advance(time.Hour).Equal(start.Add(time.Hour)))
	require.True(t, c.Now().Equal(start.Add(time.Hour)))
	c.Set(start.Add(-time.Hour))
	require.True(t, c.Now().Equal(start.Add(-time.Hour)))

	// Concurrent advances all land.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	require.True(t, c.Now().Equal(start.Add(-time.Hour+800*time.Second)))
}

func TestSystemClock(t *testing.T) {
	before := time.Now()
	now := carbon.SystemClock().Now()
	require.False(t, now.Before(before))
}
