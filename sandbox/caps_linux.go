package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// defaultCaps is docker's default capability set, see capabilities(7):
// moby 20.10's oci/caps/defaults.go (DefaultCapabilities), the same
// fourteen as oci/defaults.go's DefaultLinuxSpec. CAP_MKNOD is among them:
// the devices cgroup (deviceRules) lets a node made inside be made but
// not opened, unless it is one of the few devices allowed.
func defaultCaps() []int {
	return []int{
		unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER,
		unix.CAP_MKNOD, unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID,
		unix.CAP_SETFCAP, unix.CAP_SETPCAP, unix.CAP_NET_BIND_SERVICE,
		unix.CAP_SYS_CHROOT, unix.CAP_KILL, unix.CAP_AUDIT_WRITE,
	}
}

// DefaultCapMask is the default capability set as the bit mask that
// /proc/PID/status prints in CapBnd and CapEff.
func DefaultCapMask() uint64 {
	var m uint64
	for _, c := range defaultCaps() {
		m |= 1 << uint(c)
	}
	return m
}

// capNames are the capabilities by number, as capabilities(7) names them
// without the CAP_ prefix.
func capNames() []string {
	return []string{
		"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
		"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
		"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
		"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
		"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
		"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
	}
}

// capAll is ParseCap's number for ALL.
const capAll = -1

// ParseCap reads a capability name as docker's --cap-add and --cap-drop
// take it: with or without CAP_, in any case, or ALL. It returns the
// capability's number (capAll for ALL). A capability this kernel does not
// have (above /proc/sys/kernel/cap_last_cap) is refused.
func ParseCap(name string) (int, error) {
	n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "CAP_")
	if n == "ALL" {
		return capAll, nil
	}
	c := slices.Index(capNames(), n)
	if c < 0 {
		return 0, errors.New("unknown capability: want a name like NET_ADMIN or CAP_NET_ADMIN, or ALL")
	}
	if c > lastCap() {
		return 0, fmt.Errorf("capability CAP_%s is not known to this kernel (its last is %d)", n, lastCap())
	}
	return c, nil
}

// capMask is the sandbox's capability set with --cap-add and --cap-drop,
// by docker 20.10's rules (oci/caps TweakCapabilities): ALL in the adds
// gives every capability but those dropped; else ALL in the drops gives
// only those added; else the defaults less the drops, plus the adds.
func (s *Spec) capMask() (uint64, error) {
	if len(s.CapAdd) == 0 && len(s.CapDrop) == 0 {
		return DefaultCapMask(), nil
	}
	read := func(flag string, names []string) (mask uint64, all bool, err error) {
		for _, n := range names {
			c, err := ParseCap(n)
			if err != nil {
				return 0, false, fmt.Errorf("--%s %s: %w", flag, n, err)
			}
			if c == capAll {
				all = true
			} else {
				mask |= 1 << uint(c)
			}
		}
		return mask, all, nil
	}
	add, addAll, err := read("cap-add", s.CapAdd)
	if err != nil {
		return 0, err
	}
	drop, dropAll, err := read("cap-drop", s.CapDrop)
	if err != nil {
		return 0, err
	}
	// ctop cannot give what it has not got: a capability outside its own
	// bounding set would fail capset, or be lost at execve.
	own := ownBounding()
	if lack := add &^ own; lack != 0 {
		for c := 0; c < 64; c++ {
			if lack&(1<<uint(c)) != 0 {
				return 0, fmt.Errorf("--cap-add %s: ctop itself lacks CAP_%s (its bounding set)", capNames()[c], capNames()[c])
			}
		}
	}
	switch {
	case addAll:
		return own &^ drop, nil
	case dropAll:
		return add, nil
	}
	return DefaultCapMask()&^drop | add, nil
}

// ownBounding is ctop's own bounding set (capabilities(7)): ALL in
// --cap-add is every capability in it.
func ownBounding() uint64 {
	var m uint64
	for c := 0; c <= lastCap() && c < 64; c++ {
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && r == 1 {
			m |= 1 << uint(c)
		}
	}
	return m
}

// lastCap is the highest capability this kernel knows; read once per
// process, as each plan's bounding set drops needs it.
var lastCap = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
})
