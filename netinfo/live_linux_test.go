package netinfo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/nsinfo"
)

// ipCmd runs ip(8) and fails the test with its output on error.
func ipCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// ipLink is what `ip -j link` says of one link.
type ipLink struct {
	Index     int    `json:"ifindex"`
	Name      string `json:"ifname"`
	Master    string `json:"master"`
	Link      string `json:"link"`       // the peer's name, when in the same namespace
	LinkIndex int    `json:"link_index"` // the peer's ifindex
	NetNSID   *int   `json:"link_netnsid"`
	AddrInfo  []struct {
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func ipJSON(t *testing.T, args ...string) []ipLink {
	t.Helper()
	var ls []ipLink
	if err := json.Unmarshal(ipCmd(t, append([]string{"-j"}, args...)...), &ls); err != nil || len(ls) != 1 {
		t.Fatalf("ip -j %s: %d links, %v", strings.Join(args, " "), len(ls), err)
	}
	return ls
}

// sendFrom sends n UDP datagrams to addr from inside the network namespace
// at nsPath, on a locked thread that is moved back before it is unlocked.
// NOTE: Go ends a thread locked at its goroutine's exit, except the main
// thread, which it keeps (wedged) and /proc/self/ns/net keeps naming: so
// the thread is restored, and left locked only if that fails.
func sendFrom(nsPath, addr string, n int) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer home.Close()
		f, err := os.Open(nsPath)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", nsPath, err)
			return
		}
		defer func() {
			if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
		}()
		c, err := net.Dial("udp", addr)
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		for range n {
			// ECONNREFUSED is the ICMP port unreachable of an earlier
			// datagram coming back: the other side got it.
			if _, err := c.Write([]byte("ctop-test")); err != nil && !errors.Is(err, unix.ECONNREFUSED) {
				errc <- fmt.Errorf("send to %s in %s: %w", addr, nsPath, err)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		errc <- nil
	}()
	err := <-errc
	time.Sleep(200 * time.Millisecond) // queued behind ARP: let them leave
	return err
}

func nsIDOf(t *testing.T, path string) nsinfo.ID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return nsinfo.ID{Dev: st.Dev, Ino: st.Ino}
}

// TestLiveBridgeVeths builds a bridge in the host namespace and two test
// namespaces, each joined to it by a veth pair, sends traffic across, and checks
// what Read says against ip(8). It touches only ctop-test-* objects it
// made, and removes them even when it fails.
func TestLiveBridgeVeths(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and interfaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	n := os.Getpid() % 1000
	// Interface names are at most 15 bytes (IFNAMSIZ - 1).
	br := fmt.Sprintf("ctop-test-br%d", n)
	nss := []string{fmt.Sprintf("ctop-test-%d-a", os.Getpid()), fmt.Sprintf("ctop-test-%d-b", os.Getpid())}
	hostEnd := []string{fmt.Sprintf("ctop-test-h%da", n), fmt.Sprintf("ctop-test-h%db", n)}
	inEnd := []string{"ctop-test-in-a", "ctop-test-in-b"}
	addrs := []string{"10.251.77.1/24", "10.251.77.2/24"}

	probe := fmt.Sprintf("ctop-test-p%d", n)
	if out, err := exec.Command("ip", "link", "add", probe, "type", "veth", "peer", "name", probe+"x").CombinedOutput(); err != nil {
		t.Skipf("this kernel cannot make veth pairs: %v: %s", err, out)
	}
	_ = exec.Command("ip", "link", "del", probe).Run()

	t.Cleanup(func() {
		for _, h := range hostEnd {
			_ = exec.Command("ip", "link", "del", h).Run() // takes its peer along
		}
		_ = exec.Command("ip", "link", "del", br).Run()
		for _, ns := range nss {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, ns := range nss {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("ip netns add: %v: %s", err, out)
		}
	}
	ipCmd(t, "link", "add", br, "type", "bridge")
	ipCmd(t, "link", "set", br, "up")
	for i, ns := range nss {
		ipCmd(t, "link", "add", hostEnd[i], "type", "veth", "peer", "name", inEnd[i], "netns", ns)
		ipCmd(t, "link", "set", hostEnd[i], "master", br)
		ipCmd(t, "link", "set", hostEnd[i], "up")
		ipCmd(t, "-n", ns, "addr", "add", addrs[i], "dev", inEnd[i])
		ipCmd(t, "-n", ns, "link", "set", inEnd[i], "up")
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	// A process in the first namespace, so that it is found both through
	// its pid and through its bind mount.
	sleeper := exec.Command("ip", "netns", "exec", nss[0], "sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })

	// Traffic across the bridge: UDP datagrams from the first namespace to
	// the second (whatever answers, the ARP exchange and the datagrams
	// move the counters). ping(8) is not on every test host.
	if err := sendFrom(filepath.Join("/run/netns", nss[0]), "10.251.77.2:9", 5); err != nil {
		t.Fatal(err)
	}

	fs, err := nsinfo.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	procs, err := fs.ProcessesWith(nsinfo.FieldNS | nsinfo.FieldCgroups)
	if err != nil {
		t.Fatal(err)
	}
	r := New("/")
	ts := r.Targets(procs)
	snap := r.Read(ts)

	host := nsIDOf(t, "/proc/self/ns/net")
	ids := []nsinfo.ID{nsIDOf(t, filepath.Join("/run/netns", nss[0])), nsIDOf(t, filepath.Join("/run/netns", nss[1]))}
	find := func(id nsinfo.ID, name string) (*Namespace, *Link) {
		t.Helper()
		for i := range snap.Namespaces {
			ns := &snap.Namespaces[i]
			if ns.ID != id {
				continue
			}
			if ns.Err != "" {
				t.Fatalf("namespace %s: %s", id, ns.Err)
			}
			for j := range ns.Links {
				if ns.Links[j].Name == name {
					return ns, &ns.Links[j]
				}
			}
			t.Fatalf("namespace %s has no %s: %+v", id, name, ns.Links)
		}
		t.Fatalf("namespace %s (%s) not read; targets %+v", id, name, ts)
		return nil, nil
	}

	ns0, _ := find(ids[0], inEnd[0])
	if ns0.Name != nss[0] || ns0.PID == 0 {
		t.Errorf("namespace %s: name %q pid %d, want its mount name and the sleeper's pid", ids[0], ns0.Name, ns0.PID)
	}
	for i := range nss {
		// The host end, as ip link shows it.
		want := ipJSON(t, "link", "show", hostEnd[i])[0]
		_, got := find(host, hostEnd[i])
		if got.Type != "veth" || got.Master != br || want.Master != br {
			t.Errorf("%s: type %s master %q, ip says master %q; want veth on %s", hostEnd[i], got.Type, got.Master, want.Master, br)
		}
		inside := ipJSON(t, "-n", nss[i], "addr", "show", inEnd[i])[0]
		if got.Peer == nil || got.Peer.NS != ids[i] || got.Peer.Name != inEnd[i] || got.Peer.Index != inside.Index || want.LinkIndex != inside.Index {
			t.Errorf("%s: peer %+v; want %s (ifindex %d, ip says %d) in namespace %s", hostEnd[i], got.Peer, inEnd[i], inside.Index, want.LinkIndex, ids[i])
		}
		// The inner end: its peer is the host end, whose master is the
		// bridge; its addresses are ip's.
		_, in := find(ids[i], inEnd[i])
		if in.Peer == nil || in.Peer.NS != host || in.Peer.Index != want.Index || in.Peer.Master != br {
			t.Errorf("%s in %s: peer %+v; want %s (ifindex %d) in the host on %s", inEnd[i], nss[i], in.Peer, hostEnd[i], want.Index, br)
		}
		var ipAddrs []string
		for _, a := range inside.AddrInfo {
			ipAddrs = append(ipAddrs, fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
		}
		slices.Sort(ipAddrs)
		gotAddrs := slices.Sorted(slices.Values(in.Addrs))
		if !slices.Equal(gotAddrs, ipAddrs) || !slices.Contains(in.Addrs, addrs[i]) {
			t.Errorf("%s addresses = %v, ip says %v", inEnd[i], in.Addrs, ipAddrs)
		}
		if in.State != "up" {
			t.Errorf("%s state %s, want up", inEnd[i], in.State)
		}
	}
	// The datagrams left the first namespace through its veth.
	_, in0 := find(ids[0], inEnd[0])
	if in0.Counters == nil || in0.Counters.TxPackets < 5 || in0.Counters.TxBytes == 0 {
		t.Errorf("%s counters %+v, want at least the 5 datagrams sent", inEnd[0], in0.Counters)
	}
	_, h0 := find(host, hostEnd[0])
	if h0.Counters == nil || h0.Counters.RxPackets < in0.Counters.TxPackets {
		t.Errorf("host end %s received %+v, want what %s sent (%+v)", hostEnd[0], h0.Counters, inEnd[0], in0.Counters)
	}
}
