package rewards

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
