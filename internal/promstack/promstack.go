// Package promstack starts, for end-to-end tests, the processes a test of
// ctop serve needs: ctop serve itself and a real Prometheus scraping it,
// each killed with the test process and at the test's end.
package promstack

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Log collects a child's output while it runs, for failure messages.
type Log struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs cmd with its output in the returned Log, killed with the
// test process (Pdeathsig) and, unless the test has waited for it, at
// the test's end.
func Start(t testing.TB, cmd *exec.Cmd) *Log {
	t.Helper()
	log := &Log{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return log
}

// ServeAddr waits for ctop serve's log line naming where it listens
// (serve --listen 127.0.0.1:0 picks a port) and returns that address.
func ServeAddr(t testing.TB, log *Log, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		if _, rest, ok := strings.Cut(log.String(), " addr="); ok {
			addr, _, _ := strings.Cut(rest, " ")
			return strings.TrimSpace(addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctop serve did not say where it listens within %v:\n%s", within, log.String())
		}
	}
}

// Prometheus starts promBin, its data in dir, scraping target every
// second as job ctop, and returns its base URL (http://HOST:PORT), the
// process and its log.
func Prometheus(t testing.TB, dir, promBin, target string) (api string, cmd *exec.Cmd, log *Log) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ctop
    static_configs:
      - targets: ['%s']
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(promBin,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	log = Start(t, cmd)
	return "http://" + addr, cmd, log
}

// FreePort returns a loopback port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
