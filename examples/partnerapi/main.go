// Partnerapi is the JSON service a partner backend would put in front of
// carbonkit: partners report activities, apps read a user's 1+N account and
// a campaign leaderboard, and users redeem rewards. It runs the programme in
// memory (four partners, a coupon and a mall item, this month's boards),
// logs every request with log/slog as JSON on stdout, and shuts down
// gracefully on SIGINT or SIGTERM, letting requests in flight finish.
//
//	go run ./examples/partnerapi                # listens on 127.0.0.1:8080
//	go run ./examples/partnerapi -addr :9090
//
// # Endpoints
//
//	PUT  /v1/users/{id}/partners/{p}    link the user's account at partner p (enrolling the user)
//	POST /v1/activities                 report an activity (carbon.Activity JSON); needs Idempotency-Key
//	GET  /v1/users/{id}/account         the parent total and each partner's child account
//	POST /v1/redemptions                {"user": ..., "reward_id": ...}; needs Idempotency-Key
//	POST /v1/redemptions/{id}/fulfil    the reward was delivered: the held points are spent
//	POST /v1/redemptions/{id}/cancel    the reward was not delivered: the points come back
//	GET  /v1/leaderboards/{id}          ?limit=10 (1 to 1000) and ?user= for a user's rank
//
// Responses are JSON: a rewards.Receipt (201) for an activity, a
// rewards.Redemption for a redemption (201 when held, 200 when resolved),
// the account as {"user", "total", "children"} with points, held,
// available and reduction for each, and a board as {"board", "members",
// "top", "user"}.
//
// An activity is credited up to a week after its occurred_at, which may be
// at most five minutes ahead of the server's clock (400 invalid_activity
// otherwise): the daily cap of 2,000 points counts by the day an activity
// occurred, so a caller must not be free to pick the day. For example (the
// boards count this month's activities in Shanghai time, so give the
// current time as occurred_at):
//
//	curl -s -X PUT localhost:8080/v1/users/u-42/partners/food-delivery
//	curl -s localhost:8080/v1/activities -H 'Idempotency-Key: order-1001' -d '{
//	  "partner": "food-delivery", "user": "u-42", "scenario": "food.no-cutlery",
//	  "occurred_at": "2026-11-28T12:00:00+08:00", "region": "CN-GD",
//	  "quantities": {"orders": "2 order"}, "attributes": {"cutlery": "none"}}'
//	curl -s localhost:8080/v1/users/u-42/account
//
// # Idempotency
//
// POST /v1/activities and POST /v1/redemptions require an Idempotency-Key
// header: a carbon identifier (printable ASCII without spaces, at most 128
// bytes). For an activity the key IS the activity's ID, the partner's own
// event ID that carbonkit credits once, ever: a body without "id" takes the
// key as its ID, and a body whose "id" differs from the key is refused
// (400 idempotency_key_mismatch). Keys are scoped to the partner that
// reports the activity. Repeating a request with the same key and the same
// body returns the same status and body, with the header
// Idempotent-Replayed: true, and credits nothing more; the same key with a
// different body gets 409 idempotency_conflict. A redemption's key is its
// ID; repeating it returns the redemption as it now stands.
//
// A user is enrolled when they link a partner's app (PUT
// /v1/users/{id}/partners/{p}: the parent account is opened and the
// partner's child account linked); activities of a user who never enrolled
// get 404 unknown_user, and of one not linked to the partner 422
// not_linked. A real deployment would also authenticate the partner (the
// "partner" of an activity must then be the caller).
//
// # Errors
//
// Every error is a JSON object {"error": {"code": "...", "message": "..."}}
// whose code is stable (the message is for people and may change):
//
//	400 malformed_json (not JSON), invalid_activity (JSON that is not a
//	    valid activity: an unknown field, a bad quantity, region or time, a
//	    missing field), missing_idempotency_key, invalid_idempotency_key,
//	    idempotency_key_mismatch, invalid_argument
//	404 unknown_user, unknown_board, unknown_reward, unknown_redemption,
//	    not_found (no such endpoint)
//	405 method_not_allowed (see the Allow header)
//	409 idempotency_conflict, redemption_resolved
//	413 body_too_large (bodies are limited to 64 KiB)
//	422 unknown_partner, not_linked, not_quantifiable, no_policy,
//	    insufficient_points, out_of_stock, limit_reached, window_closed
//	500 internal (the details are logged, not returned)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Shanghai on hosts without a zone database

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "partnerapi:", err)
		os.Exit(1)
	}
}

// run serves the API on -addr until ctx is cancelled, then shuts down
// gracefully: it stops accepting connections and waits up to ten seconds
// for requests in flight. It logs to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("partnerapi", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "the address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	s, err := newServer(ctx, carbon.SystemClock(), log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "partners", s.partners, "boards", s.boardIDs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// maxBody is the largest request body accepted.
const maxBody = 64 << 10

// server is the API over one in-memory programme. It is an http.Handler
// and, like the programme, safe for concurrent use.
type server struct {
	prog     *rewards.Programme
	ledger   *ledger.Ledger
	boards   *rewards.Boards
	log      *slog.Logger
	partners []carbon.PartnerID
	boardIDs []rewards.BoardID
	handler  http.Handler
	mux      *http.ServeMux
	requests atomic.Uint64 // numbers requests for the logs
}

// newServer builds the programme (the built-in methodologies, a point per
// 10 g of CO2e up to 2,000 points a day, four partners, two rewards, and
// national and provincial boards for the month of clock.Now() in Shanghai)
// and the API's routes.
func newServer(ctx context.Context, clock carbon.Clock, log *slog.Logger) (*server, error) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock})
	if err != nil {
		return nil, err
	}
	boards, err := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: clock})
	if err != nil {
		return nil, err
	}
	s := &server{ledger: l, boards: boards, log: log,
		partners: []carbon.PartnerID{"food-delivery", "logistics", "secondhand", "mall"}}
	month := clock.Now().In(shanghai)
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, shanghai)
	window := rewards.Window{Start: first, End: first.AddDate(0, 1, 0)}
	for _, region := range []carbon.Region{"", carbon.Guangdong, carbon.Beijing, carbon.Zhejiang} {
		id := rewards.BoardID(first.Format("2006-01"))
		if region != "" {
			id += rewards.BoardID("-" + string(region))
		}
		if err := boards.Define(ctx, rewards.Board{ID: id, Window: window, Region: region, Grace: time.Hour}); err != nil {
			return nil, err
		}
		s.boardIDs = append(s.boardIDs, id)
	}
	s.prog, err = rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
		Clock: clock, TimeZone: shanghai, Partners: s.partners, Boards: boards,
		// The daily cap counts by the day an activity occurred, which the
		// caller states: only the last week, and no more than a clock's
		// drift ahead, may be credited.
		MaxActivityAge: maxActivityAge, MaxActivityLead: maxActivityLead,
		Policies: []rewards.EarnPolicy{{ID: "standard", Version: "2024.1", ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai),
			PointsPerGram: decimal.New(1, -1), DailyCap: 2000}},
	})
	if err != nil {
		return nil, err
	}
	for _, rw := range []rewards.Reward{
		{ID: "coffee", Kind: rewards.RewardCoupon, Title: "Oat latte coupon", Payee: "cafe", Cost: 50, Stock: 10_000, PerUser: 10},
		{ID: "tote-bag", Kind: rewards.RewardMallItem, Title: "Recycled tote bag", Partner: "mall", Payee: "mall-shop", Cost: 300, Stock: 500, PerUser: 1},
	} {
		if err := s.prog.AddReward(ctx, rw); err != nil {
			return nil, err
		}
	}

	mux := http.NewServeMux()
	s.mux = mux
	mux.Handle("PUT /v1/users/{id}/partners/{partner}", s.handle(s.putLink))
	mux.Handle("POST /v1/activities", s.handle(s.postActivity))
	mux.Handle("GET /v1/users/{id}/account", s.handle(s.getAccount))
	mux.Handle("POST /v1/redemptions", s.handle(s.postRedemption))
	mux.Handle("POST /v1/redemptions/{id}/fulfil", s.handle(s.resolveRedemption(s.prog.Fulfil)))
	mux.Handle("POST /v1/redemptions/{id}/cancel", s.handle(s.resolveRedemption(s.prog.Cancel)))
	mux.Handle("GET /v1/leaderboards/{id}", s.handle(s.getLeaderboard))
	s.handler = mux
	return s, nil
}

// ServeHTTP serves a request and logs it: method, path, status, size and
// duration, with the request's number.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &recorder{ResponseWriter: w, status: http.StatusOK}
	id := s.requests.Add(1)
	ctx := context.WithValue(r.Context(), requestKey{}, id)
	var w2 http.ResponseWriter = rw
	if _, pattern := s.mux.Handler(r); pattern == "" {
		w2 = &routeError{ResponseWriter: rw} // the mux's own 404 or 405
	}
	s.handler.ServeHTTP(w2, r.WithContext(ctx))
	level := slog.LevelInfo
	if rw.status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "request", slog.Uint64("request", id), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", rw.status), slog.Int64("bytes", rw.bytes),
		slog.Duration("duration", time.Since(start)))
}

type requestKey struct{}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// routeError turns the mux's plain-text 404 and 405 responses into JSON
// errors; any other response (a redirect to a clean path) passes through.
type routeError struct {
	http.ResponseWriter
	rewritten bool
}

func (w *routeError) WriteHeader(status int) {
	var b errorBody
	switch status {
	case http.StatusNotFound:
		b.Error.Code, b.Error.Message = "not_found", "no such endpoint"
	case http.StatusMethodNotAllowed:
		b.Error.Code, b.Error.Message = "method_not_allowed", "the endpoint does not take this method; see the Allow header"
	default:
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.rewritten = true
	_ = writeJSON(w.ResponseWriter, status, b)
}

func (w *routeError) Write(b []byte) (int, error) {
	if w.rewritten {
		return len(b), nil // the mux's text, replaced
	}
	return w.ResponseWriter.Write(b)
}

// postActivity credits a partner's activity: 201 and the rewards.Receipt.
func (s *server) postActivity(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var a carbon.Activity
	if err := decode(w, r, &a, "invalid_activity"); err != nil {
		return err
	}
	switch {
	case a.ID == "":
		a.ID = key
	case a.ID != key:
		return &apiError{http.StatusBadRequest, "idempotency_key_mismatch",
			fmt.Sprintf("activity id %q differs from the Idempotency-Key %q: the key is the activity's id", a.ID, key)}
	}
	if err := a.Validate(); err != nil {
		return &apiError{http.StatusBadRequest, "invalid_activity", err.Error()}
	}
	rec, err := s.prog.Earn(r.Context(), a)
	if errors.Is(err, rewards.ErrNotLinked) {
		return s.userError(r.Context(), a.User, err)
	}
	if err := s.followUp(r, err); err != nil {
		return err
	}
	if rec.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		rec.Replayed = false // so that the body is the original one
	}
	return writeJSON(w, http.StatusCreated, rec)
}

// followUp returns err, except for rewards.ErrFollowUp: the call's state
// committed and its result is valid, but a consumer (the boards) or the
// publisher failed. That is logged, and the programme completes it when
// the call is repeated or on Programme.Resync.
func (s *server) followUp(r *http.Request, err error) error {
	if errors.Is(err, rewards.ErrFollowUp) {
		s.log.WarnContext(r.Context(), "follow-up failed", "request", r.Context().Value(requestKey{}), "error", err.Error())
		return nil
	}
	return err
}

// userError returns 404 unknown_user if user was never enrolled, and err
// otherwise.
func (s *server) userError(ctx context.Context, user carbon.UserID, err error) error {
	if _, aerr := s.ledger.Account(ctx, ledger.UserAccount(user)); errors.Is(aerr, ledger.ErrUnknownAccount) {
		return &apiError{http.StatusNotFound, "unknown_user", fmt.Sprintf("user %q is not enrolled", user)}
	}
	return err
}

// putLink enrols a user with a partner: it opens the user's parent account
// and links the partner's child account, doing nothing for what exists.
// It returns 200 and the account.
func (s *server) putLink(w http.ResponseWriter, r *http.Request) error {
	u, p := carbon.UserID(r.PathValue("id")), carbon.PartnerID(r.PathValue("partner"))
	if err := errors.Join(u.Validate(), p.Validate()); err != nil {
		return &apiError{http.StatusBadRequest, "invalid_argument", err.Error()}
	}
	if !slices.Contains(s.partners, p) {
		return &apiError{http.StatusUnprocessableEntity, "unknown_partner", fmt.Sprintf("partner %q is not in the programme", p)}
	}
	if _, err := s.ledger.OpenUser(r.Context(), u); err != nil {
		return err
	}
	if _, err := s.ledger.LinkPartner(r.Context(), u, p); err != nil {
		return err
	}
	return s.writeAccount(w, r, u)
}

// account is the JSON form of a user's 1+N account.
type account struct {
	User     carbon.UserID `json:"user"`
	Total    balance       `json:"total"` // the parent: its own balance and every child's
	Children []balance     `json:"children"`
}

type balance struct {
	Partner   carbon.PartnerID `json:"partner,omitempty"`
	Unlinked  bool             `json:"unlinked,omitempty"`
	Points    int64            `json:"points"`    // posted
	Held      int64            `json:"held"`      // reserved by pending redemptions
	Available int64            `json:"available"` // points - held
	Reduction carbon.Mass      `json:"reduction"` // CO2e credited
}

// getAccount returns a user's points and reductions, in total and per
// partner.
func (s *server) getAccount(w http.ResponseWriter, r *http.Request) error {
	u := carbon.UserID(r.PathValue("id"))
	if err := u.Validate(); err != nil {
		return &apiError{http.StatusBadRequest, "invalid_argument", err.Error()}
	}
	return s.writeAccount(w, r, u)
}

// writeAccount writes user u's account: 200, or 404 for an unknown user.
func (s *server) writeAccount(w http.ResponseWriter, r *http.Request, u carbon.UserID) error {
	pts, err := s.ledger.Rollup(r.Context(), u, ledger.Points)
	if errors.Is(err, ledger.ErrUnknownAccount) {
		return &apiError{http.StatusNotFound, "unknown_user", fmt.Sprintf("user %q is not enrolled", u)}
	}
	if err != nil {
		return err
	}
	co2, err := s.ledger.Rollup(r.Context(), u, ledger.CO2e)
	if err != nil {
		return err
	}
	reduction := func(rb ledger.Rollup, p carbon.PartnerID) int64 {
		for _, c := range rb.Children {
			if c.Partner == p {
				return c.Balance.Posted
			}
		}
		return 0
	}
	avail, _ := pts.Total.Available() // never negative for a user account
	out := account{User: u, Total: balance{Points: pts.Total.Posted, Held: pts.Total.Held, Available: avail,
		Reduction: milligrams(co2.Total.Posted)}, Children: []balance{}}
	for _, c := range pts.Children {
		avail, _ := c.Balance.Available()
		out.Children = append(out.Children, balance{Partner: c.Partner, Unlinked: c.Closed, Points: c.Balance.Posted,
			Held: c.Balance.Held, Available: avail, Reduction: milligrams(reduction(co2, c.Partner))})
	}
	return writeJSON(w, http.StatusOK, out)
}

// redemptionRequest is the body of POST /v1/redemptions.
type redemptionRequest struct {
	User     carbon.UserID `json:"user"`
	RewardID string        `json:"reward_id"`
}

// postRedemption holds a reward's cost and a unit of its stock for a user:
// 201 and the rewards.Redemption, whose ID is the Idempotency-Key.
func (s *server) postRedemption(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req redemptionRequest
	if err := decode(w, r, &req, "invalid_argument"); err != nil {
		return err
	}
	rd, err := s.prog.Redeem(r.Context(), rewards.RedeemRequest{Key: key, User: req.User, RewardID: req.RewardID})
	if errors.Is(err, rewards.ErrNotLinked) {
		return s.userError(r.Context(), req.User, err)
	}
	if err := s.followUp(r, err); err != nil {
		return err
	}
	status := http.StatusCreated
	if rd.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		rd.Replayed = false
		if rd.State == rewards.RedemptionFulfilled || rd.State == rewards.RedemptionVoided {
			status = http.StatusOK // resolved since it was held
		}
	}
	return writeJSON(w, status, rd)
}

// resolveRedemption returns the handler that fulfils or cancels a
// redemption with resolve: 200 and the rewards.Redemption. Repeating it
// returns the same redemption.
func (s *server) resolveRedemption(resolve func(context.Context, string) (rewards.Redemption, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		rd, err := resolve(r.Context(), r.PathValue("id"))
		if err := s.followUp(r, err); err != nil {
			return err
		}
		rd.Replayed = false
		return writeJSON(w, http.StatusOK, rd)
	}
}

// leaderboard is the JSON form of a board's standings.
type leaderboard struct {
	Board   rewards.Board          `json:"board"`
	Members int                    `json:"members"`
	Top     []rewards.Standing     `json:"top"`
	User    *rewards.Neighbourhood `json:"user,omitempty"` // ?user=: the user's standing and neighbours
}

// getLeaderboard returns a board's top standings (?limit, default 10) and,
// with ?user, that user's standing with two neighbours on each side.
func (s *server) getLeaderboard(w http.ResponseWriter, r *http.Request) error {
	id := rewards.BoardID(r.PathValue("id"))
	b, err := s.boards.Board(id)
	if err != nil {
		return err
	}
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > rewards.MaxPage {
			return &apiError{http.StatusBadRequest, "invalid_argument", fmt.Sprintf("limit %q is not a number from 1 to %d", v, rewards.MaxPage)}
		}
	}
	out := leaderboard{Board: b}
	if out.Top, err = s.boards.Top(r.Context(), id, limit); err != nil {
		return err
	}
	if out.Members, err = s.boards.Count(r.Context(), id); err != nil {
		return err
	}
	if u := r.URL.Query().Get("user"); u != "" {
		n, err := s.boards.Rank(r.Context(), id, carbon.UserID(u), 2)
		switch {
		case errors.Is(err, rewards.ErrNotMember):
		case err != nil:
			return err
		default:
			out.User = &n
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// milligrams converts the ledger's CO2e amount to a mass.
func milligrams(mg int64) carbon.Mass { return carbon.Grams(decimal.New(mg, -3)) }

// idempotencyKey returns the request's Idempotency-Key, or a 400.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return "", &apiError{http.StatusBadRequest, "missing_idempotency_key", "the Idempotency-Key header is required"}
	}
	if err := carbon.ValidateID("idempotency key", key); err != nil {
		return "", &apiError{http.StatusBadRequest, "invalid_idempotency_key", err.Error()}
	}
	return key, nil
}

// How long after it occurred an activity may still be reported, and how
// far ahead of the server's clock its occurred_at may be.
const (
	maxActivityAge  = 7 * 24 * time.Hour
	maxActivityLead = 5 * time.Minute
)

// decode reads one JSON value from the request body into v: at most
// maxBody bytes, no unknown fields, nothing after the value. A body that
// is not JSON is malformed_json; JSON that does not decode into v (an
// unknown field, a wrong type, a value v's type refuses) gets code.
func decode(w http.ResponseWriter, r *http.Request, v any, code string) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	trailing := false
	if err == nil {
		// Only white space may follow the value: anything else, a stray
		// ']' or '}' too (which More would miss), is more than one value.
		if _, err = dec.Token(); err == io.EOF {
			return nil
		}
		trailing = true
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	case trailing:
		return &apiError{http.StatusBadRequest, "malformed_json", "the body holds more than one JSON value"}
	case errors.Is(err, io.EOF):
		return &apiError{http.StatusBadRequest, "malformed_json", "the body is empty"}
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{http.StatusBadRequest, "malformed_json", "the body is not JSON: " + err.Error()}
	}
	return &apiError{http.StatusBadRequest, code, err.Error()}
}

// writeJSON writes v as the JSON response with status. It fails, writing
// nothing, only if v cannot be encoded; an error writing the response (the
// client went away) is not reported.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// apiError is an error response: an HTTP status, a stable code and a
// message.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// classify maps an error to its response. The SDK's typed errors are
// matched with errors.Is, most specific first; anything else is a 500.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	for _, m := range []struct {
		kind   error
		status int
		code   string
	}{
		{rewards.ErrReplayMismatch, http.StatusConflict, "idempotency_conflict"},
		{rewards.ErrInvalidActivity, http.StatusBadRequest, "invalid_activity"},
		{rewards.ErrInvalidArgument, http.StatusBadRequest, "invalid_argument"},
		{ledger.ErrInvalidRequest, http.StatusBadRequest, "invalid_argument"},
		{rewards.ErrUnknownBoard, http.StatusNotFound, "unknown_board"},
		{rewards.ErrUnknownReward, http.StatusNotFound, "unknown_reward"},
		{rewards.ErrUnknownRedemption, http.StatusNotFound, "unknown_redemption"},
		{rewards.ErrRedemptionFinal, http.StatusConflict, "redemption_resolved"},
		{rewards.ErrUnknownPartner, http.StatusUnprocessableEntity, "unknown_partner"},
		{rewards.ErrNotLinked, http.StatusUnprocessableEntity, "not_linked"},
		{rewards.ErrNotQuantifiable, http.StatusUnprocessableEntity, "not_quantifiable"},
		{rewards.ErrNoPolicy, http.StatusUnprocessableEntity, "no_policy"},
		{rewards.ErrInsufficientPoints, http.StatusUnprocessableEntity, "insufficient_points"},
		{rewards.ErrOutOfStock, http.StatusUnprocessableEntity, "out_of_stock"},
		{rewards.ErrLimitReached, http.StatusUnprocessableEntity, "limit_reached"},
		{rewards.ErrWindowClosed, http.StatusUnprocessableEntity, "window_closed"},
	} {
		if errors.Is(err, m.kind) {
			return &apiError{m.status, m.code, message(err)}
		}
	}
	return &apiError{http.StatusInternalServerError, "internal", "internal error"}
}

// message is what a caller is told of err, a 4xx: what was wrong with the
// request, without the layers below (a store's own words) or another
// request's details (whose user reused a key).
func message(err error) string {
	if errors.Is(err, rewards.ErrReplayMismatch) {
		return "the Idempotency-Key was used before, for another request"
	}
	var re *rewards.Error
	if errors.As(err, &re) && re.Detail != "" {
		return re.Detail
	}
	return err.Error()
}

// errorBody is the JSON form of an error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// handle adapts a handler that returns an error: the error is written as
// the JSON error response, and a 500's cause is logged.
func (s *server) handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		e := classify(err)
		if e.status == http.StatusInternalServerError {
			s.log.ErrorContext(r.Context(), "internal error", "request", r.Context().Value(requestKey{}), "error", err.Error())
		}
		var b errorBody
		b.Error.Code, b.Error.Message = e.code, e.message
		_ = writeJSON(w, e.status, b) // an errorBody always encodes
	}
}
