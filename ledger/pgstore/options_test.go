package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5/pgxpool"
)

func sampleEntry() *ledger.Entry {
	return &ledger.Entry{ID: "e1", Kind: ledger.KindCommit, Key: "k-1", Ref: "h1",
		Postings: []ledger.Posting{{Account: "user u-1 food", Asset: ledger.Points, Amount: -7},
			{Account: "merchant shop", Asset: ledger.Points, Amount: 7}},
		Lots:      []ledger.LotUse{{Lot: ledger.LotID{Entry: "e0", Posting: 1}, Account: "user u-1 food", Asset: ledger.Points, Amount: 7}},
		Metadata:  map[string]string{"a": "b"},
		Effective: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Recorded: time.Date(2026, 1, 2, 3, 4, 5, 7, time.UTC),
		Deadline: time.Date(2027, 1, 1, 0, 0, 0, 1, time.UTC), Fingerprint: ledger.Hash{1, 2, 3}}
}

func TestNewRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://nobody@127.0.0.1:1/none") // no I/O until used
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		pool *pgxpool.Pool
		opts *Options
	}{
		{"NilPool", ctx, nil, nil},
		{"NilContext", nil, pool, nil},
		{"NegativeShards", ctx, pool, &Options{Shards: -1}},
		{"TooManyShards", ctx, pool, &Options{Shards: 1025}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.ctx, tc.pool, tc.opts)
			if !errors.Is(err, ErrInvalidOptions) || s != nil {
				t.Fatalf("New = %v, %v; want ErrInvalidOptions", s, err)
			}
		})
	}
	s, err := New(ctx, pool, &Options{SealInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if err := s.Update(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
}

func TestCodecRoundTripAndCorruption(t *testing.T) {
	// A body cut anywhere, or with trailing bytes, is refused, not
	// misread.
	e := sampleEntry()
	b := encodeBody(nil, e)
	var got = *e
	got.Postings, got.Lots, got.Metadata = nil, nil, nil
	if err := decodeBody(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Key != e.Key || got.Ref != e.Ref || len(got.Postings) != 2 || got.Postings[1] != e.Postings[1] ||
		len(got.Lots) != 1 || got.Lots[0] != e.Lots[0] || got.Metadata["a"] != "b" || !got.Effective.Equal(e.Effective) ||
		!got.Deadline.Equal(e.Deadline) || got.Fingerprint != e.Fingerprint {
		t.Fatalf("round trip: got %+v, want %+v", got, *e)
	}
	for n := range len(b) {
		if err := decodeBody(b[:n], new(ledger.Entry)); !errors.Is(err, errCorrupt) {
			t.Fatalf("a body cut at %d of %d decoded: %v", n, len(b), err)
		}
	}
	if err := decodeBody(append(b, 0), new(ledger.Entry)); !errors.Is(err, errCorrupt) {
		t.Fatalf("a body with a trailing byte decoded: %v", err)
	}
}
