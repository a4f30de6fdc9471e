//go:build !linux

package offheap

// mapRegion maps nothing: every block comes from the Go heap.
func mapRegion(int) (use, whole []byte) { return nil, nil }

func unmapRegion([]byte) {}
