package cgroup

import "testing"

// BenchmarkScanLive reads every group of this host, as one TUI refresh does.
func BenchmarkScanLive(b *testing.B) {
	f, err := Open("/")
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Scan(ScanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanFixture reads the v2 fixture tree, a stable input across hosts.
func BenchmarkScanFixture(b *testing.B) {
	f, err := Open("testdata/v2")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Scan(ScanOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScannerQuick is a TUI refresh between two walks: usage only,
// through the files a Scanner keeps open.
func BenchmarkScannerQuick(b *testing.B) {
	f, err := Open("/")
	if err != nil {
		b.Skip(err)
	}
	s := NewScanner(f, ScanOptions{}, 1<<30) // one walk, then quick scans
	defer s.Close()
	if _, err := s.Scan(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Scan(); err != nil {
			b.Fatal(err)
		}
	}
}
