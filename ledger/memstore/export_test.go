package memstore

// OffHeap returns the bytes s holds outside the Go heap, which
// runtime.MemStats does not count.
func OffHeap(s *Store) int {
	s.idx.Lock()
	defer s.idx.Unlock()
	return s.mem.OffHeap()
}
