package ledger_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/internal/cputime"
	"github.com/carbonkit/carbonkit/ledger"
)

// BenchmarkPostLedgerOnly measures the Ledger's own cost for Post (the
// validation, fingerprint, lock set, balance check, lot walk, entry
// building and sealing) over a store that keeps nothing: subtract it from
// memstore's BenchmarkPost to see what storing costs.
func BenchmarkPostLedgerOnly(b *testing.B) {
	l, err := ledger.New(&nullStore{sealer: ledger.NewSealer()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	x, y := ledger.PartnerAccount("u", "a"), ledger.PartnerAccount("u", "b")
	ps := []ledger.Posting{{Account: x, Asset: ledger.Points, Amount: -1}, {Account: y, Asset: ledger.Points, Amount: 1}}
	key := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		key = strconv.AppendInt(append(key[:0], 'p'), int64(i), 10)
		if _, err := l.Post(ctx, ledger.PostRequest{Key: string(key), Postings: ps}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu > 0 {
		// Process CPU time per op: ns/op is wall time, which on a shared
		// machine includes waiting for a core.
		b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// nullStore has every account, each with one large lot, and keeps no
// writes; it seals each entry so that the hash chain's cost is counted.
type nullStore struct {
	mu     sync.Mutex
	sealer *ledger.Sealer
	seq    uint64
	head   ledger.Hash
}

func (s *nullStore) Update(_ context.Context, fn func(ledger.Tx) error) error {
	return fn(nullTx{s})
}

func (s *nullStore) View(_ context.Context, fn func(ledger.ReadTx) error) error {
	return fn(nullTx{s})
}

type nullTx struct{ s *nullStore }

func (nullTx) Account(_ context.Context, id ledger.AccountID) (ledger.Account, error) {
	return ledger.Account{ID: id}, nil
}
func (nullTx) Accounts(context.Context, ledger.AccountID, int) ([]ledger.Account, error) {
	return nil, nil
}
func (nullTx) Children(context.Context, ledger.AccountID) ([]ledger.Account, error) { return nil, nil }
func (nullTx) Balance(context.Context, ledger.AccountID, ledger.Asset) (ledger.Balance, error) {
	return ledger.Balance{Posted: 1 << 40}, nil
}
func (nullTx) Lots(_ context.Context, id ledger.AccountID, a ledger.Asset, fn func(ledger.Lot) bool) error {
	fn(ledger.Lot{ID: ledger.LotID{Entry: "fund"}, Account: id, Asset: a, Amount: 1 << 40, Remaining: 1 << 40})
	return nil
}
func (nullTx) Lot(context.Context, ledger.AccountID, ledger.LotID) (ledger.Lot, error) {
	return ledger.Lot{}, ledger.ErrNotFound
}
func (nullTx) Entry(context.Context, ledger.EntryID) (*ledger.Entry, error) {
	return nil, ledger.ErrNotFound
}
func (nullTx) Key(context.Context, string) (ledger.EntryID, error) { return "", ledger.ErrNotFound }
func (nullTx) History(context.Context, ledger.AccountID, string, int) ([]*ledger.Entry, string, error) {
	return nil, "", nil
}
func (nullTx) Changes(context.Context, uint64, int) ([]*ledger.Entry, error) { return nil, nil }
func (nullTx) Expiring(context.Context, time.Time, ledger.AccountID, int) ([]ledger.AccountID, error) {
	return nil, nil
}
func (nullTx) PendingHolds(context.Context, time.Time, ledger.EntryID, int) ([]*ledger.Entry, error) {
	return nil, nil
}
func (nullTx) Lock(context.Context, []ledger.AccountID) error                      { return nil }
func (nullTx) CreateAccount(context.Context, ledger.Account) error                 { return nil }
func (nullTx) UpdateAccount(context.Context, ledger.Account) error                 { return nil }
func (nullTx) InsertLot(context.Context, ledger.Lot) error                         { return nil }
func (nullTx) AddLot(context.Context, ledger.AccountID, ledger.LotID, int64) error { return nil }
func (nullTx) AddBalance(context.Context, ledger.AccountID, ledger.Asset, int64, int64) error {
	return nil
}
func (t nullTx) InsertEntry(_ context.Context, e *ledger.Entry, _ []string) error {
	s := t.s
	s.mu.Lock()
	s.seq++
	s.sealer.Seal(e, s.seq, s.head)
	s.head = e.Hash
	s.mu.Unlock()
	return nil
}
