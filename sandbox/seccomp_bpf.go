package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A seccomp filter is a classic BPF program the kernel runs on every
// system call with struct seccomp_data (seccomp(2)): the call's number at
// offset 0, the audit architecture at 4, the six 64-bit arguments from 16
// on. ctop writes the program itself and takes only the system call
// tables from github.com/elastic/go-seccomp-bpf: that library's own
// compiler (v1.6.0) loads an argument into the accumulator to test a
// condition and never loads the call's number back, so every rule after a
// conditional one compares an argument with call numbers; under docker's
// profile it refuses socket(AF_INET6) and personality(0xffffffff).
//
// The program, checked rule by rule in the profile's order (the first
// rule that matches decides, as docker's profiles are written):
//
//	ld  arch; jeq AUDIT_ARCH_<native>, else ret <default>
//	ld  nr;   (amd64) jge X32_SYSCALL_BIT: ret ENOSYS
//	a rule without conditions: its calls as runs of numbers (ranges),
//	    ret <action> where found, on to the next rule where not
//	a rule with conditions, per call:
//	    jeq nr, else ja end; per set of conditions: <tests>, ret <action>;
//	    ld nr (the tests loaded arguments); end:
//	ret <default>
//
// NOTE: the filter covers the native architecture only (docker's lists
// the 32-bit ABIs of a 64-bit one too, x86 and x32 on amd64): a call by
// another ABI gets the default action, one by the x32 ABI ENOSYS.

// seccomp_data offsets (linux/seccomp.h).
const (
	dataNr   = 0
	dataArch = 4
	dataArgs = 16
	// x32SyscallBit marks a call of the x32 ABI, which shares amd64's
	// audit architecture.
	x32SyscallBit = 0x40000000
	// runsPerChunk keeps the jumps of a list of runs within the 255
	// instructions a conditional jump can skip.
	runsPerChunk = 100
)

// The instructions a filter uses (linux/bpf_common.h).
const (
	opLoad = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS // A = data[k]
	opAnd  = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opJeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJgt  = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	opJa   = unix.BPF_JMP | unix.BPF_JA
	opRet  = unix.BPF_RET | unix.BPF_K
)

// label is a place in the program a jump goes to; fallThrough is the next
// instruction.
type label int

const fallThrough label = -1

// bpfWriter writes a filter program with forward jumps to labels. It
// writes struct sock_filter directly: docker's profile is some 900
// instructions, compiled on every start that has no cached filter.
type bpfWriter struct {
	insts  []unix.SockFilter
	labels []int
	jumps  []jumpFix
}

// jumpFix is a jump whose skips assemble fills in.
type jumpFix struct {
	at      int
	yes, no label
	always  bool
}

func (b *bpfWriter) emit(code uint16, k uint32) {
	b.insts = append(b.insts, unix.SockFilter{Code: code, K: k})
}

func (b *bpfWriter) ret(v uint32) { b.emit(opRet, v) }

func (b *bpfWriter) label() label {
	b.labels = append(b.labels, -1)
	return label(len(b.labels) - 1)
}

// bind puts l at the next instruction.
func (b *bpfWriter) bind(l label) { b.labels[l] = len(b.insts) }

// jump jumps to yes when the test op of A against val holds, else to no.
func (b *bpfWriter) jump(op uint16, val uint32, yes, no label) {
	b.jumps = append(b.jumps, jumpFix{at: len(b.insts), yes: yes, no: no})
	b.emit(op, val)
}

// ja jumps to l.
func (b *bpfWriter) ja(l label) {
	b.jumps = append(b.jumps, jumpFix{at: len(b.insts), yes: l, always: true})
	b.emit(opJa, 0)
}

func (b *bpfWriter) load(off uint32) { b.emit(opLoad, off) }

// start writes the checks of the architecture and the ABI.
func (b *bpfWriter) start(info *arch.Info, def uint32) {
	ok := b.label()
	b.load(dataArch)
	b.jump(opJeq, uint32(info.ID), ok, fallThrough)
	b.ret(def)
	b.bind(ok)
	b.load(dataNr)
	if info.ID == arch.X86_64.ID {
		native := b.label()
		b.jump(opJge, x32SyscallBit, fallThrough, native)
		b.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
		b.bind(native)
	}
}

// block is one rule of a profile as the program tests it: its calls on
// this architecture, its return value, and its sets of conditions (none:
// the calls alone decide).
type block struct {
	nrs  []uint32
	act  uint32
	sets [][]specs.LinuxSeccompArg
}

// blocks turns a profile's rules into blocks. The calls this architecture
// does not have are left out, as docker leaves them out, so that one
// profile serves every architecture. Consecutive rules for the same calls
// with the same action and conditions (docker's profile has one rule per
// socket family it allows) are one block with several sets of
// conditions: the first match decides either way.
func blocks(rules []specs.LinuxSyscall, info *arch.Info) ([]block, error) {
	var out []block
	for _, r := range rules {
		act, err := action(r.Action, r.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("rule for %s: %w", strings.Join(r.Names, ","), err)
		}
		nrs := make([]uint32, 0, len(r.Names))
		for _, name := range r.Names {
			if nr, ok := info.SyscallNames[name]; ok {
				nrs = append(nrs, uint32(nr|info.SeccompMask))
			}
		}
		slices.Sort(nrs)
		nrs = slices.Compact(nrs)
		var sets [][]specs.LinuxSeccompArg
		if len(r.Args) > 0 {
			if sets, err = conditionSets(r.Args); err != nil {
				return nil, fmt.Errorf("rule for %s: %w", strings.Join(r.Names, ","), err)
			}
		}
		if len(nrs) == 0 {
			continue
		}
		if n := len(out); n > 0 && len(sets) > 0 && len(out[n-1].sets) > 0 &&
			out[n-1].act == act && slices.Equal(out[n-1].nrs, nrs) {
			out[n-1].sets = append(out[n-1].sets, sets...)
			continue
		}
		out = append(out, block{nrs: nrs, act: act, sets: sets})
	}
	return out, nil
}

// block writes the test of one block.
func (b *bpfWriter) block(k block) {
	if len(k.sets) == 0 {
		next := b.label()
		b.ranges(k.nrs, k.act, next)
		b.bind(next)
		return
	}
	for _, nr := range k.nrs {
		body, end := b.label(), b.label()
		b.jump(opJeq, nr, body, fallThrough)
		b.ja(end)
		b.bind(body)
		for _, set := range k.sets {
			fail := b.label()
			for _, c := range set {
				b.condition(c, fail)
			}
			b.ret(k.act)
			b.bind(fail)
		}
		b.load(dataNr)
		b.bind(end)
	}
}

// ranges writes the test of A against the sorted calls nrs, as runs of
// consecutive numbers: ret act when A is among them, else on to next.
// The kernel converts and compiles the filter on every start (some 0.2
// us an instruction here), and docker's 300 allowed calls on amd64 are 34
// runs: 57 instructions rather than 300.
func (b *bpfWriter) ranges(nrs []uint32, act uint32, next label) {
	for len(nrs) > 0 {
		// A chunk of runs whose jumps reach its own ret.
		match, miss, more := b.label(), b.label(), b.label()
		for n := 0; len(nrs) > 0 && n < runsPerChunk; n++ {
			j := 0
			for j+1 < len(nrs) && nrs[j+1] == nrs[j]+1 {
				j++
			}
			lo, hi := nrs[0], nrs[j]
			nrs = nrs[j+1:]
			if lo == hi {
				b.jump(opJeq, lo, match, fallThrough)
				continue
			}
			// Above the run: the later runs; below it: below every
			// later run too.
			after := b.label()
			b.jump(opJgt, hi, after, fallThrough)
			b.jump(opJge, lo, match, miss)
			b.bind(after)
		}
		b.ja(more)
		b.bind(miss)
		b.ja(next)
		b.bind(match)
		b.ret(act)
		b.bind(more)
	}
}

// conditionSets reads a rule's conditions as runc does: all must hold,
// but where one argument has several, any one of them will do.
func conditionSets(args []specs.LinuxSeccompArg) ([][]specs.LinuxSeccompArg, error) {
	count := map[uint]int{}
	for _, a := range args {
		if a.Index > 5 {
			return nil, fmt.Errorf("argument index %d: a system call has 6", a.Index)
		}
		switch a.Op {
		case specs.OpEqualTo, specs.OpNotEqual, specs.OpGreaterThan, specs.OpGreaterEqual,
			specs.OpLessThan, specs.OpLessEqual, specs.OpMaskedEqual:
		default:
			return nil, fmt.Errorf("unknown operator %q", a.Op)
		}
		count[a.Index]++
	}
	for _, n := range count {
		if n > 1 {
			var sets [][]specs.LinuxSeccompArg
			for _, a := range args {
				sets = append(sets, []specs.LinuxSeccompArg{a})
			}
			return sets, nil
		}
	}
	return [][]specs.LinuxSeccompArg{args}, nil
}

// condition writes the test of one condition on a 64-bit argument, in
// its two 32-bit halves: it goes on at the next instruction when the
// condition holds, to fail when not.
func (b *bpfWriter) condition(c specs.LinuxSeccompArg, fail label) {
	lo, hi := uint32(dataArgs+8*c.Index), uint32(dataArgs+8*c.Index+4)
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		lo, hi = hi, lo
	}
	vhi, vlo := uint32(c.Value>>32), uint32(c.Value)
	pass := b.label()
	ft := fallThrough
	switch c.Op {
	case specs.OpEqualTo:
		b.load(hi)
		b.jump(opJeq, vhi, ft, fail)
		b.load(lo)
		b.jump(opJeq, vlo, ft, fail)
	case specs.OpNotEqual:
		b.load(hi)
		b.jump(opJeq, vhi, ft, pass)
		b.load(lo)
		b.jump(opJeq, vlo, fail, ft)
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		b.load(hi)
		b.jump(opJgt, vhi, pass, ft)
		b.jump(opJeq, vhi, ft, fail)
		b.load(lo)
		if c.Op == specs.OpGreaterThan {
			b.jump(opJgt, vlo, ft, fail)
		} else {
			b.jump(opJge, vlo, ft, fail)
		}
	case specs.OpLessThan, specs.OpLessEqual:
		b.load(hi)
		b.jump(opJgt, vhi, fail, ft)
		b.jump(opJeq, vhi, ft, pass)
		b.load(lo)
		if c.Op == specs.OpLessThan {
			b.jump(opJge, vlo, fail, ft)
		} else {
			b.jump(opJgt, vlo, fail, ft)
		}
	case specs.OpMaskedEqual:
		// (arg & value) == valueTwo
		b.load(hi)
		b.emit(opAnd, vhi)
		b.jump(opJeq, uint32(c.ValueTwo>>32), ft, fail)
		b.load(lo)
		b.emit(opAnd, vlo)
		b.jump(opJeq, uint32(c.ValueTwo), ft, fail)
	}
	b.bind(pass)
}

// assemble resolves the jumps and returns the program.
func (b *bpfWriter) assemble() ([]unix.SockFilter, error) {
	skip := func(at int, l label) (int, error) {
		if l == fallThrough {
			return 0, nil
		}
		to := b.labels[l]
		if to <= at {
			return 0, errors.New("bpf: a jump to an unbound or earlier label")
		}
		return to - at - 1, nil
	}
	for _, j := range b.jumps {
		yes, err := skip(j.at, j.yes)
		if err != nil {
			return nil, err
		}
		if j.always {
			b.insts[j.at].K = uint32(yes)
			continue
		}
		no, err := skip(j.at, j.no)
		if err != nil {
			return nil, err
		}
		if yes > 255 || no > 255 {
			return nil, fmt.Errorf("bpf: a conditional jump of %d instructions", max(yes, no))
		}
		b.insts[j.at].Jt, b.insts[j.at].Jf = uint8(yes), uint8(no)
	}
	return b.insts, nil
}
