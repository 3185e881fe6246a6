package netinfo

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/nsinfo"
)

// timeout bounds one netlink request, so that a wedged namespace cannot
// hang a refresh.
const timeout = 2 * time.Second

// Read reads the links and addresses of every target and resolves each
// veth's peer among them. A namespace that cannot be entered (no root, or
// its last process exited) is kept with Err set; Read itself does not
// fail.
func (r Reader) Read(ts []Target) *Snapshot {
	snap := &Snapshot{Time: time.Now(), Namespaces: make([]Namespace, len(ts))}
	files := make([]*os.File, len(ts))
	handles := make([]*netlink.Handle, len(ts))
	defer func() {
		for i := range ts {
			if handles[i] != nil {
				handles[i].Close()
			}
			if files[i] != nil {
				files[i].Close()
			}
		}
	}()
	for i, t := range ts {
		ns := &snap.Namespaces[i]
		ns.Target = t
		f, err := r.open(t)
		if err != nil {
			ns.Err = err.Error()
			continue
		}
		files[i] = f
		h, err := r.handle(t, f)
		if err != nil {
			ns.Err = err.Error()
			continue
		}
		handles[i] = h
		if ns.Links, err = readLinks(h); err != nil {
			ns.Err = fmt.Sprintf("read links of net namespace %s: %v", t.ID, err)
		}
	}
	// The peer's namespace of a veth is an id in the table of the
	// namespace holding the veth: ask that namespace, once, which id each
	// other namespace has there. RTM_GETNSID does not assign ids, so this
	// changes nothing in the kernel.
	nsids := make([]map[int]int, len(ts))
	for i := range ts {
		if handles[i] == nil || !crossNS(snap.Namespaces[i].Links) {
			continue
		}
		m := map[int]int{}
		for o := range ts {
			if o == i || files[o] == nil {
				continue
			}
			if id, err := handles[i].GetNetNsIdByFd(int(files[o].Fd())); err == nil && id >= 0 {
				m[id] = o
			}
		}
		nsids[i] = m
	}
	resolve(snap.Namespaces, nsids)
	return snap
}

// crossNS reports whether any link's peer is in another namespace.
func crossNS(ls []Link) bool {
	for _, l := range ls {
		if l.Peer != nil && l.peerNSID >= 0 {
			return true
		}
	}
	return false
}

// open opens a file that refers to t: its bind mount, else its process's
// link, checking that it is still t (a pid may have been reused).
func (r Reader) open(t Target) (*os.File, error) {
	p := t.Mount
	if p == "" {
		if t.PID == 0 {
			return nil, fmt.Errorf("net namespace %s: no process or mount to enter it by", t.ID)
		}
		p = filepath.Join(r.root, "proc", strconv.Itoa(t.PID), "ns", "net")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open net namespace %s: %w", t.ID, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if st.Ino != t.ID.Ino || t.ID.Dev != 0 && st.Dev != t.ID.Dev {
		f.Close()
		return nil, fmt.Errorf("open net namespace %s: %s is now namespace %d (its process exited)", t.ID, p, st.Ino)
	}
	return f, nil
}

// handle opens a rtnetlink socket in t's namespace. The reader's own
// namespace needs no entering (and so no privilege); another one is
// entered by the library on a locked OS thread, which it moves back.
func (r Reader) handle(t Target, f *os.File) (*netlink.Handle, error) {
	h, here, err := handleHere(t.ID)
	if !here {
		h, err = netlink.NewHandleAt(netns.NsHandle(int(f.Fd())), unix.NETLINK_ROUTE)
	}
	if err != nil {
		return nil, fmt.Errorf("enter net namespace %s: %w", t.ID, err)
	}
	if err := h.SetSocketTimeout(timeout); err != nil {
		h.Close()
		return nil, fmt.Errorf("set netlink timeout in net namespace %s: %w", t.ID, err)
	}
	return h, nil
}

// handleHere opens a socket without entering when the calling thread is
// in namespace id already; here is false when it is not. The thread's own
// link is asked, on a locked thread: /proc/self names the main thread's
// namespace, which need not be this thread's.
func handleHere(id nsinfo.ID) (h *netlink.Handle, here bool, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) != nil || (nsinfo.ID{Dev: st.Dev, Ino: st.Ino}) != id {
		return nil, false, nil
	}
	h, err = netlink.NewHandleAt(netns.None(), unix.NETLINK_ROUTE)
	return h, true, err
}

// readLinks lists the links of h's namespace with their addresses
// (RTM_GETLINK and RTM_GETADDR dumps, as `ip link` and `ip addr` send).
func readLinks(h *netlink.Handle) ([]Link, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, err
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	byLink := map[int][]string{}
	for _, a := range addrs {
		if a.IPNet != nil {
			byLink[a.LinkIndex] = append(byLink[a.LinkIndex], a.IPNet.String())
		}
	}
	out := make([]Link, 0, len(links))
	for _, nl := range links {
		a := nl.Attrs()
		l := Link{
			Index: a.Index, Name: a.Name, Type: nl.Type(), State: a.OperState.String(),
			Up: a.Flags&net.FlagUp != 0, MTU: a.MTU, MAC: a.HardwareAddr.String(),
			MasterIndex: a.MasterIndex, Addrs: byLink[a.Index], peerNSID: -1,
		}
		if a.Flags&net.FlagLoopback != 0 {
			l.Type = "loopback"
		}
		if l.Addrs == nil {
			l.Addrs = []string{}
		}
		if l.Type == "veth" {
			// IFLA_LINK of a veth is its peer's ifindex, in the namespace
			// IFLA_LINK_NETNSID names (netlink leaves -1 when absent).
			l.Peer = &Peer{Index: a.ParentIndex}
			l.peerNSID = a.NetNsID
		}
		if s := a.Statistics; s != nil {
			l.Counters = &Counters{RxBytes: s.RxBytes, TxBytes: s.TxBytes, RxPackets: s.RxPackets, TxPackets: s.TxPackets}
		}
		out = append(out, l)
	}
	return out, nil
}
