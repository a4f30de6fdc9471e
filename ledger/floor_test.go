package ledger

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// floorSink keeps BenchmarkPostFloor's allocations on the heap.
var floorSink *entryBlock

// BenchmarkPostFloor measures, for the entry memstore's BenchmarkPost
// makes, the parts of a Post that no store and no tuning can remove: the
// request's fingerprint and the entry's chain hash (a SHA-256 each, over the
// canonical encodings, whose length in bytes it reports), one read of the
// clock and the allocation of the entry. Their sum is the floor of Post on
// the machine that runs it.
func BenchmarkPostFloor(b *testing.B) {
	const id = "0123456789abcdef0123456789abcdef"
	key := "p123456"
	ps := []Posting{
		{Account: PartnerAccount("u", "a"), Asset: Points, Amount: -1},
		{Account: PartnerAccount("u", "b"), Asset: Points, Amount: 1},
	}
	clock := carbon.SystemClock()
	now := clock.Now().UTC().Round(0)
	e := &Entry{ID: id, Kind: KindTransfer, Key: key, Postings: ps,
		Lots:      []LotUse{{Lot: LotID{Entry: id}, Account: ps[0].Account, Asset: Points, Amount: 1}},
		Effective: now, Recorded: now}
	b.Run("Fingerprint", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf = append(buf[:0], fpVersion, fpPost)
			buf = appendStr(buf, key)
			buf = appendPostings(buf, ps)
			buf = appendMeta(buf, nil)
			buf = appendTime(buf, time.Time{}) // no Effective: now
			e.Fingerprint = sha256.Sum256(buf)
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
	b.Run("Seal", func(b *testing.B) {
		s := NewSealer()
		for b.Loop() {
			s.Seal(e, 1, Hash{})
		}
		b.ReportMetric(float64(len(s.buf)), "bytes")
	})
	b.Run("Clock", func(b *testing.B) {
		for b.Loop() {
			now = clock.Now().UTC().Round(0)
		}
	})
	b.Run("Entry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			floorSink = new(entryBlock)
		}
	})
}

// BenchmarkAppendMeta measures the canonical encoding of metadata, which a
// Post with metadata does twice (for the fingerprint and for the chain
// hash): here the eight pairs of a rewards earn entry.
func BenchmarkAppendMeta(b *testing.B) {
	const digest = "3f2a9c0d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b"
	m := map[string]string{"rewards.kind": "earn", "activity": "trip-12345", "scenario": "transport.metro",
		"region": "CN-GD", "occurred_at": "2026-04-02T08:00:00Z", "methodology": "carbonkit.transport.metro@2024.1 " + digest,
		"policy": "base@1 base=89 multiplier=1.5 campaign=gd uncapped=133", "fingerprint": digest}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendMeta(buf[:0], m)
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}
