package rewards

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// Sponsor funds red packets: for every point a user donates it pays
// FenPerPoint fen (CNY at scale 2) from its budget account
// (ledger.SponsorAccount(Name), which may not go below zero), at most
// MaxFen per donation (zero: no maximum):
//
//	red packet = min(points × FenPerPoint, MaxFen)
//
// The budget is funded with FundSponsor, from the funding account
// ledger.SponsorAccount(Name + ".funding"). So Name is a carbon identifier
// of at most MaxSponsorNameLen bytes that does not end in ".funding"
// (which would make it another sponsor's funding account).
type Sponsor struct {
	Name        string `json:"name"`
	FenPerPoint int64  `json:"fen_per_point"`
	MaxFen      int64  `json:"max_fen,omitempty"`
}

// fundingSuffix makes a sponsor's funding account name of its own.
const fundingSuffix = ".funding"

// MaxSponsorNameLen is the longest Sponsor.Name, in bytes: its funding
// account's name, eight bytes longer, must be an identifier too.
const MaxSponsorNameLen = carbon.MaxIDLen - len(fundingSuffix)

func (s Sponsor) validate() error {
	switch {
	case ledger.SponsorAccount(s.Name).Validate() != nil:
		return fmt.Errorf("name %q is not a valid identifier", s.Name)
	case len(s.Name) > MaxSponsorNameLen:
		return fmt.Errorf("name %q is %d bytes, more than %d: its funding account %q would not be a valid identifier",
			s.Name, len(s.Name), MaxSponsorNameLen, s.fundingAccount())
	case strings.HasSuffix(s.Name, fundingSuffix):
		return fmt.Errorf("name %q ends in %q: it is the funding account of sponsor %q",
			s.Name, fundingSuffix, strings.TrimSuffix(s.Name, fundingSuffix))
	case s.FenPerPoint <= 0 || s.FenPerPoint > 1_000_000:
		return fmt.Errorf("fen per point %d is outside 1 to 1000000", s.FenPerPoint)
	case s.MaxFen < 0:
		return fmt.Errorf("max fen %d is negative", s.MaxFen)
	}
	return nil
}

// redPacket returns the red packet for points donated, in fen.
func (s Sponsor) redPacket(points int64) (int64, bool) {
	fen := points * s.FenPerPoint
	if points != 0 && fen/points != s.FenPerPoint {
		if s.MaxFen == 0 {
			return 0, false
		}
		return s.MaxFen, true
	}
	if s.MaxFen > 0 {
		fen = min(fen, s.MaxFen)
	}
	return fen, true
}

// fundingAccount is the contra account of a sponsor's budget: its
// negative balance is what the sponsor has put in.
func (s Sponsor) fundingAccount() ledger.AccountID {
	return ledger.SponsorAccount(s.Name + fundingSuffix)
}

// FundSponsor adds fen to sponsor's budget, under the idempotency key key,
// from the sponsor's funding account ("sponsor NAME.funding", which may
// go negative: its balance is minus what the sponsor has put in). It opens
// both accounts if needed, and the programme's charity account: every
// donation needs the three, and Donate opens none, so that a refused one
// changes nothing. Errors: ErrInvalidArgument (a malformed key,
// fen not positive), ErrUnknownSponsor, ErrReplayMismatch (key reused for
// another request), ErrOverflow (the budget, or what the sponsor has put
// in, would leave int64; nothing changes), ErrLedger.
func (p *Programme) FundSponsor(ctx context.Context, key, sponsor string, fen int64) error {
	const op = "Programme.FundSponsor"
	if err := carbon.ValidateID("key", key); err != nil {
		return &Error{Op: op, Kind: ErrInvalidArgument, Err: err}
	}
	if fen <= 0 {
		return newErr(op, ErrInvalidArgument, fmt.Sprintf("amount %d fen is not positive", fen))
	}
	s, ok := p.sponsors[sponsor]
	if !ok {
		return newErr(op, ErrUnknownSponsor, fmt.Sprintf("sponsor %q", sponsor))
	}
	if err := p.openSponsor(ctx, op, s); err != nil {
		return err
	}
	_, err := p.ledger.Post(ctx, ledger.PostRequest{Key: "fund-" + subjectHash(key), Postings: []ledger.Posting{
		{Account: s.fundingAccount(), Asset: ledger.CNY, Amount: -fen},
		{Account: ledger.SponsorAccount(s.Name), Asset: ledger.CNY, Amount: fen},
	}, Metadata: map[string]string{metaKind: "sponsor.fund", "key": key}})
	if err != nil {
		return ledgerErr(op, err, fmt.Sprintf("funding sponsor %q", sponsor), ledger.ErrIdempotencyConflict, ErrReplayMismatch)
	}
	return nil
}

// openSponsor opens, if needed, the accounts a donation paid by s needs:
// its funding and budget accounts, and the charity account.
func (p *Programme) openSponsor(ctx context.Context, op string, s Sponsor) error {
	for _, a := range [...]struct {
		id     ledger.AccountID
		policy ledger.BalancePolicy
	}{
		{s.fundingAccount(), ledger.BalancePolicy{Overdraft: true}},
		{ledger.SponsorAccount(s.Name), ledger.BalancePolicy{}},
		{p.charity, ledger.BalancePolicy{}},
	} {
		if _, err := p.ledger.OpenAccount(ctx, a.id, a.policy); err != nil {
			return ledgerErr(op, err, "opening "+string(a.id))
		}
	}
	return nil
}

// DonateRequest asks to donate a user's points for a sponsor's red packet.
type DonateRequest struct {
	// Key is the caller's idempotency key: a carbon identifier.
	Key  string        `json:"key"`
	User carbon.UserID `json:"user"`
	// Points is how many points to donate (more than zero).
	Points carbon.Points `json:"points"`
	// Sponsor names the sponsor paying the red packet.
	Sponsor string `json:"sponsor"`
	// Partner, if set, donates from the user's child account for that
	// partner alone; empty donates at the parent, from the children's
	// soonest-expiring points first.
	Partner carbon.PartnerID `json:"partner,omitempty"`
}

// Donation is a committed donation.
type Donation struct {
	Key     string        `json:"key"`
	User    carbon.UserID `json:"user"`
	Sponsor string        `json:"sponsor"`
	Points  carbon.Points `json:"points"`
	// RedPacket is the cash paid to the user, in fen, into the CNY
	// balance of the user's parent account.
	RedPacket int64          `json:"red_packet_fen"`
	Entry     ledger.EntryID `json:"entry"`
	At        time.Time      `json:"at"`
}

// Donate moves the request's points from the user to the programme's
// charity account and pays the sponsor's red packet into the user's parent
// account, in ONE ledger entry (both assets), so that either both happen or
// neither does. Repeating the request with the same key returns the
// original donation. It opens no account: FundSponsor opens the
// sponsor's and the charity's.
//
// Errors (nothing changes, every balance as it was): ErrInvalidArgument
// (a malformed key, user or partner, or points not positive),
// ErrUnknownSponsor, ErrNotLinked, ErrInsufficientPoints,
// ErrBudgetExhausted (the sponsor's budget, empty until FundSponsor,
// cannot pay the red packet), ErrReplayMismatch, ErrOverflow (the red
// packet, or a balance it or the points go to, would leave int64),
// ErrLedger; ErrFollowUp with a valid donation when only publishing
// failed.
func (p *Programme) Donate(ctx context.Context, req DonateRequest) (Donation, error) {
	const op = "Programme.Donate"
	var partnerErr error
	if req.Partner != "" {
		partnerErr = req.Partner.Validate()
	}
	if err := errors.Join(carbon.ValidateID("key", req.Key), req.User.Validate(), partnerErr); err != nil {
		return Donation{}, &Error{Op: op, Kind: ErrInvalidArgument, Err: err}
	}
	if req.Points <= 0 {
		return Donation{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("donation of %d points is not positive", req.Points))
	}
	s, ok := p.sponsors[req.Sponsor]
	if !ok {
		return Donation{}, newErr(op, ErrUnknownSponsor, fmt.Sprintf("sponsor %q", req.Sponsor))
	}
	fen, ok := s.redPacket(int64(req.Points))
	if !ok {
		return Donation{}, newErr(op, ErrOverflow, fmt.Sprintf("red packet for %d points", req.Points))
	}
	if req.Partner != "" {
		if err := p.linked(ctx, op, req.User, req.Partner); err != nil {
			return Donation{}, err
		}
	}
	mu := p.stripe("donate", req.Key)
	mu.Lock()
	defer mu.Unlock()
	meta := map[string]string{metaKind: "donation", "key": req.Key, "user": string(req.User), "sponsor": s.Name,
		"points": strconv.FormatInt(int64(req.Points), 10), "rule": fmt.Sprintf("%d fen per point, at most %d", s.FenPerPoint, s.MaxFen)}
	key := "donate-" + subjectHash(req.Key)
	e, err := p.postDonation(ctx, op, req, s, fen, key, meta)
	if err != nil {
		// A parent donation's debits depend on the lots it found, so a
		// replay may be refused (the points are gone, or the allocation
		// differs) where the ledger would have returned the original:
		// look for the original entry before reporting the refusal.
		if req.Partner != "" || (!errors.Is(err, ErrInsufficientPoints) && !errors.Is(err, ErrReplayMismatch)) {
			return Donation{}, err
		}
		orig, ferr := p.ledger.EntryByKey(ctx, key)
		switch {
		case errors.Is(ferr, ledger.ErrUnknownEntry):
			return Donation{}, err
		case ferr != nil:
			return Donation{}, ledgerErr(op, ferr, fmt.Sprintf("looking for donation %q", req.Key))
		case orig.Metadata["sponsor"] != s.Name || orig.Metadata["points"] != meta["points"] || orig.Metadata["user"] != meta["user"]:
			return Donation{}, newErr(op, ErrReplayMismatch, fmt.Sprintf("key %q was used for donation entry %s with a different request", req.Key, orig.ID))
		}
		e = orig
	}
	d := Donation{Key: req.Key, User: req.User, Sponsor: s.Name, Points: req.Points, RedPacket: fen, Entry: e.ID, At: e.Recorded}
	return d, followUp(op, p.publish(ctx, []Event{{ID: string(EventDonationMade) + "/" + req.Key, Type: EventDonationMade, At: d.At, User: d.User, Donation: &d}}, nil))
}

// postDonation posts the donation's one entry, reading the user's lots
// again if a concurrent spend took the ones it chose.
func (p *Programme) postDonation(ctx context.Context, op string, req DonateRequest, s Sponsor, fen int64, key string, meta map[string]string) (ledger.Entry, error) {
	for attempt := 0; ; attempt++ {
		debits, err := p.donationDebits(ctx, op, req)
		if err != nil {
			return ledger.Entry{}, err
		}
		ps := append(debits, ledger.Posting{Account: p.charity, Asset: ledger.Points, Amount: int64(req.Points)})
		if fen > 0 {
			ps = append(ps, ledger.Posting{Account: ledger.SponsorAccount(s.Name), Asset: ledger.CNY, Amount: -fen},
				ledger.Posting{Account: ledger.UserAccount(req.User), Asset: ledger.CNY, Amount: fen})
		}
		e, err := p.ledger.Post(ctx, ledger.PostRequest{Key: key, Postings: ps, Metadata: meta})
		if err == nil {
			return e, nil
		}
		if errors.Is(err, ledger.ErrInsufficientFunds) {
			b, berr := p.ledger.Balance(ctx, ledger.SponsorAccount(s.Name), ledger.CNY)
			if avail, _ := b.Available(); berr == nil && avail < fen {
				return ledger.Entry{}, &Error{Op: op, Kind: ErrBudgetExhausted, Detail: fmt.Sprintf("sponsor %q has %d fen, the red packet is %d", s.Name, avail, fen), Err: err}
			}
			if req.Partner == "" && attempt < 3 {
				continue
			}
		}
		if errors.Is(err, ledger.ErrUnknownAccount) {
			if uerr := p.unfunded(ctx, op, s, fen, err); uerr != nil {
				return ledger.Entry{}, uerr
			}
		}
		return ledger.Entry{}, ledgerErr(op, err, fmt.Sprintf("donation %q", req.Key),
			ledger.ErrInsufficientFunds, ErrInsufficientPoints, ledger.ErrUnknownAccount, ErrNotLinked,
			ledger.ErrIdempotencyConflict, ErrReplayMismatch)
	}
}

// unfunded returns ErrBudgetExhausted if sponsor s was never funded, its
// budget account unopened, for a donation refused for an unknown account
// (cause): a red packet is at least 1 fen, which no such sponsor can pay.
// Otherwise the unknown account is the user's (or the charity's, named by
// a host after its last FundSponsor), which the caller reports.
func (p *Programme) unfunded(ctx context.Context, op string, s Sponsor, fen int64, cause error) error {
	budget := ledger.SponsorAccount(s.Name)
	_, err := p.ledger.Account(ctx, budget)
	switch {
	case errors.Is(err, ledger.ErrUnknownAccount):
		return &Error{Op: op, Kind: ErrBudgetExhausted, Detail: fmt.Sprintf("sponsor %q was never funded, the red packet is %d fen", s.Name, fen), Err: cause}
	case err != nil:
		return ledgerErr(op, err, "reading "+string(budget))
	}
	return nil
}

// donationDebits returns the postings that take the donation's points from
// the user: from the partner's child, or at the parent from the
// soonest-expiring lots of every account of the user (ledger.Allocate
// with the default allocation, whatever the ledger's options say), summed
// per account.
func (p *Programme) donationDebits(ctx context.Context, op string, req DonateRequest) ([]ledger.Posting, error) {
	if req.Partner != "" {
		return []ledger.Posting{{Account: ledger.PartnerAccount(req.User, req.Partner), Asset: ledger.Points, Amount: -int64(req.Points)}}, nil
	}
	ps, err := p.ledger.Allocate(ctx, req.User, ledger.Points, int64(req.Points), &ledger.Allocation{})
	if err != nil {
		return nil, ledgerErr(op, err, fmt.Sprintf("donation of user %q", req.User),
			ledger.ErrUnknownAccount, ErrNotLinked, ledger.ErrInsufficientFunds, ErrInsufficientPoints)
	}
	return ps, nil
}
