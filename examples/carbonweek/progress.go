package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a progress bar for each phase of the run; a nil
// *progress draws nothing.
type progress struct {
	w           io.Writer
	mu          sync.Mutex // serialises drawing
	label       string
	started     time.Time
	done, total atomic.Int64
	drawn       atomic.Int64 // the percentage last drawn, -1 for none
}

// phase ends the current phase's bar and starts one for label with total
// units of work; an empty label just ends it.
func (p *progress) phase(label string, total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.label != "" {
		p.draw(true)
		fmt.Fprintln(p.w)
	}
	p.label, p.started = label, time.Now()
	p.drawn.Store(-1)
	p.done.Store(0)
	p.total.Store(max(total, 1))
	if label != "" {
		p.draw(true)
	}
}

// add records n units of work done, redrawing when the percentage moves.
func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	done := p.done.Add(n)
	if done*100/p.total.Load() != p.drawn.Load() {
		p.mu.Lock()
		p.draw(false)
		p.mu.Unlock()
	}
}

// draw redraws the bar, with integer arithmetic only; p.mu is held.
func (p *progress) draw(force bool) {
	const width = 30
	done, total := min(p.done.Load(), p.total.Load()), p.total.Load()
	pct := done * 100 / total
	if pct == p.drawn.Load() && !force {
		return
	}
	p.drawn.Store(pct)
	filled := int(done * width / total)
	fmt.Fprintf(p.w, "\r%-10s [%s%s] %3d%%  %s/%s  %s ", p.label, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		pct, group(done), group(total), time.Since(p.started).Round(time.Second))
}
