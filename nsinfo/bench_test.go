package nsinfo

import "testing"

// Benchmarks over the live /proc: run them with the reference load of the
// speed benchmark running (2,000 processes) to compare with ps and lsns.

func liveFS(b *testing.B) FS {
	b.Helper()
	fs, err := Open("/")
	if err != nil {
		b.Skip("no live /proc:", err)
	}
	return fs
}

func BenchmarkProcesses(b *testing.B) {
	fs := liveFS(b)
	n := 0
	for b.Loop() {
		procs, err := fs.Processes()
		if err != nil {
			b.Fatal(err)
		}
		n = len(procs)
	}
	b.ReportMetric(float64(n), "procs")
}

func BenchmarkProcessesNSOnly(b *testing.B) {
	fs := liveFS(b)
	for b.Loop() {
		if _, err := fs.ProcessesWith(FieldNS); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReader is a refresh after the first: namespaces come from the
// cache for every process still running.
func BenchmarkReader(b *testing.B) {
	r := NewReader(liveFS(b))
	if _, err := r.Processes(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Processes(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGroup(b *testing.B) {
	procs, err := liveFS(b).Processes()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Group(procs)
	}
}
