package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SeccompProfile is the seccomp filter of a sandbox (seccomp(2)), as docker
// takes it: docker's default profile, none (seccomp=unconfined), or a
// profile in docker's JSON format (--security-opt seccomp=PROFILE.json).
// The zero value, like a nil *SeccompProfile in a Spec, is docker's default
// profile (github.com/moby/profiles/seccomp).
//
// A profile's rules carry conditions (docker's "includes" and "excludes":
// capabilities, architectures, a minimum kernel version); ctop evaluates
// them for the sandbox and compiles what remains to classic BPF in the
// parent (seccomp_bpf.go), and the sandbox's init installs the filter as
// its last step before execve.
type SeccompProfile struct {
	// Unconfined: no filter at all.
	Unconfined bool `json:"unconfined,omitempty"`
	// Path is the file the profile was read from, for messages.
	Path string `json:"path,omitempty"`
	// Profile is the profile itself; nil, without Unconfined, is docker's
	// default.
	Profile *seccomp.Seccomp `json:"profile,omitempty"`

	// compiled caches the last filter compiled from the profile: a caller
	// that starts many sandboxes with one profile value (the zero value
	// for the default) compiles it once. Compiling docker's profile takes
	// some 0.1 ms, half of it building moby's profile value.
	compiled atomic.Pointer[compiledFilter]
}

// compiledFilter is a filter and the environment it was compiled for.
type compiledFilter struct {
	env seccompEnv
	f   *filter
}

// String names the profile as --security-opt does.
func (p *SeccompProfile) String() string {
	switch {
	case p == nil || !p.Unconfined && p.Profile == nil:
		return "default"
	case p.Unconfined:
		return "unconfined"
	case p.Path != "":
		return p.Path
	}
	return "custom"
}

// LoadSeccompProfile reads a profile in docker's JSON format and compiles
// it for a sandbox on this machine, so that a profile ctop cannot use is
// refused now; the filter is kept for Start.
func LoadSeccompProfile(path string) (*SeccompProfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var prof seccomp.Seccomp
	if err := json.Unmarshal(b, &prof); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	p := &SeccompProfile{Path: path, Profile: &prof}
	if _, err := p.compile(hostSeccompEnv(DefaultCapMask())); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseSecurityOpt applies one --security-opt value of docker's to spec:
// seccomp=unconfined, seccomp=PROFILE.json (read and checked now, so that a
// bad profile is refused before anything is made), and no-new-privileges
// (=true, the default here, or =false).
func ParseSecurityOpt(s string, spec *Spec) error {
	key, val, hasVal := strings.Cut(s, "=")
	switch key {
	case "seccomp":
		switch {
		case !hasVal || val == "":
			return errors.New("want seccomp=unconfined or seccomp=PROFILE.json")
		case val == "unconfined":
			spec.Seccomp = &SeccompProfile{Unconfined: true}
			return nil
		}
		p, err := LoadSeccompProfile(val)
		if err != nil {
			return err
		}
		spec.Seccomp = p
		return nil
	case "no-new-privileges":
		on := true
		if hasVal {
			var err error
			if on, err = strconv.ParseBool(val); err != nil {
				return errors.New("want no-new-privileges=true or =false")
			}
		}
		spec.NewPrivileges = !on
		return nil
	}
	return errors.New("want seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]")
}

// seccompEnv is what a profile's conditions are evaluated against.
type seccompEnv struct {
	// goarch is the architecture the filter is for, as runtime.GOARCH.
	goarch string
	// caps is the sandbox's capability set, as the bit mask /proc prints.
	caps uint64
	// kernel is the running kernel's version.
	kernel seccomp.KernelVersion
}

// filter is a compiled seccomp filter: what seccomp(SECCOMP_SET_MODE_FILTER,
// flags, &prog) installs.
type filter struct {
	prog  []unix.SockFilter
	flags uintptr
}

// seccompArch maps GOARCH to the arch names docker's profiles use in their
// conditions (moby's goToNative).
var seccompArch = map[string]string{
	"386": "x86", "amd64": "amd64", "arm": "arm", "arm64": "arm64", "loong64": "loongarch64",
	"mips64": "mips64", "mips64le": "mipsel64", "mipsle": "mipsel", "ppc64": "ppc64",
	"ppc64le": "ppc64le", "riscv64": "riscv64", "s390x": "s390x",
}

// hasCap reports whether the set caps holds the named capability; a name
// this table does not know is not held.
func hasCap(caps uint64, name string) bool {
	i := slices.Index(capNames(), strings.TrimPrefix(strings.ToUpper(name), "CAP_"))
	return i >= 0 && caps&(1<<uint(i)) != 0
}

// rules evaluates a profile's conditions as docker does (moby's
// setupSeccomp): a rule is left out when the sandbox has any capability,
// the architecture or a kernel at least the version its excludes name, or
// lacks any its includes name.
func (e seccompEnv) rules(p *seccomp.Seccomp) ([]specs.LinuxSyscall, error) {
	if len(p.Architectures) != 0 && len(p.ArchMap) != 0 {
		return nil, errors.New("both architectures and archMap are given: use one")
	}
	arch := seccompArch[e.goarch]
	atLeast := func(v *seccomp.KernelVersion) bool {
		return e.kernel.Kernel > v.Kernel || e.kernel.Kernel == v.Kernel && e.kernel.Major >= v.Major
	}
	var out []specs.LinuxSyscall
	for _, r := range p.Syscalls {
		if r == nil {
			continue
		}
		call := r.LinuxSyscall
		// Old profiles name one syscall in "name"; docker still reads them.
		//lint:ignore SA1019 reading the deprecated field is the point
		name := r.Name
		if name != "" {
			if len(call.Names) != 0 {
				return nil, fmt.Errorf("rule for %s: both name and names are given: use one", name)
			}
			call.Names = []string{name}
		}
		if x := r.Excludes; x != nil {
			if slices.Contains(x.Arches, arch) ||
				slices.ContainsFunc(x.Caps, func(c string) bool { return hasCap(e.caps, c) }) ||
				x.MinKernel != nil && atLeast(x.MinKernel) {
				continue
			}
		}
		if in := r.Includes; in != nil {
			if len(in.Arches) > 0 && !slices.Contains(in.Arches, arch) ||
				slices.ContainsFunc(in.Caps, func(c string) bool { return !hasCap(e.caps, c) }) ||
				in.MinKernel != nil && !atLeast(in.MinKernel) {
				continue
			}
		}
		out = append(out, call)
	}
	return out, nil
}

// maxFilterLen is BPF_MAXINSNS, the longest filter the kernel takes.
const maxFilterLen = 4096

// compile evaluates the profile for a sandbox in e and compiles it to
// classic BPF. It returns a nil filter where there is none to install
// (unconfined, or a profile without a default action or rules, which
// docker takes as disabled).
//
// The filter is cached on p; it is never changed once compiled.
func (p *SeccompProfile) compile(e seccompEnv) (*filter, error) {
	if p != nil && p.Unconfined {
		return nil, nil
	}
	cache := &defaultFilter
	if p != nil {
		cache = &p.compiled
	}
	if c := cache.Load(); c != nil && c.env == e {
		return c.f, nil
	}
	prof := seccomp.DefaultProfile()
	if p != nil && p.Profile != nil {
		prof = p.Profile
	}
	f, err := compileProfile(prof, e)
	if err != nil {
		return nil, err
	}
	cache.Store(&compiledFilter{env: e, f: f})
	return f, nil
}

// defaultFilter caches the filter of the nil profile (docker's default),
// which a Spec leaves nil, as SeccompProfile.compiled caches a profile's.
var defaultFilter atomic.Pointer[compiledFilter]

func compileProfile(prof *seccomp.Seccomp, e seccompEnv) (*filter, error) {
	if prof.DefaultAction == "" && len(prof.Syscalls) == 0 {
		return nil, nil
	}
	info, err := arch.GetInfo(e.goarch)
	if err != nil {
		return nil, err
	}
	rules, err := e.rules(prof)
	if err != nil {
		return nil, err
	}
	defErrno := uint(unix.EPERM)
	if prof.DefaultErrnoRet != nil {
		defErrno = *prof.DefaultErrnoRet
	}
	def, err := action(prof.DefaultAction, &defErrno)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	// Room for docker's profile, so that the program grows once or not.
	b := bpfWriter{insts: make([]unix.SockFilter, 0, 1024), jumps: make([]jumpFix, 0, 512), labels: make([]int, 0, 256)}
	bs, err := blocks(rules, info)
	if err != nil {
		return nil, err
	}
	b.start(info, def)
	for _, k := range bs {
		b.block(k)
	}
	b.ret(def)
	prog, err := b.assemble()
	if err != nil {
		return nil, err
	}
	if len(prog) > maxFilterLen {
		return nil, fmt.Errorf("%d BPF instructions: the kernel takes at most %d", len(prog), maxFilterLen)
	}
	f := &filter{prog: prog}
	for _, fl := range prof.Flags {
		switch fl {
		case specs.LinuxSeccompFlagLog:
			f.flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			f.flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		default:
			return nil, fmt.Errorf("flag %s: ctop takes SECCOMP_FILTER_FLAG_LOG and SECCOMP_FILTER_FLAG_SPEC_ALLOW", fl)
		}
	}
	return f, nil
}

// action maps a profile's action, with its errno, to the filter's return
// value (seccomp(2)).
func action(a specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	ret := uint(unix.EPERM)
	if errno != nil {
		ret = *errno
	}
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno, specs.ActTrace:
		if ret > unix.SECCOMP_RET_DATA {
			return 0, fmt.Errorf("errnoRet %d: out of range", ret)
		}
		if a == specs.ActTrace {
			return unix.SECCOMP_RET_TRACE | uint32(ret), nil
		}
		return unix.SECCOMP_RET_ERRNO | uint32(ret), nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return 0, errors.New("action SCMP_ACT_NOTIFY: ctop has no listener for it")
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

// hostSeccompEnv is the environment of a sandbox with the capability set
// caps on this machine. Callers pass the sandbox's bounding set, which is
// what docker's setupSeccomp reads; for a root command it is also the
// effective set, and a --user command, whose effective set is empty,
// keeps docker's answer (its calls fail for want of the capability
// instead).
func hostSeccompEnv(caps uint64) seccompEnv {
	e := seccompEnv{goarch: runtime.GOARCH, caps: caps}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		// "6.1.0-18-amd64": the kernel and its major revision, as docker
		// compares them.
		_, _ = fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &e.kernel.Kernel, &e.kernel.Major)
	}
	return e
}

// bytes is the program as it travels to the re-executed init.
func (f *filter) bytes() []byte {
	if f == nil || len(f.prog) == 0 {
		return nil
	}
	return slices.Clone(unsafe.Slice((*byte)(unsafe.Pointer(&f.prog[0])), len(f.prog)*int(unsafe.Sizeof(f.prog[0]))))
}

// filterOf is the inverse of bytes.
func filterOf(b []byte, flags uintptr) *filter {
	const sz = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(b) < sz {
		return nil
	}
	f := &filter{prog: make([]unix.SockFilter, len(b)/sz), flags: flags}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&f.prog[0])), len(f.prog)*sz), b)
	return f
}
