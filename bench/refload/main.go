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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
)

func main() {
	ctop := flag.String("ctop", "", "path of a built ctop binary (required)")
	groups := flag.Int("groups", 400, "cgroups to create")
	procs := flag.Int("procs", 2000, "sleeping processes to start, spread over the groups")
	isolated := flag.Int("isolated", 200, "processes started in their own pid, net, uts, ipc and mnt namespaces")
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
	l, err := build(*groups, *procs, *isolated)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; l.remove(); os.Exit(130) }()
	if err != nil {
		l.remove()
		fmt.Fprintln(os.Stderr, "refload:", err)
		os.Exit(1)
	}
	code := measure(l, *ctop, *runs)
	l.remove()
	os.Exit(code)
}

type load struct {
	fs    *cgroup.FS
	top   string
	dirs  []string
	procs []*exec.Cmd
}

func build(ngroups, nprocs, nisolated int) (*load, error) {
	fs, err := cgroup.Open("/")
	if err != nil {
		return &load{}, err
	}
	l := &load{fs: fs, top: fmt.Sprintf("/ctop-test-bench-%d", os.Getpid())}
	ctrls := []string{"cpu", "cpuacct", "memory", "pids"}
	var leafDirs [][]string
	if fs.Mode() == cgroup.ModeUnified {
		root, _ := fs.Dir("", "/")
		if err := l.mkdir(filepath.Join(root, l.top)); err != nil {
			return l, err
		}
		os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu +memory +pids"), 0)
		if err := os.WriteFile(filepath.Join(root, l.top, "cgroup.subtree_control"), []byte("+cpu +memory +pids"), 0); err != nil {
			return l, err
		}
		for i := 0; i < ngroups; i++ {
			d := filepath.Join(root, l.top, fmt.Sprintf("g%03d", i))
			if err := l.mkdir(d); err != nil {
				return l, err
			}
			os.WriteFile(filepath.Join(d, "memory.max"), []byte("256M"), 0)
			os.WriteFile(filepath.Join(d, "cpu.max"), []byte("50000 100000"), 0)
			leafDirs = append(leafDirs, []string{d})
		}
	} else {
		seen := map[string]bool{}
		var mnts []string
		for _, c := range ctrls {
			if d, ok := fs.Dir(c, l.top); ok && !seen[d] {
				seen[d] = true
				mnts = append(mnts, d)
				if err := l.mkdir(d); err != nil {
					return l, err
				}
			}
		}
		for i := 0; i < ngroups; i++ {
			var ds []string
			for _, m := range mnts {
				d := filepath.Join(m, fmt.Sprintf("g%03d", i))
				if err := l.mkdir(d); err != nil {
					return l, err
				}
				os.WriteFile(filepath.Join(d, "memory.limit_in_bytes"), []byte("268435456"), 0)
				os.WriteFile(filepath.Join(d, "cpu.cfs_quota_us"), []byte("50000"), 0)
				ds = append(ds, d)
			}
			leafDirs = append(leafDirs, ds)
		}
	}
	for i := 0; i < nprocs; i++ {
		cmd := exec.Command("sleep", "3600")
		if i < nisolated {
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
				syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
		} else {
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		}
		if err := cmd.Start(); err != nil {
			return l, fmt.Errorf("start process %d: %w", i, err)
		}
		l.procs = append(l.procs, cmd)
		for _, d := range leafDirs[i%ngroups] {
			if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

func (l *load) mkdir(d string) error {
	if err := os.Mkdir(d, 0o755); err != nil {
		return err
	}
	l.dirs = append(l.dirs, d)
	return nil
}

func (l *load) remove() {
	for _, c := range l.procs {
		c.Process.Kill()
	}
	for _, c := range l.procs {
		c.Wait()
	}
	for i := len(l.dirs) - 1; i >= 0; i-- {
		for try := 0; try < 100; try++ {
			if err := os.Remove(l.dirs[i]); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
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

func measure(l *load, ctop string, n int) int {
	cfs := l.fs
	nfs, err := nsinfo.Open("/")
	if err != nil {
		fmt.Fprintln(os.Stderr, "refload:", err)
		return 1
	}
	snap, _ := cfs.Scan(cgroup.ScanOptions{})
	ps, _ := nfs.Processes()
	fmt.Printf("load: %d cgroups on this %s host, %d processes (%d started here)\n\n", len(snap.Groups), cfs.Mode(), len(ps), len(l.procs))

	refresh := func() error {
		if _, err := cfs.Scan(cgroup.ScanOptions{}); err != nil && !strings.Contains(err.Error(), "cannot parse") {
			return err
		}
		_, err := nfs.Processes()
		return err
	}
	minimal := minimalScan(cfs)
	type row struct {
		what, peer string
		a, b       func() error
		target     float64
	}
	rows := []row{
		{"full refresh, in process (cgroup.Scan + nsinfo.Processes)", "minimal scan of the same files", refresh, minimal, 1.2},
		{"ctop ns --json", "lsns -J", run(ctop, "ns", "--json"), run("lsns", "-J"), 0.33},
		{"ctop ps --json", "ps -eo pid,cgroup,ipcns,mntns,netns,pidns,userns,utsns",
			run(ctop, "ps", "--json"), run("ps", "-eo", "pid,cgroup,ipcns,mntns,netns,pidns,userns,utsns"), 1.0},
	}
	code := 0
	fmt.Printf("%-58s %10s %10s %7s %7s\n", "measurement (median of runs)", "ctop", "peer", "ratio", "target")
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
		fmt.Printf("%-58s %10s %10s %7.2f %7.2f %s\n", r.what, a.Round(10*time.Microsecond), b.Round(10*time.Microsecond), ratio, r.target, mark)
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
