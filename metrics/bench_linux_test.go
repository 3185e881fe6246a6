package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/internal/refload"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// buildLoad makes the reference load under ctop-test-bench-<pid>-<time>
// (unique across -count runs) and removes it in cleanup. It needs root; on
// a host that cannot carry the load the benchmark measures the host as it
// is, and says why.
func buildLoad(b *testing.B, fs *cgroup.FS) {
	b.Helper()
	parent := fmt.Sprintf("/ctop-test-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	l, err := refload.Build(fs, refload.Reference(parent))
	if errors.Is(err, refload.ErrUnsupported) {
		b.Logf("%v: measuring the host's own groups and processes, without the reference load", err)
		return
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := l.Remove(); err != nil {
			b.Errorf("remove load: %v", err)
		}
	})
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
