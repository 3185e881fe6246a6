package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// The filesystem a sandbox sees, as docker gives a container its own:
// without --rootfs the host's root read-only (unless --host-root rw), a
// private /tmp, /var/tmp and /run; in both layouts a minimal /dev, a fresh
// read-only /sys in a new network namespace and the sandbox's own cgroups
// read-only on /sys/fs/cgroup. Each is steps of the plan, prepared here
// from what the host has, so a launch's child only makes system calls.

// privateDirs get an empty tmpfs of their own in a sandbox on the host's
// files, with the mode and flags a host gives them.
var privateDirs = []struct {
	path string
	data string
}{
	{"/tmp", "mode=1777"},
	{"/var/tmp", "mode=1777"},
	{"/run", "mode=755"},
}

// privateMounts are the empty tmpfs of a sandbox without a root of its
// own, mounted once the host's root is read-only (hostReadOnly).
func privateMounts() []step {
	var out []step
	for _, d := range privateDirs {
		if st, err := os.Stat(d.path); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, step{kind: stepMount, src: "tmpfs", path: d.path, fstype: "tmpfs",
			flags: unix.MS_NOSUID | unix.MS_NODEV, data: d.data, what: "private tmpfs on " + d.path})
	}
	return out
}

// haveMountSetattr reports whether mount_setattr(2) exists (Linux 5.12):
// the probe's bad fd is refused (EBADF) by a kernel that has it.
var haveMountSetattr = sync.OnceValue(func() bool {
	_, _, e := unix.RawSyscall6(unix.SYS_MOUNT_SETATTR, ^uintptr(0), 0, 0, 0, 0, 0)
	return e != unix.ENOSYS && e != unix.EPERM
})

// hostReadOnly makes the host's root and every mount under it read-only
// in the sandbox's mount namespace: one mount_setattr(AT_RECURSIVE) where
// the kernel has it, else a remount of each mount in /proc/self/mountinfo
// (parents first, as listed), repeating the flags the kernel locks.
func hostReadOnly(setattr bool) []step {
	const what = "make the host's files read-only"
	if setattr {
		return []step{{kind: stepReadOnly, path: "/", what: what}}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []step{{kind: stepReadOnly, path: "/", what: what}}
	}
	defer f.Close()
	var out []step
	for _, m := range parseMountinfo(f) {
		out = append(out, step{kind: stepMount, path: m.point, skip: unix.ENOENT,
			flags: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | m.locked(), what: what + ": " + m.point})
	}
	return out
}

// hostRO are hostReadOnly's steps for this kernel, read once per process.
var hostRO = sync.OnceValue(func() []step { return hostReadOnly(haveMountSetattr()) })

// mountEntry is one line of /proc/PID/mountinfo (proc(5)).
type mountEntry struct {
	point, opts, fstype, super string
}

// parseMountinfo reads the mount points, their per-mount options, file
// system types and super options; a line it cannot read is left out.
func parseMountinfo(r io.Reader) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || len(f) < sep+4 {
			continue
		}
		out = append(out, mountEntry{point: unescapeMount(f[4]), opts: f[5], fstype: f[sep+1], super: f[sep+3]})
	}
	return out
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// locked are the mount flags in the entry's per-mount options that a
// remount must repeat (see lockedFlags).
func (m mountEntry) locked() uintptr {
	var flags uintptr
	for _, o := range strings.Split(m.opts, ",") {
		switch o {
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "noatime":
			flags |= unix.MS_NOATIME
		case "nodiratime":
			flags |= unix.MS_NODIRATIME
		case "relatime":
			flags |= unix.MS_RELATIME
		}
	}
	return flags
}

// devNodes are docker's device nodes in a container's /dev.
var devNodes = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// devSteps make a minimal /dev: a tmpfs with docker's device nodes (made
// with mknod, or in a user namespace, where mknod is refused, bound from
// the host's as runc does rootless), a devpts of its own, /dev/shm,
// /dev/mqueue and the usual links. The host's block devices and the rest
// are not there.
//
// On the host's files (hostView) the tmpfs hides the host's nodes, so in a
// user namespace they are copied (open_tree) before it is mounted; with a
// root of its own the host's /dev stays in view until pivot_root.
func devSteps(userns, newIPC, hostView bool) []step {
	const ro = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	var out []step
	copies := make([]*int32, len(devNodes))
	if userns && hostView {
		for i, d := range devNodes {
			copies[i] = new(int32)
			*copies[i] = -1
			out = append(out, step{kind: stepTreeClone, path: "/dev/" + d.name, slot: copies[i], what: "copy /dev/" + d.name})
		}
	}
	out = append(out, step{kind: stepMount, src: "tmpfs", path: "/dev", fstype: "tmpfs", flags: unix.MS_NOSUID | unix.MS_STRICTATIME,
		data: "mode=755,size=65536k", inRoot: true, mk: mkDir, mode: 0o755, what: "mount a tmpfs on /dev"})
	for i, d := range devNodes {
		p := "/dev/" + d.name
		if userns {
			bind := step{kind: stepMount, src: p, path: p, flags: unix.MS_BIND, inRoot: true, what: "bind " + p}
			if copies[i] != nil {
				bind = step{kind: stepTreeMove, path: p, slot: copies[i], what: "bind " + p}
			}
			out = append(out, step{kind: stepCreate, path: p, mode: 0o666, inRoot: true, what: "create " + p}, bind)
			continue
		}
		out = append(out,
			step{kind: stepMknod, path: p, n: int(unix.Mkdev(d.major, d.minor)), mode: 0o666, inRoot: true, what: "mknod " + p},
			// mknod's mode is cut by the umask.
			step{kind: stepChmod, path: p, mode: 0o666, inRoot: true, what: "chmod " + p})
	}
	for _, d := range []string{"pts", "shm", "mqueue"} {
		out = append(out, step{kind: stepMkdir, path: "/dev/" + d, mode: 0o755, inRoot: true, what: "mkdir /dev/" + d})
	}
	mq := step{kind: stepMount, src: "mqueue", path: "/dev/mqueue", fstype: "mqueue", flags: ro, inRoot: true, what: "mount mqueue on /dev/mqueue"}
	if !newIPC {
		// The host's ipc namespace's queues: a user namespace may not
		// mount them, and then goes without.
		mq.skip = unix.EPERM
	}
	out = append(out,
		step{kind: stepMount, src: "devpts", path: "/dev/pts", fstype: "devpts", flags: unix.MS_NOSUID | unix.MS_NOEXEC,
			data: "newinstance,ptmxmode=0666,mode=0620", inRoot: true, what: "mount devpts on /dev/pts"},
		step{kind: stepMount, src: "shm", path: "/dev/shm", fstype: "tmpfs", flags: ro,
			data: "mode=1777,size=65536k", inRoot: true, what: "mount a tmpfs on /dev/shm"},
		mq)
	for _, l := range [][2]string{{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		out = append(out, step{kind: stepSymlink, src: l[1], path: "/dev/" + l[0], inRoot: true, what: "link /dev/" + l[0]})
	}
	return out
}

// sysfsStep mounts a fresh read-only sysfs on /sys, which in a new network
// namespace shows only that namespace's interfaces.
func sysfsStep() step {
	return step{kind: stepMount, src: "sysfs", path: "/sys", fstype: "sysfs",
		flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY, what: "mount a read-only sysfs on /sys"}
}

// cgroupSteps mount the cgroup filesystems the host has, read-only, on
// /sys/fs/cgroup: made after the sandbox's cgroup namespace, they show
// its own groups as roots, so a runtime reading its limits there finds
// the sandbox's. On v2 one cgroup2; on v1 and hybrid hosts a tmpfs with
// each hierarchy, as runc does. The host's options are repeated: a mount
// of an existing hierarchy must name the same, and a cgroup2 mount outside
// a cgroup namespace would reset the host's (nsdelegate) otherwise.
func cgroupSteps() []step {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	return cgroupMounts(parseMountinfo(f), "/sys/fs/cgroup")
}

var cgroupFS = sync.OnceValue(cgroupSteps)

const cgroupFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY

// cgroupMounts are cgroupSteps for the mounts ms with the cgroup root at
// root.
func cgroupMounts(ms []mountEntry, root string) []step {
	var out []step
	for _, m := range ms {
		if m.point == root && m.fstype == "cgroup2" {
			return []step{{kind: stepMount, src: "cgroup2", path: root, fstype: "cgroup2", flags: cgroupFlags,
				data: cgroupData(m.super), inRoot: true, what: "mount cgroup2 on " + root}}
		}
	}
	for _, m := range ms {
		if filepath.Dir(m.point) != root || m.fstype != "cgroup" && m.fstype != "cgroup2" {
			continue
		}
		if out == nil {
			out = append(out, step{kind: stepMount, src: "tmpfs", path: root, fstype: "tmpfs",
				flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, data: "mode=755", inRoot: true, what: "mount a tmpfs on " + root})
		}
		out = append(out,
			step{kind: stepMkdir, path: m.point, mode: 0o555, inRoot: true, what: "mkdir " + m.point},
			step{kind: stepMount, src: m.fstype, path: m.point, fstype: m.fstype, flags: cgroupFlags,
				data: cgroupData(m.super), inRoot: true, what: "mount " + m.fstype + " on " + m.point})
	}
	if out == nil {
		return nil
	}
	// The links of co-mounted controllers (cpu -> cpu,cpuacct).
	if ents, err := os.ReadDir(root); err == nil {
		for _, e := range ents {
			if e.Type()&os.ModeSymlink == 0 {
				continue
			}
			if to, err := os.Readlink(filepath.Join(root, e.Name())); err == nil {
				p := filepath.Join(root, e.Name())
				out = append(out, step{kind: stepSymlink, src: to, path: p, inRoot: true, what: "link " + p})
			}
		}
	}
	return append(out, step{kind: stepMount, path: root, flags: unix.MS_REMOUNT | cgroupFlags, data: "mode=755",
		inRoot: true, what: "make " + root + " read-only"})
}

// cgroupData is a cgroup mount's data: the host mount's super options
// less rw (the mount's flags say read-only) and release_agent (refused in
// a cgroup namespace, and not the sandbox's to set).
func cgroupData(super string) string {
	var keep []string
	for _, o := range strings.Split(super, ",") {
		if o == "rw" || o == "ro" || strings.HasPrefix(o, "release_agent=") || o == "" {
			continue
		}
		keep = append(keep, o)
	}
	return strings.Join(keep, ",")
}

// writableSource reports whether the host's mount of path is writable, so
// that a -v of it is made writable again in the read-only host view.
func writableSource(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Flags&unix.ST_RDONLY == 0
}

// etcFiles are the files of /etc a sandbox with a root of its own gets
// from ctop, as a docker container does from its runtime.
func etcFiles(s *Spec) []string {
	if s.Hostname == "" {
		return []string{"hosts", "resolv.conf"}
	}
	return []string{"hostname", "hosts", "resolv.conf"}
}

// etcFiles writes the sandbox's /etc/hostname, hosts and resolv.conf in
// its state directory and returns the directory.
func (sb *Sandbox) etcFiles() (string, error) {
	s := &sb.spec
	if err := sb.state.ensureDir(); err != nil {
		return "", err
	}
	dir := filepath.Join(sb.state.dir, "etc")
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("sandbox /etc files: %w", err)
	}
	host, _ := os.ReadFile("/etc/resolv.conf")
	files := map[string]string{
		"hosts":       etcHosts(s.Hostname),
		"resolv.conf": resolvConf(string(host), s.Has(NSNet)),
	}
	if s.Hostname != "" {
		files["hostname"] = s.Hostname + "\n"
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return "", fmt.Errorf("sandbox /etc/%s: %w", name, err)
		}
	}
	return dir, nil
}

// etcHosts is a sandbox's /etc/hosts: localhost and its host name.
func etcHosts(hostname string) string {
	h := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if hostname != "" {
		h += "127.0.1.1\t" + hostname + "\n"
	}
	return h
}

// resolvConf is the host's resolv.conf as a sandbox gets it: in a network
// namespace of its own the host's loopback name servers (a local resolver
// such as systemd-resolved's 127.0.0.53) cannot be reached and are left
// out, as docker does.
func resolvConf(host string, newNet bool) string {
	if !newNet {
		return host
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(host, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip, err := netip.ParseAddr(f[1]); err == nil && ip.IsLoopback() {
				continue
			}
		}
		b.WriteString(line)
	}
	return b.String()
}

// privateMountPoint makes the mount point of a -v whose target is under
// one of the private directories, which starts empty: its directories,
// and an empty file for a file's bind.
func privateMountPoint(src, dest, what string) []step {
	under := underPrivate(dest)
	if under == "" {
		return nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil
	}
	dir := dest
	if !st.IsDir() {
		dir = filepath.Dir(dest)
	}
	var out []step
	rel, _ := filepath.Rel(under, dir)
	p := under
	for _, c := range strings.Split(rel, "/") {
		if c == "." {
			continue
		}
		p = filepath.Join(p, c)
		out = append(out, step{kind: stepMkdir, path: p, mode: 0o755, skip: unix.EEXIST, what: what + ": mkdir " + p})
	}
	if !st.IsDir() {
		out = append(out, step{kind: stepCreate, path: dest, mode: 0o644, what: what + ": create " + dest})
	}
	return out
}

// underPrivate returns the private directory path is under, or "".
func underPrivate(path string) string {
	for _, d := range privateDirs {
		if strings.HasPrefix(path, d.path+"/") || path == d.path {
			if st, err := os.Stat(d.path); err == nil && st.IsDir() {
				return d.path
			}
		}
	}
	return ""
}

// resolvInPrivate returns the file /etc/resolv.conf links to when that is
// under a private directory (systemd-resolved's /run/systemd/resolve), "" if
// it is not.
func resolvInPrivate() string {
	t, err := filepath.EvalSymlinks("/etc/resolv.conf")
	if err != nil || t == "/etc/resolv.conf" || underPrivate(t) == "" {
		return ""
	}
	return t
}
