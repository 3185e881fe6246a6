package systemd

import (
	"errors"
	"math"
	"slices"
	"testing"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/cgroup"
)

func ptr[T any](v T) *T { return &v }

// everything sets each limit ctop has; dev is a device no host has, so
// its node is the /dev/block link whatever the host.
func everything() cgroup.Resources {
	dev := cgroup.Device{Major: 4095, Minor: 1048575}
	return cgroup.Resources{
		CPU:        &cgroup.CPUMax{Quota: cgroup.LimitOf(25000), Period: 50000},
		CPUShares:  ptr(uint64(512)),
		CpusetCpus: ptr("0-2,9"),
		CpusetMems: ptr("0"),
		MemoryMax:  ptr(cgroup.LimitOf(64 << 20)),
		MemoryLow:  ptr(cgroup.LimitOf(16 << 20)),
		MemorySwap: ptr(cgroup.LimitOf(96 << 20)),
		PidsMax:    ptr(cgroup.LimitOf(40)),
		IO: []cgroup.IOThrottle{
			{Device: dev, Kind: "rbps", Rate: 1 << 20},
			{Device: dev, Kind: "wbps", Rate: 0},
			{Device: dev, Kind: "riops", Rate: 100},
			{Device: dev, Kind: "wiops", Rate: 200},
		},
	}
}

func values(ps []sd.Property) map[string]any {
	m := map[string]any{}
	for _, p := range ps {
		m[p.Name] = p.Value.Value()
	}
	return m
}

func TestPropertiesValues(t *testing.T) {
	ps, err := Properties(everything())
	if err != nil {
		t.Fatal(err)
	}
	node := "/dev/block/4095:1048575"
	want := map[string]any{
		// 25ms per 50ms: half a CPU, 500ms per second.
		"CPUQuotaPerSecUSec":  uint64(500000),
		"CPUQuotaPeriodUSec":  uint64(50000),
		"CPUWeight":           cgroup.CPUWeight(512),
		"AllowedCPUs":         []byte{0x07, 0x02},
		"AllowedMemoryNodes":  []byte{0x01},
		"MemoryMax":           uint64(64 << 20),
		"MemoryLow":           uint64(16 << 20),
		"MemorySwapMax":       uint64(32 << 20),
		"TasksMax":            uint64(40),
		"IOReadBandwidthMax":  []ioRate{{node, 1 << 20}},
		"IOWriteBandwidthMax": []ioRate{{node, math.MaxUint64}},
		"IOReadIOPSMax":       []ioRate{{node, 100}},
		"IOWriteIOPSMax":      []ioRate{{node, 200}},
	}
	if d := cmp.Diff(want, values(ps)); d != "" {
		t.Errorf("Properties (-want +got):\n%s", d)
	}
	for _, p := range ps {
		if sig := p.Value.Signature().String(); p.Name == "IOReadBandwidthMax" && sig != "a(st)" {
			t.Errorf("%s has D-Bus type %s, want a(st)", p.Name, sig)
		}
	}
}

func TestPropertiesUnlimited(t *testing.T) {
	ps, err := Properties(cgroup.Resources{
		CPU:        &cgroup.CPUMax{Quota: cgroup.Max},
		MemoryMax:  ptr(cgroup.Max),
		MemorySwap: ptr(cgroup.Max),
		PidsMax:    ptr(cgroup.Max),
	})
	if err != nil {
		t.Fatal(err)
	}
	inf := uint64(math.MaxUint64)
	want := map[string]any{"CPUQuotaPerSecUSec": inf, "MemoryMax": inf, "MemorySwapMax": inf, "TasksMax": inf}
	if d := cmp.Diff(want, values(ps)); d != "" {
		t.Errorf("Properties of unlimited (-want +got):\n%s", d)
	}
	// A change of period alone (--cpu-period) leaves the quota.
	ps, _ = Properties(cgroup.Resources{CPU: &cgroup.CPUMax{Period: 20000}})
	if d := cmp.Diff(map[string]any{"CPUQuotaPeriodUSec": uint64(20000)}, values(ps)); d != "" {
		t.Errorf("Properties of a period (-want +got):\n%s", d)
	}
	if ps, _ := Properties(cgroup.Resources{}); len(ps) != 0 {
		t.Errorf("Properties of nothing = %v, want none", ps)
	}
}

// TestPropertiesQuotaExact: the kernel's quota systemd writes
// (CPUQuotaPerSecUSec * period / 1s, truncated) is the one asked for.
func TestPropertiesQuotaExact(t *testing.T) {
	for _, c := range []struct{ quota, period uint64 }{{50000, 100000}, {33333, 100000}, {1000, 30000}, {150000, 100000}, {7, 1000}} {
		ps, _ := Properties(cgroup.Resources{CPU: &cgroup.CPUMax{Quota: cgroup.LimitOf(c.quota), Period: c.period}})
		perSec := values(ps)["CPUQuotaPerSecUSec"].(uint64)
		if got := perSec * c.period / 1000000; got != c.quota {
			t.Errorf("quota %d per %d: CPUQuotaPerSecUSec %d gives the kernel %d", c.quota, c.period, perSec, got)
		}
	}
}

// TestPropertiesAgreeWithText: the typed properties ctop sets over D-Bus
// and the `systemctl set-property` text it prints name the same
// properties for the same limits.
func TestPropertiesAgreeWithText(t *testing.T) {
	rs := []cgroup.Resources{everything(), {MemoryMax: ptr(cgroup.LimitOf(1 << 30))}, {CPU: &cgroup.CPUMax{Quota: cgroup.Max}}, {MemorySwap: ptr(cgroup.Max)}}
	for i, r := range rs {
		ps, err := Properties(r)
		if err != nil {
			t.Fatal(err)
		}
		var typed, text []string
		for _, p := range ps {
			typed = append(typed, p.Name)
		}
		for _, p := range cgroup.SystemdProperties(r) {
			if n := DBusName(p.Name); !slices.Contains(text, n) {
				text = append(text, n)
			}
		}
		slices.Sort(typed)
		slices.Sort(text)
		if d := cmp.Diff(text, typed); d != "" {
			t.Errorf("resources %d: property names (-text +typed):\n%s", i, d)
		}
	}
}

func TestBitmaskRefuses(t *testing.T) {
	if _, err := Properties(cgroup.Resources{CpusetCpus: ptr("3-1")}); err == nil {
		t.Error("AllowedCPUs 3-1: no error")
	}
}

func TestAddresses(t *testing.T) {
	want := []address{{path: "/run/systemd/private"}, {path: systemBus, bus: true}}
	if d := cmp.Diff(want, addresses(0, "/run/user/0"), cmp.AllowUnexported(address{})); d != "" {
		t.Errorf("root (-want +got):\n%s", d)
	}
	want = []address{{path: "/run/user/1000/systemd/private"}, {path: "/run/user/1000/bus", bus: true}}
	for _, dir := range []string{"", "/run/user/1000"} {
		if d := cmp.Diff(want, addresses(1000, dir), cmp.AllowUnexported(address{})); d != "" {
			t.Errorf("user 1000, XDG_RUNTIME_DIR %q (-want +got):\n%s", dir, d)
		}
	}
}

func TestValidSlice(t *testing.T) {
	for _, s := range []string{"ctop.slice", "machine-ctop.slice"} {
		if err := ValidSlice(s); err != nil {
			t.Errorf("ValidSlice(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"/ctop", "ctop", ".slice", "/ctop.slice", "a b.slice", "ctop.scope"} {
		if err := ValidSlice(s); err == nil {
			t.Errorf("ValidSlice(%q): no error", s)
		}
	}
}

func TestScopeProperties(t *testing.T) {
	s := Scope{Unit: UnitName("web"), Slice: DefaultSlice, Description: "ctop sandbox web", PID: 42,
		KillSignal: 15, StopTimeout: 10e9, Resources: cgroup.Resources{PidsMax: ptr(cgroup.LimitOf(5))}}
	ps, err := s.properties()
	if err != nil {
		t.Fatal(err)
	}
	v := values(ps)
	for name, want := range map[string]any{"Slice": "ctop.slice", "PIDs": []uint32{42}, "Delegate": true,
		"CollectMode": "inactive-or-failed", "KillSignal": int32(15), "TimeoutStopUSec": uint64(10000000), "TasksMax": uint64(5)} {
		if d := cmp.Diff(want, v[name]); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	if UnitName("web") != "ctop-web.scope" {
		t.Errorf("UnitName(web) = %s", UnitName("web"))
	}
}

func TestAvailableWithoutSystemd(t *testing.T) {
	if Booted() {
		t.Skip("systemd is the init here: see test/systemd for the live tests")
	}
	if err := Available(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Available() = %v, want ErrUnavailable", err)
	}
}

func TestManages(t *testing.T) {
	user := "/user.slice/user-1000.slice/user@1000.service/app.slice/web.service"
	for _, c := range []struct {
		path string
		uid  int
		want bool
	}{
		{"/system.slice/cron.service", 0, true},
		{user, 0, false},
		{user, 1000, true},
		{user, 1001, false},
		{"/system.slice/cron.service", 1000, false},
		// The user manager's own unit is the system manager's.
		{"/user.slice/user-1000.slice/user@1000.service", 0, true},
		{"/user.slice/user-1000.slice/user@1000.service", 1000, false},
	} {
		if got := Manages(c.path, c.uid); got != c.want {
			t.Errorf("Manages(%s, %d) = %v, want %v", c.path, c.uid, got, c.want)
		}
	}
}
