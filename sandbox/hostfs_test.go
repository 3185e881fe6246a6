package sandbox

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// hostDir makes a directory on the host's files outside the private
// /tmp, /var/tmp and /run, removed at the end: beside the test's sources,
// or, where the checkout itself is under one of those (a clone in /tmp),
// in /var/lib, else /.
func hostDir(t *testing.T) string {
	t.Helper()
	base, _ := filepath.Abs(".")
	for _, b := range []string{"/var/lib", "/"} {
		if underPrivate(base) == "" {
			break
		}
		if st, err := os.Stat(b); err == nil && st.IsDir() {
			base = b
		}
	}
	d, err := os.MkdirTemp(base, ".ctop-hostfs-test-")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(d)
	t.Cleanup(func() { os.RemoveAll(abs) })
	return abs
}

// rootBlockDevice is the /dev node of the block device the host's root is
// on, "" when the root is on none (a tmpfs, an overlay without a disk).
func rootBlockDevice() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 5 || fl[4] != "/" {
			continue
		}
		b, err := os.ReadFile("/sys/dev/block/" + fl[2] + "/uevent")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(l, "DEVNAME="); ok {
				if _, err := os.Stat("/dev/" + name); err == nil {
					return "/dev/" + name
				}
			}
		}
	}
	return ""
}

// TestHostFilesystem: a sandbox on the host's files, started either way,
// tries what a hostile root in it would (write the host's files and
// binaries, reach a disk, see the host's interfaces and /tmp) and fails;
// what it is given (-v, --host-root rw, its own /tmp and /dev) works.
func TestHostFilesystem(t *testing.T) {
	e := newTestEnv(t)
	host := hostDir(t)
	victim := filepath.Join(host, "victim")
	if err := os.WriteFile(victim, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vol := hostDir(t)
	tmpVol := t.TempDir() // under the host's /tmp
	// A file under /tmp, as systemd-resolved's resolv.conf is under /run.
	tmpFile := filepath.Join(t.TempDir(), "conf")
	if err := os.WriteFile(tmpFile, []byte("conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join("/tmp", "ctop-hostfs-probe-"+filepath.Base(tmpVol))
	const erofs = "Read-only file system"
	type row struct {
		name   string
		mod    func(*Spec)
		script string
		want   string
	}
	rows := []row{
		{"write a host file", nil, "(echo x >> " + victim + ") 2>&1 | grep -o '" + erofs + "'", erofs},
		{"write a host file, no mount_setattr", func(s *Spec) { s.noSetattr = true },
			"(echo x >> " + victim + ") 2>&1 | grep -o '" + erofs + "'", erofs},
		{"open /usr/bin/true for writing", nil, "(: >> /usr/bin/true) 2>&1 | grep -o '" + erofs + "'", erofs},
		{"the host's interfaces", nil, "ls /sys/class/net", "lo"},
		{"sysfs read-only", nil, "(echo 1 > /sys/kernel/profiling) 2>&1 | grep -o '" + erofs + "'", erofs},
		{"/tmp private and empty", nil, "ls -A /tmp | wc -l; touch " + probe + " && echo written", "0\nwritten"},
		// Only those the host has: a private directory is mounted over
		// the host's, never made (a VM's root may lack /var/tmp).
		{"/var/tmp and /run private", nil, "for d in /var/tmp /run; do [ -d $d ] && ls -A $d; done | wc -l", "0"},
		{"minimal /dev", nil, "ls /dev | tr '\\n' ' '",
			"fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero "},
		{"/dev/null for any user", func(s *Spec) { s.User = &User{UID: 1234, GID: 1234} },
			"echo x > /dev/null && head -c 4 /dev/zero | wc -c", "4"},
		// Its root is an unmapped id to the host's files: the write is
		// refused for permission before the read-only mount is reached.
		{"in a user namespace", func(s *Spec) { s.Namespaces = append(s.Namespaces, NSUser) },
			"head -c 4 /dev/zero | wc -c; ls /sys/class/net; (echo x >> " + victim + ") 2>&1 | grep -o 'Permission denied'",
			"4\nlo\nPermission denied"},
		{"-v writable", func(s *Spec) { s.Binds = append(s.Binds, Bind{Source: vol, Dest: vol}) },
			"echo v > " + vol + "/f && cat " + vol + "/f", "v"},
		{"-v under /tmp", func(s *Spec) { s.Binds = append(s.Binds, Bind{Source: tmpVol, Dest: tmpVol}) },
			"echo v > " + tmpVol + "/f && cat " + tmpVol + "/f", "v"},
		{"-v of a file under /tmp, :ro", func(s *Spec) { s.Binds = append(s.Binds, Bind{Source: tmpFile, Dest: tmpFile, ReadOnly: true}) },
			"cat " + tmpFile + "; (echo x >> " + tmpFile + ") 2>&1 | grep -o '" + erofs + "'", "conf\n" + erofs},
		{"-v :ro", func(s *Spec) { s.Binds = append(s.Binds, Bind{Source: vol, Dest: vol, ReadOnly: true}) },
			"(echo x > " + vol + "/g) 2>&1 | grep -o '" + erofs + "'", erofs},
		{"--tmpfs noexec", func(s *Spec) { s.Tmpfs = append(s.Tmpfs, Tmpfs{Dest: vol}) },
			"printf '#!/bin/sh\\ntrue\\n' > " + vol + "/t; chmod +x " + vol + "/t; " + vol + "/t 2>/dev/null && echo ran || echo refused", "refused"},
		{"--tmpfs exec", func(s *Spec) { s.Tmpfs = append(s.Tmpfs, Tmpfs{Dest: vol, Exec: true}) },
			"printf '#!/bin/sh\\ntrue\\n' > " + vol + "/t; chmod +x " + vol + "/t; " + vol + "/t && echo ran || echo refused", "ran"},
		{"--host-root rw", func(s *Spec) { s.HostRoot = HostRootRW }, "echo rw >> " + victim + " && echo written", "written"},
	}
	if dev := rootBlockDevice(); dev != "" {
		rows = append(rows, row{"open the root disk " + dev, nil,
			"(: < " + dev + ") 2>&1 | grep -o 'No such file'", "No such file"})
	} else {
		t.Log("the root is on no block device: its /dev node is not tried")
	}
	for _, r := range rows {
		for _, viaInit := range []bool{false, true} {
			s := e.spec("sh", "-c", r.script)
			s.viaInit = viaInit
			if r.mod != nil {
				r.mod(&s)
			}
			res, out := e.run(s)
			if got := strings.TrimRight(out, "\n"); res.ExitCode != 0 || got != r.want {
				t.Errorf("%s (re-executed init %v): exit %d, %q; want %q", r.name, viaInit, res.ExitCode, got, r.want)
			}
		}
	}
	// Only --host-root rw wrote, twice (one per path).
	if b, _ := os.ReadFile(victim); string(b) != "host\nrw\nrw\n" {
		t.Errorf("host file holds %q, want only --host-root rw's writes", b)
	}
	if b, _ := os.ReadFile(filepath.Join(tmpVol, "f")); string(b) != "v\n" {
		t.Errorf("-v under /tmp: host file %q", b)
	}
	if _, err := os.Stat(probe); err == nil {
		os.Remove(probe)
		t.Errorf("%s written in the sandbox's /tmp is on the host's", probe)
	}
	e.assertGone()
}

// TestCgroupFS: a runtime in the sandbox reads its own limit where it
// looks for it (/sys/fs/cgroup, through the cgroup namespace), and cannot
// raise it: the file system is read-only.
func TestCgroupFS(t *testing.T) {
	e := newTestEnv(t)
	script := `f=/sys/fs/cgroup/memory.max; [ -e $f ] || f=/sys/fs/cgroup/memory/memory.limit_in_bytes
cat $f; (echo max > $f) 2>&1 | grep -o 'Read-only file system'; cat $f`
	for _, viaInit := range []bool{false, true} {
		s := e.spec("sh", "-c", script)
		s.viaInit = viaInit
		s.Resources.MemoryMax = limit(64 << 20)
		res, out := e.run(s)
		if want := "67108864\nRead-only file system\n67108864\n"; res.ExitCode != 0 || out != want {
			t.Errorf("re-executed init %v: exit %d, %q; want %q", viaInit, res.ExitCode, out, want)
		}
	}
	e.assertGone()
}

// TestRootfsWorld: with --rootfs the sandbox gets ctop's /etc/hostname,
// hosts and resolv.conf where its root has them, docker's /dev with
// mqueue, its cgroups, and --read-only keeps its root from being written.
func TestRootfsWorld(t *testing.T) {
	e := newTestEnv(t)
	root := busyboxRootfs(t)
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		if err := os.WriteFile(filepath.Join(root, "etc", f), []byte("rootfs's\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := e.spec("sh", "-c", `cat /etc/hostname /etc/hosts /etc/resolv.conf; echo --
ls /dev | tr '\n' ' '; echo; ls /sys/fs/cgroup | wc -l
(echo x > /newfile) 2>&1 | grep -o 'Read-only file system'; echo y > /t/f && cat /t/f`)
	s.Rootfs, s.ReadOnly, s.Hostname = root, true, "worldbox"
	s.Tmpfs = []Tmpfs{{Dest: "/t"}}
	res, out := e.run(s)
	host, _ := os.ReadFile("/etc/resolv.conf")
	want := "worldbox\n" + etcHosts("worldbox") + resolvConf(string(host), true) + "--\n" +
		"fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n"
	if res.ExitCode != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("exit %d: %q; want it to begin %q", res.ExitCode, out, want)
	}
	rest := strings.Split(strings.TrimPrefix(out, want), "\n")
	if len(rest) != 4 || rest[0] == "0" || rest[1] != "Read-only file system" || rest[2] != "y" {
		t.Errorf("after /dev: %q; want cgroup entries, a refused write to / and a written tmpfs", rest)
	}
	if _, err := os.Stat(filepath.Join(root, "newfile")); err == nil {
		t.Errorf("--read-only root was written")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/hostname")); string(b) != "rootfs's\n" {
		t.Errorf("the rootfs's /etc/hostname changed: %q", b)
	}
	e.assertGone()
}

// TestTTYOwnDevpts: with -t and a caller whose terminal is a pty (the test
// holds its master), the command's terminal is the first of the
// sandbox's own devpts, on either path.
func TestTTYOwnDevpts(t *testing.T) {
	e := newTestEnv(t)
	for _, viaInit := range []bool{false, true} {
		ptm, pts := testPTY(t)
		s := e.spec("tty")
		s.viaInit, s.TTY = viaInit, true
		s.Stdin, s.Stdout, s.Stderr = pts, pts, pts
		sb, err := Start(s)
		if err != nil {
			t.Fatal(err)
		}
		res, err := sb.Wait()
		pts.Close()
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("re-executed init %v: exit %d, %v", viaInit, res.ExitCode, err)
		}
		out := readAvailable(ptm)
		ptm.Close()
		if !strings.Contains(out, "/dev/pts/0") {
			t.Errorf("re-executed init %v: tty printed %q, want /dev/pts/0", viaInit, out)
		}
	}
	e.assertGone()
}

// testPTY opens a pty pair on the host's devpts: the test's terminal.
func testPTY(t *testing.T) (ptm, pts *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// readAvailable reads what the pty's master has, for up to a second.
func readAvailable(f *os.File) string {
	_ = f.SetReadDeadline(time.Now().Add(time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil || strings.Contains(string(out), "\n") {
			return string(out)
		}
	}
}

func TestResolvConf(t *testing.T) {
	host := "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\noptions edns0\nsearch lan\n"
	if got, want := resolvConf(host, true), "# generated\nnameserver 10.0.0.2\noptions edns0\nsearch lan\n"; got != want {
		t.Errorf("new net namespace: %q, want %q", got, want)
	}
	if got := resolvConf(host, false); got != host {
		t.Errorf("host network: %q, want the host's", got)
	}
	if got := etcHosts("box"); !strings.Contains(got, "127.0.0.1\tlocalhost\n") || !strings.HasSuffix(got, "\tbox\n") {
		t.Errorf("hosts %q", got)
	}
}

func TestParseMountinfo(t *testing.T) {
	in := `22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
23 22 0:5 / /mnt/with\040space rw,nosuid,nodev,noexec - tmpfs tmpfs rw
31 23 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
40 31 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
bad line
`
	ms := parseMountinfo(strings.NewReader(in))
	if len(ms) != 6 {
		t.Fatalf("%d entries: %+v", len(ms), ms)
	}
	if ms[1].point != "/mnt/with space" || ms[1].locked() != unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC {
		t.Errorf("entry %+v, locked %#x", ms[1], ms[1].locked())
	}
	var got []string
	for _, st := range cgroupMounts(ms, "/sys/fs/cgroup") {
		got = append(got, st.what+" "+st.data)
	}
	want := []string{"mount a tmpfs on /sys/fs/cgroup mode=755",
		"mkdir /sys/fs/cgroup/cpu,cpuacct ", "mount cgroup on /sys/fs/cgroup/cpu,cpuacct cpu,cpuacct",
		"mkdir /sys/fs/cgroup/unified ", "mount cgroup2 on /sys/fs/cgroup/unified nsdelegate",
		"mkdir /sys/fs/cgroup/systemd ", "mount cgroup on /sys/fs/cgroup/systemd xattr,name=systemd"}
	// The host's own links (cpu -> cpu,cpuacct) follow; then the remount.
	got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "link ") })
	if d := cmp.Diff(append(want, "make /sys/fs/cgroup read-only mode=755"), got); d != "" {
		t.Errorf("v1 cgroup mounts (-want +got):\n%s", d)
	}
	v2 := parseMountinfo(strings.NewReader("30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"))
	if st := cgroupMounts(v2, "/sys/fs/cgroup"); len(st) != 1 || st[0].fstype != "cgroup2" || st[0].data != "nsdelegate,memory_recursiveprot" || st[0].flags&unix.MS_RDONLY == 0 {
		t.Errorf("v2 cgroup mounts %+v", st)
	}
}

func TestHostRootOptions(t *testing.T) {
	for _, tc := range []struct {
		g    Given
		want string
	}{{Given{"host-root": {"rw"}}, HostRootRW}, {Given{"host-root": {"ro"}}, ""}, {Given{}, ""}} {
		r, err := ParseRun(tc.g)
		if err != nil || r.Spec.HostRoot != tc.want {
			t.Errorf("ParseRun(%v): host root %q, %v; want %q", tc.g, r.Spec.HostRoot, err, tc.want)
		}
	}
	if _, err := ParseRun(Given{"host-root": {"yes"}}); err == nil || !strings.Contains(err.Error(), "--host-root yes") {
		t.Errorf("--host-root yes: %v", err)
	}
	if r, err := ParseRun(Given{"read-only": {"true"}}); err != nil || !r.Spec.ReadOnly {
		t.Errorf("--read-only: %+v, %v", r.Spec, err)
	}
	dir := t.TempDir()
	for _, s := range []Spec{
		{Name: "x", Command: []string{"sh"}, Namespaces: DefaultNamespaces(), Network: NetworkNone, HostRoot: HostRootRW, Rootfs: dir},
		{Name: "x", Command: []string{"sh"}, Namespaces: DefaultNamespaces(), Network: NetworkNone, HostRoot: HostRootRW, ReadOnly: true},
		{Name: "x", Command: []string{"sh"}, Namespaces: DefaultNamespaces(), Network: NetworkNone, HostRoot: "maybe"},
	} {
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "--host-root") {
			t.Errorf("Validate(%+v): %v, want a --host-root error", s, err)
		}
	}
}
