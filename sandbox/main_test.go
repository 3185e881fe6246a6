package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// The tests re-execute their own binary: as the sandbox's init (Init), and
// as small workloads run inside sandboxes (helpers, chosen by envHelper).
const envHelper = "CTOP_TEST_HELPER"

func TestMain(m *testing.M) {
	if Init() {
		return
	}
	if h := os.Getenv(envHelper); h != "" {
		os.Exit(runHelper(h, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runHelper runs a workload inside a sandbox and returns its exit code.
func runHelper(name string, args []string) int {
	switch name {
	case "isolation":
		// What the sandbox sees: host name, own pid, /proc, interfaces.
		h, _ := os.Hostname()
		fmt.Printf("hostname %s\npid %d\n", h, os.Getpid())
		ents, _ := os.ReadDir("/proc")
		var pids []string
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				pids = append(pids, e.Name())
			}
		}
		fmt.Printf("procs %s\n", strings.Join(pids, ","))
		ifs, err := net.Interfaces()
		if err != nil {
			fmt.Println("interfaces error", err)
			return 1
		}
		for _, i := range ifs {
			fmt.Printf("iface %s up=%v\n", i.Name, i.Flags&net.FlagUp != 0)
		}
		return 0
	case "forks":
		// Try to start N processes that stay; report how many forks failed.
		n, _ := strconv.Atoi(args[0])
		ok, failed := 0, 0
		for range n {
			if rawFork(true) {
				ok++
			} else {
				failed++
			}
		}
		rawPrint(fmt.Sprintf("forked %d failed %d\n", ok, failed))
		return 0
	case "forkwatch":
		// Fill the pids limit with processes that stay, say so, then retry
		// one short-lived fork until it succeeds (once the limit is raised).
		n := 0
		for rawFork(true) {
			n++
		}
		rawPrint(fmt.Sprintf("full after %d\n", n))
		for !rawFork(false) {
			ts := unix.Timespec{Nsec: 20e6}
			unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		}
		rawPrint("forked\n")
		return 0
	case "odirect":
		return odirect(args[0], args[1])
	case "syscalls":
		// The errno of each of the attacks docker's seccomp profile stops
		// (see seccompAttacks), one line each: name errno.
		for _, c := range seccompAttacks() {
			_, _, e := unix.Syscall6(c.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5])
			fmt.Printf("%s %d\n", c.name, int(e))
		}
		return 0
	case "try":
		// What a hostile process would try: one line per argument.
		for _, a := range args {
			fmt.Println(tryOp(a))
		}
		return 0
	case "exeattack":
		// CVE-2019-5736 from inside a sandbox: run as the interpreter
		// "#!/proc/self/exe" of a script ctop exec executes, so as the
		// binary ctop exec's child was; keep a handle on that binary and,
		// once nothing executes it any more (after the execve of sh),
		// append to it through the handle.
		link, _ := os.Readlink("/proc/self/exe")
		fmt.Printf("exe %s\n", link)
		fd, err := unix.Open("/proc/self/exe", unix.O_PATH, 0)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		script := fmt.Sprintf("if printf x 2>/dev/null >> /proc/self/fd/%d; then echo wrote; else echo refused; fi", fd)
		err = unix.Exec("/bin/sh", []string{"sh", "-c", script}, os.Environ())
		fmt.Println("error", err)
		return 1
	case "exec":
		// Play a ctop exec STATEDIR NAME COMMAND... that will be
		// SIGKILLed.
		f, err := cgroup.Open("/")
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		st, err := Load(args[0], args[1])
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		code, err := Exec(f, st, ExecOptions{Command: args[2:]})
		if err != nil {
			fmt.Println("error", err)
		}
		return code
	case "runner":
		// Play a ctop run that will be SIGKILLed: start the sandbox, report
		// its pid, wait.
		var cfg initConfig
		if err := json.Unmarshal([]byte(args[0]), &cfg); err != nil {
			fmt.Println("error", err)
			return 1
		}
		cfg.Spec.Resources = *cfg.Resources
		sb, err := Start(cfg.Spec)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Printf("pid %d\n", sb.Pid)
		res, _ := sb.Wait()
		return res.ExitCode
	}
	fmt.Fprintln(os.Stderr, "unknown helper", name)
	return 2
}

// tryOp makes one attempt of the try helper and says how it went, "OP ok"
// or "OP ERRNO":
//
//	caps                 print CapEff, CapBnd, CapInh
//	raw                  open a raw IPv4 socket (CAP_NET_RAW)
//	open:PATH, openw:PATH, openrw:PATH   open for reading, writing, both
//	mknod:PATH:b|c:MAJ:MIN               make a device node (replacing PATH)
//	chown:PATH           chown to 1:1 (CAP_CHOWN)
func tryOp(a string) string {
	f := strings.Split(a, ":")
	var err error
	switch f[0] {
	case "caps":
		b, _ := os.ReadFile("/proc/self/status")
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			for _, k := range []string{"CapEff:", "CapBnd:", "CapInh:"} {
				if strings.HasPrefix(l, k) {
					out = append(out, strings.Join(strings.Fields(l), " "))
				}
			}
		}
		return strings.Join(out, " ")
	case "raw":
		var fd int
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP); err == nil {
			unix.Close(fd)
		}
	case "open", "openw", "openrw":
		mode := map[string]int{"open": unix.O_RDONLY, "openw": unix.O_WRONLY, "openrw": unix.O_RDWR}[f[0]]
		var fd int
		if fd, err = unix.Open(f[1], mode|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
	case "mknod":
		maj, _ := strconv.Atoi(f[3])
		min, _ := strconv.Atoi(f[4])
		mode := uint32(unix.S_IFCHR)
		if f[2] == "b" {
			mode = unix.S_IFBLK
		}
		_ = unix.Unlink(f[1])
		err = unix.Mknod(f[1], mode|0o600, int(unix.Mkdev(uint32(maj), uint32(min))))
	case "chown":
		err = unix.Chown(f[1], 1, 1)
	default:
		return "unknown op " + a
	}
	if err != nil {
		if errno, ok := err.(unix.Errno); ok {
			return f[0] + " " + unix.ErrnoName(errno)
		}
		return f[0] + " " + err.Error()
	}
	return f[0] + " ok"
}

// rawFork forks with raw system calls only (the Go runtime must not run in
// the child, nor start threads in the parent while the pids limit is
// full). The child stays (stay) or exits at once; the parent reaps the
// latter.
func rawFork(stay bool) bool {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return false
	}
	if pid == 0 {
		if stay {
			for {
				unix.RawSyscall6(unix.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
			}
		}
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	if !stay {
		var ws unix.WaitStatus
		unix.RawSyscall6(unix.SYS_WAIT4, pid, uintptr(unsafe.Pointer(&ws)), 0, 0, 0, 0)
	}
	return true
}

func rawPrint(s string) {
	b := []byte(s)
	unix.RawSyscall(unix.SYS_WRITE, 1, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
}

// odirect writes size bytes to path with O_DIRECT, bypassing the page
// cache so every write is a block IO of the sandbox, and prints the bytes
// and the seconds it took.
func odirect(path, size string) int {
	n, err := ParseSize(size)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|unix.O_DIRECT, 0o600)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer f.Close()
	const chunk = 64 << 10
	buf, err := unix.Mmap(-1, 0, chunk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	t0 := time.Now()
	var done uint64
	for done < n {
		w, err := f.Write(buf)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		done += uint64(w)
	}
	if err := f.Sync(); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Printf("wrote %d seconds %f\n", done, time.Since(t0).Seconds())
	return 0
}

// testEnv is one test's place for sandboxes: its own cgroup parent and
// state directory, removed at the end even on failure.
type testEnv struct {
	t      *testing.T
	fs     *cgroup.FS
	parent string
	state  string
	exe    string
	// ids holds the test's subuid and subgid files.
	ids string
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	needRoot(t)
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	e := &testEnv{t: t, fs: f, exe: exe,
		parent: fmt.Sprintf("/ctop-test-%d-%s", os.Getpid(), name),
		state:  filepath.Join(t.TempDir(), "state"), ids: t.TempDir()}
	t.Cleanup(func() {
		if m, err := cgroup.Load(f, e.parent); err == nil {
			_ = m.Kill()
			if err := m.Delete(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return e
}

// spec is a spec placed in the test's parent and state directory.
func (e *testEnv) spec(cmd ...string) Spec {
	// The subordinate id files are the test's: ctop adds its range to
	// them, which the host's /etc is spared.
	return Spec{Command: cmd, Namespaces: DefaultNamespaces(), CgroupParent: e.parent, StateDir: e.state,
		SubUIDFile: filepath.Join(e.ids, "subuid"), SubGIDFile: filepath.Join(e.ids, "subgid")}
}

// helper is a spec that runs one of this binary's helpers.
func (e *testEnv) helper(name string, args ...string) Spec {
	s := e.spec(append([]string{e.exe}, args...)...)
	s.Env = []string{envHelper + "=" + name}
	// The binary is under the host's /tmp, which a sandbox does not see.
	dir := filepath.Dir(e.exe)
	s.Binds = []Bind{{Source: dir, Dest: dir, ReadOnly: true}}
	return s
}

// run starts spec, waits, and returns the result and the output.
func (e *testEnv) run(spec Spec) (Result, string) {
	e.t.Helper()
	var out bytes.Buffer
	spec.Stdout, spec.Stderr = &out, &out
	sb, err := Start(spec)
	if err != nil {
		e.t.Fatalf("start %v: %v", spec.Command, err)
	}
	res, err := sb.Wait()
	if err != nil {
		e.t.Fatalf("wait %v: %v (output %q)", spec.Command, err, out.String())
	}
	return res, out.String()
}

// assertGone checks that nothing of the test's sandboxes remains: no
// group under the parent in any hierarchy, no state.
func (e *testEnv) assertGone() {
	e.t.Helper()
	for _, h := range e.fs.Hierarchies() {
		dir := filepath.Join(h.Mountpoint, e.parent)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, x := range ents {
			if x.IsDir() {
				e.t.Errorf("cgroup %s/%s remains", dir, x.Name())
			}
		}
	}
	if ents, err := os.ReadDir(e.state); err == nil && len(ents) > 0 {
		e.t.Errorf("state remains in %s: %v", e.state, ents)
	}
}

// cgroupFile reads a file of group path in the hierarchy of controller.
func (e *testEnv) cgroupFile(controller, path, name string) string {
	e.t.Helper()
	dir, ok := e.fs.Dir(controller, path)
	if !ok {
		e.t.Fatalf("no hierarchy for %s", controller)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// killNow is ctop stop -t 0: the group is killed at once, as Stop did
// before it learned the stop signal.
func killNow() StopOptions {
	var d time.Duration
	return StopOptions{Timeout: &d}
}
