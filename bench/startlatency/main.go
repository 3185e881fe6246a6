// Command startlatency measures what a user waits for: a built ctop binary's
// `ctop run --cpus 0.5 --memory 64m --pids-limit 100 -- true` (five new
// namespaces, three limits, its cgroup created and removed) against
// util-linux `unshare --fork --pid --mount --uts --ipc --net true`, both
// started as subprocesses, interleaved in one run.
//
//	CGO_ENABLED=0 go build -o /tmp/ctop ./cmd/ctop && go run ./bench/startlatency -ctop /tmp/ctop
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
	"slices"
	"strings"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

func main() {
	ctop := flag.String("ctop", "", "path of a built ctop binary (required)")
	n := flag.Int("runs", 200, "runs of each command")
	flag.Parse()
	if *ctop == "" {
		fmt.Fprintln(os.Stderr, "startlatency: -ctop PATH is required (CGO_ENABLED=0 go build -o /tmp/ctop ./cmd/ctop)")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "startlatency: needs root to create cgroups and namespaces")
		os.Exit(2)
	}
	os.Exit(measure(*ctop, *n))
}

func measure(ctop string, n int) int {
	state, err := os.MkdirTemp("", "ctop-startlatency-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "startlatency:", err)
		return 1
	}
	defer os.RemoveAll(state)
	// A parent that does not exist yet, as /ctop on a host with no other
	// sandbox: every run makes it and removes it again, as a user's does.
	parent := fmt.Sprintf("/ctop-test-%d-startlatency", os.Getpid())
	ctopRun := command(ctop, "run", "--cgroup-parent", parent, "--state-dir", state,
		"--cpus", "0.5", "--memory", "64m", "--pids-limit", "100", "--", "true")
	unshare := command("unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true")
	var a, b []time.Duration
	code := 0
	for range n {
		// Interleaved, so that both share any drift in the machine's load.
		d, err := timed(ctopRun)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startlatency:", err)
			code = 1
			break
		}
		a = append(a, d)
		if d, err = timed(unshare); err != nil {
			fmt.Fprintln(os.Stderr, "startlatency:", err)
			code = 1
			break
		}
		b = append(b, d)
	}
	if err := leftBehind(parent); err != nil {
		fmt.Fprintln(os.Stderr, "startlatency:", err)
		code = 1
	}
	if code != 0 {
		return code
	}
	ma, mb := median(a), median(b)
	fmt.Printf("%-72s %9s\n", fmt.Sprintf("median of %d runs", n), "time")
	fmt.Printf("%-72s %9s\n", "ctop run --cpus 0.5 --memory 64m --pids-limit 100 -- true", ms(ma))
	fmt.Printf("%-72s %9s\n", "unshare --fork --pid --mount --uts --ipc --net true", ms(mb))
	fmt.Printf("%-72s %8.2fx\n", "ratio (target 1.0)", float64(ma)/float64(mb))
	return 0
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

func timed(f func() error) (time.Duration, error) {
	t := time.Now()
	err := f()
	return time.Since(t), err
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
