package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// This file is the one home of docker's option vocabulary as ctop run and
// ctop update take it: each option is a row of Options, and the command
// line, the TUI's forms, ls, Summary, explain and JSON all read the rows.
// Adding an option is adding a row (and, for a limit, its kernel mapping in
// cgroup.Resources).

// Kind is how the command line holds an option's value (pflag's types).
type Kind int

// The kinds of value.
const (
	KindString  Kind = iota // one text
	KindStrings             // a text per use (-v A -v B)
	KindBool                // a switch
	KindInt                 // a whole number
)

// Commands are the commands that take an option.
type Commands int

// Which commands take an option.
const (
	CmdRun    Commands = 1 << iota // ctop run
	CmdUpdate                      // ctop update
	CmdBoth   = CmdRun | CmdUpdate
)

// Files are the kernel files a limit writes and is read back from: on v1
// in the hierarchy of Controller, on v2 in the group's one directory.
type Files struct {
	// Controller is the v1 controller (blkio for io).
	Controller string
	V1, V2     []string
}

// Option is one option of ctop run or ctop update, with docker's name and
// meaning.
type Option struct {
	// Name is the long name (--pids-limit), Short the one-letter form ("m").
	Name, Short string
	// Help says what the option does, for --help and the forms.
	Help string
	// Example is a value to show in a form's hint ("0.5", "64m").
	Example string
	// Default is the value the option has when not given ("": none).
	Default string
	// Choices are the values it takes when they are a fixed few.
	Choices  []string
	Kind     Kind
	Commands Commands
	// Limit applies a value to cgroup resources: the options of both
	// commands (run applies them to its Spec.Resources). Set applies a
	// value to a run: the options of run alone. One of the two is set.
	// Errors give the reason only: the caller names the option and value.
	Limit func(r *cgroup.Resources, v string) error
	Set   func(r *Run, v string) error
	// Format writes a group's live limit as the values the option takes
	// (one per use; nil when unset or at the default of a new group);
	// Value is the same for JSON: nil for unset, "max" for unlimited,
	// numbers as numbers. Limits only.
	Format func(l cgroup.Limits) []string
	Value  func(l cgroup.Limits) any
	// Files are the kernel files it writes (limits only).
	Files Files
}

// JSONName is the option's key in JSON: pids_limit for --pids-limit.
func (o *Option) JSONName() string { return strings.ReplaceAll(o.Name, "-", "_") }

// Writes reports whether the option writes the kernel file named file
// (v1 or v2).
func (o *Option) Writes(file string) bool {
	return slices.Contains(o.Files.V1, file) || slices.Contains(o.Files.V2, file)
}

// Run is what ctop run's options fill: the sandbox's spec, and the wiring
// of the caller's terminal that is not part of a sandbox's description.
type Run struct {
	Spec Spec
	// Interactive keeps the caller's stdin attached (-i).
	Interactive bool
}

// Given are option values as typed, by long name; an option of KindStrings
// has one per use, the others one. Bools are "true" or "false".
type Given map[string][]string

// OptionError is a value an option does not take; its message names the
// option and the value.
type OptionError struct {
	Name, Value string
	Err         error
}

func (e *OptionError) Error() string {
	v := e.Value
	if v == "" || strings.ContainsAny(v, " \t\n") {
		v = strconv.Quote(v)
	}
	return "--" + e.Name + " " + v + ": " + e.Err.Error()
}

func (e *OptionError) Unwrap() error { return e.Err }

// OptionErrors are every value a parse refused, in table order. Its
// message is the first's, one line; a form shows each beside its field.
type OptionErrors []*OptionError

func (e OptionErrors) Error() string { return e[0].Error() }

// Unwrap gives the errors to errors.Is and errors.As.
func (e OptionErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, x := range e {
		out[i] = x
	}
	return out
}

// defaultPeriod is the CFS period --cpus gives a quota per, as docker does.
const defaultPeriod = 100000

// Options is the table of every option, in the order forms show them: the
// limits most used first.
func Options() []Option {
	return []Option{
		{
			Name: "cpus", Kind: KindString, Commands: CmdBoth, Example: "0.5",
			Help:  "number of CPUs, like 0.5 (a CFS quota per 100ms period; 0: no limit)",
			Files: Files{Controller: "cpu", V1: []string{"cpu.cfs_quota_us", "cpu.cfs_period_us"}, V2: []string{"cpu.max"}},
			Limit: func(r *cgroup.Resources, v string) error {
				q, err := parseCPUs(v, runtime.NumCPU())
				if err == nil {
					r.CPU = &cgroup.CPUMax{Quota: q, Period: defaultPeriod}
				}
				return err
			},
			// Other quotas are written as --cpu-quota (and --cpu-period),
			// which docker does not let --cpus go with.
			Format: func(l cgroup.Limits) []string {
				if asCPUs(l.CPU) {
					return []string{strconv.FormatFloat(l.CPU.Cores(), 'f', -1, 64)}
				}
				return nil
			},
			Value: func(l cgroup.Limits) any {
				switch c := l.CPU; {
				case !c.Quota.OK || !c.Period.OK:
					return nil
				case c.Quota.Unlimited:
					return "max"
				default:
					return c.Cores()
				}
			},
		},
		{
			Name: "memory", Short: "m", Kind: KindString, Commands: CmdBoth, Example: "64m",
			Help:  "memory limit, like 256m (units b, k, m, g)",
			Files: Files{Controller: "memory", V1: []string{"memory.limit_in_bytes"}, V2: []string{"memory.max"}},
			Limit: func(r *cgroup.Resources, v string) error {
				n, err := ParseSize(v)
				if err != nil {
					return err
				}
				// docker's floor: below it a process cannot even start.
				if n < 6<<20 {
					return errors.New("the minimum is 6m")
				}
				lim := cgroup.LimitOf(n)
				r.MemoryMax = &lim
				return nil
			},
			Format: func(l cgroup.Limits) []string { return finiteSize(l.Memory.Max) },
			Value:  func(l cgroup.Limits) any { return l.Memory.Max },
		},
		{
			Name: "pids-limit", Kind: KindInt, Commands: CmdBoth, Example: "100",
			Help:  "maximum number of processes and threads; 0 or -1: no limit (as docker reads 0)",
			Files: Files{Controller: "pids", V1: []string{"pids.max"}, V2: []string{"pids.max"}},
			Limit: func(r *cgroup.Resources, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil || n < -1 {
					return errors.New("want a positive number, or 0 or -1 for no limit")
				}
				lim := cgroup.Max // 0 too, as docker reads it
				if n > 0 {
					lim = cgroup.LimitOf(uint64(n))
				}
				r.PidsMax = &lim
				return nil
			},
			Format: func(l cgroup.Limits) []string {
				if l.Pids.Finite() {
					return []string{strconv.FormatUint(l.Pids.V, 10)}
				}
				return nil
			},
			Value: func(l cgroup.Limits) any { return l.Pids },
		},
		{
			Name: "cpu-period", Kind: KindInt, Commands: CmdBoth, Example: "50000",
			Help:  "CFS scheduler period in microseconds, 1000..1000000 (the kernel's default: 100000)",
			Files: Files{Controller: "cpu", V1: []string{"cpu.cfs_period_us"}, V2: []string{"cpu.max"}},
			Limit: func(r *cgroup.Resources, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil || n < 1000 || n > 1000000 {
					return errors.New("want 1000..1000000 microseconds")
				}
				cpuMax(r).Period = uint64(n)
				return nil
			},
			Format: func(l cgroup.Limits) []string {
				if p := l.CPU.Period; p.OK && p.V != defaultPeriod {
					return []string{strconv.FormatUint(p.V, 10)}
				}
				return nil
			},
			Value: func(l cgroup.Limits) any { return l.CPU.Period },
		},
		{
			Name: "cpu-quota", Kind: KindInt, Commands: CmdBoth, Example: "25000",
			Help:  "CFS quota in microseconds of CPU time per period, at least 1000; -1: no limit",
			Files: Files{Controller: "cpu", V1: []string{"cpu.cfs_quota_us"}, V2: []string{"cpu.max"}},
			Limit: func(r *cgroup.Resources, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				switch {
				case err == nil && n == -1:
					cpuMax(r).Quota = cgroup.Max
				case err == nil && n >= 1000:
					cpuMax(r).Quota = cgroup.LimitOf(uint64(n))
				default:
					return errors.New("want at least 1000 microseconds, or -1 for no limit")
				}
				return nil
			},
			Format: func(l cgroup.Limits) []string {
				if c := l.CPU; c.Quota.Finite() && c.Period.OK && !asCPUs(c) {
					return []string{strconv.FormatUint(c.Quota.V, 10)}
				}
				return nil
			},
			Value: func(l cgroup.Limits) any { return l.CPU.Quota },
		},
		{
			Name: "cpu-shares", Short: "c", Kind: KindInt, Commands: CmdBoth, Example: "512",
			Help:  "relative CPU weight, 2..262144 (v2: converted to cpu.weight)",
			Files: Files{Controller: "cpu", V1: []string{"cpu.shares"}, V2: []string{"cpu.weight"}},
			Limit: func(r *cgroup.Resources, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil || n < 2 || n > 262144 {
					return errors.New("want 2..262144")
				}
				s := uint64(n)
				r.CPUShares = &s
				return nil
			},
			Format: func(l cgroup.Limits) []string {
				if s, ok := shares(l.CPU); ok {
					return []string{strconv.FormatUint(s, 10)}
				}
				return nil
			},
			Value: func(l cgroup.Limits) any {
				if s, ok := shares(l.CPU); ok {
					return s
				}
				return nil
			},
		},
		{
			Name: "cpuset-cpus", Kind: KindString, Commands: CmdBoth, Example: "0-1,3",
			Help:  "CPUs allowed, like 0-1,3",
			Files: Files{Controller: "cpuset", V1: []string{"cpuset.cpus"}, V2: []string{"cpuset.cpus"}},
			Limit: func(r *cgroup.Resources, v string) error {
				if _, err := cgroup.ParseCPUList(v); err != nil {
					return err
				}
				r.CpusetCpus = &v
				return nil
			},
			Format: func(l cgroup.Limits) []string { return nonEmpty(l.CPU.Cpus) },
			Value:  func(l cgroup.Limits) any { return orNil(l.CPU.Cpus) },
		},
		{
			Name: "cpuset-mems", Kind: KindString, Commands: CmdBoth, Example: "0",
			Help:  "memory nodes allowed, like 0",
			Files: Files{Controller: "cpuset", V1: []string{"cpuset.mems"}, V2: []string{"cpuset.mems"}},
			Limit: func(r *cgroup.Resources, v string) error {
				if _, err := cgroup.ParseCPUList(v); err != nil {
					return err
				}
				r.CpusetMems = &v
				return nil
			},
			Format: func(l cgroup.Limits) []string { return nonEmpty(l.CPU.Mems) },
			Value:  func(l cgroup.Limits) any { return orNil(l.CPU.Mems) },
		},
		{
			Name: "memory-reservation", Kind: KindString, Commands: CmdBoth, Example: "32m",
			Help:  "memory soft limit (v2 memory.low, v1 soft_limit_in_bytes)",
			Files: Files{Controller: "memory", V1: []string{"memory.soft_limit_in_bytes"}, V2: []string{"memory.low"}},
			Limit: func(r *cgroup.Resources, v string) error {
				n, err := ParseSize(v)
				if err != nil {
					return err
				}
				lim := cgroup.LimitOf(n)
				r.MemoryLow = &lim
				return nil
			},
			// 0 (v2's default) is no reservation.
			Format: func(l cgroup.Limits) []string {
				if l.Memory.Low.Finite() && l.Memory.Low.V > 0 {
					return finiteSize(l.Memory.Low)
				}
				return nil
			},
			Value: func(l cgroup.Limits) any { return l.Memory.Low },
		},
		{
			Name: "memory-swap", Kind: KindString, Commands: CmdBoth, Example: "128m",
			Help:  "memory plus swap limit; -1: unlimited swap",
			Files: Files{Controller: "memory", V1: []string{"memory.memsw.limit_in_bytes"}, V2: []string{"memory.swap.max"}},
			Limit: func(r *cgroup.Resources, v string) error {
				lim := cgroup.Max
				if v != "-1" {
					n, err := ParseSize(v)
					if err != nil {
						return err
					}
					lim = cgroup.LimitOf(n)
				}
				r.MemorySwap = &lim
				return nil
			},
			// The kernel counts swap alone (cgroup.MemoryLimits.Swap);
			// docker's flag counts memory plus swap.
			Format: func(l cgroup.Limits) []string {
				if m := l.Memory; m.Max.Finite() && m.Swap.Finite() {
					return finiteSize(cgroup.LimitOf(m.Max.V + m.Swap.V))
				}
				return nil
			},
			Value: func(l cgroup.Limits) any {
				switch m := l.Memory; {
				case !m.Swap.OK || !m.Max.OK:
					return nil
				case m.Swap.Unlimited || m.Max.Unlimited:
					return "max"
				default:
					return m.Max.V + m.Swap.V
				}
			},
		},
		deviceRow("device-read-bps", "read rate of a device, DEVICE:RATE like /dev/vda:1mb", "rbps", "blkio.throttle.read_bps_device"),
		deviceRow("device-write-bps", "write rate of a device, DEVICE:RATE like /dev/vda:1mb", "wbps", "blkio.throttle.write_bps_device"),
		deviceRow("device-read-iops", "read operations per second of a device, DEVICE:N", "riops", "blkio.throttle.read_iops_device"),
		deviceRow("device-write-iops", "write operations per second of a device, DEVICE:N", "wiops", "blkio.throttle.write_iops_device"),

		// The options of run alone.
		{
			Name: "name", Kind: KindString, Commands: CmdRun, Example: "web",
			Help: "sandbox name (default: generated)",
			Set: func(r *Run, v string) error {
				if err := ValidName(v); err != nil {
					return err
				}
				r.Spec.Name = v
				return nil
			},
		},
		{
			Name: "ns", Kind: KindString, Commands: CmdRun, Default: "pid,mnt,uts,ipc,net,cgroup", Example: "pid,mnt,uts",
			Help: "namespaces to create, from cgroup,ipc,mnt,net,pid,time,user,uts (none: share all); limits need mnt, in which the cgroup filesystem is read-only, unless --user is not root",
			Set: func(r *Run, v string) (err error) {
				r.Spec.Namespaces, err = ParseNamespaces(v)
				return err
			},
		},
		{
			Name: "network", Kind: KindString, Commands: CmdRun, Choices: []string{NetworkNone, NetworkHost},
			Help: "none (a new net namespace with only loopback, up) or host",
			Set: func(r *Run, v string) error {
				switch v {
				case "", NetworkNone, NetworkHost:
					r.Spec.Network = v
					return nil
				}
				return errors.New("want none or host (ctop has no bridge networking)")
			},
		},
		{
			Name: "hostname", Kind: KindString, Commands: CmdRun, Example: "box",
			Help: "host name in the sandbox (default: its name)",
			Set:  func(r *Run, v string) error { r.Spec.Hostname = v; return nil },
		},
		{
			Name: "rootfs", Kind: KindString, Commands: CmdRun, Example: "./rootfs",
			Help: "directory to use as the root filesystem (pivot_root)",
			Set:  func(r *Run, v string) error { r.Spec.Rootfs = v; return nil },
		},
		{
			Name: "overlay", Kind: KindBool, Commands: CmdRun,
			Help: "put a copy-on-write layer over --rootfs, which stays unmodified",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.Overlay, v) },
		},
		{
			Name: "keep-upper", Kind: KindString, Commands: CmdRun, Example: "./changes",
			Help: "keep the overlay's upper layer (what the sandbox changed) in this directory",
			Set:  func(r *Run, v string) error { r.Spec.KeepUpper = v; return nil },
		},
		{
			Name: "host-root", Kind: KindString, Commands: CmdRun, Default: HostRootRO, Choices: []string{HostRootRO, HostRootRW},
			Help: "without --rootfs, the host's files: ro read-only; rw writable, so that root in the sandbox can change any of them",
			Set: func(r *Run, v string) error {
				switch v {
				case "", HostRootRO:
					// The default: the spec's zero value.
					r.Spec.HostRoot = ""
					return nil
				case HostRootRW:
					r.Spec.HostRoot = v
					return nil
				}
				return errors.New("want ro or rw")
			},
		},
		{
			Name: "read-only", Kind: KindBool, Commands: CmdRun,
			Help: "mount the root read-only: --rootfs's; without --rootfs the host's is read-only already (see --host-root)",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.ReadOnly, v) },
		},
		{
			Name: "volume", Short: "v", Kind: KindStrings, Commands: CmdRun, Example: "/srv:/data:ro",
			Help: "bind mount SRC:DST[:ro]",
			Set: func(r *Run, v string) error {
				b, err := ParseBind(v)
				if err == nil {
					r.Spec.Binds = append(r.Spec.Binds, b)
				}
				return err
			},
		},
		{
			Name: "tmpfs", Kind: KindStrings, Commands: CmdRun, Example: "/tmp:size=64m",
			Help: "tmpfs mount DST[:size=64m,mode=1777,exec,suid,dev] (default noexec,nosuid,nodev)",
			Set: func(r *Run, v string) error {
				t, err := ParseTmpfs(v)
				if err == nil {
					r.Spec.Tmpfs = append(r.Spec.Tmpfs, t)
				}
				return err
			},
		},
		// Before --env, as docker applies them: -e overrides the file.
		{
			Name: "env-file", Kind: KindStrings, Commands: CmdRun, Example: "./app.env",
			Help: "read environment variables from a file of KEY=VALUE lines (# comments; KEY alone copies ctop's)",
			Set: func(r *Run, v string) error {
				f, err := os.Open(v)
				if err != nil {
					return err
				}
				defer f.Close()
				env, err := ParseEnvFile(f, os.LookupEnv)
				r.Spec.Env = append(r.Spec.Env, env...)
				return err
			},
		},
		{
			Name: "device", Kind: KindStrings, Commands: CmdRun, Example: "/dev/kmsg:/dev/kmsg:r",
			Help: "let the sandbox use a host device, HOST[:CONTAINER][:rwm] (the devices cgroup allows only a few by default)",
			Set: func(r *Run, v string) error {
				d, err := ParseDevice(v)
				if err == nil {
					_, err = d.rule()
				}
				if err != nil {
					return err
				}
				r.Spec.Devices = append(r.Spec.Devices, d)
				return nil
			},
		},
		{
			Name: "cap-add", Kind: KindStrings, Commands: CmdRun, Example: "NET_ADMIN",
			Help: "add a Linux capability to docker's default set (ALL: every one)",
			Set: func(r *Run, v string) error {
				_, err := ParseCap(v)
				if err == nil {
					r.Spec.CapAdd = append(r.Spec.CapAdd, v)
				}
				return err
			},
		},
		{
			Name: "cap-drop", Kind: KindStrings, Commands: CmdRun, Example: "NET_RAW",
			Help: "drop a Linux capability from docker's default set (ALL: every one)",
			Set: func(r *Run, v string) error {
				_, err := ParseCap(v)
				if err == nil {
					r.Spec.CapDrop = append(r.Spec.CapDrop, v)
				}
				return err
			},
		},
		{
			Name: "env", Short: "e", Kind: KindStrings, Commands: CmdRun, Example: "KEY=VALUE",
			Help: "environment variable KEY=VALUE; KEY alone copies ctop's (unset if ctop has none)",
			Set: func(r *Run, v string) error {
				r.Spec.Env = append(r.Spec.Env, envEntry(v, os.LookupEnv)...)
				return nil
			},
		},
		{
			Name: "label", Short: "l", Kind: KindStrings, Commands: CmdRun, Example: "team=web",
			Help: "set a label KEY=VALUE on the sandbox (ls shows it and filters by it)",
			Set: func(r *Run, v string) error {
				k, val, _ := strings.Cut(v, "=")
				if k == "" {
					return errors.New("want KEY=VALUE")
				}
				if r.Spec.Labels == nil {
					r.Spec.Labels = map[string]string{}
				}
				r.Spec.Labels[k] = val
				return nil
			},
		},
		{
			Name: "init", Kind: KindBool, Commands: CmdRun,
			Help: "run an init as pid 1 that passes signals on to the command and reaps orphaned processes",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.Init, v) },
		},
		{
			Name: "user", Short: "u", Kind: KindString, Commands: CmdRun, Example: "1000:1000",
			Help: "NAME|UID[:GROUP|GID] to run the command as, names and a uid's group, home and supplementary groups from the /etc/passwd and /etc/group of --rootfs (else the host's)",
			// The rootfs row comes first in the table, so apply has set
			// --rootfs, whose files the names resolve in.
			Set: func(r *Run, v string) (err error) {
				r.Spec.User, err = ParseUser(v, r.Spec.Rootfs)
				return err
			},
		},
		{
			Name: "uidmap", Kind: KindStrings, Commands: CmdRun, Example: "0:100000:65536",
			Help: "map uids of the user namespace to the host's, CONTAINER:HOST:SIZE (default for root: ctop's range in /etc/subuid, made when absent; for another user: 0 to itself and 1.. to its /etc/subuid range through newuidmap, or only 0 without one)",
			Set: func(r *Run, v string) error {
				m, err := ParseIDMap(v)
				if err == nil {
					r.Spec.UIDMap = append(r.Spec.UIDMap, m)
				}
				return err
			},
		},
		{
			Name: "gidmap", Kind: KindStrings, Commands: CmdRun, Example: "0:100000:65536",
			Help: "map gids of the user namespace to the host's, CONTAINER:HOST:SIZE (default: as --uidmap, else ctop's range in /etc/subgid)",
			Set: func(r *Run, v string) error {
				m, err := ParseIDMap(v)
				if err == nil {
					r.Spec.GIDMap = append(r.Spec.GIDMap, m)
				}
				return err
			},
		},
		{
			Name: "workdir", Short: "w", Kind: KindString, Commands: CmdRun, Example: "/",
			Help: "working directory inside the sandbox, made when missing",
			Set:  func(r *Run, v string) error { r.Spec.Workdir = v; return nil },
		},
		{
			Name: "detach", Short: "d", Kind: KindBool, Commands: CmdRun,
			Help: "run in the background and print the sandbox's name",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.Detach, v) },
		},
		{
			Name: "interactive", Short: "i", Kind: KindBool, Commands: CmdRun,
			Help: "keep stdin attached",
			Set:  func(r *Run, v string) error { return setBool(&r.Interactive, v) },
		},
		{
			Name: "tty", Short: "t", Kind: KindBool, Commands: CmdRun,
			Help: "give the command a terminal",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.TTY, v) },
		},
		{
			Name: "security-opt", Kind: KindStrings, Commands: CmdRun, Example: "seccomp=unconfined",
			Help: "seccomp=unconfined, seccomp=PROFILE.json (docker's format; default: docker's profile), no-new-privileges[=true|false] (default true)",
			Set:  func(r *Run, v string) error { return ParseSecurityOpt(v, &r.Spec) },
		},
		{
			Name: "rm", Kind: KindBool, Commands: CmdRun,
			Help: "remove the sandbox's record and log when it exits (-d)",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.Remove, v) },
		},
		{
			Name: "stop-signal", Kind: KindString, Commands: CmdRun, Example: "TERM",
			Help: "signal ctop stop sends first, like TERM or 15 (default SIGTERM)",
			Set: func(r *Run, v string) (err error) {
				r.Spec.StopSignal, err = ParseSignal(v)
				return err
			},
		},
		{
			Name: "stop-timeout", Kind: KindInt, Commands: CmdRun, Example: "10",
			Help: "seconds ctop stop waits after the stop signal before killing (default 10)",
			Set: func(r *Run, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return errors.New("want 0 or more seconds")
				}
				r.Spec.StopTimeout = time.Duration(n) * time.Second
				return nil
			},
		},
		{
			Name: "stats", Kind: KindBool, Commands: CmdRun,
			Help: "print start latency, wall and CPU time, peak memory, throttling and IO at exit",
			Set:  func(r *Run, v string) error { return setBool(&r.Spec.Stats, v) },
		},
		{
			Name: "cgroup-manager", Kind: KindString, Commands: CmdRun, Choices: []string{ManagerSystemd, ManagerCgroupfs},
			Help: "who makes the sandbox's cgroup: systemd (a transient scope ctop-NAME.scope in the slice --cgroup-parent names, default ctop.slice, that systemctl shows) or cgroupfs (ctop writes the cgroup filesystem); default systemd where systemd is the init on cgroup v2 alone, else cgroupfs",
			Set: func(r *Run, v string) error {
				switch v {
				case "", ManagerSystemd, ManagerCgroupfs:
					r.Spec.CgroupManager = v
					return nil
				}
				return errors.New("want systemd or cgroupfs")
			},
		},
	}
}

// deviceRow is one of the four device throttles, kind their v2 io.max key.
func deviceRow(name, help, kind, v1File string) Option {
	bytes := strings.HasSuffix(kind, "bps")
	rate := func(t cgroup.IOLimit) cgroup.Limit {
		return map[string]cgroup.Limit{"rbps": t.ReadBps, "wbps": t.WriteBps, "riops": t.ReadIOps, "wiops": t.WriteIOps}[kind]
	}
	example := "/dev/sda:1mb"
	if !bytes {
		example = "/dev/sda:100"
	}
	return Option{
		Name: name, Kind: KindStrings, Commands: CmdBoth, Help: help, Example: example,
		Files: Files{Controller: "blkio", V1: []string{v1File}, V2: []string{"io.max"}},
		Limit: func(r *cgroup.Resources, v string) error {
			d, err := ParseDeviceRate("/", v, bytes)
			if err != nil {
				return err
			}
			r.IO = append(r.IO, cgroup.IOThrottle{Device: d.Device, Kind: kind, Rate: d.Rate})
			return nil
		},
		// Devices are written as MAJOR:MINOR, which ParseDeviceRate takes.
		Format: func(l cgroup.Limits) []string {
			var out []string
			for _, t := range l.IO {
				if x := rate(t); x.Finite() {
					v := strconv.FormatUint(x.V, 10)
					if bytes {
						v = sizeText(x.V)
					}
					out = append(out, t.Device.String()+":"+v)
				}
			}
			return out
		},
		Value: func(l cgroup.Limits) any {
			type devRate struct {
				Device string `json:"device"`
				Rate   uint64 `json:"rate"`
			}
			var out []devRate
			for _, t := range l.IO {
				if x := rate(t); x.Finite() {
					out = append(out, devRate{t.Device.String(), x.V})
				}
			}
			if out == nil {
				return nil
			}
			return out
		},
	}
}

// Lookup returns the option of that long name, or nil.
func Lookup(name string) *Option {
	for _, o := range Options() {
		if o.Name == name {
			return &o
		}
	}
	return nil
}

// ParseRun applies the options given to ctop run to a spec, the defaults
// of those not given, then the rules between options. Errors are
// OptionErrors, or the resources' own Validate error.
func ParseRun(g Given) (Run, error) {
	r := Run{}
	errs := apply(g, CmdRun, &r, &r.Spec.Resources)
	s := &r.Spec
	// --keep-upper implies --overlay.
	s.Overlay = s.Overlay || s.KeepUpper != ""
	// --network host shares the host's net namespace: unless --ns says
	// otherwise, none is made.
	if s.Network == NetworkHost && len(g["ns"]) == 0 {
		s.Namespaces = slices.DeleteFunc(s.Namespaces, func(n Namespace) bool { return n == NSNet })
	}
	if s.Hostname != "" && !s.Has(NSUTS) {
		errs = append(errs, &OptionError{"hostname", s.Hostname, errors.New("needs a uts namespace: add uts to --ns")})
	}
	errs = append(errs, limitRules(g, &s.Resources)...)
	if len(errs) > 0 {
		return r, errs
	}
	return r, s.Resources.Validate()
}

// ParseUpdate turns the options given to ctop update into resources.
func ParseUpdate(g Given) (cgroup.Resources, error) {
	var r cgroup.Resources
	errs := apply(g, CmdUpdate, nil, &r)
	errs = append(errs, limitRules(g, &r)...)
	if len(errs) > 0 {
		return r, errs
	}
	return r, r.Validate()
}

// apply parses each value given, in table order, and the defaults.
func apply(g Given, cmd Commands, run *Run, res *cgroup.Resources) OptionErrors {
	var errs OptionErrors
	opts := Options()
	for name, vals := range g {
		if i := slices.IndexFunc(opts, func(o Option) bool { return o.Name == name }); i < 0 || opts[i].Commands&cmd == 0 {
			errs = append(errs, &OptionError{name, strings.Join(vals, " "), errors.New("no such option")})
		}
	}
	for _, o := range opts {
		if o.Commands&cmd == 0 {
			continue
		}
		vals, given := g[o.Name]
		if !given && o.Default != "" {
			vals = []string{o.Default}
		}
		for _, v := range vals {
			var err error
			if o.Limit != nil {
				err = o.Limit(res, v)
			} else {
				err = o.Set(run, v)
			}
			if err != nil {
				errs = append(errs, &OptionError{o.Name, v, err})
			}
		}
	}
	return errs
}

// limitRules are the rules between limits, as docker has them.
func limitRules(g Given, r *cgroup.Resources) OptionErrors {
	var errs OptionErrors
	one := func(name string) string { return strings.Join(g[name], " ") }
	if _, ok := g["cpus"]; ok {
		for _, other := range []string{"cpu-period", "cpu-quota"} {
			if _, both := g[other]; both {
				errs = append(errs, &OptionError{"cpus", one("cpus"), fmt.Errorf("conflicting options: --cpus and --%s cannot both be set", other)})
			}
		}
	}
	if r.MemoryLow != nil && r.MemoryMax != nil && r.MemoryLow.V > r.MemoryMax.V {
		errs = append(errs, &OptionError{"memory-reservation", one("memory-reservation"), fmt.Errorf("must not exceed --memory %s", one("memory"))})
	}
	if r.MemorySwap != nil {
		switch {
		case r.MemoryMax == nil:
			errs = append(errs, &OptionError{"memory-swap", one("memory-swap"), errors.New("give --memory with it (it counts memory plus swap)")})
		case r.MemorySwap.Finite() && r.MemorySwap.V < r.MemoryMax.V:
			errs = append(errs, &OptionError{"memory-swap", one("memory-swap"), fmt.Errorf("must be at least --memory %s (it counts memory plus swap)", one("memory"))})
		}
	}
	return errs
}

// Blame names the option behind a kernel's refusal of a limit (a
// cgroup.WriteError): the first option given that writes the file, with
// its value. With no values (nil g) the first limit that writes the file
// is named alone. Other errors are returned as they are.
func (g Given) Blame(err error) error {
	var we *cgroup.WriteError
	if !errors.As(err, &we) {
		return err
	}
	for _, o := range Options() {
		if o.Limit == nil || !o.Writes(we.File) {
			continue
		}
		vals, given := g[o.Name]
		switch {
		case g != nil && !given:
			continue
		case len(vals) == 1:
			return &OptionError{o.Name, vals[0], err}
		}
		return fmt.Errorf("--%s: %w", o.Name, err)
	}
	return err
}

// Format writes limits as the options that set them, "--cpus 0.5 --memory
// 64MiB", skipping those at a new group's defaults.
func Format(l cgroup.Limits) string {
	var s []string
	for _, o := range Options() {
		if o.Format == nil {
			continue
		}
		for _, v := range o.Format(l) {
			s = append(s, "--"+o.Name+" "+v)
		}
	}
	return strings.Join(s, " ")
}

// Values are limits by option (JSONName), as JSON shows them: null for
// unset, "max" for unlimited, numbers as numbers.
func Values(l cgroup.Limits) map[string]any {
	out := map[string]any{}
	for _, o := range Options() {
		if o.Value != nil {
			out[o.JSONName()] = o.Value(l)
		}
	}
	return out
}

// OwnLimits are l without what v1 makes every group carry: a cpuset of
// all of the root's CPUs or memory nodes limits nothing.
func OwnLimits(l, root cgroup.Limits) cgroup.Limits {
	if l.CPU.Cpus == root.CPU.EffectiveCpus {
		l.CPU.Cpus = ""
	}
	if l.CPU.Mems == root.CPU.EffectiveMems {
		l.CPU.Mems = ""
	}
	return l
}

// LimitsOf are the limits a new group reads once r is written to it (as a
// v1 kernel shows cpu shares, as v2 the rest): what Summary writes, and
// what tests compare parsed options with.
func LimitsOf(r cgroup.Resources) cgroup.Limits {
	l := cgroup.Limits{
		CPU:    cgroup.CPULimits{Quota: cgroup.Max, Period: cgroup.Known(defaultPeriod)},
		Memory: cgroup.MemoryLimits{Max: cgroup.Max, High: cgroup.Max, Low: cgroup.LimitOf(0), Min: cgroup.LimitOf(0), Swap: cgroup.Max},
		Pids:   cgroup.Max,
	}
	if c := r.CPU; c != nil {
		if c.Quota.OK {
			l.CPU.Quota = c.Quota
		}
		if c.Period != 0 {
			l.CPU.Period = cgroup.Known(c.Period)
		}
	}
	if r.CPUShares != nil {
		l.CPU.Shares = cgroup.Known(*r.CPUShares)
	}
	if r.CpusetCpus != nil {
		l.CPU.Cpus = *r.CpusetCpus
	}
	if r.CpusetMems != nil {
		l.CPU.Mems = *r.CpusetMems
	}
	if r.MemoryMax != nil {
		l.Memory.Max = *r.MemoryMax
	}
	if r.MemoryLow != nil {
		l.Memory.Low = *r.MemoryLow
	}
	if s := r.MemorySwap; s != nil {
		l.Memory.Swap = cgroup.Max
		if s.Finite() && l.Memory.Max.Finite() {
			l.Memory.Swap = cgroup.LimitOf(s.V - l.Memory.Max.V)
		}
	}
	if r.PidsMax != nil {
		l.Pids = *r.PidsMax
	}
	for _, t := range r.IO {
		i := slices.IndexFunc(l.IO, func(x cgroup.IOLimit) bool { return x.Device == t.Device })
		if i < 0 {
			l.IO = append(l.IO, cgroup.IOLimit{Device: t.Device, ReadBps: cgroup.Max, WriteBps: cgroup.Max, ReadIOps: cgroup.Max, WriteIOps: cgroup.Max})
			i = len(l.IO) - 1
		}
		rate := cgroup.Max
		if t.Rate != 0 {
			rate = cgroup.LimitOf(t.Rate)
		}
		switch t.Kind {
		case "rbps":
			l.IO[i].ReadBps = rate
		case "wbps":
			l.IO[i].WriteBps = rate
		case "riops":
			l.IO[i].ReadIOps = rate
		case "wiops":
			l.IO[i].WriteIOps = rate
		}
	}
	return l
}

// parseCPUs turns --cpus into a quota per 100ms period; 0 means no limit.
func parseCPUs(s string, ncpu int) (cgroup.Limit, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return cgroup.Limit{}, errors.New("want a number of CPUs like 0.5")
	}
	if f == 0 {
		return cgroup.Max, nil
	}
	if f < 0.01 || f > float64(ncpu) {
		return cgroup.Limit{}, fmt.Errorf("want 0.01 to %d (this host has %d CPUs)", ncpu, ncpu)
	}
	return cgroup.LimitOf(uint64(math.Round(f * defaultPeriod))), nil
}

// asCPUs reports whether --cpus writes c's quota: one per the default
// period, of at most this host's CPUs.
func asCPUs(c cgroup.CPULimits) bool {
	return c.Quota.Finite() && c.Period == cgroup.Known(defaultPeriod) && c.Quota.V <= uint64(runtime.NumCPU())*defaultPeriod
}

// cpuMax is r's CPU bandwidth, made when absent: --cpu-period and
// --cpu-quota each set their half of it (a zero Quota keeps the current).
func cpuMax(r *cgroup.Resources) *cgroup.CPUMax {
	if r.CPU == nil {
		r.CPU = &cgroup.CPUMax{}
	}
	return r.CPU
}

// shares is the group's cpu.shares: v1's as read, v2's converted back from
// cpu.weight (the smallest shares that runc converts to that weight, so
// --cpu-shares 1024 on v2 reads back as 999). The defaults (1024, weight
// 100) are no limit.
func shares(c cgroup.CPULimits) (uint64, bool) {
	if c.Shares.OK {
		return c.Shares.V, c.Shares.V != 1024
	}
	if !c.Weight.OK || c.Weight.V == 100 || c.Weight.V < 1 {
		return 0, false
	}
	return 2 + ((c.Weight.V-1)*262142+9998)/9999, true
}

func setBool(b *bool, v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = x
	return nil
}

func finiteSize(l cgroup.Limit) []string {
	if l.Finite() {
		return []string{sizeText(l.V)}
	}
	return nil
}

// sizeText writes bytes in the largest binary unit that holds them
// exactly, as ParseSize reads them back: 64MiB, 1536KiB, 1000.
func sizeText(n uint64) string {
	for _, u := range []struct {
		s string
		v uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatUint(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatUint(n, 10)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// envEntry is -e's value as environment entries: KEY=VALUE as it is; a
// KEY alone takes ctop's own value from lookup, and is left out when ctop
// has none (docker's rule).
func envEntry(v string, lookup func(string) (string, bool)) []string {
	if strings.Contains(v, "=") {
		return []string{v}
	}
	if val, ok := lookup(v); ok {
		return []string{v + "=" + val}
	}
	return nil
}

// ParseEnvFile reads docker's --env-file format: a KEY=VALUE per line,
// taken as it is (no quotes, no expansion); a KEY alone is copied from
// lookup as -e KEY is; blank lines and lines starting with # are skipped.
func ParseEnvFile(r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return out, fmt.Errorf("line %d: %q: want KEY=VALUE (no spaces in KEY)", n, line)
		}
		out = append(out, envEntry(line, lookup)...)
	}
	return out, sc.Err()
}
