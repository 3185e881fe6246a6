// Command refload measures ctop at a reference load and compares it with
// peers in the same run: it starts 2,000 sleeping processes over 400
// cgroups, 200 of them in their own pid, net, uts, ipc and mnt namespaces,
// measures, and removes everything it made (also on SIGINT).
//
//	go build -o /tmp/ctop ./cmd/ctop && go run ./bench/refload -ctop /tmp/ctop
//
// It prints three ratios (ctop / peer, lower is better) with their targets:
// a full in-process refresh against a minimal scan of the same files; `ctop
// ns --json` against `lsns -J`; `ctop ps --json` against `ps -eo
// pid,cgroup,ipcns,mntns,netns,pidns,userns,utsns`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/internal/refload"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/ctop-dev/ctop/sandbox"
)

func main() {
	ref := refload.Reference(fmt.Sprintf("/ctop-test-bench-%d", os.Getpid()))
	ctop := flag.String("ctop", "", "path of a built ctop binary (required)")
	flag.IntVar(&ref.Groups, "groups", ref.Groups, "cgroups to create")
	flag.IntVar(&ref.Procs, "procs", ref.Procs, "sleeping processes to start, spread over the groups")
	flag.IntVar(&ref.Isolated, "isolated", ref.Isolated, "processes started in their own pid, net, uts, ipc and mnt namespaces")
	runs := flag.Int("runs", 15, "repetitions of each measurement (the median is reported)")
	flag.Parse()
	if *ctop == "" {
		fmt.Fprintln(os.Stderr, "refload: -ctop PATH is required (go build -o /tmp/ctop ./cmd/ctop)")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "refload: needs root to create cgroups and namespaces")
		os.Exit(2)
	}
	fs, err := cgroup.Open("/")
	if err != nil {
		fmt.Fprintln(os.Stderr, "refload:", err)
		os.Exit(1)
	}
	// Notify before building, so that a SIGINT during Build waits in the
	// channel and removes the load once Build has returned it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	l, err := refload.Build(fs, ref)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refload:", err)
		os.Exit(1)
	}
	go func() {
		<-sig
		if err := l.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, "refload:", err)
		}
		os.Exit(130)
	}()
	code := measure(fs, len(l.Pids()), *ctop, *runs)
	if err := l.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, "refload:", err)
		code = 1
	}
	os.Exit(code)
}

// median runs f n times and returns the median duration.
func median(n int, f func() error) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		t := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

func run(name string, args ...string) func() error {
	return func() error {
		cmd := exec.Command(name, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out.String())
		}
		return nil
	}
}

// measure prints the three ratios on the host as cfs sees it, the load in
// place; started is how many of its processes this command started.
func measure(cfs *cgroup.FS, started int, ctop string, n int) int {
	nfs, err := nsinfo.Open("/")
	if err != nil {
		fmt.Fprintln(os.Stderr, "refload:", err)
		return 1
	}
	snap, _ := cfs.Scan(cgroup.ScanOptions{})
	ps, _ := nfs.Processes()
	fmt.Printf("load: %d cgroups on this %s host, %d processes (%d started here)\n\n", len(snap.Groups), cfs.Mode(), len(ps), started)

	// The TUI's refresh names every group too (names.Resolver: paths are
	// parsed, engines asked only about ids not seen before), so it is
	// part of what is measured.
	res := names.New(names.Options{SandboxDir: sandbox.DefaultStateDir})
	refresh := func() error {
		snap, err := cfs.Scan(cgroup.ScanOptions{})
		if err != nil && !strings.Contains(err.Error(), "cannot parse") {
			return err
		}
		paths := make([]string, 0, len(snap.Groups))
		for _, g := range snap.Groups {
			paths = append(paths, g.Path)
		}
		res.Names(paths)
		_, err = nfs.Processes()
		return err
	}
	minimal := minimalScan(cfs)
	type row struct {
		what, peer string
		a, b       func() error
		target     float64
	}
	rows := []row{
		{"full refresh, in process (cgroup.Scan + names + nsinfo.Processes)", "minimal scan of the same files", refresh, minimal, 1.2},
		{"ctop ns --json", "lsns -J", run(ctop, "ns", "--json"), run("lsns", "-J"), 0.33},
		{"ctop ps --json", "ps -eo pid,cgroup,ipcns,mntns,netns,pidns,userns,utsns",
			run(ctop, "ps", "--json"), run("ps", "-eo", "pid,cgroup,ipcns,mntns,netns,pidns,userns,utsns"), 1.0},
	}
	code := 0
	fmt.Printf("%-67s %10s %10s %7s %7s\n", "measurement (median of runs)", "ctop", "peer", "ratio", "target")
	for _, r := range rows {
		// Interleave to share any drift in machine load.
		a, err := median(n, r.a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "refload:", err)
			return 1
		}
		b, err := median(n, r.b)
		if err != nil {
			fmt.Fprintln(os.Stderr, "refload:", err)
			return 1
		}
		ratio := float64(a) / float64(b)
		mark := "ok"
		if ratio > r.target {
			mark = "MISSED"
		}
		fmt.Printf("%-67s %10s %10s %7.2f %7.2f %s\n", r.what, a.Round(10*time.Microsecond), b.Round(10*time.Microsecond), ratio, r.target, mark)
		fmt.Printf("  peer: %s\n", r.peer)
	}
	return code
}

// minimalScan returns a scan that reads the files a refresh reads, with no
// model: every group directory's listing and its files, and every process's
// stat, status, cgroup and namespace links. It is the floor a refresh is
// measured against.
func minimalScan(fs *cgroup.FS) func() error {
	buf := make([]byte, 64*1024)
	read := func(p string) {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		for {
			n, err := syscall.Read(fd, buf)
			if n <= 0 || err != nil {
				break
			}
		}
		syscall.Close(fd)
	}
	nsTypes := []string{"mnt", "pid", "net", "ipc", "uts", "user", "cgroup", "time"}
	return func() error {
		for _, h := range fs.Hierarchies() {
			filepath.WalkDir(h.Mountpoint, func(p string, d os.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return nil
				}
				for _, f := range filesOf(h, fs.Mode()) {
					read(filepath.Join(p, f))
				}
				return nil
			})
		}
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		for _, e := range ents {
			if e.Name()[0] < '0' || e.Name()[0] > '9' {
				continue
			}
			base := "/proc/" + e.Name() + "/"
			read(base + "stat")
			read(base + "status")
			read(base + "cgroup")
			for _, t := range nsTypes {
				syscall.Stat(base+"ns/"+t, &st)
			}
		}
		return nil
	}
}

// filesOf lists the files a refresh reads in a group of hierarchy h.
func filesOf(h cgroup.Hierarchy, mode cgroup.Mode) []string {
	if h.Version == 2 && mode == cgroup.ModeHybrid {
		// The v2 tree of a hybrid host carries no v1-claimed controller.
		return []string{"cgroup.controllers", "cgroup.procs", "cpu.pressure", "memory.pressure", "io.pressure"}
	}
	if h.Version == 2 {
		return []string{"cgroup.controllers", "cgroup.procs", "cpu.max", "cpu.weight", "cpu.stat",
			"cpuset.cpus", "cpuset.mems", "cpuset.cpus.effective", "cpuset.mems.effective",
			"memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max",
			"memory.current", "memory.peak", "memory.swap.current", "memory.events",
			"io.max", "io.stat", "pids.max", "pids.current", "pids.peak", "pids.events",
			"cpu.pressure", "memory.pressure", "io.pressure"}
	}
	files := []string{"cgroup.procs"}
	for _, c := range h.Controllers {
		switch c {
		case "cpu":
			files = append(files, "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares", "cpu.stat")
		case "cpuacct":
			files = append(files, "cpuacct.usage", "cpuacct.usage_user", "cpuacct.usage_sys")
		case "cpuset":
			files = append(files, "cpuset.cpus", "cpuset.mems", "cpuset.effective_cpus", "cpuset.effective_mems")
		case "memory":
			files = append(files, "memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes",
				"memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.memsw.usage_in_bytes", "memory.failcnt", "memory.oom_control")
		case "blkio":
			files = append(files, "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
				"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
				"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive")
		case "pids":
			files = append(files, "pids.max", "pids.current", "pids.peak", "pids.events")
		}
	}
	return files
}
