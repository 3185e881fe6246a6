package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/netinfo"
	"github.com/ctop-dev/ctop/nsinfo"
)

var (
	netHost = nsinfo.ID{Dev: 4, Ino: 4026531840}
	netWeb  = nsinfo.ID{Dev: 4, Ino: 4026532300}
)

// fakeNet is a docker host: docker0 with one veth to the container web,
// whose counters advance each reading, one second apart.
type fakeNet struct {
	calls int
	err   error
}

func (f *fakeNet) Networks() (NetTable, error) {
	if f.err != nil {
		return NetTable{}, f.err
	}
	n := uint64(f.calls)
	f.calls++
	c := func(rx, tx uint64) *netinfo.Counters {
		return &netinfo.Counters{RxBytes: rx * n, TxBytes: tx * n}
	}
	snap := &netinfo.Snapshot{Time: base.Add(time.Duration(n) * time.Second), Namespaces: []netinfo.Namespace{
		{Target: netinfo.Target{ID: netHost, PID: 1}, Links: []netinfo.Link{
			{Index: 1, Name: "lo", Type: "loopback", State: "unknown", Addrs: []string{"127.0.0.1/8"}, Counters: c(0, 0)},
			{Index: 3, Name: "docker0", Type: "bridge", State: "up", Addrs: []string{"172.17.0.1/16"}, Counters: c(100, 2048)},
			{Index: 7, Name: "veth1a2b", Type: "veth", State: "up", Master: "docker0", MasterIndex: 3,
				Peer: &netinfo.Peer{NS: netWeb, Index: 2, Name: "eth0"}, Counters: c(1024, 4096)},
		}},
		{Target: netinfo.Target{ID: netWeb, PID: 300}, Links: []netinfo.Link{
			{Index: 1, Name: "lo", Type: "loopback", State: "unknown", Addrs: []string{"127.0.0.1/8"}, Counters: c(0, 0)},
			{Index: 2, Name: "eth0", Type: "veth", State: "up", Addrs: []string{"172.17.0.2/16"},
				Peer: &netinfo.Peer{NS: netHost, Index: 7, Name: "veth1a2b", Master: "docker0"}, Counters: c(4096, 1024)},
		}},
		{Target: netinfo.Target{ID: nsinfo.ID{Dev: 4, Ino: 4026532999}, PID: 400}, Err: "enter net namespace 4026532999: operation not permitted"},
	}}
	return NetTable{Snap: snap, Owners: map[nsinfo.ID]string{netHost: "host", netWeb: "web"}}, nil
}

func netModel(t *testing.T, f *fakeNet) Model {
	t.Helper()
	h := newFakeHost()
	src := h.sources()
	src.Net = f
	m := New(Options{Sources: src, Renderer: asciiRenderer(), Now: func() time.Time { return base }})
	m.ticker = func(int, time.Duration) tea.Cmd { return func() tea.Msg { return nil } }
	return send(m, tea.WindowSizeMsg{Width: 120, Height: 24})
}

func netOf(m Model) networkView { return m.views[vNet].(networkView) }

// Switching to Networks reads it at once; a tick reads it again, and the
// second reading gives rates. Other views never read it.
func TestNetworkViewSamples(t *testing.T) {
	f := &fakeNet{}
	m := netModel(t, f)
	m = sampleNow(m)
	nm, _ := m.Update(tickMsg{gen: m.tickGen})
	m = nm.(Model)
	if f.calls != 0 {
		t.Fatalf("the Cgroups view read the networks %d times", f.calls)
	}
	m = keys(m, "4")
	if f.calls != 1 || netOf(m).cur == nil {
		t.Fatalf("switching to Networks read %d times, snapshot %v", f.calls, netOf(m).cur)
	}
	got := m.View()
	for _, want := range []string{"4 Networks", "OWNER", "host", "docker0", "web:eth0", "host:veth1a2b", "docker0 (peer)", "172.17.0.2/16",
		"1 namespaces could not be read: enter net namespace 4026532999: operation not permitted"} {
		if !strings.Contains(got, want) {
			t.Errorf("Networks view lacks %q:\n%s", want, got)
		}
	}
	// A tick samples the current view's own source too.
	nm, cmd := m.Update(tickMsg{gen: m.tickGen})
	m = runCmd(nm.(Model), cmd)
	if f.calls != 2 {
		t.Fatalf("a tick in Networks read %d times, want 2", f.calls)
	}
	if r := netOf(m).rates[netinfo.Key{NS: netWeb, Index: 2}]; !r.OK || r.Rx != 4096 || r.Tx != 1024 {
		t.Errorf("eth0's rate = %+v, want 4096 rx, 1024 tx per second", r)
	}
	if got := m.View(); !strings.Contains(got, "4.0K") {
		t.Errorf("no rate shown:\n%s", got)
	}
	// Frozen: no reading.
	m = keys(m, "f")
	nm, cmd = m.Update(tickMsg{gen: m.tickGen})
	m = runCmd(nm.(Model), cmd)
	if f.calls != 2 {
		t.Errorf("a frozen model read the networks (%d)", f.calls)
	}
}

// p jumps from a veth to its peer in the other namespace and back; the
// filter keeps matching interfaces; e explains veths.
func TestNetworkViewKeys(t *testing.T) {
	m := netModel(t, &fakeNet{})
	m = keys(m, "4", "j", "j")
	if l := netOf(m).selected(); l == nil || l.Name != "veth1a2b" {
		t.Fatalf("selected %+v, want veth1a2b", l)
	}
	m = keys(m, "p")
	v := netOf(m)
	if l := v.selected(); l == nil || l.Name != "eth0" || v.cur.Namespaces[v.rows[v.list.cursor].ns].ID != netWeb {
		t.Fatalf("p went to %+v, want web's eth0", l)
	}
	m = keys(m, "p")
	if l := netOf(m).selected(); l == nil || l.Name != "veth1a2b" {
		t.Errorf("p from eth0 went to %+v, want veth1a2b", l)
	}
	m = keys(m, "e")
	if got := m.View(); !strings.Contains(got, "veth pairs") || !strings.Contains(got, "Bridges") {
		t.Errorf("e on a veth does not explain veths and bridges:\n%s", got)
	}
	m = keys(m, "esc", "/")
	m = typeText(m, "172.17")
	m = keys(m, "enter")
	if v := netOf(m); len(v.rows) != 2 {
		t.Errorf("filter 172.17 kept %d rows, want docker0 and eth0", len(v.rows))
	}
}

// A failing source shows its error; no source says so.
func TestNetworkViewUnavailable(t *testing.T) {
	m := netModel(t, &fakeNet{err: errors.New("netlink: boom")})
	if got := keys(m, "4").View(); !strings.Contains(got, "netlink: boom") {
		t.Errorf("error not shown:\n%s", got)
	}
	m = newTestModel(t, newFakeHost(), 80, 24, 1, "")
	if got := keys(m, "4").View(); !strings.Contains(got, "not available") {
		t.Errorf("no source not said:\n%s", got)
	}
}
