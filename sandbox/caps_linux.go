package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// defaultCaps is docker's default capability set (moby's
// oci/caps/defaults.go), see capabilities(7), less CAP_MKNOD: docker pairs
// it with a devices cgroup that lets a container open only its own few
// devices, and ctop writes no device rules, so a device node made inside
// could reach the host's disks.
func defaultCaps() []int {
	return []int{
		unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER,
		unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID,
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

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// dropPrivileges limits the calling thread (which then execs the command)
// to docker's default capabilities, switches to the spec's user, sets
// no_new_privs and re-arms the parent-death signal (a change of
// credentials clears it, prctl(2)).
func dropPrivileges(s *Spec) error {
	mask := DefaultCapMask()
	// Read once: the loop condition would read the file on every pass.
	last := lastCap()
	for c := 0; c <= last; c++ {
		if mask&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	// The inheritable set stays empty, as docker leaves it since
	// CVE-2022-24769.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(mask), Permitted: uint32(mask)},
		{Effective: uint32(mask >> 32), Permitted: uint32(mask >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	if u := s.User; u != nil {
		// setgroups is denied in a user namespace ctop made (it writes
		// "deny" to setgroups so an unprivileged caller can map gids).
		if !s.Has(NSUser) {
			if err := unix.Setgroups(nil); err != nil {
				return fmt.Errorf("--user %d:%d: setgroups: %w", u.UID, u.GID, err)
			}
		}
		if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
			return fmt.Errorf("--user %d:%d: setgid: %w", u.UID, u.GID, err)
		}
		// A non-zero uid loses its permitted and effective capabilities
		// here, as in docker for a non-root user.
		if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
			return fmt.Errorf("--user %d:%d: setuid: %w", u.UID, u.GID, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent-death signal: %w", err)
	}
	return nil
}
