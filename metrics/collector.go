// Package metrics exports ctop's cgroup and namespace readings to Prometheus.
//
// A Collector reads one cgroup snapshot (and one namespace count) per
// scrape, or reuses the last one while it is younger than MaxAge, and turns
// it into constant metrics: it never reads a kernel file per metric. The
// names follow the Prometheus conventions (base units, _total for
// counters, _bytes, _seconds) and stay close to cAdvisor's container_*
// names with the prefix ctop_cgroup_ instead of container_; README.md beside
// this file has the full table and the mapping to cAdvisor.
//
// Limits: a limit that is "max" (unlimited) is exported as +Inf, a limit the
// kernel does not expose for the group (controller not enabled, v2-only
// knob on v1) is not exported at all; so "no series" means unknown and
// +Inf means unlimited, and neither is ever 0 or -1. usage / limit is then
// 0 for an unlimited group, as it should be.
package metrics

import (
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/prometheus/client_golang/prometheus"
)

// ScanFunc reads every cgroup to be exported at one moment. As
// cgroup.FS.Scan does, it may return a complete snapshot together with an
// error that joins per-file failures: the snapshot is then exported, and
// the failures are counted (ctop_cgroup_file_errors) and logged. Only an
// error without a snapshot fails the read (ctop_scrape_success 0).
type ScanFunc func() (*cgroup.Snapshot, error)

// NamesFunc says what runs in each of paths (see names.Resolver.Names),
// keyed by path; a path it knows nothing about is left out.
type NamesFunc func(paths []string) map[string]names.Name

// NamespaceFunc counts the namespaces of each type in use on the host.
type NamespaceFunc func() ([]NamespaceCount, error)

// NamespaceCount is one namespace type (see namespaces(7)) across all
// processes that could be read.
type NamespaceCount struct {
	// Type is the namespace type; its name is the metrics' type label.
	Type nsinfo.Type
	// Namespaces is the number of distinct namespaces of the type in use.
	Namespaces int
	// Processes is the number of processes whose namespace of this type
	// was read.
	Processes int
	// OutsideHost is how many of them are not in the host's namespace of
	// the type; meaningful only when HostKnown.
	OutsideHost int
	// HostKnown is false when the host's namespace of the type could not
	// be read; OutsideHost is then not exported.
	HostKnown bool
}

// Options configure a Collector.
type Options struct {
	// Scan reads the cgroups. Required.
	Scan ScanFunc
	// Namespaces counts namespaces; nil exports no namespace metrics.
	Namespaces NamespaceFunc
	// Names labels each exported group with what runs in it (name, image,
	// runtime, pod, namespace, container, unit); nil leaves them empty.
	// It is asked once per reading, about the exported groups only, so a
	// resolver that caches (names.Resolver) asks engines about new ids
	// alone.
	Names NamesFunc
	// MaxAge is how long a reading is reused by later scrapes; 0 reads
	// afresh on every scrape.
	MaxAge time.Duration
	// Depth bounds the cardinality: groups more than Depth levels below
	// the root "/" are not exported; 0 means no bound (as in
	// cgroup.ScanOptions).
	Depth int
	// Logger gets a line per failed read; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Collector is a prometheus.Collector over cgroup snapshots and namespace
// counts. It is safe for concurrent scrapes: they share one reading.
type Collector struct {
	opts Options
	d    *descs

	mu      sync.Mutex
	read    time.Time // when snap and ns were read; zero before the first
	snap    *cgroup.Snapshot
	snapErr error
	snapDur time.Duration
	names   map[string]names.Name // of snap's exported groups
	ns      []NamespaceCount
	nsErr   error
	nsDur   time.Duration
	errs    map[string]float64 // failed reads by source, since start
	lastBad int                // per-file errors in the previous snapshot
}

// New returns a Collector reading through opts.
func New(opts Options) *Collector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{opts: opts, d: newDescs(), errs: map[string]float64{sourceCgroups: 0, sourceNamespaces: 0}}
}

const (
	sourceCgroups    = "cgroups"
	sourceNamespaces = "namespaces"
)

// reading is one consistent view handed to a scrape.
type reading struct {
	snap    *cgroup.Snapshot
	snapErr error
	snapDur time.Duration
	names   map[string]names.Name
	ns      []NamespaceCount
	nsErr   error
	nsDur   time.Duration
	age     time.Duration
	errs    map[string]float64
}

// get returns the cached reading, or reads afresh when it is older than
// MaxAge. Holding the lock while reading makes concurrent scrapes wait for
// one scan instead of starting their own.
func (c *Collector) get() reading {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if c.read.IsZero() || now.Sub(c.read) >= c.opts.MaxAge {
		c.refresh(now)
	}
	r := reading{
		snap: c.snap, snapErr: c.snapErr, snapDur: c.snapDur, names: c.names,
		ns: c.ns, nsErr: c.nsErr, nsDur: c.nsDur,
		age:  now.Sub(c.read),
		errs: make(map[string]float64, len(c.errs)),
	}
	for k, v := range c.errs {
		r.errs[k] = v
	}
	return r
}

func (c *Collector) refresh(now time.Time) {
	log := c.opts.Logger
	start := c.opts.Now()
	snap, err := c.opts.Scan()
	c.snapDur = c.opts.Now().Sub(start)
	c.snap, c.snapErr = snap, nil
	switch {
	case snap == nil:
		if err == nil {
			err = errNoSnapshot
		}
		c.snapErr = err
		c.errs[sourceCgroups]++
		log.Error("scan cgroups for metrics", "err", err)
	case err != nil:
		// A partial read: the same files fail on every scan, so say it
		// when the number of failures changes, not every scrape.
		bad := 0
		for _, g := range snap.Groups {
			bad += len(g.Errors)
		}
		if bad != c.lastBad {
			first, _, _ := strings.Cut(err.Error(), "\n")
			log.Warn("some cgroup files could not be read", "count", bad, "first", first)
		}
		c.lastBad = bad
	default:
		c.lastBad = 0
	}
	c.names = nil
	if snap != nil && c.opts.Names != nil {
		var paths []string
		for _, g := range snap.Groups {
			if c.exported(g) {
				paths = append(paths, g.Path)
			}
		}
		c.names = c.opts.Names(paths)
	}
	if c.opts.Namespaces != nil {
		start = c.opts.Now()
		c.ns, c.nsErr = c.opts.Namespaces()
		c.nsDur = c.opts.Now().Sub(start)
		if c.nsErr != nil {
			c.ns = nil
			c.errs[sourceNamespaces]++
			log.Error("count namespaces for metrics", "err", c.nsErr)
		}
	}
	c.read = now
}

// Describe sends the descriptors of every metric the Collector may export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all {
		ch <- d
	}
}

// Collect reads (or reuses) one snapshot and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r := c.get()
	d := c.d
	e := emitter{ch: ch}
	sources := []struct {
		name string
		err  error
		dur  time.Duration
	}{{sourceCgroups, r.snapErr, r.snapDur}}
	if c.opts.Namespaces != nil {
		sources = append(sources, struct {
			name string
			err  error
			dur  time.Duration
		}{sourceNamespaces, r.nsErr, r.nsDur})
	}
	for _, s := range sources {
		ok := 1.0
		if s.err != nil {
			ok = 0
		}
		e.gauge(d.scrapeSuccess, ok, s.name)
		e.counter(d.scrapeErrors, r.errs[s.name], s.name)
		e.gauge(d.scrapeDuration, s.dur.Seconds(), s.name)
	}
	e.gauge(d.scrapeAge, r.age.Seconds())
	if r.snap != nil {
		c.collectSnapshot(&e, d, r.snap, r.names)
	}
	for _, n := range r.ns {
		e.gauge(d.namespaces, float64(n.Namespaces), string(n.Type))
		e.gauge(d.namespaceProcs, float64(n.Processes), string(n.Type))
		if n.HostKnown {
			e.gauge(d.namespaceOutside, float64(n.OutsideHost), string(n.Type))
		}
	}
}

func (c *Collector) collectSnapshot(e *emitter, d *descs, s *cgroup.Snapshot, nm map[string]names.Name) {
	e.gauge(d.mode, 1, s.Mode.String())
	bad := 0
	for _, g := range s.Groups {
		bad += len(g.Errors)
		if !c.exported(g) {
			continue
		}
		collectGroup(e, d, g, groupValues(g.Path, nm[g.Path]))
	}
	e.gauge(d.fileErrors, float64(bad))
}

// exported reports whether g is within Depth.
func (c *Collector) exported(g *cgroup.Group) bool {
	return c.opts.Depth <= 0 || depth(g.Path) <= c.opts.Depth
}

// groupValues are the values of groupLabels for the group at p named n,
// with no spare capacity, so appending a label copies.
func groupValues(p string, n names.Name) []string {
	return slices.Clip([]string{p, n.String(), n.Image, string(n.Runtime), n.Pod, n.PodNamespace, n.Container, n.Unit})
}

// depth is the number of levels below the root: "/" is 0, "/a/b" is 2.
func depth(path string) int {
	p := strings.Trim(path, "/")
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

const usPerSecond = 1e6

func collectGroup(e *emitter, d *descs, g *cgroup.Group, p []string) {
	// with is p and the extra labels of one series.
	with := func(extra ...string) []string { return append(p, extra...) }
	e.gauge(d.info, 1, with(strings.Join(g.Controllers, ","))...)
	e.u64Gauge(d.processes, g.Procs, 1, p...)

	cpu := g.Stats.CPU
	e.u64Counter(d.cpuUsage, cpu.Usage, usPerSecond, p...)
	e.u64Counter(d.cpuUser, cpu.User, usPerSecond, p...)
	e.u64Counter(d.cpuSystem, cpu.System, usPerSecond, p...)
	e.u64Counter(d.cpuPeriods, cpu.Periods, 1, p...)
	e.u64Counter(d.cpuThrottledPeriods, cpu.Throttled, 1, p...)
	e.u64Counter(d.cpuThrottledSec, cpu.ThrottledTime, usPerSecond, p...)
	cl := g.Limits.CPU
	e.limit(d.cpuQuota, cl.Quota, usPerSecond, p...)
	e.u64Gauge(d.cpuPeriod, cl.Period, usPerSecond, p...)
	e.u64Gauge(d.cpuWeight, cl.Weight, 1, p...)
	e.u64Gauge(d.cpuShares, cl.Shares, 1, p...)

	mem := g.Stats.Memory
	e.u64Gauge(d.memUsage, mem.Current, 1, p...)
	e.u64Gauge(d.memWorkingSet, mem.WorkingSet, 1, p...)
	e.u64Gauge(d.memCache, mem.File, 1, p...)
	e.u64Gauge(d.memPeak, mem.Peak, 1, p...)
	e.u64Gauge(d.memSwap, mem.Swap, 1, p...)
	e.u64Counter(d.memFailcnt, mem.Failcnt, 1, p...)
	ev := mem.Events
	for _, x := range []struct {
		name string
		v    cgroup.U64
	}{{"low", ev.Low}, {"high", ev.High}, {"max", ev.Max}, {"oom", ev.OOM}, {"oom_kill", ev.OOMKill}} {
		e.u64Counter(d.memEvents, x.v, 1, with(x.name)...)
	}
	ml := g.Limits.Memory
	e.limit(d.memLimit, ml.Max, 1, p...)
	e.limit(d.memHigh, ml.High, 1, p...)
	e.limit(d.memLow, ml.Low, 1, p...)
	e.limit(d.memMin, ml.Min, 1, p...)
	e.limit(d.memSwapLimit, ml.Swap, 1, p...)
	e.limit(d.memEffective, g.Effective.Memory, 1, p...)

	for _, io := range g.Stats.IO {
		dev := io.Device.String()
		e.counter(d.ioReadBytes, float64(io.ReadBytes), with(dev)...)
		e.counter(d.ioWriteBytes, float64(io.WriteBytes), with(dev)...)
		e.counter(d.ioReads, float64(io.ReadOps), with(dev)...)
		e.counter(d.ioWrites, float64(io.WriteOps), with(dev)...)
	}

	for _, l := range g.Limits.IO {
		dev := l.Device.String()
		e.limit(d.ioLimitRBps, l.ReadBps, 1, with(dev)...)
		e.limit(d.ioLimitWBps, l.WriteBps, 1, with(dev)...)
		e.limit(d.ioLimitRIOps, l.ReadIOps, 1, with(dev)...)
		e.limit(d.ioLimitWIOps, l.WriteIOps, 1, with(dev)...)
	}

	pids := g.Stats.Pids
	e.u64Gauge(d.pidsCurrent, pids.Current, 1, p...)
	e.limit(d.pidsMax, g.Limits.Pids, 1, p...)
	e.u64Counter(d.pidsMaxEvents, pids.MaxEvents, 1, p...)

	pr := g.Stats.Pressure
	for _, x := range []struct {
		some, full *prometheus.Desc
		psi        cgroup.PSI
	}{
		{d.psiCPUSome, d.psiCPUFull, pr.CPU},
		{d.psiMemSome, d.psiMemFull, pr.Memory},
		{d.psiIOSome, d.psiIOFull, pr.IO},
	} {
		if !x.psi.OK {
			continue
		}
		e.counter(x.some, float64(x.psi.Some.Total)/usPerSecond, p...)
		e.counter(x.full, float64(x.psi.Full.Total)/usPerSecond, p...)
	}
}

// emitter sends constant metrics; a metric that cannot be built (invalid
// UTF-8 in a path) is sent as an invalid metric, which fails that one
// series in the scrape's error log instead of crashing.
type emitter struct {
	ch chan<- prometheus.Metric
}

func (e *emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func (e *emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels...)
}

func (e *emitter) counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels...)
}

// u64Gauge sends u/div when u is available, nothing otherwise.
func (e *emitter) u64Gauge(d *prometheus.Desc, u cgroup.U64, div float64, labels ...string) {
	if u.OK {
		e.gauge(d, float64(u.V)/div, labels...)
	}
}

func (e *emitter) u64Counter(d *prometheus.Desc, u cgroup.U64, div float64, labels ...string) {
	if u.OK {
		e.counter(d, float64(u.V)/div, labels...)
	}
}

// limit sends l/div, +Inf when unlimited, nothing when unavailable.
func (e *emitter) limit(d *prometheus.Desc, l cgroup.Limit, div float64, labels ...string) {
	switch {
	case !l.OK:
	case l.Unlimited:
		e.gauge(d, math.Inf(1), labels...)
	default:
		e.gauge(d, float64(l.V)/div, labels...)
	}
}
