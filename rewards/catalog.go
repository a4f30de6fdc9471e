package rewards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// RewardKind is what a reward is.
type RewardKind string

// The reward kinds.
const (
	// RewardCoupon is a merchant's discount coupon; the points go to the
	// merchant (ledger.MerchantAccount(Payee)).
	RewardCoupon RewardKind = "coupon"
	// RewardMallItem is an item in one partner's mall, paid from the
	// user's child account for that partner alone; the points go to the
	// merchant (ledger.MerchantAccount(Payee)).
	RewardMallItem RewardKind = "mall-item"
	// RewardDonation is a donation of points; they go to the charity
	// (ledger.CharityAccount(Payee)).
	RewardDonation RewardKind = "donation"
)

// Reward is an entry of the catalog: what a user can redeem points for.
type Reward struct {
	ID    string     `json:"id"`
	Kind  RewardKind `json:"kind"`
	Title string     `json:"title"`
	// Partner scopes the reward to that partner's mall: it is paid from
	// the user's child account for Partner only. Empty: the reward is
	// paid at the parent account, from every child (soonest-expiring
	// points first). A mall item needs a partner.
	Partner carbon.PartnerID `json:"partner,omitempty"`
	// Payee names the merchant (coupon, mall item) or the charity
	// (donation) the points go to.
	Payee string `json:"payee"`
	// Cost is the price of one unit in points (more than zero).
	Cost carbon.Points `json:"cost"`
	// Stock is the number of units ever available (more than zero):
	// units held or fulfilled are taken, voided ones come back.
	Stock int64 `json:"stock"`
	// PerUser is the most units one user may hold or have fulfilled; zero
	// means no limit.
	PerUser int64 `json:"per_user,omitempty"`
	// Window is when the reward may be redeemed; the zero Window means
	// always.
	Window Window `json:"window"`
}

// Validate returns nil or a *ValidationError matching ErrInvalidReward
// naming every problem.
func (r Reward) Validate() error {
	p := problems{kind: ErrInvalidReward}
	idProblem(&p, "$.id", carbon.ValidateID("reward", r.ID))
	switch r.Kind {
	case RewardCoupon, RewardDonation:
	case RewardMallItem:
		if r.Partner == "" {
			p.add("$.partner", "a mall item needs a partner")
		}
	default:
		p.add("$.kind", fmt.Sprintf("%q is not coupon, mall-item or donation", string(r.Kind)))
	}
	textProblem(&p, "$.title", r.Title, 256, true)
	if r.Partner != "" {
		idProblem(&p, "$.partner", r.Partner.Validate())
	}
	if err := r.payee().Validate(); err != nil {
		p.add("$.payee", fmt.Sprintf("%q is not a valid merchant or charity name", r.Payee))
	}
	if r.Cost <= 0 {
		p.add("$.cost", fmt.Sprintf("cost %d is not positive", r.Cost))
	}
	if r.Stock <= 0 {
		p.add("$.stock", fmt.Sprintf("stock %d is not positive", r.Stock))
	}
	if r.PerUser < 0 {
		p.add("$.per_user", fmt.Sprintf("per-user limit %d is negative", r.PerUser))
	}
	if r.Window != (Window{}) {
		r.Window.check(&p, "$.window")
	}
	return p.err()
}

// Equal reports whether r and s define the same reward.
func (r Reward) Equal(s Reward) bool {
	return r.ID == s.ID && r.Kind == s.Kind && r.Title == s.Title && r.Partner == s.Partner && r.Payee == s.Payee &&
		r.Cost == s.Cost && r.Stock == s.Stock && r.PerUser == s.PerUser && r.Window.Equal(s.Window)
}

// payee returns the account the reward's points are paid to.
func (r Reward) payee() ledger.AccountID {
	if r.Kind == RewardDonation {
		return ledger.CharityAccount(r.Payee)
	}
	return ledger.MerchantAccount(r.Payee)
}

// CatalogStore keeps the catalog and each reward's stock and per-user
// counts. Implementations must be safe for concurrent use;
// rewardstest.RunCatalogStore checks one.
type CatalogStore interface {
	// PutReward adds r if no reward has its ID and returns it and true;
	// otherwise it returns the reward already there and false, changing
	// nothing.
	PutReward(ctx context.Context, r Reward) (Reward, bool, error)
	// Reward returns reward id, and false if there is none.
	Reward(ctx context.Context, id string) (Reward, bool, error)
	// Rewards returns every reward, by ID.
	Rewards(ctx context.Context) ([]Reward, error)
	// Reserve takes one unit of reward's stock for user under redemption,
	// atomically: it returns an error matching ErrOutOfStock when stock
	// units are taken, and one matching ErrLimitReached when user has
	// perUser units taken (perUser zero: no limit), changing nothing.
	// Reserving the same redemption again changes nothing and returns nil.
	Reserve(ctx context.Context, reward string, user carbon.UserID, redemption string, stock, perUser int64) error
	// Release returns the unit reserved under redemption; releasing one
	// not reserved (or released already) changes nothing.
	Release(ctx context.Context, reward string, redemption string) error
	// Taken returns how many units of reward are taken, in all and by
	// user.
	Taken(ctx context.Context, reward string, user carbon.UserID) (total, byUser int64, err error)
}

// MemCatalogStore is the in-memory CatalogStore, safe for concurrent use.
type MemCatalogStore struct {
	mu      sync.RWMutex
	rewards map[string]*memReward
}

type memReward struct {
	Reward
	mu     sync.Mutex
	taken  int64
	byUser map[carbon.UserID]int64
	held   map[string]carbon.UserID // redemption -> user
}

// NewMemCatalogStore returns an empty MemCatalogStore.
func NewMemCatalogStore() *MemCatalogStore {
	return &MemCatalogStore{rewards: map[string]*memReward{}}
}

// PutReward implements CatalogStore.
func (s *MemCatalogStore) PutReward(ctx context.Context, r Reward) (Reward, bool, error) {
	if err := ctx.Err(); err != nil {
		return Reward{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.rewards[r.ID]; ok {
		return old.Reward, false, nil
	}
	s.rewards[r.ID] = &memReward{Reward: r, byUser: map[carbon.UserID]int64{}, held: map[string]carbon.UserID{}}
	return r, true, nil
}

// Reward implements CatalogStore.
func (s *MemCatalogStore) Reward(ctx context.Context, id string) (Reward, bool, error) {
	if err := ctx.Err(); err != nil {
		return Reward{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.rewards[id]; ok {
		return r.Reward, true, nil
	}
	return Reward{}, false, nil
}

// Rewards implements CatalogStore.
func (s *MemCatalogStore) Rewards(ctx context.Context) ([]Reward, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]Reward, 0, len(s.rewards))
	for _, r := range s.rewards {
		out = append(out, r.Reward)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Reward) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *MemCatalogStore) reward(id string) *memReward {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rewards[id]
}

// Reserve implements CatalogStore.
func (s *MemCatalogStore) Reserve(ctx context.Context, reward string, user carbon.UserID, redemption string, stock, perUser int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := s.reward(reward)
	if r == nil {
		return newErr("MemCatalogStore.Reserve", ErrUnknownReward, fmt.Sprintf("reward %q", reward))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.held[redemption]; ok {
		return nil
	}
	switch {
	case r.taken >= stock:
		return newErr("MemCatalogStore.Reserve", ErrOutOfStock, fmt.Sprintf("all %d units of reward %q are taken", stock, reward))
	case perUser > 0 && r.byUser[user] >= perUser:
		return newErr("MemCatalogStore.Reserve", ErrLimitReached, fmt.Sprintf("user %q has %d units of reward %q, the limit", user, r.byUser[user], reward))
	}
	r.taken++
	r.byUser[user]++
	r.held[redemption] = user
	return nil
}

// Release implements CatalogStore.
func (s *MemCatalogStore) Release(ctx context.Context, reward string, redemption string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := s.reward(reward)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	user, ok := r.held[redemption]
	if !ok {
		return nil
	}
	delete(r.held, redemption)
	r.taken--
	if r.byUser[user]--; r.byUser[user] == 0 {
		delete(r.byUser, user)
	}
	return nil
}

// Taken implements CatalogStore.
func (s *MemCatalogStore) Taken(ctx context.Context, reward string, user carbon.UserID) (int64, int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	r := s.reward(reward)
	if r == nil {
		return 0, 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.taken, r.byUser[user], nil
}
