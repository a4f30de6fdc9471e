package carbon

import (
	"sync"
	"time"
)

// Clock tells the time. Everything in carbonkit that depends on "now" (lot
// expiry, daily caps, campaign windows, hold timeouts) takes a Clock so that
// tests and simulations control time.
type Clock interface {
	Now() time.Time
}

// SystemClock returns a Clock that reads the wall clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// TestClock is a Clock that only moves when told to. It is safe for concurrent
// use.
type TestClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewTestClock returns a TestClock reading t.
func NewTestClock(t time.Time) *TestClock { return &TestClock{now: t} }

// Now returns the clock's current time.
func (c *TestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, forwards or backwards.
func (c *TestClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock forwards by d (backwards if d is negative) and
// returns the new time.
func (c *TestClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
