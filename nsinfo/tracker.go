package nsinfo

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// Tracker follows every process over repeated samples, as a top-like view
// refreshing every second does, and reads as little as it can each time:
//
//   - every sample: each process's stat (CPU time, RSS, start time, command
//     name), through a descriptor kept open per process, and the stat of
//     each pid handed out since the last sample (the last field of
//     /proc/loadavg tells which); the whole pid list at least every
//     RefreshEvery samples, and when more than maxProbe pids were handed
//     out;
//   - a process not seen before (a new pid, a reused pid with another
//     start time, or a new command name after an exec) is read in full;
//   - the cgroup file of a known process is read again once every
//     RefreshEvery samples, spread evenly over the samples by pid, so that
//     a move to another cgroup shows within that many samples and no
//     sample pays for all processes at once;
//   - its status (user) and namespace links are read again on every
//     NSEvery-th of those refreshes: a process can setuid(2), setns(2) or
//     unshare(2) without exec'ing, but daemons and runtimes almost always
//     do it at start or exec right after, which the command name shows at
//     once.
//
// A Tracker is not safe for concurrent use. Close releases its descriptors.
type Tracker struct {
	fs    FS
	s     *scratch
	stats *statFiles
	lists *pidLister
	users users
	// RefreshEvery and NSEvery are described above; NewTracker sets them.
	RefreshEvery, NSEvery uint64
	// Cmdline reads the command line as well: of a process when it is
	// new, and again with its status (a daemon may rewrite its arguments,
	// as sshd does). Only Process.Cmdline is kept, not Args: a top-like
	// view shows and filters the line, and thousands of argument lists
	// would double what the lines cost.
	Cmdline bool
	n       uint64 // samples taken
	procs   map[int]*tracked
	// pids is the last listing less the processes gone since; spare is
	// the array the next listing fills.
	pids, spare []int
	// out is the array of the last sample's Procs, which the next reuses.
	out []Tracked
}

type tracked struct {
	p       *Process
	refresh uint64 // refreshes since the status and namespaces were read
	seen    uint64 // the last sample that found the process
}

// Tracked is one process of a sample: what nsinfo knows of it, and its
// CPU time and resident memory at the sample.
type Tracked struct {
	// Process is shared with the Tracker and must not be modified. It is
	// the same pointer from sample to sample until the process is read
	// anew, so callers can cache what they derive from it.
	Process *Process
	// CPUTime is the user and system time of the process so far.
	CPUTime time.Duration
	// RSS is the resident set size in bytes.
	RSS uint64
	// Kernel marks a kernel thread (PF_KTHREAD in stat's flags).
	Kernel bool
}

// Sample is every process at one moment, by pid.
type Sample struct {
	// Procs is valid until the next call to the Tracker's Sample, which
	// reuses its array.
	Procs []Tracked
	// Changed says whether a process appeared, left or was read anew since
	// the previous sample.
	Changed bool
}

// NewTracker returns a Tracker of fs that re-reads a known process's
// cgroup every 10 samples and its status and namespaces every 40.
func NewTracker(fs FS) *Tracker {
	return &Tracker{fs: fs, RefreshEvery: 10, NSEvery: 4, procs: map[int]*tracked{}}
}

const clockTicks = 100 // USER_HZ on every architecture Linux exports to /proc

// Sample reads every process. Processes that exit while being read are
// left out; a file that cannot be parsed is an error naming it.
func (t *Tracker) Sample() (Sample, error) {
	if t.s == nil {
		t.s = newScratch(nsfsDev(t.fs.proc))
		t.s.lineOnly = true
		t.stats = newStatFiles(t.fs.proc)
		t.lists = newPIDLister(t.fs.proc)
	}
	out, err := t.sample()
	if err != nil {
		// What this sample read of the pid list is partial: list afresh.
		t.lists.forget()
		t.pids = nil
	}
	return out, err
}

func (t *Tracker) sample() (Sample, error) {
	every := max(t.RefreshEvery, 1)
	if t.n%every == 0 {
		t.users = t.fs.users() // /etc/passwd may have changed
	}
	if t.n%(every*max(t.NSEvery, 1)) == 0 {
		// Every process's cgroup file has been read again since the last
		// reset; the texts of groups no process is in any more go.
		t.s.intern.reset()
	}
	t.n++
	pids := t.pids
	// A listing at least every RefreshEvery samples bounds what loadavg
	// cannot tell (a pid chosen with clone3's set_tid, by CRIU).
	lo, hi, list := t.lists.handedOut()
	if list || t.pids == nil || t.n%every == 0 {
		fresh, err := t.lists.list(t.spare[:0])
		if err != nil {
			return Sample{}, err
		}
		if !slices.IsSorted(fresh) {
			slices.Sort(fresh) // a fixture tree is listed in any order
		}
		t.spare, pids = t.pids, fresh
	} else if lo <= hi {
		// The pids handed out since: those of new processes are looked up
		// below like the others (a thread's is skipped there), those that
		// are gone or not there yet are left out.
		n := len(pids)
		for pid := lo; pid <= hi; pid++ {
			if _, ok := slices.BinarySearch(pids[:n], pid); !ok {
				pids = append(pids, pid)
			}
		}
		if len(pids) > n && !slices.IsSorted(pids) {
			slices.Sort(pids) // new pids come first after pid_max wrapped
		}
	}
	t.pids = pids[:0] // refilled below, in place, with the pids still there
	var cmdline Field
	if t.Cmdline {
		cmdline = FieldCmdline
	}
	clear(t.out) // no process of the last sample is kept alive by it
	out := Sample{Procs: slices.Grow(t.out[:0], len(pids))}
	seen := 0 // known processes found by this sample
	for _, pid := range pids {
		b, res := t.stats.read(pid)
		if res == statGone {
			continue
		}
		e, known := t.procs[pid]
		if !known && res == statOK && isThread(b) {
			// A new pid looked up by number may be a thread's: /proc/TID
			// answers, although /proc lists only processes.
			continue
		}
		t.pids = append(t.pids, pid)
		if res == statFailed {
			if known {
				e.seen = t.n // not read this time, not gone either
				seen++
			}
			continue
		}
		st, err := parseStatSample(b)
		if err != nil {
			return Sample{}, fmt.Errorf("parse %s/%d/stat: %w", t.fs.proc, pid, err)
		}
		switch {
		case !known || e.p.StartTime != st.start || (e.p.Comm != string(st.comm) && !st.kthread):
			// New, or a new program (exec): stat is in hand, the rest is
			// read now. A known pid that now answers with another start
			// may have gone to a thread.
			if known && isThread(b) {
				t.pids = t.pids[:len(t.pids)-1]
				continue
			}
			base := Process{PID: pid, PPID: st.ppid, UID: -1, GID: -1, Comm: string(st.comm),
				StartTime: st.start, Unavailable: FieldCmdline}
			p, ok, err := t.fs.readOnto(base, DefaultFields&^FieldStat|cmdline, t.s, t.users, nil)
			if err != nil {
				return Sample{}, err
			}
			if !ok {
				continue
			}
			e = &tracked{p: &p}
			t.procs[pid] = e
			out.Changed = true
		case (uint64(pid)+t.n)%every == 0:
			// The cgroup, and every NSEvery-th time the status (user) and
			// namespaces too; stat was read above.
			want := FieldCgroups
			if e.refresh++; e.refresh >= max(t.NSEvery, 1) {
				want, e.refresh = want|FieldStatus|FieldNS|cmdline, 0
			}
			base := *e.p
			base.PPID, base.Comm = st.ppid, string(st.comm)
			p, ok, err := t.fs.readOnto(base, want, t.s, t.users, nil)
			if err != nil {
				return Sample{}, err
			}
			if !ok {
				continue
			}
			if p.Comm != e.p.Comm || p.Cmdline != e.p.Cmdline || !sameInfo(&p, e.p) {
				e.p = &p
				out.Changed = true
			}
		case e.p.PPID != st.ppid || e.p.Comm != string(st.comm):
			// Reparented (its parent exited), or a kernel thread renamed
			// (a kworker names the queue it serves): no new program.
			p := *e.p
			p.PPID, p.Comm = st.ppid, string(st.comm)
			e.p = &p
			out.Changed = true
		}
		e.seen = t.n
		seen++
		out.Procs = append(out.Procs, Tracked{Process: e.p,
			CPUTime: time.Duration(st.cpu) * time.Second / clockTicks, RSS: st.rss * pageSize, Kernel: st.kthread})
	}
	if seen != len(t.procs) {
		// Forget the processes that are gone.
		for pid, e := range t.procs {
			if e.seen != t.n {
				delete(t.procs, pid)
				out.Changed = true
			}
		}
	}
	if len(t.stats.fds) > len(t.procs) {
		t.stats.keep(func(pid int) bool { _, ok := t.procs[pid]; return ok })
	}
	t.out = out.Procs
	return out, nil
}

// Close releases the descriptors the Tracker keeps.
func (t *Tracker) Close() error {
	if t.stats != nil {
		t.stats.keep(func(int) bool { return false })
	}
	if t.lists != nil {
		t.lists.close()
	}
	return nil
}

// sameInfo reports whether a and b hold the same information.
func sameInfo(a, b *Process) bool {
	return a.PPID == b.PPID && a.UID == b.UID && a.GID == b.GID && a.User == b.User &&
		a.NS == b.NS && a.Unavailable == b.Unavailable && slices.Equal(a.NSpid, b.NSpid) &&
		slices.EqualFunc(a.Cgroups, b.Cgroups, func(x, y CgroupEntry) bool {
			return x.HierarchyID == y.HierarchyID && x.Path == y.Path && slices.Equal(x.Controllers, y.Controllers)
		})
}

// isThread reports whether the stat text b is a thread's other than its
// process's first: field 38, exit_signal, is -1 for a task made with
// CLONE_THREAD (kernel/fork.c), which no process has.
func isThread(b []byte) bool {
	r := bytes.LastIndexByte(b, ')')
	if r < 0 {
		return false
	}
	field := 2
	for rest := b[r+1:]; len(rest) > 0; field++ {
		rest = bytes.TrimLeft(rest, " ")
		tok := rest
		if end := bytes.IndexByte(rest, ' '); end >= 0 {
			tok, rest = rest[:end], rest[end:]
		} else {
			rest = nil
		}
		if field+1 == 38 {
			return string(bytes.TrimRight(tok, "\n")) == "-1"
		}
	}
	return false
}

// statSample is what a Tracker reads from /proc/PID/stat every sample.
type statSample struct {
	comm            []byte // in the read buffer
	ppid            int
	kthread         bool   // PF_KTHREAD in the flags
	start, cpu, rss uint64 // ticks after boot, utime+stime ticks, pages
}

const pfKthread = 0x00200000 // include/linux/sched.h

// parseStatSample parses the command name and fields 4 (ppid), 9
// (flags), 14 (utime), 15 (stime), 22 (start time) and 24 (rss) of /proc/PID/stat
// (proc_pid_stat(5)), counting fields from the last ')' as parseStat does.
// It does not allocate: it runs for every process on every sample.
func parseStatSample(b []byte) (s statSample, err error) {
	l, r := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if l < 0 || r < l {
		return s, fmt.Errorf("%w: no (comm) in %q", ErrParse, b)
	}
	s.comm = b[l+1 : r]
	var ut, st, ppid, flags uint64
	field := 2
	for rest := b[r+1:]; len(rest) > 0 && field < 24; {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		tok := bytes.TrimRight(rest[:end], "\n")
		rest = rest[end:]
		field++
		var dst *uint64
		switch field {
		case 4:
			dst = &ppid
		case 9:
			dst = &flags
		case 14:
			dst = &ut
		case 15:
			dst = &st
		case 22:
			dst = &s.start
		case 24:
			dst = &s.rss
		default:
			continue
		}
		if len(tok) == 0 {
			return statSample{}, fmt.Errorf("%w: empty field %d in %q", ErrParse, field, b)
		}
		for _, c := range tok {
			if c < '0' || c > '9' {
				return statSample{}, fmt.Errorf("%w: field %d %q in %q", ErrParse, field, tok, b)
			}
			*dst = *dst*10 + uint64(c-'0')
		}
	}
	if field < 24 {
		return statSample{}, fmt.Errorf("%w: fewer than 24 fields in %q", ErrParse, b)
	}
	s.cpu, s.ppid, s.kthread = ut+st, int(ppid), flags&pfKthread != 0
	return s, nil
}
