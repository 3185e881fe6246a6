package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The reference load of the inspection core: 2,000 sleeping processes over
// 400 cgroups, 200 of them in their own pid, net, uts, ipc and mnt
// namespaces.
const (
	refGroups   = 400
	refProcs    = 2000
	refIsolated = 200
)

// buildLoad makes the reference load under ctop-test-bench-<pid> and
// removes it in cleanup. It needs root; without it the benchmark measures
// the host as it is.
func buildLoad(b *testing.B, fs *cgroup.FS) {
	b.Helper()
	parent := fmt.Sprintf("/ctop-test-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	top, err := cgroup.Create(fs, parent, cgroup.Resources{})
	if err != nil {
		b.Fatalf("build load: %v", err)
	}
	var procs []*exec.Cmd
	b.Cleanup(func() {
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
		if err := top.Delete(); err != nil {
			b.Errorf("remove load: %v", err)
		}
	})
	limit := cgroup.LimitOf(256 << 20)
	groups := make([]*cgroup.Manager, refGroups)
	for i := range groups {
		m, err := cgroup.Create(fs, fmt.Sprintf("%s/g%03d", parent, i), cgroup.Resources{MemoryMax: &limit})
		if err != nil {
			b.Fatalf("build load: %v", err)
		}
		groups[i] = m
	}
	for i := range refProcs {
		cmd := exec.Command("sleep", "3600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if i < refIsolated {
			cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
				syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNS
		}
		if err := cmd.Start(); err != nil {
			b.Fatalf("build load: start sleep: %v", err)
		}
		procs = append(procs, cmd)
		if err := groups[i%refGroups].AddProc(cmd.Process.Pid); err != nil {
			b.Fatalf("build load: %v", err)
		}
	}
}

// BenchmarkScrape compares, on one load:
//
//   - scan: a bare cgroup scan (every group with usage and limits);
//   - refresh: the scan plus the namespace count of every process, the
//     reading a scrape needs;
//   - scrape: a whole /metrics request served by promhttp: the same
//     reading (no reuse: --interval 0) plus building and encoding every
//     series in the text format;
//   - encode: a /metrics request that reuses the reading (within
//     --interval): building and encoding alone.
//
// scrape/refresh is the cost of the metrics layer on top of one refresh.
// As root it builds the reference load (2,000 processes, 400 cgroups) and
// removes it afterwards:
//
//	go test -run '^$' -bench Scrape -benchtime 20x ./metrics
func BenchmarkScrape(b *testing.B) {
	fs, err := cgroup.Open("/")
	if err != nil {
		b.Skipf("skip: %v", err)
	}
	nfs, err := nsinfo.Open("/")
	if err != nil {
		b.Skipf("skip: %v", err)
	}
	if os.Geteuid() == 0 {
		buildLoad(b, fs)
	} else {
		b.Log("not root: measuring the host's own groups and processes, without the reference load")
	}
	scan := func() (*cgroup.Snapshot, error) { return fs.Scan(cgroup.ScanOptions{Path: "/"}) }
	newCount := func() NamespaceFunc {
		r := nsinfo.NewReader(nfs)
		return func() ([]NamespaceCount, error) {
			procs, err := r.Processes()
			if err != nil {
				return nil, err
			}
			ref, _ := nsinfo.Host(procs)
			return CountNamespaces(procs, ref.NS), nil
		}
	}
	snap, _ := scan()

	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if s, err := scan(); s == nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(snap.Groups)), "cgroups")
	})
	b.Run("refresh", func(b *testing.B) {
		count := newCount()
		count() // as serve's reader, warm after its first scrape
		for b.Loop() {
			if s, err := scan(); s == nil {
				b.Fatal(err)
			}
			if _, err := count(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scrape", func(b *testing.B) { benchServe(b, New(Options{Scan: scan, Namespaces: newCount()})) })
	// encode: the metrics layer alone, the reading reused (as within
	// --interval): building and encoding every series.
	b.Run("encode", func(b *testing.B) {
		benchServe(b, New(Options{Scan: scan, Namespaces: newCount(), MaxAge: time.Hour}))
	})
}

// benchServe measures /metrics requests to c.
func benchServe(b *testing.B, c *Collector) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	var size int
	serve := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("/metrics: %d %s", rec.Code, rec.Body.String())
		}
		size = rec.Body.Len()
	}
	serve()
	for b.Loop() {
		serve()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}
