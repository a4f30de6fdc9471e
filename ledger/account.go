package ledger

import (
	"strconv"
	"strings"

	"github.com/carbonkit/carbonkit/carbon"
)

// AccountID names an account. It is a short text of space-separated words,
// the first of which is the account's kind; because carbon identifiers never
// contain spaces, the form is unambiguous:
//
//	user u-42          the parent account of user u-42
//	user u-42 metro    u-42's child account for partner metro
//	issuance metro     the account partner metro issues points from
//	breakage           where expired points go
//	charity redcross   a charity (donations)
//	merchant shop-1    a merchant (spends)
//	sponsor acme       a sponsor's budget (red packets)
//
// Build IDs with the constructors (UserAccount, PartnerAccount, ...); an ID
// built by hand is checked when it is used. IDs sort so that a parent comes
// just before its children.
type AccountID string

// AccountKind is the kind of an account, the first word of its ID.
type AccountKind uint8

// The account kinds.
const (
	KindInvalid  AccountKind = iota // not an account
	KindUser                        // a user's parent account
	KindPartner                     // a user's child account for one partner
	KindIssuance                    // a partner's issuance account
	KindBreakage                    // the breakage account
	KindCharity                     // a charity
	KindMerchant                    // a merchant
	KindSponsor                     // a sponsor budget
)

var kindWords = [...]string{"", "user", "user", "issuance", "breakage", "charity", "merchant", "sponsor"}

// String names the kind: "user", "partner", "issuance", ...
func (k AccountKind) String() string {
	switch k {
	case KindPartner:
		return "partner"
	case KindInvalid:
		return "invalid"
	}
	if int(k) < len(kindWords) {
		return kindWords[k]
	}
	return "invalid"
}

// UserAccount returns the ID of user u's parent account.
func UserAccount(u carbon.UserID) AccountID { return AccountID("user " + string(u)) }

// PartnerAccount returns the ID of user u's child account for partner p.
func PartnerAccount(u carbon.UserID, p carbon.PartnerID) AccountID {
	return AccountID("user " + string(u) + " " + string(p))
}

// IssuanceAccount returns the ID of partner p's issuance account, the source
// of the points p awards.
func IssuanceAccount(p carbon.PartnerID) AccountID { return AccountID("issuance " + string(p)) }

// BreakageAccount returns the ID of the account that receives expired
// amounts.
func BreakageAccount() AccountID { return "breakage" }

// CharityAccount returns the ID of the charity named name.
func CharityAccount(name string) AccountID { return AccountID("charity " + name) }

// MerchantAccount returns the ID of the merchant named name.
func MerchantAccount(name string) AccountID { return AccountID("merchant " + name) }

// SponsorAccount returns the ID of the sponsor budget named name.
func SponsorAccount(name string) AccountID { return AccountID("sponsor " + name) }

// Kind returns the account's kind, or KindInvalid when id is malformed.
func (id AccountID) Kind() AccountKind {
	k, _, _ := id.parse()
	return k
}

// User returns the user of a parent or child account, or "" for any other.
func (id AccountID) User() carbon.UserID {
	k, a, _ := id.parse()
	if k == KindUser || k == KindPartner {
		return carbon.UserID(a)
	}
	return ""
}

// Partner returns the partner of a child or issuance account, or "".
func (id AccountID) Partner() carbon.PartnerID {
	switch k, a, b := id.parse(); k {
	case KindPartner:
		return carbon.PartnerID(b)
	case KindIssuance:
		return carbon.PartnerID(a)
	}
	return ""
}

// Parent returns the parent account of a child account, or "" for any other.
func (id AccountID) Parent() AccountID {
	if k, _, _ := id.parse(); k != KindPartner {
		return ""
	}
	return id[:strings.LastIndexByte(string(id), ' ')]
}

// IsUser reports whether id, a valid account ID, is a user's parent or
// child account: an account whose balance may never go below zero and whose
// credits become lots. It tests the prefix only: of an ID that is not
// valid (see Validate) it says nothing.
func (id AccountID) IsUser() bool {
	// The hot path: a prefix test, no parsing.
	return len(id) > 5 && id[:5] == "user "
}

// Validate reports whether id is well formed, with an error matching
// ErrInvalidRequest that says what is wrong.
func (id AccountID) Validate() error {
	if id.Kind() == KindInvalid {
		return newErr("Validate", ErrInvalidRequest, "malformed account id "+strconv.Quote(string(id)))
	}
	return nil
}

// parse splits id into its kind and up to two names, checking every part.
func (id AccountID) parse() (k AccountKind, a, b string) {
	s := string(id)
	word, rest, _ := strings.Cut(s, " ")
	switch word {
	case "user":
		u, p, two := strings.Cut(rest, " ")
		if carbon.ValidateID("user", u) != nil {
			return KindInvalid, "", ""
		}
		if !two {
			return KindUser, u, ""
		}
		if carbon.ValidateID("partner", p) != nil {
			return KindInvalid, "", ""
		}
		return KindPartner, u, p
	case "breakage":
		if rest != "" || len(s) != len(word) {
			return KindInvalid, "", ""
		}
		return KindBreakage, "", ""
	case "issuance", "charity", "merchant", "sponsor":
		if carbon.ValidateID(word, rest) != nil {
			return KindInvalid, "", ""
		}
		for k := KindIssuance; int(k) < len(kindWords); k++ {
			if kindWords[k] == word {
				return k, rest, ""
			}
		}
	}
	return KindInvalid, "", ""
}

// BalancePolicy says how low an account's available balance may go.
//
// The zero value is the strict policy: the available balance (posted minus
// held) never goes below zero. User accounts always have it; system accounts
// choose. An account whose policy is Unbounded is never checked, and so never
// locked: every writer may credit or debit it concurrently (an issuance
// account must not be a point where all writers queue).
type BalancePolicy struct {
	// Overdraft lets the available balance go below zero, down to -Limit.
	Overdraft bool
	// Limit is the largest overdraft, in minor units; zero with Overdraft set
	// means no limit at all.
	Limit int64
}

// Unbounded reports whether the account needs no check at all.
func (p BalancePolicy) Unbounded() bool { return p.Overdraft && p.Limit == 0 }

// floor is the lowest available balance the policy allows.
func (p BalancePolicy) floor() int64 {
	if p.Overdraft {
		return -p.Limit
	}
	return 0
}

// String describes the policy: "no overdraft", "overdraft unlimited",
// "overdraft up to 500".
func (p BalancePolicy) String() string {
	switch {
	case !p.Overdraft:
		return "no overdraft"
	case p.Limit == 0:
		return "overdraft unlimited"
	}
	return "overdraft up to " + strconv.FormatInt(p.Limit, 10)
}

// DefaultPolicy returns the policy an account of kind k gets unless opened
// with another: issuance accounts may go negative without limit (their
// negative balance is the points a partner has issued); every other kind may
// not go below zero.
func DefaultPolicy(k AccountKind) BalancePolicy {
	if k == KindIssuance {
		return BalancePolicy{Overdraft: true}
	}
	return BalancePolicy{}
}

// Account is an account's metadata as the store keeps it.
type Account struct {
	ID     AccountID     // its name, which also gives its kind
	Policy BalancePolicy // zero (no overdraft) for user accounts
	// Closed is set on a child account whose partner was unlinked: it takes
	// no new credits, but may still be debited, reversed into and expired.
	Closed bool
}
