package systemd

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mount is one line of /proc/self/mountinfo, the fields the tests read.
type mount struct {
	point, fstype, options string
}

// parseMountinfo reads proc(5)'s mountinfo: the fields before " - " are
// the mount's, the filesystem type is the first one after it.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var ms []mount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		before, after, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(before), strings.Fields(after)
		if !ok || len(f) < 6 || len(g) < 1 {
			return nil, fmt.Errorf("parse mountinfo line %q: malformed", sc.Text())
		}
		ms = append(ms, mount{point: f[4], fstype: g[0], options: f[5]})
	}
	return ms, sc.Err()
}

// parseCPUMax parses cgroup v2's cpu.max ("QUOTA PERIOD"); an unlimited
// quota ("max") is an error here, since every group tested has one.
func parseCPUMax(s string) (quota, period int64, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("parse cpu.max %q: want QUOTA PERIOD", s)
	}
	if quota, err = strconv.ParseInt(f[0], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("parse cpu.max %q: quota not a number", s)
	}
	if period, err = strconv.ParseInt(f[1], 10, 64); err != nil || period <= 0 {
		return 0, 0, fmt.Errorf("parse cpu.max %q: bad period", s)
	}
	return quota, period, nil
}

// parseTimespan parses the time spans systemctl show prints, such as
// "200ms", "1s", "1s 500ms" or "1min 30s" (systemd.time(7)).
func parseTimespan(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"min", time.Minute}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"h", time.Hour}, {"s", time.Second}}
	var total time.Duration
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, fmt.Errorf("parse time span %q: empty", s)
	}
	for _, f := range fields {
		ok := false
		for _, u := range units {
			if n, found := strings.CutSuffix(f, u.suffix); found {
				v, err := strconv.ParseFloat(n, 64)
				if err != nil {
					return 0, fmt.Errorf("parse time span %q: %q not a number", s, n)
				}
				total += time.Duration(v * float64(u.d))
				ok = true
				break
			}
		}
		if !ok {
			return 0, fmt.Errorf("parse time span %q: unknown unit in %q", s, f)
		}
	}
	return total, nil
}

// parseProperties parses systemctl show's KEY=VALUE lines.
func parseProperties(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("parse systemctl show line %q: not KEY=VALUE", line)
		}
		m[k] = v
	}
	return m, nil
}

func fileUID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func TestParseMountinfo(t *testing.T) {
	in := "24 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	got, err := parseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{{"/", "ext4", "rw,relatime"}, {"/sys/fs/cgroup", "cgroup2", "rw,nosuid,nodev,noexec,relatime"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parseMountinfo = %v, want %v", got, want)
	}
	if _, err := parseMountinfo(strings.NewReader("24 1 254:1 / /\n")); err == nil {
		t.Fatal("parseMountinfo accepted a line without a separator")
	}
}

func TestParseCPUMax(t *testing.T) {
	q, p, err := parseCPUMax("50000 100000")
	if err != nil || q != 50000 || p != 100000 {
		t.Fatalf("parseCPUMax = %d %d %v", q, p, err)
	}
	for _, bad := range []string{"max 100000", "50000", "1 0", ""} {
		if _, _, err := parseCPUMax(bad); err == nil {
			t.Errorf("parseCPUMax(%q) accepted", bad)
		}
	}
}

func TestParseTimespan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"200ms":    200 * time.Millisecond,
		"1s":       time.Second,
		"1s 500ms": 1500 * time.Millisecond,
		"1min 30s": 90 * time.Second,
		"250us":    250 * time.Microsecond,
	} {
		got, err := parseTimespan(in)
		if err != nil || got != want {
			t.Errorf("parseTimespan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "infinity", "5x"} {
		if _, err := parseTimespan(bad); err == nil {
			t.Errorf("parseTimespan(%q) accepted", bad)
		}
	}
}

func TestParseProperties(t *testing.T) {
	got, err := parseProperties("MemoryMax=100663296\nControlGroup=/system.slice/a.service\nEmpty=\n")
	if err != nil || got["MemoryMax"] != "100663296" || got["ControlGroup"] != "/system.slice/a.service" || len(got) != 3 {
		t.Fatalf("parseProperties = %v, %v", got, err)
	}
	if _, err := parseProperties("garbage"); err == nil {
		t.Fatal("parseProperties accepted a line without =")
	}
}
