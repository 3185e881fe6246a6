// Command startlatency measures what a user waits for, side by side in one
// run: a built ctop binary's
//
//   - `ctop run --cpus 0.5 --memory 64m --pids-limit 100 -- true` (five new
//     namespaces, three limits, its cgroup created and removed) against
//     bubblewrap's `bwrap --unshare-pid --unshare-net --unshare-uts
//     --unshare-ipc --dev-bind / / --proc /proc true` (target: at most 1.0×)
//     and util-linux `unshare --fork --pid --mount --uts --ipc --net true`;
//   - `ctop ls` against an empty static Go program, which the bench builds
//     itself with the same go and CGO_ENABLED=0 (target: at most 2.0×).
//
// All are started as subprocesses, alternated run by run so that they share
// any drift in the machine's load, in several rounds: the machine may be
// shared, so each round's medians are printed and then their range.
//
//	make build && go run ./bench/startlatency -ctop ./ctop
//
// sandbox's BenchmarkStartToReap measures the same sandbox in process, with
// the test binary as its init; this adds ctop's own start and exit and the
// real binary's init.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

func main() {
	ctop := flag.String("ctop", "", "path of a built ctop binary (required)")
	n := flag.Int("runs", 100, "runs of each command in a round")
	rounds := flag.Int("rounds", 3, "rounds, each reporting its own medians")
	flag.Parse()
	if *ctop == "" {
		fmt.Fprintln(os.Stderr, "startlatency: -ctop PATH is required (make build, then -ctop ./ctop)")
		os.Exit(2)
	}
	if *n < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "startlatency: -runs and -rounds must be at least 1")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "startlatency: needs root to create cgroups and namespaces")
		os.Exit(2)
	}
	for _, tool := range []string{"bwrap", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "startlatency: %s not found (make deps installs bubblewrap and util-linux)\n", tool)
			os.Exit(2)
		}
	}
	os.Exit(measure(*ctop, *n, *rounds))
}

// A subject is one command line and its runs' times in the current round.
type subject struct {
	label string
	run   func() error
	times []time.Duration
	// medians holds each round's median.
	medians []time.Duration
}

// A ratio compares the medians of two subjects against a target.
type ratio struct {
	label  string
	a, b   *subject
	target float64
}

func measure(ctop string, n, rounds int) int {
	tmp, err := os.MkdirTemp("", "ctop-startlatency-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "startlatency:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	empty, err := buildEmpty(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "startlatency:", err)
		return 1
	}
	state := filepath.Join(tmp, "state")
	// A parent that does not exist yet, as /ctop on a host with no other
	// sandbox: every run makes it and removes it again, as a user's does.
	parent := fmt.Sprintf("/ctop-test-%d-startlatency", os.Getpid())
	run := &subject{label: "ctop run --cpus 0.5 --memory 64m --pids-limit 100 -- true",
		run: command(ctop, "run", "--cgroup-parent", parent, "--state-dir", state,
			"--cpus", "0.5", "--memory", "64m", "--pids-limit", "100", "--", "true")}
	bwrap := &subject{label: "bwrap --unshare-pid,net,uts,ipc --dev-bind / / --proc /proc true",
		run: command("bwrap", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-ipc",
			"--dev-bind", "/", "/", "--proc", "/proc", "true")}
	unshare := &subject{label: "unshare --fork --pid --mount --uts --ipc --net true",
		run: command("unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true")}
	ls := &subject{label: "ctop ls", run: command(ctop, "ls", "--cgroup-parent", parent, "--state-dir", state)}
	emp := &subject{label: "empty static Go program", run: command(empty)}
	subjects := []*subject{run, bwrap, unshare, ls, emp}
	ratios := []ratio{
		{"ctop run / bwrap", run, bwrap, 1.0},
		{"ctop run / unshare", run, unshare, 0},
		{"ctop ls / empty Go program", ls, emp, 2.0},
	}
	code := 0
	for r := range rounds {
		if err := round(subjects, n); err != nil {
			fmt.Fprintln(os.Stderr, "startlatency:", err)
			code = 1
			break
		}
		fmt.Printf("round %d of %d, median of %d runs each\n", r+1, rounds, n)
		for _, s := range subjects {
			fmt.Printf("  %-66s %9s\n", s.label, ms(s.medians[r]))
		}
		for _, x := range ratios {
			fmt.Printf("  %-66s %8.2fx\n", x.label, float64(x.a.medians[r])/float64(x.b.medians[r]))
		}
	}
	if err := leftBehind(parent); err != nil {
		fmt.Fprintln(os.Stderr, "startlatency:", err)
		code = 1
	}
	if code != 0 {
		return code
	}
	fmt.Printf("range over %d rounds\n", rounds)
	for _, s := range subjects {
		fmt.Printf("  %-66s %s .. %s\n", s.label, ms(slices.Min(s.medians)), ms(slices.Max(s.medians)))
	}
	for _, x := range ratios {
		var rs []float64
		for r := range rounds {
			rs = append(rs, float64(x.a.medians[r])/float64(x.b.medians[r]))
		}
		target := ""
		if x.target > 0 {
			target = fmt.Sprintf(" (target %.1fx)", x.target)
		}
		fmt.Printf("  %-66s %.2fx .. %.2fx%s\n", x.label, slices.Min(rs), slices.Max(rs), target)
	}
	return 0
}

// round runs every subject n times, alternating them run by run, and
// appends each one's median.
func round(subjects []*subject, n int) error {
	for _, s := range subjects {
		s.times = s.times[:0]
	}
	for range n {
		for _, s := range subjects {
			t := time.Now()
			if err := s.run(); err != nil {
				return err
			}
			s.times = append(s.times, time.Since(t))
		}
	}
	for _, s := range subjects {
		s.medians = append(s.medians, median(s.times))
	}
	return nil
}

// buildEmpty builds `func main() {}` as ctop is built (static, no cgo) and
// returns the binary's path.
func buildEmpty(dir string) (string, error) {
	src := filepath.Join(dir, "empty")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module empty\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return "", err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(dir, "empty-go")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the empty Go program: %v: %s", err, out)
	}
	return bin, nil
}

// command returns a runner of name args that fails with its output.
func command(name string, args ...string) func() error {
	return func() error {
		cmd := exec.Command(name, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out.String())
		}
		return nil
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// leftBehind fails when ctop left the parent group behind, after removing
// it: ctop removes a parent it made once its last sandbox is gone.
func leftBehind(parent string) error {
	f, err := cgroup.Open("/")
	if err != nil {
		return err
	}
	m, err := cgroup.Load(f, parent)
	if errors.Is(err, cgroup.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_ = m.Kill()
	if err := m.Delete(); err != nil {
		return fmt.Errorf("ctop left cgroup %s behind, and removing it failed: %w", parent, err)
	}
	return fmt.Errorf("ctop left cgroup %s behind (removed now)", parent)
}
