package memstore

import (
	"hash/maphash"

	"github.com/carbonkit/carbonkit/internal/offheap"
	"github.com/carbonkit/carbonkit/ledger"
)

// idIndex maps entry IDs to Seqs.
//
// The Ledger's default IDs are 32 lower-case hex digits: a prefix of 16,
// random per Ledger, and a counter of 16 that the Ledger increments for
// each ID. An index keyed by a hash puts each new ID in a random place, a
// cache miss to find that it is new and another to store it, per write.
// So IDs of that form whose counter is small are kept in runs instead, one
// per prefix: the Seq of the ID with counter c at index c of its run. A
// new ID then lands next to the last one, and is known to be new by a
// bounds check; and a run holds 8 bytes an entry where a hash table holds
// about 25. Every other ID (a host's own NewID, a counter far past its
// run's end, a prefix past the first maxRuns) goes to a hash index, as
// does every ID when no run applies; a prefix remembers whether any of its
// IDs went there, so that a run's miss is final unless one did.
//
// An idIndex is not safe for concurrent use; the Store guards it with idx.
type idIndex struct {
	mem  *offheap.Allocator
	seed maphash.Seed
	hash hashIndex // the IDs not in runs: hash → Seq
	runs map[[8]byte]*idRun
	last *idRun // the run used last, and its prefix: one Ledger writes most entries
	lp   [8]byte
}

// idRun is the IDs of one prefix.
type idRun struct {
	seqs   pages[uint64] // Seq of the ID with counter c at c; 0 for none
	hashed bool          // some ID with this prefix is in the hash index
}

const (
	// maxRuns bounds the prefixes that get runs (a process makes a few
	// Ledgers; a host whose own IDs happen to be 32 hex digits must not
	// make one per entry).
	maxRuns = 64
	// maxRunGap is how far past a run's end an ID may land and still
	// join it (the gap is filled with zeros): Ledgers that retry a write
	// draw a new ID each time, and concurrent writes commit out of order.
	maxRunGap = 1 << 16
)

func newIDIndex(mem *offheap.Allocator, seed maphash.Seed) idIndex {
	return idIndex{mem: mem, seed: seed, hash: newHashIndex(mem), runs: make(map[[8]byte]*idRun)}
}

// counterID splits id into its prefix and counter, if it is 32 lower-case
// hex digits. (encoding/hex takes upper case too, which would give two IDs
// one slot.)
func counterID(id ledger.EntryID) (prefix [8]byte, counter uint64, ok bool) {
	if len(id) != 32 {
		return prefix, 0, false
	}
	for i := range 16 {
		hi, ok1 := unhex(id[2*i])
		lo, ok2 := unhex(id[2*i+1])
		if !ok1 || !ok2 {
			return prefix, 0, false
		}
		if i < 8 {
			prefix[i] = hi<<4 | lo
		} else {
			counter = counter<<8 | uint64(hi<<4|lo)
		}
	}
	return prefix, counter, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// run returns the run of prefix, or nil.
func (x *idIndex) run(prefix [8]byte) *idRun {
	if x.last != nil && x.lp == prefix {
		return x.last
	}
	r := x.runs[prefix]
	if r != nil {
		x.last, x.lp = r, prefix
	}
	return r
}

// find returns the Seq of id; match tells whether the entry with a given
// Seq has ID id (a hash may be shared, and a run's slot is checked too).
func (x *idIndex) find(id ledger.EntryID, match func(seq uint64) bool) (uint64, bool) {
	prefix, c, ok := counterID(id)
	if ok {
		if r := x.run(prefix); r != nil {
			if c < uint64(r.seqs.len()) {
				if seq := r.seqs.at(int(c)); seq != 0 && match(seq) {
					return seq, true
				}
			}
			if !r.hashed {
				return 0, false
			}
		}
	}
	return x.hash.find(maphash.String(x.seed, string(id)), match)
}

// insert stores id → seq. The caller has checked that id is not stored.
func (x *idIndex) insert(id ledger.EntryID, seq uint64) {
	prefix, c, ok := counterID(id)
	if ok {
		r := x.run(prefix)
		if r == nil && len(x.runs) < maxRuns {
			r = &idRun{seqs: pages[uint64]{mem: x.mem}}
			x.runs[prefix] = r
		}
		if r != nil {
			if c < uint64(r.seqs.len())+maxRunGap {
				for uint64(r.seqs.len()) <= c {
					r.seqs.append(0)
				}
				r.seqs.set(int(c), seq)
				return
			}
			r.hashed = true
		}
	}
	x.hash.insert(maphash.String(x.seed, string(id)), seq)
}
