package rewards

import "github.com/carbonkit/carbonkit/carbon"

// Reservations returns how many reservations s keeps (for the tests).
func (s *MemCapStore) Reservations() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.reservations)
		sh.mu.Unlock()
	}
	return n
}

// ActivityFingerprint is activityFingerprint, for BenchmarkEarnFloor.
func ActivityFingerprint(a *carbon.Activity) string { return activityFingerprint(a) }

// EncodeReceipt returns rec as MemReceiptStore keeps it, for
// BenchmarkEarnFloor.
func EncodeReceipt(rec ReceiptRecord) []byte { return appendReceiptRecord(nil, &rec, 0) }
