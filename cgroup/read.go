package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
)

// groupReader reads one group's files. It keeps one buffer across files,
// and turns a missing file into "n/a" and any other failure into an entry
// of the group's Errors.
type groupReader struct {
	fs   *FS
	buf  bytes.Buffer
	g    *Group
	errs []error
	// limitsOnly skips usage, for reading ancestors' limits. quick skips
	// what changes slowly or only matters as an event (limits, peaks, v1
	// user/system split, failcnt, oom_control and swap, pids.events), for
	// a Scanner that carries them over from its last full scan (see
	// carrySlow): a fork refused at the limit shows within one walk.
	limitsOnly bool
	quick      bool
	// only, when not nil, is the set of files to read: any other is taken
	// as missing (see Manager.ReadFinal).
	only map[string]bool
	// cache keeps files open across a Scanner's scans; nil reads afresh.
	cache *fileCache
}

// missing reports whether err means the file is not there for this group:
// controller not enabled, file not in this kernel, or group removed.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP)
}

// file returns the content of dir/name, or ok false when it is missing or
// unreadable (recorded).
func (r *groupReader) file(dir, name string) ([]byte, bool) {
	if r.only != nil && !r.only[name] {
		return nil, false
	}
	b, err := r.cache.read(dir, name, &r.buf)
	if err != nil {
		if !missing(err) {
			r.errs = append(r.errs, fmt.Errorf("read %s of %s: %w", name, r.g.Path, unwrapPath(err)))
		}
		return nil, false
	}
	return b, true
}

// unwrapPath drops the *PathError wrapping so the message names the file once.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r *groupReader) fail(err error) {
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", r.g.Path, err))
	}
}

func (r *groupReader) uint(dir, name string) U64 {
	b, ok := r.file(dir, name)
	if !ok {
		return U64{}
	}
	v, err := parseUint(name, b)
	if err != nil {
		r.fail(err)
		return U64{}
	}
	return Known(v)
}

func (r *groupReader) limit(dir, name string) Limit {
	b, ok := r.file(dir, name)
	if !ok {
		return Limit{}
	}
	l, err := parseLimit(name, b)
	r.fail(err)
	return l
}

func (r *groupReader) str(dir, name string) string {
	b, ok := r.file(dir, name)
	if !ok {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

func (r *groupReader) flat(dir, name string, fn func(string, uint64)) bool {
	b, ok := r.file(dir, name)
	if !ok {
		return false
	}
	err := parseFlat(name, b, fn)
	r.fail(err)
	return err == nil
}

func (r *groupReader) psi(dir, name string) PSI {
	b, ok := r.file(dir, name)
	if !ok {
		return PSI{}
	}
	p, err := parsePSI(name, b)
	r.fail(err)
	return p
}

// readV2Limits reads the limits of a v2 group.
func (r *groupReader) readV2Limits(dir string, has func(string) bool) {
	g := r.g
	if has("cpu") {
		if b, ok := r.file(dir, "cpu.max"); ok {
			q, p, err := parseCPUMax("cpu.max", b)
			r.fail(err)
			g.Limits.CPU.Quota, g.Limits.CPU.Period = q, p
		}
		g.Limits.CPU.Weight = r.uint(dir, "cpu.weight")
	}
	if has("cpuset") {
		g.Limits.CPU.Cpus = r.str(dir, "cpuset.cpus")
		g.Limits.CPU.Mems = r.str(dir, "cpuset.mems")
		g.Limits.CPU.EffectiveCpus = r.str(dir, "cpuset.cpus.effective")
		g.Limits.CPU.EffectiveMems = r.str(dir, "cpuset.mems.effective")
	}
	if has("memory") {
		m := &g.Limits.Memory
		m.Max = r.limit(dir, "memory.max")
		m.High = r.limit(dir, "memory.high")
		m.Low = r.limit(dir, "memory.low")
		m.Min = r.limit(dir, "memory.min")
		m.Swap = r.limit(dir, "memory.swap.max")
	}
	if has("io") {
		if b, ok := r.file(dir, "io.max"); ok {
			l, err := parseIOMax("io.max", b)
			r.fail(err)
			g.Limits.IO = l
		}
	}
	if has("pids") {
		g.Limits.Pids = r.limit(dir, "pids.max")
	}
}

// readV2 reads a group of the unified hierarchy (cgroup-v2.rst).
// On a hybrid host only the controllers v1 leaves to the v2 tree are read
// there (ctrls), and not its cpu.stat: a process's v2 group need not be its
// v1 cpu group, whose usage counts.
func (r *groupReader) readV2(dir string, ctrls []string) {
	g := r.g
	has := func(c string) bool { return slices.Contains(ctrls, c) }
	core := r.fs.mode == ModeUnified || has("cpu")
	if !r.quick {
		r.readV2Limits(dir, has)
	}
	if r.limitsOnly {
		return
	}
	if core {
		// cpu.stat is a core file: usage is there even without the controller.
		c := &g.Stats.CPU
		r.flat(dir, "cpu.stat", func(k string, v uint64) {
			switch k {
			case "usage_usec":
				c.Usage = Known(v)
			case "user_usec":
				c.User = Known(v)
			case "system_usec":
				c.System = Known(v)
			case "nr_periods":
				c.Periods = Known(v)
			case "nr_throttled":
				c.Throttled = Known(v)
			case "throttled_usec":
				c.ThrottledTime = Known(v)
			}
		})
	}
	if has("memory") {
		m := &g.Stats.Memory
		m.Current = r.uint(dir, "memory.current")
		if !r.quick {
			// memory.stat is long and costly for the kernel to write; a
			// Scanner's quick scans take the working set from the fresh
			// usage and the last full scan's inactive pages (carrySlow).
			r.readMemoryStat(dir, true)
			m.Peak = r.uint(dir, "memory.peak")
		}
		m.Swap = r.uint(dir, "memory.swap.current")
		ev := &m.Events
		r.flat(dir, "memory.events", func(k string, v uint64) {
			switch k {
			case "low":
				ev.Low = Known(v)
			case "high":
				ev.High = Known(v)
			case "max":
				ev.Max = Known(v)
			case "oom":
				ev.OOM = Known(v)
			case "oom_kill":
				ev.OOMKill = Known(v)
			}
		})
	}
	if has("io") {
		if b, ok := r.file(dir, "io.stat"); ok {
			s, err := parseIOStat("io.stat", b)
			r.fail(err)
			g.Stats.IO = known(s)
		}
	}
	if has("pids") {
		r.readPidsStats(dir)
	}
	r.readPressure(dir)
}

func (r *groupReader) readPidsStats(dir string) {
	p := &r.g.Stats.Pids
	p.Current = r.uint(dir, "pids.current")
	if r.quick {
		return
	}
	p.Peak = r.uint(dir, "pids.peak")
	r.flat(dir, "pids.events", func(k string, v uint64) {
		if k == "max" {
			p.MaxEvents = Known(v)
		}
	})
}

func (r *groupReader) readPressure(dir string) {
	pr := &r.g.Stats.Pressure
	pr.CPU = r.psi(dir, "cpu.pressure")
	pr.Memory = r.psi(dir, "memory.pressure")
	pr.IO = r.psi(dir, "io.pressure")
}

// readV1 reads the files of one v1 hierarchy's group (cgroup-v1/*.rst).
func (r *groupReader) readV1(dir string, ctrl string) {
	g := r.g
	switch ctrl {
	case "cpu":
		if !r.quick {
			c := &g.Limits.CPU
			c.Quota = r.limit(dir, "cpu.cfs_quota_us")
			c.Period = r.uint(dir, "cpu.cfs_period_us")
			c.Shares = r.uint(dir, "cpu.shares")
			if c.Shares.OK {
				c.Weight = Known(sharesToWeight(c.Shares.V))
			}
		}
		if r.limitsOnly {
			return
		}
		s := &g.Stats.CPU
		r.flat(dir, "cpu.stat", func(k string, v uint64) {
			switch k {
			case "nr_periods":
				s.Periods = Known(v)
			case "nr_throttled":
				s.Throttled = Known(v)
			case "throttled_time": // nanoseconds on v1
				s.ThrottledTime = Known(v / 1000)
			}
		})
	case "cpuacct":
		if r.limitsOnly {
			return
		}
		// cpuacct.usage* are nanoseconds. usage_all gives user and
		// system time of every CPU in one file (Linux 4.16), one read
		// instead of two; cpuacct.usage is the total, slightly more than
		// their sum, and the one CPU% is taken from.
		s := &g.Stats.CPU
		if u := r.uint(dir, "cpuacct.usage"); u.OK {
			s.Usage = Known(u.V / 1000)
		}
		if r.quick {
			return
		}
		if b, ok := r.file(dir, "cpuacct.usage_all"); ok {
			user, sys, err := parseUsageAll("cpuacct.usage_all", b)
			r.fail(err)
			if err == nil {
				s.User, s.System = Known(user/1000), Known(sys/1000)
			}
			return
		}
		if u := r.uint(dir, "cpuacct.usage_user"); u.OK {
			s.User = Known(u.V / 1000)
		}
		if u := r.uint(dir, "cpuacct.usage_sys"); u.OK {
			s.System = Known(u.V / 1000)
		}
	case "cpuset":
		if r.quick {
			return
		}
		c := &g.Limits.CPU
		c.Cpus = r.str(dir, "cpuset.cpus")
		c.Mems = r.str(dir, "cpuset.mems")
		c.EffectiveCpus = r.str(dir, "cpuset.effective_cpus")
		c.EffectiveMems = r.str(dir, "cpuset.effective_mems")
	case "memory":
		r.readMemoryV1(dir)
	case "blkio":
		r.readBlkio(dir)
	case "pids":
		if !r.quick {
			g.Limits.Pids = r.limit(dir, "pids.max")
		}
		if !r.limitsOnly {
			r.readPidsStats(dir)
		}
	}
}

func (r *groupReader) readMemoryV1(dir string) {
	g := r.g
	if !r.quick {
		r.readMemoryV1Limits(dir)
	}
	if r.limitsOnly {
		return
	}
	s := &g.Stats.Memory
	s.Current = r.uint(dir, "memory.usage_in_bytes")
	if r.quick {
		return // memory.stat too: see readV2
	}
	r.readMemoryStat(dir, false)
	if sw := r.uint(dir, "memory.memsw.usage_in_bytes"); sw.OK && s.Current.OK && sw.V >= s.Current.V {
		s.Swap = Known(sw.V - s.Current.V)
	}
	s.Peak = r.uint(dir, "memory.max_usage_in_bytes")
	s.Failcnt = r.uint(dir, "memory.failcnt")
	// v1 has no memory.events; failcnt counts charges refused at the limit,
	// which is what v2 counts as "max" events.
	s.Events.Max = s.Failcnt
	r.flat(dir, "memory.oom_control", func(k string, v uint64) {
		switch k {
		case "under_oom":
			s.UnderOOM = v != 0
		case "oom_kill":
			s.Events.OOMKill = Known(v)
		}
	})
}

func (r *groupReader) readMemoryV1Limits(dir string) {
	m := &r.g.Limits.Memory
	m.Max = r.limit(dir, "memory.limit_in_bytes")
	// runc maps a memory reservation to the v1 soft limit and to v2
	// memory.low. Kept as read: v1's default is unlimited (never pushed
	// back first under contention), as cAdvisor reports it, where v2's
	// default low is 0 (no protection); turning one into the other would
	// make an unlimited soft limit look like a set one of 0.
	m.Low = r.limit(dir, "memory.soft_limit_in_bytes")
	// memsw is memory plus swap; v2 and ctop count swap alone.
	if sw := r.limit(dir, "memory.memsw.limit_in_bytes"); sw.OK {
		switch {
		case sw.Unlimited || !m.Max.OK:
			m.Swap = sw
		case m.Max.Unlimited:
			m.Swap = Max
		case sw.V >= m.Max.V:
			m.Swap = LimitOf(sw.V - m.Max.V)
		default:
			m.Swap = LimitOf(0)
		}
	}
}

func (r *groupReader) readBlkio(dir string) {
	g := r.g
	if !r.quick {
		r.readBlkioLimits(dir)
	}
	if r.limitsOnly {
		return
	}
	stats := map[Device]*IOStat{}
	getS := func(d Device) *IOStat {
		s, ok := stats[d]
		if !ok {
			s = &IOStat{Device: d}
			stats[d] = s
		}
		return s
	}
	// The _recursive files include descendants, as v2 io.stat does.
	bytesName, opsName := "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"
	b, ok := r.file(dir, bytesName)
	if !ok {
		bytesName, opsName = "blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"
		b, ok = r.file(dir, bytesName)
	}
	if ok {
		g.Stats.IO = []IOStat{} // read: no device line is no IO, not unknown
		r.fail(parseBlkioStat(bytesName, b, func(d Device, read bool, v uint64) {
			if read {
				getS(d).ReadBytes = v
			} else {
				getS(d).WriteBytes = v
			}
		}))
	}
	if b, ok := r.file(dir, opsName); ok {
		r.fail(parseBlkioStat(opsName, b, func(d Device, read bool, v uint64) {
			if read {
				getS(d).ReadOps = v
			} else {
				getS(d).WriteOps = v
			}
		}))
	}
	for _, s := range stats {
		g.Stats.IO = append(g.Stats.IO, *s)
	}
	sortDevices(g.Stats.IO, func(s IOStat) Device { return s.Device })
}

func (r *groupReader) readBlkioLimits(dir string) {
	g := r.g
	lims := map[Device]*IOLimit{}
	get := func(d Device) *IOLimit {
		l, ok := lims[d]
		if !ok {
			l = &IOLimit{Device: d, ReadBps: Max, WriteBps: Max, ReadIOps: Max, WriteIOps: Max}
			lims[d] = l
		}
		return l
	}
	for _, f := range []struct {
		name string
		set  func(*IOLimit, Limit)
	}{
		{"blkio.throttle.read_bps_device", func(l *IOLimit, v Limit) { l.ReadBps = v }},
		{"blkio.throttle.write_bps_device", func(l *IOLimit, v Limit) { l.WriteBps = v }},
		{"blkio.throttle.read_iops_device", func(l *IOLimit, v Limit) { l.ReadIOps = v }},
		{"blkio.throttle.write_iops_device", func(l *IOLimit, v Limit) { l.WriteIOps = v }},
	} {
		if b, ok := r.file(dir, f.name); ok {
			r.fail(parseBlkioDevice(f.name, b, func(d Device, v uint64) { f.set(get(d), LimitOf(v)) }))
		}
	}
	for _, l := range lims {
		g.Limits.IO = append(g.Limits.IO, *l)
	}
	sortDevices(g.Limits.IO, func(l IOLimit) Device { return l.Device })
}

// known returns s, or an empty slice where s is nil: a file that was read
// and listed no device means no IO yet, which Stats.IO keeps apart from a
// file that is not there (nil).
func known(s []IOStat) []IOStat {
	if s == nil {
		return []IOStat{}
	}
	return s
}

func sortDevices[T any](s []T, dev func(T) Device) {
	slices.SortFunc(s, func(a, b T) int {
		da, db := dev(a), dev(b)
		if da.Major != db.Major {
			return int(da.Major) - int(db.Major)
		}
		return int(da.Minor) - int(db.Minor)
	})
}

// readMode says what readGroup reads.
type readMode struct {
	// limitsOnly, quick and only as in groupReader; with only, the
	// processes are not counted either.
	limitsOnly, quick bool
	only              map[string]bool
	// in, when not nil, says which hierarchies (by index) a walk found the
	// group in, sparing a stat per hierarchy.
	in []bool
	// cache, when not nil, keeps the files open for the next scan.
	cache *fileCache
}

// readGroup reads group path from every hierarchy that has it. It returns
// ErrNotFound when none has (or, after a walk, when it has gone since).
func (f *FS) readGroup(path string, m readMode, buf *bytes.Buffer) (*Group, error) {
	g := &Group{Path: path}
	r := &groupReader{fs: f, g: g, limitsOnly: m.limitsOnly, quick: m.quick, only: m.only, cache: m.cache}
	if buf != nil {
		r.buf = *buf
		defer func() { *buf = r.buf }()
	}
	notFound := func() error { return fmt.Errorf("read cgroup %s: %w", path, ErrNotFound) }
	// Count processes first: after a walk it is also the check that the
	// group still exists.
	if !m.limitsOnly && m.only == nil {
		switch n, err := f.countProcs(path, m.in, m.cache, &r.buf); {
		case errors.Is(err, fs.ErrNotExist):
			if m.in != nil {
				return nil, notFound()
			}
		case err != nil:
			r.errs = append(r.errs, fmt.Errorf("read cgroup.procs of %s: %w", path, unwrapPath(err)))
		default:
			g.Procs = n
		}
	}
	found := false
	for i, h := range f.hs {
		if m.in != nil && !m.in[i] {
			continue
		}
		dir := m.cache.dir(f, i, path)
		if h.Version == 2 {
			b, err := r.cache.read(dir, "cgroup.controllers", &r.buf)
			if err != nil {
				if !missing(err) {
					r.errs = append(r.errs, fmt.Errorf("read cgroup.controllers of %s: %w", path, unwrapPath(err)))
				}
				continue
			}
			found = true
			ctrls := strings.Fields(string(b))
			if f.mode == ModeHybrid {
				// Only controllers no v1 hierarchy claimed are on this tree
				// (cgroup_no_v1=memory puts memory here); its pressure files
				// are per group either way.
				ctrls = slices.DeleteFunc(ctrls, func(c string) bool { return f.byCtrl[c] != i })
			}
			g.Controllers = append(g.Controllers, ctrls...)
			r.readV2(dir, ctrls)
			continue
		}
		if m.in == nil {
			if _, err := os.Stat(dir); err != nil {
				continue
			}
		}
		found = true
		for _, c := range h.Controllers {
			g.Controllers = append(g.Controllers, c)
			r.readV1(dir, c)
		}
	}
	if !found {
		return nil, notFound()
	}
	slices.Sort(g.Controllers)
	for _, e := range r.errs {
		g.Errors = append(g.Errors, e.Error())
	}
	return g, errors.Join(r.errs...)
}

// countProcs counts the lines of cgroup.procs in the first hierarchy of
// f.procsOrder that has the group. On v1 a process is in one group of every
// hierarchy; runtimes and service managers put it at the same path in each,
// so one hierarchy gives the count, preferring those most often managed.
func (f *FS) countProcs(path string, in []bool, cache *fileCache, buf *bytes.Buffer) (U64, error) {
	err := error(fs.ErrNotExist)
	for _, i := range f.procsOrder {
		if in != nil && !in[i] {
			continue
		}
		var b []byte
		b, err = cache.read(cache.dir(f, i, path), "cgroup.procs", buf)
		if err == nil {
			return Known(uint64(bytes.Count(b, []byte{'\n'}))), nil
		}
		if !missing(err) {
			return U64{}, err
		}
	}
	return U64{}, err
}
