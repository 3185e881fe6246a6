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

// BenchmarkTracker is one sample of a top-like view after the first: a
// stat per process, a tenth of the cgroup files, a fortieth of the status
// files and namespace links.
func BenchmarkTracker(b *testing.B) {
	t := NewTracker(liveFS(b))
	defer t.Close()
	if _, err := t.Sample(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Sample(); err != nil {
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

// BenchmarkMinimalScan reads the same files as BenchmarkProcesses, on one
// goroutine, into one buffer, with no parsing and no model: the floor that
// Processes is measured against.
func BenchmarkMinimalScan(b *testing.B) {
	fs := liveFS(b)
	s := newScratch(0)
	var ns NSSet
	for b.Loop() {
		pids, err := fs.pids()
		if err != nil {
			b.Fatal(err)
		}
		for _, pid := range pids {
			for _, f := range []string{"stat", "status", "cgroup"} {
				s.at(fs.proc, pid, f)
				_, _ = s.read()
			}
			s.at(fs.proc, pid, "ns")
			_, _ = s.readNSSet(&ns)
		}
	}
}
