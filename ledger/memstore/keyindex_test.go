package memstore

import (
	"hash/maphash"
	"strconv"
	"testing"
)

// TestKeyIndexCollision checks the keyIndex when two strings share a hash:
// the second goes to spill, and each maps to its own Seq. A collision of
// 64-bit hashes cannot be found on demand, so the test makes one by
// pointing the second string's slot at the first's text.
func TestKeyIndexCollision(t *testing.T) {
	x := newKeyIndex()
	x.put("a", 1)
	x.slots[maphash.String(x.seed, "b")] = x.slots[maphash.String(x.seed, "a")]
	if _, ok := x.get("b"); ok {
		t.Fatal(`"b" found before it was put, through "a"'s slot`)
	}
	x.put("b", 2)
	if len(x.spill) != 1 {
		t.Fatalf("spill holds %d strings, want 1", len(x.spill))
	}
	for s, want := range map[string]uint64{"a": 1, "b": 2} {
		if seq, ok := x.get(s); !ok || seq != want {
			t.Errorf("get(%q) = %d, %v; want %d, true", s, seq, ok, want)
		}
	}
	if seq, ok := x.get("c"); ok {
		t.Errorf(`get("c") = %d, true; want not found`, seq)
	}
}

// TestKeyIndexMany puts strings across several arena chunks and pages and
// reads each back.
func TestKeyIndexMany(t *testing.T) {
	x := newKeyIndex()
	long := string(make([]byte, chunkSize+1)) // a string larger than a chunk
	x.put(long, 1)
	const n = 3*pageSize + 7
	for i := range n {
		x.put("key-"+strconv.Itoa(i), uint64(i+2))
	}
	if seq, ok := x.get(long); !ok || seq != 1 {
		t.Errorf("get(long) = %d, %v; want 1, true", seq, ok)
	}
	for i := range n {
		if seq, ok := x.get("key-" + strconv.Itoa(i)); !ok || seq != uint64(i+2) {
			t.Fatalf("get(key-%d) = %d, %v; want %d, true", i, seq, ok, i+2)
		}
	}
	if _, ok := x.get("key-" + strconv.Itoa(n)); ok {
		t.Error("a string never put was found")
	}
	if len(x.text.chunks) < 2 {
		t.Errorf("arena has %d chunks, want at least 2", len(x.text.chunks))
	}
}
