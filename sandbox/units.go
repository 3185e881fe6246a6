package sandbox

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// ParseSize parses a size in docker's units (as docker's --memory does):
// a number, optionally with a fraction, then b, k, m, g, t or p, optionally
// followed by "b" or "ib", case-insensitive, all powers of 1024. "32m",
// "1kb", "10MiB" and "1.5g" are accepted; a bare number is bytes.
func ParseSize(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("size %q: want a number with an optional unit b, k, m, g, t (like 32m)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: bad number: want a number with an optional unit b, k, m, g, t (like 32m)", s)
	}
	mult := float64(1)
	base := unit
	if base != "b" {
		if b, ok := strings.CutSuffix(base, "ib"); ok {
			base = b
		} else {
			base = strings.TrimSuffix(base, "b")
		}
	}
	switch base {
	case "":
		if unit != "" {
			return 0, fmt.Errorf("size %q: unknown unit %q: want b, k, m, g or t", s, unit)
		}
	case "b":
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	case "p":
		mult = 1 << 50
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q: want b, k, m, g or t", s, unit)
	}
	v := f * mult
	if v >= math.MaxUint64/2 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return uint64(v), nil
}

// DeviceRate is a throttle for one block device, parsed from docker's
// DEVICE:RATE form.
type DeviceRate struct {
	// Path is the device as given, e.g. /dev/vda.
	Path   string
	Device cgroup.Device
	Rate   uint64
}

// ParseDeviceRate parses DEVICE:RATE where DEVICE is the path of a block
// device, or its MAJOR:MINOR numbers (not a partition: the kernel throttles whole disks) and RATE is a
// size in docker's units when bytes is true (--device-write-bps /dev/vda:1mb)
// or a plain count per second otherwise (--device-write-iops /dev/vda:100).
// root is prepended to DEVICE when reading /sys and /dev ("/" on a host).
func ParseDeviceRate(root, s string, bytes bool) (DeviceRate, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return DeviceRate{}, fmt.Errorf("%q: want DEVICE:RATE, like /dev/vda:1mb", s)
	}
	path, rate := s[:i], s[i+1:]
	var d DeviceRate
	d.Path = path
	var err error
	if bytes {
		d.Rate, err = ParseSize(rate)
	} else {
		d.Rate, err = strconv.ParseUint(rate, 10, 64)
		if err != nil {
			err = fmt.Errorf("rate %q: want a whole number of operations per second", rate)
		}
	}
	if err != nil {
		return DeviceRate{}, err
	}
	if d.Rate == 0 {
		return DeviceRate{}, fmt.Errorf("rate %q of %s: want more than 0", rate, path)
	}
	if dev, ok := deviceNumbers(path); ok {
		// As ls writes it back; the kernel refuses a device it lacks.
		d.Device = dev
	} else {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(root, path), &st); err != nil {
			return DeviceRate{}, fmt.Errorf("device %s: %w", path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return DeviceRate{}, fmt.Errorf("device %s is not a block device", path)
		}
		d.Device = cgroup.Device{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
	}
	if _, err := os.Stat(filepath.Join(root, "sys/dev/block", d.Device.String(), "partition")); err == nil {
		return DeviceRate{}, fmt.Errorf("device %s is a partition: the kernel throttles whole disks, give the disk it is on", path)
	}
	return d, nil
}

// deviceNumbers reads MAJOR:MINOR.
func deviceNumbers(s string) (cgroup.Device, bool) {
	a, b, ok := strings.Cut(s, ":")
	maj, err1 := strconv.ParseUint(a, 10, 32)
	min, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return cgroup.Device{}, false
	}
	return cgroup.Device{Major: uint32(maj), Minor: uint32(min)}, true
}

// noID is (uid_t)-1 and (gid_t)-1: "unchanged" to the set*id calls, and
// no id a process or a file can have.
const noID = math.MaxUint32

// parseID parses one user or group id: a decimal number below noID. Its
// error completes "uid VALUE ".
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("is not a number from 0 to %d", noID-1)
	}
	if n == noID {
		return 0, fmt.Errorf("is (uid_t)-1, which the kernel reads as \"unchanged\": want 0 to %d", noID-1)
	}
	return uint32(n), nil
}

// ParseBind parses -v SRC:DST[:ro|rw]. SRC must exist on the host.
func ParseBind(s string) (Bind, error) {
	parts := strings.Split(s, ":")
	var b Bind
	switch len(parts) {
	case 3:
		switch parts[2] {
		case "ro":
			b.ReadOnly = true
		case "rw":
		default:
			return Bind{}, fmt.Errorf("volume %q: mode %q: want ro or rw", s, parts[2])
		}
		fallthrough
	case 2:
		b.Source, b.Dest = parts[0], parts[1]
	default:
		return Bind{}, fmt.Errorf("volume %q: want SRC:DST[:ro]", s)
	}
	if !filepath.IsAbs(b.Source) || !filepath.IsAbs(b.Dest) {
		return Bind{}, fmt.Errorf("volume %q: SRC and DST must be absolute paths", s)
	}
	if _, err := os.Stat(b.Source); err != nil {
		return Bind{}, fmt.Errorf("volume %q: %w", s, err)
	}
	b.Source, b.Dest = filepath.Clean(b.Source), filepath.Clean(b.Dest)
	if err := checkDest(b.Dest); err != nil {
		return Bind{}, fmt.Errorf("volume %q: %w", s, err)
	}
	return b, nil
}

// ParseTmpfs parses --tmpfs DST[:size=64m] (docker also takes other mount
// options after the colon; ctop takes size and mode).
func ParseTmpfs(s string) (Tmpfs, error) {
	dst, opts, _ := strings.Cut(s, ":")
	if !filepath.IsAbs(dst) {
		return Tmpfs{}, fmt.Errorf("tmpfs %q: DST must be an absolute path", s)
	}
	t := Tmpfs{Dest: filepath.Clean(dst)}
	if err := checkDest(t.Dest); err != nil {
		return Tmpfs{}, fmt.Errorf("tmpfs %q: %w", s, err)
	}
	if opts == "" {
		return t, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "size":
			n, err := ParseSize(v)
			if err != nil || n == 0 {
				return Tmpfs{}, fmt.Errorf("tmpfs %q: size %q: want a size like 64m", s, v)
			}
			t.Size = n
		case "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o7777 {
				return Tmpfs{}, fmt.Errorf("tmpfs %q: mode %q: want octal like 1777", s, v)
			}
			t.Mode = uint32(m)
		case "exec", "noexec":
			t.Exec = k == "exec"
		case "suid", "nosuid":
			t.Suid = k == "suid"
		case "dev", "nodev":
			t.Dev = k == "dev"
		default:
			return Tmpfs{}, fmt.Errorf("tmpfs %q: option %q: want size=SIZE, mode=OCTAL, exec, suid or dev", s, k)
		}
	}
	return t, nil
}

// checkDest refuses a mount's destination (cleaned) that would hide or
// replace what the sandbox is built on: the root (a bind there is
// invisible, the root being mounted over it; "/.." is "/"), and /proc,
// /dev and /sys, which the sandbox mounts itself, with the masks and
// read-only paths over /proc and /sys that a mount under them would
// undo. docker refuses the same.
func checkDest(dst string) error {
	switch {
	case dst == "/":
		return fmt.Errorf("destination %s is the sandbox's root: give a directory under it", dst)
	case dst == "/dev", dst == "/proc", dst == "/sys",
		strings.HasPrefix(dst, "/proc/"), strings.HasPrefix(dst, "/sys/"):
		return fmt.Errorf("destination %s: the sandbox mounts /proc, /dev and /sys itself: give another path", dst)
	}
	return nil
}

// ValidName checks a sandbox name: docker's rule (a letter or digit, then
// letters, digits, '_', '.', '-'), which rules out "/" and "..".
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > 128 {
		return fmt.Errorf("name %q: longer than 128 characters", name)
	}
	if strings.Contains(name, "..") || strings.Contains(name, "/") {
		return fmt.Errorf("name %q: must not contain '/' or '..'", name)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '_' || c == '.' || c == '-'
		}
		if !ok {
			return fmt.Errorf("name %q: want a letter or digit, then letters, digits, '_', '.' or '-'", name)
		}
	}
	return nil
}

// Device is a host device made available in a sandbox (--device
// HOST[:CONTAINER][:rwm], docker's syntax): its devices cgroup allows it
// with Access, and the host's node is bound at Container.
type Device struct {
	Host      string `json:"host"`
	Container string `json:"container"`
	// Access is a set of r (read), w (write) and m (mknod).
	Access string `json:"access"`
}

// ParseDevice parses HOST[:CONTAINER][:PERMISSIONS] as docker does: the
// last part is the permissions when it is a set of r, w and m; CONTAINER
// defaults to HOST and the permissions to rwm.
func ParseDevice(s string) (Device, error) {
	parts := strings.Split(s, ":")
	d := Device{Access: "rwm"}
	if len(parts) > 1 && isAccess(parts[len(parts)-1]) {
		d.Access = parts[len(parts)-1]
		parts = parts[:len(parts)-1]
	}
	switch len(parts) {
	case 1:
		d.Host, d.Container = parts[0], parts[0]
	case 2:
		d.Host, d.Container = parts[0], parts[1]
	default:
		return Device{}, errors.New("want HOST[:CONTAINER][:PERMISSIONS], like /dev/kmsg:/dev/kmsg:r")
	}
	if !filepath.IsAbs(d.Host) || !filepath.IsAbs(d.Container) {
		return Device{}, errors.New("want absolute paths, like /dev/kmsg")
	}
	d.Host, d.Container = filepath.Clean(d.Host), filepath.Clean(d.Container)
	return d, nil
}

func isAccess(s string) bool {
	return s != "" && len(s) <= 3 && strings.Trim(s, "rwm") == ""
}

// rule is the devices cgroup rule that allows d: the type and numbers of
// the host's node, read now. Its errors leave the option to the caller.
func (d Device) rule() (cgroup.DeviceRule, error) {
	var st unix.Stat_t
	if err := unix.Stat(d.Host, &st); err != nil {
		return cgroup.DeviceRule{}, fmt.Errorf("%s: %w", d.Host, err)
	}
	r := cgroup.DeviceRule{Allow: true, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)), Access: d.Access}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		r.Type = 'c'
	case unix.S_IFBLK:
		r.Type = 'b'
	default:
		return cgroup.DeviceRule{}, fmt.Errorf("%s is not a device node", d.Host)
	}
	return r, nil
}

// validate checks d in s: a device node on the host, and a place for it in
// the sandbox.
func (d Device) validate(s *Spec) error {
	if _, err := d.rule(); err != nil {
		return fmt.Errorf("--device %s: %w", d.Host, err)
	}
	if !isAccess(d.Access) {
		return fmt.Errorf("--device %s: permissions %q: want a set of r, w and m", d.Host, d.Access)
	}
	if d.Container == d.Host {
		return nil
	}
	if !s.Has(NSMount) {
		return fmt.Errorf("--device %s:%s needs a mount namespace to bind it elsewhere: add mnt to --ns", d.Host, d.Container)
	}
	if s.Rootfs == "" && !strings.HasPrefix(filepath.Clean(d.Container), "/dev/") {
		// The sandbox's /dev is its own, where the node's mount point is
		// made; elsewhere the view is the host's, read-only.
		if _, err := os.Stat(d.Container); err != nil {
			return fmt.Errorf("--device %s:%s: without --rootfs the target must exist on the host: %w", d.Host, d.Container, err)
		}
	}
	return nil
}

// IDMap is one line of a user namespace's uid_map or gid_map
// (user_namespaces(7)): Size ids from Container inside are Host's outside.
type IDMap struct {
	Container uint32 `json:"container"`
	Host      uint32 `json:"host"`
	Size      uint32 `json:"size"`
}

// maxIDMaps is the kernel's limit on the lines of one map (Linux 4.15).
const maxIDMaps = 340

// ParseIDMap parses --uidmap and --gidmap CONTAINER:HOST:SIZE, as podman
// takes them. Neither range may reach 4294967295, (uid_t)-1, which no
// process or file can have and which the kernel refuses to map.
func ParseIDMap(s string) (IDMap, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return IDMap{}, fmt.Errorf("%q: want CONTAINER:HOST:SIZE, like 0:100000:65536", s)
	}
	var n [3]uint64
	for i, v := range f {
		var err error
		if n[i], err = strconv.ParseUint(v, 10, 32); err != nil {
			return IDMap{}, fmt.Errorf("%q: %q is not a number from 0 to %d", s, v, uint32(noID-1))
		}
	}
	m := IDMap{Container: uint32(n[0]), Host: uint32(n[1]), Size: uint32(n[2])}
	if m.Size == 0 {
		return IDMap{}, fmt.Errorf("%q: size 0 maps nothing", s)
	}
	if n[0]+n[2] > noID || n[1]+n[2] > noID {
		return IDMap{}, fmt.Errorf("%q: the range passes %d, (uid_t)-1, which cannot be mapped", s, uint32(noID-1))
	}
	return m, nil
}

// checkIDMaps checks the lines of one map together: not too many, and no
// two that overlap inside or outside (the kernel refuses both).
func checkIDMaps(ms []IDMap) error {
	if len(ms) > maxIDMaps {
		return fmt.Errorf("%d ranges: the kernel takes at most %d", len(ms), maxIDMaps)
	}
	for i, a := range ms {
		for _, b := range ms[:i] {
			over := func(x, y uint32) bool {
				return uint64(x) < uint64(y)+uint64(b.Size) && uint64(y) < uint64(x)+uint64(a.Size)
			}
			if over(a.Container, b.Container) || over(a.Host, b.Host) {
				return fmt.Errorf("%d:%d:%d overlaps %d:%d:%d", a.Container, a.Host, a.Size, b.Container, b.Host, b.Size)
			}
		}
	}
	return nil
}
