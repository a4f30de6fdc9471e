package rewards

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
)

// keySet is the set of EarningKeys applied to a board, exactly: a key is
// reported present only if that very key was added.
//
// A board remembers every key ever applied to it, millions on a busy one, and
// every Add looks one up and then records it, so the set is built for that.
// It indexes each key by a 64-bit hash in open-addressed tables of plain
// integers and keeps the encoded keys themselves in large byte chunks: that
// costs no allocation per key, gives the collector no pointers to scan, and
// finds a key's slot with one cache miss (a Go map takes about two, and
// recording the key would probe again). The hash only finds a candidate; the
// stored bytes decide, and the rare key whose hash collides with a different
// key's goes to a small map of strings instead, so correctness never depends
// on the hash being unique. A keySet is not safe for concurrent use; memBoard
// guards it.
type keySet struct {
	seed   maphash.Seed
	tables [keyTables]keyTable // by the hash's top bits
	extra  map[string]struct{} // keys whose hash collides with a different key's
	chunks [][]byte
	buf    []byte // scratch for encoding the key being looked up
}

// keyTables is the number of tables a keySet spreads its keys over. Each
// grows on its own, so growing rehashes a 256th of the keys at once rather
// than all of them: Add never stalls for long on a board with millions.
const keyTables = 256

// keyTable is a linear-probing hash table of key hashes. A slot with hash
// zero is empty; keyHash never returns zero.
type keyTable struct {
	slots []keySlot // len is a power of two, or zero
	used  int
}

type keySlot struct {
	hash uint64
	ref  uint64 // where the key is stored (keySet.store)
}

// keyChunk is the capacity of a chunk of encoded keys: large enough that
// chunks are few, small enough that starting one copies nothing and wastes
// little. A key longer than this gets a chunk of its own.
const keyChunk = 64 << 10

func newKeySet() keySet {
	return keySet{seed: maphash.MakeSeed()}
}

// encodeKey appends k's encoding to b: the partner's length, the partner,
// the activity ID and a flag byte, which is unambiguous whatever bytes the
// IDs hold.
func encodeKey(b []byte, k EarningKey) []byte {
	b = binary.AppendUvarint(b, uint64(len(k.Partner)))
	b = append(b, k.Partner...)
	b = append(b, k.ActivityID...)
	if k.Reversal {
		return append(b, 'r')
	}
	return append(b, 'c')
}

// has reports whether k is present. It leaves k encoded in s.buf and
// returns its hash and the empty slot where an insert would put it, for a
// following insert of the same key with no other change between.
func (s *keySet) has(k EarningKey) (present bool, h uint64, slot int) {
	s.buf = encodeKey(s.buf[:0], k)
	if h = maphash.Bytes(s.seed, s.buf); h == 0 {
		h = 1 // zero marks an empty slot
	}
	t := &s.tables[h>>56]
	if len(t.slots) == 0 {
		return false, h, -1
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch t.slots[i].hash {
		case 0:
			return false, h, i
		case h:
			if bytes.Equal(s.load(t.slots[i].ref), s.buf) {
				return true, h, i
			}
			// A different key has this hash: only the overflow map
			// can tell.
			_, dup := s.extra[string(s.buf)]
			return dup, h, -1
		}
	}
}

// insert adds the key that has just reported absent, with the hash and slot
// has returned.
func (s *keySet) insert(h uint64, slot int) {
	t := &s.tables[h>>56]
	if slot < 0 && len(t.slots) > 0 {
		if s.extra == nil {
			s.extra = make(map[string]struct{})
		}
		s.extra[string(s.buf)] = struct{}{}
		return
	}
	// Keep the table at most three quarters full, so probes stay short.
	if (t.used+1)*4 > len(t.slots)*3 {
		t.grow()
		mask := len(t.slots) - 1
		slot = int(h) & mask
		for t.slots[slot].hash != 0 {
			slot = (slot + 1) & mask
		}
	}
	t.slots[slot] = keySlot{hash: h, ref: s.store(s.buf)}
	t.used++
}

// grow doubles t's slots (or makes its first), rehashing what it holds.
func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]keySlot, max(64, 2*len(old)))
	mask := len(t.slots) - 1
	for _, e := range old {
		if e.hash == 0 {
			continue
		}
		i := int(e.hash) & mask
		for t.slots[i].hash != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = e
	}
}

// store copies the encoded key enc into the chunks, length first, and
// returns where it put it: the chunk's index in the high 32 bits, the offset
// in the low.
func (s *keySet) store(enc []byte) uint64 {
	need := binary.MaxVarintLen64 + len(enc)
	last := len(s.chunks) - 1
	if last < 0 || cap(s.chunks[last])-len(s.chunks[last]) < need {
		s.chunks = append(s.chunks, make([]byte, 0, max(keyChunk, need)))
		last++
	}
	c := s.chunks[last]
	ref := uint64(last)<<32 | uint64(len(c))
	c = binary.AppendUvarint(c, uint64(len(enc)))
	s.chunks[last] = append(c, enc...)
	return ref
}

// load returns the encoded key stored at ref.
func (s *keySet) load(ref uint64) []byte {
	c := s.chunks[ref>>32][uint32(ref):]
	n, w := binary.Uvarint(c)
	return c[w : w+int(n)]
}
