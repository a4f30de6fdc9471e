package rewards

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"

	"github.com/carbonkit/carbonkit/carbon"
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
//
// The in-memory badge and footprint stores keep one per shard, for the keys
// of all the shard's users (hasFor), rather than a Go map per user.
type keySet struct {
	seed   maphash.Seed
	tables []keyTable          // by the hash's top bits
	shift  uint                // 64 less log2(len(tables))
	extra  map[string]struct{} // keys whose hash collides with a different key's
	chunks byteChunks
	buf    []byte // scratch for encoding the key being looked up
}

// keyTables is the number of tables a board's keySet spreads its keys over.
// Each grows on its own, so growing rehashes a 256th of the keys at once
// rather than all of them: Add never stalls for long on a board with
// millions. A store shard's set (newShardKeySet), one of many, has fewer.
const (
	keyTables      = 256
	shardKeyTables = 16
)

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
// little. A key longer than this gets a chunk of its own. A set's first
// chunk is firstKeyChunk, and each next one twice the last up to keyChunk,
// so that a set of a few keys (a store shard with few users) stays small.
const (
	keyChunk      = 64 << 10
	firstKeyChunk = 1 << 10
)

func newKeySet() keySet { return newKeySetOf(keyTables) }

// newShardKeySet returns the keySet of one shard of a store.
func newShardKeySet() keySet { return newKeySetOf(shardKeyTables) }

// newKeySetOf returns a keySet of n tables, n a power of two.
func newKeySetOf(n int) keySet {
	return keySet{seed: maphash.MakeSeed(), tables: make([]keyTable, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
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
	s.encode(k)
	h = s.hash()
	present, slot = s.lookup(h)
	return present, h, slot
}

// encode leaves k encoded in s.buf, for hash and lookup.
func (s *keySet) encode(k EarningKey) { s.buf = encodeKey(s.buf[:0], k) }

// hasFor is has for user's key k, in a set of the keys of many users.
func (s *keySet) hasFor(user carbon.UserID, k EarningKey) (present bool, h uint64, slot int) {
	b := binary.AppendUvarint(s.buf[:0], uint64(len(user)))
	b = append(b, user...)
	s.buf = encodeKey(b, k)
	h = s.hash()
	present, slot = s.lookup(h)
	return present, h, slot
}

// hash returns the hash of the key encoded in s.buf.
func (s *keySet) hash() uint64 {
	if h := maphash.Bytes(s.seed, s.buf); h != 0 {
		return h
	}
	return 1 // zero marks an empty slot
}

// peek loads the slot where a lookup of hash h starts and returns its
// hash, for nothing but the load: a caller with another lookup to make
// peeks at both first, so that their cache misses overlap.
func (s *keySet) peek(h uint64) uint64 {
	t := &s.tables[h>>s.shift]
	if len(t.slots) == 0 {
		return 0
	}
	return t.slots[int(h)&(len(t.slots)-1)].hash
}

// lookup is has for the key encoded in s.buf, whose hash is h.
func (s *keySet) lookup(h uint64) (present bool, slot int) {
	t := &s.tables[h>>s.shift]
	if len(t.slots) == 0 {
		return false, -1
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch t.slots[i].hash {
		case 0:
			return false, i
		case h:
			if bytes.Equal(s.load(t.slots[i].ref), s.buf) {
				return true, i
			}
			// A different key has this hash: only the overflow map
			// can tell.
			_, dup := s.extra[string(s.buf)]
			return dup, -1
		}
	}
}

// insert adds the key that has just reported absent, with the hash and slot
// has returned.
func (s *keySet) insert(h uint64, slot int) {
	t := &s.tables[h>>s.shift]
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

// remove empties slot i, moving the slots after it that their probes
// would no longer reach (backward-shift deletion): no tombstone is left.
func (t *keyTable) remove(i int) {
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].hash != 0; j = (j + 1) & mask {
		// The entry at j stays unless its home is outside (i, j], taken
		// cyclically: then its probe passes i, and it moves there.
		home := int(t.slots[j].hash) & mask
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = keySlot{}
	t.used--
}

// grow doubles t's slots (or makes its first), rehashing what it holds.
func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]keySlot, max(16, 2*len(old)))
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

// store copies the encoded key enc into the set's chunks and returns where
// it put it.
func (s *keySet) store(enc []byte) uint64 { return s.chunks.store(enc) }

// load returns the encoded key stored at ref.
func (s *keySet) load(ref uint64) []byte { return s.chunks.load(ref) }

// byteChunks stores byte strings, each prefixed with its length, back to
// back in large chunks that hold no pointers: no allocation per string and
// nothing for the collector to scan. A string never straddles two chunks.
// The first chunk is firstKeyChunk bytes, and each next one twice the last
// up to keyChunk, so that a few strings (a store shard with few users) stay
// small; a string longer than that gets a chunk of its own.
type byteChunks struct {
	list [][]byte
}

// store copies enc into the chunks and returns where it put it: the
// chunk's index in the high 32 bits, the offset in the low.
func (c *byteChunks) store(enc []byte) uint64 {
	need := binary.MaxVarintLen64 + len(enc)
	last := len(c.list) - 1
	if last < 0 || cap(c.list[last])-len(c.list[last]) < need {
		size := firstKeyChunk
		if last >= 0 {
			size = min(keyChunk, 2*cap(c.list[last]))
		}
		c.list = append(c.list, make([]byte, 0, max(size, need)))
		last++
	}
	b := c.list[last]
	ref := uint64(last)<<32 | uint64(len(b))
	b = binary.AppendUvarint(b, uint64(len(enc)))
	c.list[last] = append(b, enc...)
	return ref
}

// unstore takes back the string stored at ref if it is the last one
// stored, and otherwise leaves it (a string is never moved).
func (c *byteChunks) unstore(ref uint64) {
	last := len(c.list) - 1
	if last < 0 || int(ref>>32) != last {
		return
	}
	b := c.list[last]
	at := int(uint32(ref))
	n, w := binary.Uvarint(b[at:])
	if at+w+int(n) == len(b) {
		c.list[last] = b[:at]
	}
}

// load returns the string stored at ref. Its bytes are the stored ones: a
// caller may change them in place, never their length.
func (c *byteChunks) load(ref uint64) []byte {
	b := c.list[ref>>32][uint32(ref):]
	n, w := binary.Uvarint(b)
	return b[w : w+int(n) : w+int(n)]
}
