package rewards_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/internal/offheap"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/rewards"
)

// BenchmarkEarnFloor measures, for the metro trip BenchmarkEarn earns, parts
// of an Earn that no store and no tuning removes, because the programme's
// contract asks for them:
//
//   - Hashes: the SHA-256 digests over the real encodings: the activity's
//     fingerprint (a replay with another body is refused), the ledger key
//     (EarnKey), the entry's chain link (entries are hash-chained) and the
//     request's fingerprint, for which the entry's encoding stands in (the
//     request's is that of its key, postings and metadata: most of it). The
//     methodology's result digest is left out, so this is an underestimate.
//   - Keep: first writes of the two records an earn must keep, the entry
//     (its binary form, as memstore keeps it) and the receipt (as
//     MemReceiptStore keeps it), to memory never written before, as an
//     in-memory store's growing history is. Their indexes, the lots and
//     the consumers' state are left out, another underestimate.
//
// Their sum is a lower bound of Earn on the machine that runs it.
func BenchmarkEarnFloor(b *testing.B) {
	e := newEnv(b, nil)
	a := trip(b, "trip-123456", "u1", "6.4", progStart.Add(time.Hour))
	r, err := e.p.Earn(e.ctx, a)
	if err != nil {
		b.Fatal(err)
	}
	entry, err := e.l.Entry(e.ctx, r.Entry)
	if err != nil {
		b.Fatal(err)
	}
	bin, err := entry.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	rec := rewards.EncodeReceipt(rewards.ReceiptRecord{Receipt: r})

	b.Run("Hashes", func(b *testing.B) {
		s := ledger.NewSealer()
		buf := make([]byte, 0, 2*len(bin))
		var sum [sha256.Size]byte
		for b.Loop() {
			_ = rewards.ActivityFingerprint(&a)
			_ = rewards.EarnKey(a.Partner, a.ID)
			buf = s.SealAppend(buf[:0], &entry, entry.Seq, entry.PrevHash)
			sum = sha256.Sum256(bin[sha256.Size : len(bin)-sha256.Size])
		}
		_ = sum
		b.ReportMetric(float64(len(bin)), "entry-bytes")
	})
	b.Run("Keep", func(b *testing.B) {
		mem := offheap.New()
		mem.Bytes(offheap.HeapBytes) // past the Go heap: what follows is mapped afresh
		const block = 1 << 20
		var free []byte
		n := len(bin) + len(rec)
		for b.Loop() {
			if len(free) < n {
				free = mem.Bytes(block)
			}
			copy(free, bin)
			copy(free[len(bin):], rec)
			free = free[n:]
		}
		b.ReportMetric(float64(n), "kept-bytes")
	})
}
