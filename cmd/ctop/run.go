package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// quietExit ends ctop with the sandboxed command's own exit status; main
// prints nothing for it.
type quietExit struct{ code int }

func (q quietExit) Error() string { return fmt.Sprintf("exit status %d", q.code) }

// statusErr turns a command's exit code into ctop's exit.
func statusErr(code int) error {
	if code == 0 {
		return nil
	}
	return &exitError{code: code, err: quietExit{code}}
}

// usageErr is bad input: docker exits 125 (sandbox.ExitFailed) for it.
func usageErr(err error) error { return &exitError{code: sandbox.ExitFailed, err: err} }

// flagErr125 makes cobra's own flag errors exit 125, as docker's do.
func flagErr125(_ *cobra.Command, err error) error { return usageErr(err) }

// sandboxPlace are the hidden flags that say where sandboxes live: tests
// point them at their own parent group and state directory.
type sandboxPlace struct {
	cgroupParent string
	stateDir     string
}

func (p *sandboxPlace) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.cgroupParent, "cgroup-parent", sandbox.DefaultCgroupParent, "parent cgroup of the sandboxes' groups")
	fs.StringVar(&p.stateDir, "state-dir", sandbox.DefaultStateDir, "where the state of running sandboxes is kept")
	_ = fs.MarkHidden("state-dir")
}

// forUser moves the defaults for a user who is not root: into the subtree
// delegated to them and their runtime directory (see sandbox.UserPlacement).
func (p *sandboxPlace) forUser(fs *pflag.FlagSet, f *cgroup.FS) error {
	if os.Geteuid() == 0 {
		return nil
	}
	if !fs.Changed("state-dir") {
		p.stateDir = sandbox.UserStateDir()
	}
	if fs.Changed("cgroup-parent") {
		return nil
	}
	parent, _, err := sandbox.UserPlacement(f)
	if err != nil {
		return err
	}
	p.cgroupParent = parent
	return nil
}

// reap cleans up after ctop processes that were killed, and says so.
func (p *sandboxPlace) reap(f *cgroup.FS) {
	msgs, err := sandbox.Reap(f, p.stateDir, p.cgroupParent)
	for _, m := range msgs {
		fmt.Fprintln(os.Stderr, "ctop:", m)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctop: clean up after killed sandboxes:", err)
	}
}

// limitFlags are the cgroup limit flags ctop run and ctop update share,
// with docker's names and meanings.
type limitFlags struct {
	cpus, cpusetCpus, cpusetMems           string
	cpuShares, pidsLimit                   int64
	memory, memoryReservation, memorySwap  string
	readBps, writeBps, readIops, writeIops []string
}

func (l *limitFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.cpus, "cpus", "", "number of CPUs, like 0.5 (a CFS quota per 100ms period; 0: no limit)")
	fs.Int64Var(&l.cpuShares, "cpu-shares", 0, "relative CPU weight, 2..262144 (v2: converted to cpu.weight)")
	fs.StringVar(&l.cpusetCpus, "cpuset-cpus", "", "CPUs allowed, like 0-1,3")
	fs.StringVar(&l.cpusetMems, "cpuset-mems", "", "memory nodes allowed, like 0")
	fs.StringVarP(&l.memory, "memory", "m", "", "memory limit, like 256m (units b, k, m, g)")
	fs.StringVar(&l.memoryReservation, "memory-reservation", "", "memory soft limit (v2 memory.low, v1 soft_limit_in_bytes)")
	fs.StringVar(&l.memorySwap, "memory-swap", "", "memory plus swap limit; -1: unlimited swap")
	fs.Int64Var(&l.pidsLimit, "pids-limit", 0, "maximum number of processes and threads; -1: no limit")
	fs.StringArrayVar(&l.readBps, "device-read-bps", nil, "read rate of a device, DEVICE:RATE like /dev/vda:1mb")
	fs.StringArrayVar(&l.writeBps, "device-write-bps", nil, "write rate of a device, DEVICE:RATE like /dev/vda:1mb")
	fs.StringArrayVar(&l.readIops, "device-read-iops", nil, "read operations per second of a device, DEVICE:N")
	fs.StringArrayVar(&l.writeIops, "device-write-iops", nil, "write operations per second of a device, DEVICE:N")
}

// resources validates the flags that were given and turns them into
// cgroup resources. Errors name the flag and its value.
func (l *limitFlags) resources(fs *pflag.FlagSet) (cgroup.Resources, error) {
	var r cgroup.Resources
	set := fs.Changed
	if set("cpus") {
		v, err := parseCPUs(l.cpus, runtime.NumCPU())
		if err != nil {
			return r, err
		}
		r.CPU = &cgroup.CPUMax{Quota: v, Period: 100000}
	}
	if set("cpu-shares") {
		if l.cpuShares < 2 || l.cpuShares > 262144 {
			return r, fmt.Errorf("--cpu-shares %d: want 2..262144", l.cpuShares)
		}
		v := uint64(l.cpuShares)
		r.CPUShares = &v
	}
	if set("cpuset-cpus") {
		if _, err := cgroup.ParseCPUList(l.cpusetCpus); err != nil {
			return r, fmt.Errorf("--cpuset-cpus: %w", err)
		}
		r.CpusetCpus = &l.cpusetCpus
	}
	if set("cpuset-mems") {
		if _, err := cgroup.ParseCPUList(l.cpusetMems); err != nil {
			return r, fmt.Errorf("--cpuset-mems: %w", err)
		}
		r.CpusetMems = &l.cpusetMems
	}
	if set("memory") {
		v, err := sandbox.ParseSize(l.memory)
		if err != nil {
			return r, fmt.Errorf("--memory: %w", err)
		}
		// docker's floor: below it a process cannot even start.
		if v < 6<<20 {
			return r, fmt.Errorf("--memory %s: the minimum is 6m", l.memory)
		}
		lim := cgroup.LimitOf(v)
		r.MemoryMax = &lim
	}
	if set("memory-reservation") {
		v, err := sandbox.ParseSize(l.memoryReservation)
		if err != nil {
			return r, fmt.Errorf("--memory-reservation: %w", err)
		}
		if r.MemoryMax != nil && v > r.MemoryMax.V {
			return r, fmt.Errorf("--memory-reservation %s: must not exceed --memory %s", l.memoryReservation, l.memory)
		}
		lim := cgroup.LimitOf(v)
		r.MemoryLow = &lim
	}
	if set("memory-swap") {
		if r.MemoryMax == nil {
			return r, fmt.Errorf("--memory-swap %s: give --memory with it (it counts memory plus swap)", l.memorySwap)
		}
		lim := cgroup.Max
		if l.memorySwap != "-1" {
			v, err := sandbox.ParseSize(l.memorySwap)
			if err != nil {
				return r, fmt.Errorf("--memory-swap: %w", err)
			}
			if v < r.MemoryMax.V {
				return r, fmt.Errorf("--memory-swap %s: must be at least --memory %s (it counts memory plus swap)", l.memorySwap, l.memory)
			}
			lim = cgroup.LimitOf(v)
		}
		r.MemorySwap = &lim
	}
	if set("pids-limit") {
		lim := cgroup.Max
		if l.pidsLimit > 0 {
			lim = cgroup.LimitOf(uint64(l.pidsLimit))
		} else if l.pidsLimit < -1 {
			return r, fmt.Errorf("--pids-limit %d: want a positive number, or -1 for no limit", l.pidsLimit)
		}
		r.PidsMax = &lim
	}
	for _, d := range []struct {
		flag  string
		vals  []string
		kind  string
		bytes bool
	}{
		{"--device-read-bps", l.readBps, "rbps", true}, {"--device-write-bps", l.writeBps, "wbps", true},
		{"--device-read-iops", l.readIops, "riops", false}, {"--device-write-iops", l.writeIops, "wiops", false},
	} {
		for _, v := range d.vals {
			dr, err := sandbox.ParseDeviceRate("/", v, d.bytes)
			if err != nil {
				return r, fmt.Errorf("%s %s: %w", d.flag, v, err)
			}
			r.IO = append(r.IO, cgroup.IOThrottle{Device: dr.Device, Kind: d.kind, Rate: dr.Rate})
		}
	}
	return r, r.Validate()
}

// flagOfFile names the flag that sets a cgroup file, so that a value the
// kernel refuses is reported against the flag the user typed.
func flagOfFile(file string) string {
	switch file {
	case "cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us":
		return "cpus"
	case "cpu.weight", "cpu.shares":
		return "cpu-shares"
	case "cpuset.cpus":
		return "cpuset-cpus"
	case "cpuset.mems":
		return "cpuset-mems"
	case "memory.max", "memory.limit_in_bytes":
		return "memory"
	case "memory.low", "memory.soft_limit_in_bytes":
		return "memory-reservation"
	case "memory.swap.max", "memory.memsw.limit_in_bytes":
		return "memory-swap"
	case "pids.max":
		return "pids-limit"
	case "blkio.throttle.read_bps_device":
		return "device-read-bps"
	case "blkio.throttle.write_bps_device":
		return "device-write-bps"
	case "blkio.throttle.read_iops_device":
		return "device-read-iops"
	case "blkio.throttle.write_iops_device":
		return "device-write-iops"
	case "io.max":
		return "device-*"
	}
	return ""
}

// withFlag prefixes a kernel's refusal of a limit with the flag and the
// value given for it.
func withFlag(fs *pflag.FlagSet, err error) error {
	var we *cgroup.WriteError
	if !errors.As(err, &we) {
		return err
	}
	name := flagOfFile(we.File)
	if name == "" {
		return err
	}
	if f := fs.Lookup(name); f != nil && f.Value.Type() != "stringArray" {
		return fmt.Errorf("--%s %s: %w", name, f.Value.String(), err)
	}
	return fmt.Errorf("--%s: %w", name, err)
}

// parseCPUs turns --cpus into a quota per 100ms period; 0 means no limit.
func parseCPUs(s string, ncpu int) (cgroup.Limit, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return cgroup.Limit{}, fmt.Errorf("--cpus %q: want a number of CPUs like 0.5", s)
	}
	if f == 0 {
		return cgroup.Max, nil
	}
	if f < 0.01 || f > float64(ncpu) {
		return cgroup.Limit{}, fmt.Errorf("--cpus %s: want 0.01 to %d (this host has %d CPUs)", s, ncpu, ncpu)
	}
	return cgroup.LimitOf(uint64(math.Round(f * 100000))), nil
}

type runOptions struct {
	limits                          limitFlags
	place                           sandboxPlace
	ns, network, hostname           string
	rootfs, keepUpper               string
	overlay                         bool
	volumes, tmpfs, env             []string
	securityOpts                    []string
	user, name, workdir             string
	detach, interactive, tty, stats bool
}

func newRunCmd() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [flags] [--] COMMAND [ARG...]",
		Short: "Run a command in a sandbox: new namespaces, cgroup limits, its own root",
		Long: `Run a command isolated as a container is: in new namespaces (by default
pid, mnt, uts, ipc, net and cgroup, as docker does), under cgroup limits,
optionally on its own root filesystem. Flags follow docker run's names and
meanings. ctop exits with the command's status, 125 when ctop itself fails,
126 when the command cannot be executed, 127 when it is not found and 128+N
when signal N killed it; it says on stderr when the kernel's OOM killer, the
pids limit or CPU throttling got in the command's way.`,
		Example: `  ctop run --memory 32m --pids-limit 10 -- sh -c 'echo hi'
  ctop run --cpus 0.2 --name busy -d -- sh -c 'while :; do :; done'
  ctop run --rootfs ./rootfs --overlay --keep-upper ./changes -it -- sh`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("run: no command: give one after the flags, like ctop run -- sh"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return runRun(c, &o, args) },
	}
	c.SetFlagErrorFunc(flagErr125)
	fs := c.Flags()
	fs.SetInterspersed(false) // flags after COMMAND are the command's
	o.limits.register(fs)
	o.place.register(fs)
	fs.StringVar(&o.ns, "ns", "pid,mnt,uts,ipc,net,cgroup", "namespaces to create, from cgroup,ipc,mnt,net,pid,time,user,uts (none: share all)")
	fs.StringVar(&o.network, "network", "", "none (a new net namespace with only loopback, up) or host")
	fs.StringVar(&o.hostname, "hostname", "", "host name in the sandbox (default: its name)")
	fs.StringVar(&o.rootfs, "rootfs", "", "directory to use as the root filesystem (pivot_root)")
	fs.BoolVar(&o.overlay, "overlay", false, "put a copy-on-write layer over --rootfs, which stays unmodified")
	fs.StringVar(&o.keepUpper, "keep-upper", "", "keep the overlay's upper layer (what the sandbox changed) in this directory")
	fs.StringArrayVarP(&o.volumes, "volume", "v", nil, "bind mount SRC:DST[:ro]")
	fs.StringArrayVar(&o.tmpfs, "tmpfs", nil, "tmpfs mount DST[:size=64m]")
	fs.StringArrayVarP(&o.env, "env", "e", nil, "environment variable KEY=VALUE")
	fs.StringVarP(&o.user, "user", "u", "", "numeric UID[:GID] to run the command as")
	fs.StringVar(&o.name, "name", "", "sandbox name (default: generated)")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the sandbox")
	fs.BoolVarP(&o.detach, "detach", "d", false, "run in the background and print the sandbox's name")
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "keep stdin attached")
	fs.BoolVarP(&o.tty, "tty", "t", false, "give the command a terminal")
	fs.BoolVar(&o.stats, "stats", false, "print start latency, wall and CPU time, peak memory, throttling and IO at exit")
	fs.StringArrayVar(&o.securityOpts, "security-opt", nil,
		"seccomp=unconfined, seccomp=PROFILE.json (docker's format; default: docker's profile), no-new-privileges[=true|false] (default true)")
	return c
}

// buildSpec turns run's flags into a sandbox spec, validating each.
func buildSpec(fs *pflag.FlagSet, o *runOptions, args []string) (sandbox.Spec, error) {
	s := sandbox.Spec{
		Name: o.name, Command: args, Env: o.env, Workdir: o.workdir, Hostname: o.hostname,
		Rootfs: o.rootfs, Overlay: o.overlay || o.keepUpper != "", KeepUpper: o.keepUpper,
		TTY: o.tty, Detach: o.detach, Stats: o.stats, CgroupParent: o.place.cgroupParent, StateDir: o.place.stateDir,
	}
	var err error
	if s.Resources, err = o.limits.resources(fs); err != nil {
		return s, err
	}
	if s.Namespaces, err = sandbox.ParseNamespaces(o.ns); err != nil {
		return s, fmt.Errorf("--ns: %w", err)
	}
	switch o.network {
	case "":
	case sandbox.NetworkHost:
		if !fs.Changed("ns") {
			s.Namespaces = without(s.Namespaces, sandbox.NSNet)
		}
		s.Network = o.network
	case sandbox.NetworkNone:
		s.Network = o.network
	default:
		return s, fmt.Errorf("--network %q: want none or host (ctop has no bridge networking)", o.network)
	}
	if o.user != "" {
		if s.User, err = sandbox.ParseUser(o.user); err != nil {
			return s, fmt.Errorf("--user: %w", err)
		}
	}
	if o.name != "" {
		if err := sandbox.ValidName(o.name); err != nil {
			return s, fmt.Errorf("--name: %w", err)
		}
	}
	for _, v := range o.volumes {
		b, err := sandbox.ParseBind(v)
		if err != nil {
			return s, fmt.Errorf("-v: %w", err)
		}
		s.Binds = append(s.Binds, b)
	}
	for _, v := range o.tmpfs {
		t, err := sandbox.ParseTmpfs(v)
		if err != nil {
			return s, fmt.Errorf("--tmpfs: %w", err)
		}
		s.Tmpfs = append(s.Tmpfs, t)
	}
	for _, v := range o.securityOpts {
		if err := sandbox.ParseSecurityOpt(v, &s); err != nil {
			return s, err
		}
	}
	if o.tty && !sandbox.IsTerminal(0) && o.interactive {
		return s, errors.New("-t: the input device is not a TTY")
	}
	return s, nil
}

func without(ns []sandbox.Namespace, n sandbox.Namespace) []sandbox.Namespace {
	var out []sandbox.Namespace
	for _, x := range ns {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

func runRun(c *cobra.Command, o *runOptions, args []string) error {
	spec, err := buildSpec(c.Flags(), o, args)
	if err != nil {
		return usageErr(err)
	}
	// The layout sandbox.Start reads too: passed on, it is parsed once.
	f, err := cgroup.Open("/")
	if err != nil {
		return usageErr(err)
	}
	spec.Cgroups = f
	if os.Geteuid() != 0 {
		if err := o.place.forUser(c.Flags(), f); err != nil {
			return usageErr(fmt.Errorf("run: %w", err))
		}
		spec.CgroupParent, spec.StateDir = o.place.cgroupParent, o.place.stateDir
		if !spec.Has(sandbox.NSUser) {
			// The kernel creates namespaces for an unprivileged process
			// only inside a user namespace of its own.
			spec.Namespaces = append(spec.Namespaces, sandbox.NSUser)
		}
	}
	o.place.reap(f)
	spec.DefaultSwap(f)
	if o.interactive {
		spec.Stdin = os.Stdin
	}
	spec.Stdout, spec.Stderr = os.Stdout, os.Stderr
	var restore func()
	if o.tty && o.interactive && !o.detach {
		if restore, err = sandbox.MakeRaw(0); err != nil {
			return usageErr(err)
		}
	}
	// Catch signals before the start: one arriving meanwhile would kill ctop
	// half-way, leaving the sandbox to die by its parent-death signal and
	// its cgroup to the next reap. They are relayed once it runs.
	sigs := make(chan os.Signal, 8)
	if !o.detach {
		signal.Notify(sigs, relayed...)
	}
	sb, err := sandbox.Start(spec)
	if err != nil {
		signal.Stop(sigs)
		if restore != nil {
			restore()
		}
		var se *sandbox.StartError
		if errors.As(err, &se) {
			return &exitError{code: se.Code, err: withFlag(c.Flags(), err)}
		}
		return usageErr(withFlag(c.Flags(), err))
	}
	if o.detach {
		fmt.Fprintln(c.OutOrStdout(), sb.Name)
		return nil
	}
	stop := relaySignals(sb, sigs)
	res, werr := sb.Wait()
	stop()
	if restore != nil {
		restore()
	}
	for _, line := range res.Report(sb.Name) {
		fmt.Fprintln(os.Stderr, "ctop:", line)
	}
	if o.stats {
		fmt.Fprint(os.Stderr, res.StatsText(sb.StartLatency))
	}
	if werr != nil {
		fmt.Fprintln(os.Stderr, "ctop:", werr)
	}
	return statusErr(res.ExitCode)
}

// relayed are the signals ctop run passes on to the sandbox.
var relayed = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGWINCH}

// relaySignals passes the signals caught on ch (those a user sends ctop) on
// to the sandbox's command (docker's --sig-proxy) and keeps a TTY's size in
// step.
func relaySignals(sb *sandbox.Sandbox, ch chan os.Signal) (stop func()) {
	if sb.Spec().TTY {
		if rows, cols, err := sandbox.TerminalSize(0); err == nil {
			_ = sb.Resize(rows, cols)
		}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if s == syscall.SIGWINCH {
					if rows, cols, err := sandbox.TerminalSize(0); err == nil {
						_ = sb.Resize(rows, cols)
					}
					continue
				}
				_ = syscall.Kill(sb.Pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
