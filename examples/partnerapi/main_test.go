package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/stretchr/testify/require"
)

// api is a test server over a programme whose clock stands on
// 2026-04-22 in Shanghai, so this month's boards are "2026-04...".
type api struct {
	t     *testing.T
	url   string
	clock *carbon.TestClock
}

func newAPI(t *testing.T) *api {
	t.Helper()
	clock := carbon.NewTestClock(time.Date(2026, 4, 22, 20, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	s, err := newServer(context.Background(), clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &api{t: t, url: ts.URL, clock: clock}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with an Idempotency-Key if key is not empty.
func (a *api) do(method, path, key, body string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	require.NoError(a.t, err)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	require.Equal(a.t, "application/json", res.Header.Get("Content-Type"), "%s %s: %s", method, path, b)
	return response{res.StatusCode, res.Header, string(b)}
}

// errorCode checks that r is a JSON error with status and returns its code.
func (r response) errorCode(t *testing.T, status int) string {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	var e errorBody
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	require.NotEmpty(t, e.Error.Message, r.body)
	return e.Error.Code
}

// link enrols user with partner.
func (a *api) link(user, partner string) {
	a.t.Helper()
	r := a.do("PUT", "/v1/users/"+user+"/partners/"+partner, "", "")
	require.Equal(a.t, http.StatusOK, r.status, r.body)
}

// order is a food-delivery activity body: a cutlery-free checkout of n
// orders (30 g of CO2e, 3 points each).
func order(user string, orders int, region string) string {
	return fmt.Sprintf(`{"partner": "food-delivery", "user": %q, "scenario": "food.no-cutlery",
	  "occurred_at": "2026-04-22T12:00:00+08:00", "region": %q,
	  "quantities": {"orders": "%d order"}, "attributes": {"cutlery": "none"}}`, user, region, orders)
}

// boxes is a box hand-back at the logistics partner: 37 g per box.
func boxes(user string, n int) string {
	return fmt.Sprintf(`{"partner": "logistics", "user": %q, "scenario": "logistics.box-reuse",
	  "occurred_at": "2026-04-22T18:00:00+08:00", "region": "CN-ZJ", "quantities": {"boxes": "%d box"}}`, user, n)
}

type accountJSON struct {
	User  string `json:"user"`
	Total struct {
		Points, Held, Available int64
		Reduction               string
	} `json:"total"`
	Children []struct {
		Partner                 string
		Points, Held, Available int64
		Reduction               string
	} `json:"children"`
}

func (a *api) account(user string) accountJSON {
	a.t.Helper()
	r := a.do("GET", "/v1/users/"+user+"/account", "", "")
	require.Equal(a.t, http.StatusOK, r.status, r.body)
	var acct accountJSON
	require.NoError(a.t, json.Unmarshal([]byte(r.body), &acct))
	return acct
}

// A replayed POST with the same key and body gets the same status and
// body, says it is a replay, and credits once.
func TestActivityReplay(t *testing.T) {
	a := newAPI(t)
	a.link("u-42", "food-delivery")
	first := a.do("POST", "/v1/activities", "order-1001", order("u-42", 2, "CN-GD"))
	require.Equal(t, http.StatusCreated, first.status, first.body)
	require.Empty(t, first.header.Get("Idempotent-Replayed"))
	var rec struct {
		ActivityID string `json:"activity_id"`
		Points     int64  `json:"points"`
		Reduction  string `json:"reduction"`
		Entry      string `json:"entry"`
	}
	require.NoError(t, json.Unmarshal([]byte(first.body), &rec))
	require.Equal(t, "order-1001", rec.ActivityID, "the key is the activity's id")
	require.Equal(t, int64(6), rec.Points)
	require.Equal(t, "60g", rec.Reduction)
	require.NotEmpty(t, rec.Entry)

	a.clock.Advance(time.Minute)
	again := a.do("POST", "/v1/activities", "order-1001", order("u-42", 2, "CN-GD"))
	require.Equal(t, http.StatusCreated, again.status)
	require.Equal(t, first.body, again.body)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

	// The same key naming itself as the id is the same request.
	withID := strings.Replace(order("u-42", 2, "CN-GD"), "{", `{"id": "order-1001", `, 1)
	require.Equal(t, first.body, a.do("POST", "/v1/activities", "order-1001", withID).body)

	acct := a.account("u-42")
	require.Equal(t, int64(6), acct.Total.Points, "credited once")
	require.Equal(t, "60g", acct.Total.Reduction)
}

// A different body under a used key is a 409, and changes nothing.
func TestActivityConflict(t *testing.T) {
	a := newAPI(t)
	a.link("u-42", "food-delivery")
	require.Equal(t, http.StatusCreated, a.do("POST", "/v1/activities", "order-1001", order("u-42", 2, "CN-GD")).status)
	r := a.do("POST", "/v1/activities", "order-1001", order("u-42", 3, "CN-GD"))
	require.Equal(t, "idempotency_conflict", r.errorCode(t, http.StatusConflict))
	require.Equal(t, int64(6), a.account("u-42").Total.Points)
}

// Bad requests get a JSON error with a stable code and the right status.
func TestActivityErrors(t *testing.T) {
	a := newAPI(t)
	a.link("u-42", "food-delivery")
	a.link("u-7", "logistics")
	for _, tc := range []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"malformed JSON", "k-1", `{"partner": "food-delivery", `, http.StatusBadRequest, "malformed_json"},
		{"empty body", "k-1", ``, http.StatusBadRequest, "malformed_json"},
		{"two values", "k-1", order("u-42", 1, "CN-GD") + " {}", http.StatusBadRequest, "malformed_json"},
		{"a stray bracket after the value", "k-1", order("u-42", 1, "CN-GD") + "}]", http.StatusBadRequest, "malformed_json"},
		// The clock stands at 2026-04-22T20:00+08:00: a week back, and
		// five minutes ahead, may be credited.
		{"over a week old", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), "2026-04-22T12:00", "2026-04-15T19:59", 1), http.StatusBadRequest, "invalid_activity"},
		{"in the future", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), "2026-04-22T12:00", "2026-04-22T20:06", 1), http.StatusBadRequest, "invalid_activity"},
		{"unknown field", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), "{", `{"colour": "green", `, 1), http.StatusBadRequest, "invalid_activity"},
		{"wrong type", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), `"u-42"`, `42`, 1), http.StatusBadRequest, "invalid_activity"},
		{"bad quantity", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), "1 order", "lots", 1), http.StatusBadRequest, "invalid_activity"},
		{"no key", "", order("u-42", 1, "CN-GD"), http.StatusBadRequest, "missing_idempotency_key"},
		{"bad key", "has space", order("u-42", 1, "CN-GD"), http.StatusBadRequest, "invalid_idempotency_key"},
		{"id differs from key", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), "{", `{"id": "k-2", `, 1), http.StatusBadRequest, "idempotency_key_mismatch"},
		{"invalid activity", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), `"food.no-cutlery"`, `""`, 1), http.StatusBadRequest, "invalid_activity"},
		{"unknown region", "k-1", order("u-42", 1, "CN-XX"), http.StatusBadRequest, "invalid_activity"},
		{"unknown partner", "k-1", strings.Replace(order("u-42", 1, "CN-GD"), "food-delivery", "taxi", 1), http.StatusUnprocessableEntity, "unknown_partner"},
		{"unknown user", "k-1", order("nobody", 1, "CN-GD"), http.StatusNotFound, "unknown_user"},
		{"user not linked", "k-1", order("u-7", 1, "CN-GD"), http.StatusUnprocessableEntity, "not_linked"},
		{"outside the methodology", "k-1", order("u-42", 11, "CN-GD"), http.StatusUnprocessableEntity, "not_quantifiable"},
		{"too large", "k-1", `{"id": "` + strings.Repeat("x", maxBody) + `"}`, http.StatusRequestEntityTooLarge, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/v1/activities", tc.key, tc.body)
			require.Equal(t, tc.code, r.errorCode(t, tc.status))
		})
	}
	// None of them credited anything.
	require.Equal(t, int64(0), a.account("u-42").Total.Points)
	require.Equal(t, int64(0), a.account("u-7").Total.Points)
}

// Requests the routes do not serve get JSON errors too.
func TestRouting(t *testing.T) {
	a := newAPI(t)
	r := a.do("GET", "/v1/activities", "", "")
	require.Equal(t, "method_not_allowed", r.errorCode(t, http.StatusMethodNotAllowed))
	require.Equal(t, "POST", r.header.Get("Allow"))
	r = a.do("GET", "/v1/nothing", "", "")
	require.Equal(t, "not_found", r.errorCode(t, http.StatusNotFound))
}

// An unknown user is a 404 wherever a user is named.
func TestUnknownUser(t *testing.T) {
	a := newAPI(t)
	r := a.do("GET", "/v1/users/nobody/account", "", "")
	require.Equal(t, "unknown_user", r.errorCode(t, http.StatusNotFound))
	r = a.do("POST", "/v1/redemptions", "rd-1", `{"user": "nobody", "reward_id": "coffee"}`)
	require.Equal(t, "unknown_user", r.errorCode(t, http.StatusNotFound))
	r = a.do("POST", "/v1/activities", "k-1", order("nobody", 1, "CN-GD"))
	require.Equal(t, "unknown_user", r.errorCode(t, http.StatusNotFound))
	r = a.do("GET", "/v1/users/bad%20id/account", "", "")
	require.Equal(t, "invalid_argument", r.errorCode(t, http.StatusBadRequest))
	r = a.do("PUT", "/v1/users/nobody/partners/taxi", "", "")
	require.Equal(t, "unknown_partner", r.errorCode(t, http.StatusUnprocessableEntity))
}

// The account is 1+N: a child per partner, and a total that sums them.
func TestAccount(t *testing.T) {
	a := newAPI(t)
	a.link("u-42", "food-delivery")
	a.link("u-42", "food-delivery") // linking again changes nothing
	a.link("u-42", "logistics")
	a.link("u-42", "mall")
	require.Equal(t, http.StatusCreated, a.do("POST", "/v1/activities", "order-1", order("u-42", 2, "CN-GD")).status)
	require.Equal(t, http.StatusCreated, a.do("POST", "/v1/activities", "box-1", boxes("u-42", 3)).status)
	acct := a.account("u-42")
	require.Equal(t, "u-42", acct.User)
	require.Len(t, acct.Children, 3)
	got := map[string]int64{}
	var sum int64
	for _, c := range acct.Children {
		got[c.Partner] = c.Points
		sum += c.Points
	}
	require.Equal(t, map[string]int64{"food-delivery": 6, "logistics": 11, "mall": 0}, got)
	require.Equal(t, sum, acct.Total.Points)
	require.Equal(t, acct.Total.Points, acct.Total.Available)
	require.Equal(t, "171g", acct.Total.Reduction)
}

// A redemption holds the points, is idempotent, and is fulfilled; one the
// user cannot afford is a 422.
func TestRedemption(t *testing.T) {
	a := newAPI(t)
	a.link("u-7", "logistics")
	for i := range 4 { // 4 × 10 boxes × 37 g = 1480 g: 148 points
		require.Equal(t, http.StatusCreated, a.do("POST", "/v1/activities", fmt.Sprintf("box-%d", i), boxes("u-7", 10)).status)
	}
	body := `{"user": "u-7", "reward_id": "coffee"}`
	r := a.do("POST", "/v1/redemptions", "rd-1", body)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	var rd struct {
		ID, State string
		Cost      int64
	}
	require.NoError(t, json.Unmarshal([]byte(r.body), &rd))
	require.Equal(t, "rd-1", rd.ID)
	require.Equal(t, "held", rd.State)
	require.Equal(t, int64(50), rd.Cost)
	acct := a.account("u-7")
	require.Equal(t, int64(148), acct.Total.Points)
	require.Equal(t, int64(50), acct.Total.Held)
	require.Equal(t, int64(98), acct.Total.Available)

	again := a.do("POST", "/v1/redemptions", "rd-1", body)
	require.Equal(t, r.body, again.body)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	r = a.do("POST", "/v1/redemptions", "rd-1", `{"user": "u-7", "reward_id": "tote-bag"}`)
	require.Equal(t, "idempotency_conflict", r.errorCode(t, http.StatusConflict))

	r = a.do("POST", "/v1/redemptions/rd-1/fulfil", "", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Contains(t, r.body, `"state":"fulfilled"`)
	// Repeated now, the request returns the redemption as it stands:
	// resolved, so 200.
	again = a.do("POST", "/v1/redemptions", "rd-1", body)
	require.Equal(t, http.StatusOK, again.status, again.body)
	require.Equal(t, r.body, again.body)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	// Another user's request under the key learns nothing of the first.
	a.link("u-8", "logistics")
	r = a.do("POST", "/v1/redemptions", "rd-1", `{"user": "u-8", "reward_id": "coffee"}`)
	require.Equal(t, "idempotency_conflict", r.errorCode(t, http.StatusConflict))
	require.NotContains(t, r.body, "u-7")
	acct = a.account("u-7")
	require.Equal(t, int64(98), acct.Total.Points)
	require.Equal(t, int64(0), acct.Total.Held)
	r = a.do("POST", "/v1/redemptions/rd-1/cancel", "", "")
	require.Equal(t, "redemption_resolved", r.errorCode(t, http.StatusConflict))
	r = a.do("POST", "/v1/redemptions/rd-9/fulfil", "", "")
	require.Equal(t, "unknown_redemption", r.errorCode(t, http.StatusNotFound))

	// 98 points left: a second coffee, then not a third.
	require.Equal(t, http.StatusCreated, a.do("POST", "/v1/redemptions", "rd-2", body).status)
	r = a.do("POST", "/v1/redemptions", "rd-3", body)
	require.Equal(t, "insufficient_points", r.errorCode(t, http.StatusUnprocessableEntity))
	r = a.do("POST", "/v1/redemptions", "rd-4", `{"user": "u-7", "reward_id": "tea"}`)
	require.Equal(t, "unknown_reward", r.errorCode(t, http.StatusNotFound))
	// The tote bag is sold in the mall, where u-7 has no account.
	r = a.do("POST", "/v1/redemptions", "rd-5", `{"user": "u-7", "reward_id": "tote-bag"}`)
	require.Equal(t, "not_linked", r.errorCode(t, http.StatusUnprocessableEntity))
	require.NotContains(t, r.body, "memstore", "the store's own words stay inside")
	r = a.do("POST", "/v1/redemptions", "rd-6", `{"user": "u-7"`)
	require.Equal(t, "malformed_json", r.errorCode(t, http.StatusBadRequest))
	r = a.do("POST", "/v1/redemptions", "rd-6", `{"user": "u-7", "reward": "coffee"}`)
	require.Equal(t, "invalid_argument", r.errorCode(t, http.StatusBadRequest))
	r = a.do("POST", "/v1/redemptions", "", body)
	require.Equal(t, "missing_idempotency_key", r.errorCode(t, http.StatusBadRequest))
}

// Boards rank by points earned in the month and province, with
// competition ranks; unknown boards are 404s.
func TestLeaderboard(t *testing.T) {
	a := newAPI(t)
	for i, e := range []struct {
		user   string
		orders int
		region string
	}{{"amy", 2, "CN-GD"}, {"bo", 5, "CN-GD"}, {"chen", 2, "CN-GD"}, {"dan", 1, "CN-GD"}, {"eve", 9, "CN-BJ"}} {
		a.link(e.user, "food-delivery")
		a.clock.Advance(time.Minute)
		r := a.do("POST", "/v1/activities", fmt.Sprintf("o-%d", i), order(e.user, e.orders, e.region))
		require.Equal(t, http.StatusCreated, r.status, r.body)
	}
	var board struct {
		Board   struct{ ID, Region string }
		Members int
		Top     []struct {
			User        string
			Score, Rank int
		}
		User *struct {
			Member struct{ Rank int }
			Above  []struct{ User string }
			Below  []struct{ User string }
		}
	}
	r := a.do("GET", "/v1/leaderboards/2026-04-CN-GD?limit=3&user=chen", "", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &board))
	require.Equal(t, "CN-GD", board.Board.Region)
	require.Equal(t, 4, board.Members)
	require.Len(t, board.Top, 3)
	require.Equal(t, "bo", board.Top[0].User)
	require.Equal(t, []int{15, 6, 6}, []int{board.Top[0].Score, board.Top[1].Score, board.Top[2].Score})
	require.Equal(t, []int{1, 2, 2}, []int{board.Top[0].Rank, board.Top[1].Rank, board.Top[2].Rank})
	require.Equal(t, "amy", board.Top[1].User, "equal scores: who got there first")
	require.NotNil(t, board.User)
	require.Equal(t, 2, board.User.Member.Rank)

	r = a.do("GET", "/v1/leaderboards/2026-04", "", "")
	require.NoError(t, json.Unmarshal([]byte(r.body), &board))
	require.Equal(t, 5, board.Members, "the national board counts every province")
	require.Equal(t, "eve", board.Top[0].User)

	r = a.do("GET", "/v1/leaderboards/2025-01", "", "")
	require.Equal(t, "unknown_board", r.errorCode(t, http.StatusNotFound))
	r = a.do("GET", "/v1/leaderboards/2026-04?limit=0", "", "")
	require.Equal(t, "invalid_argument", r.errorCode(t, http.StatusBadRequest))
}

// run serves until its context is cancelled, then shuts down gracefully,
// logging each request as JSON.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, w)
		w.Close()
	}()
	// Read the log as it is written: the server logs a request after
	// serving it, so a reader that waited for the response would block it.
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case line, ok := <-lines:
			require.True(t, ok, "a log line")
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no log line in 10s")
			return nil
		}
	}
	listening := next()
	require.Equal(t, "listening", listening["msg"])
	addr, _ := listening["addr"].(string)
	require.NotEmpty(t, addr)

	res, err := http.Get("http://" + addr + "/v1/users/u-1/account")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	req := next()
	require.Equal(t, "request", req["msg"])
	require.Equal(t, "GET", req["method"])
	require.Equal(t, "/v1/users/u-1/account", req["path"])
	require.Equal(t, "404", fmt.Sprint(req["status"]))

	cancel()
	require.Equal(t, "shutting down", next()["msg"])
	require.Equal(t, "stopped", next()["msg"])
	require.NoError(t, <-done)
}

func TestNoFloat(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	require.Empty(t, found)
}
