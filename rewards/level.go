package rewards

import (
	"fmt"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/carbonkit/carbonkit/carbon"
)

// Level is one step of the mascot's growth.
type Level struct {
	Number    int           `json:"number"`     // 1 for the first level, then 2, 3...
	Name      string        `json:"name"`       // "Seedling"
	MinPoints carbon.Points `json:"min_points"` // lifetime points earned to reach it
}

// LevelScale maps lifetime points earned to mascot levels. Lifetime points
// earned are the sum of every Earning's Points, reversals subtracting; they
// are never the spendable balance, so spending never lowers a level, while
// a reversal can. A LevelScale is immutable and safe for concurrent use.
//
// Build one with NewLevelScale or DefaultLevelScale. The zero LevelScale
// (&LevelScale{}, or a nil *LevelScale) is the default scale, as
// DefaultLevelScale returns it.
type LevelScale struct {
	levels []Level
}

// MaxLevelNameLen is the longest level name, in bytes.
const MaxLevelNameLen = 64

// NewLevelScale returns the scale of levels, which must be numbered 1, 2, 3...
// in order, start at 0 points, have strictly increasing MinPoints and
// non-empty UTF-8 names of at most MaxLevelNameLen bytes. Otherwise it
// returns a *ValidationError matching ErrInvalidLevels naming every problem.
func NewLevelScale(levels []Level) (*LevelScale, error) {
	p := problems{kind: ErrInvalidLevels}
	if len(levels) == 0 {
		p.add("$", "no levels")
	}
	for i, l := range levels {
		path := fmt.Sprintf("$[%d]", i)
		if l.Number != i+1 {
			p.add(path+".number", fmt.Sprintf("level %d is at index %d: levels are numbered from 1 in order", l.Number, i))
		}
		switch {
		case l.Name == "":
			p.add(path+".name", "name is empty")
		case len(l.Name) > MaxLevelNameLen || !utf8.ValidString(l.Name):
			p.add(path+".name", fmt.Sprintf("name %q is not UTF-8 of at most %d bytes", l.Name, MaxLevelNameLen))
		}
		switch {
		case i == 0 && l.MinPoints != 0:
			p.add(path+".min_points", fmt.Sprintf("first level starts at %d points, not 0", l.MinPoints))
		case i > 0 && l.MinPoints <= levels[i-1].MinPoints:
			p.add(path+".min_points", fmt.Sprintf("%d points is not more than the previous level's %d", l.MinPoints, levels[i-1].MinPoints))
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return &LevelScale{levels: append([]Level(nil), levels...)}, nil
}

// DefaultLevelScale returns carbonkit's default five levels: Seedling (0),
// Sprout (100), Sapling (1,000), Tree (10,000) and Forest (100,000 points).
func DefaultLevelScale() *LevelScale { return &LevelScale{levels: defaultLevels} }

// defaultLevels are DefaultLevelScale's levels (read-only).
var defaultLevels = []Level{
	{Number: 1, Name: "Seedling", MinPoints: 0},
	{Number: 2, Name: "Sprout", MinPoints: 100},
	{Number: 3, Name: "Sapling", MinPoints: 1_000},
	{Number: 4, Name: "Tree", MinPoints: 10_000},
	{Number: 5, Name: "Forest", MinPoints: 100_000},
}

// list returns the scale's levels: the default ones for a zero or nil
// scale, which NewLevelScale never returns.
func (s *LevelScale) list() []Level {
	if s == nil || len(s.levels) == 0 {
		return defaultLevels
	}
	return s.levels
}

// Levels returns a copy of the scale's levels.
func (s *LevelScale) Levels() []Level { return append([]Level(nil), s.list()...) }

// LevelStatus is where a user stands on a LevelScale.
type LevelStatus struct {
	Lifetime carbon.Points `json:"lifetime"` // lifetime points earned
	Level    Level         `json:"level"`
	// Next is the level after Level, and ToNext the points still to earn to
	// reach it; at the top level Next is nil and ToNext zero.
	Next   *Level        `json:"next,omitempty"`
	ToNext carbon.Points `json:"to_next"`
}

// For returns the status of a user with lifetime points earned. A lifetime
// below zero (more reversed than credited, which a consistent feed never
// produces) is on the first level.
func (s *LevelScale) For(lifetime carbon.Points) LevelStatus {
	// The first level above lifetime; the one before it is the user's.
	// The first level starts at 0, so below zero the user is on it too.
	levels := s.list()
	i := max(sort.Search(len(levels), func(i int) bool { return levels[i].MinPoints > lifetime }), 1)
	st := LevelStatus{Lifetime: lifetime, Level: levels[i-1]}
	if i < len(levels) {
		next := levels[i]
		st.Next = &next
		var err error
		if st.ToNext, err = next.MinPoints.Sub(lifetime); err != nil {
			st.ToNext = math.MaxInt64 // only for a lifetime near math.MinInt64
		}
	}
	return st
}
