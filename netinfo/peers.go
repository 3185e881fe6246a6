package netinfo

// resolve names each link's master and finds the other end of each veth
// among nss. nsids[i] maps the netns ids of namespace i's id table
// (rtnetlink's RTM_GETNSID: ids are local to the namespace that assigned
// them) to indices in nss; it may be nil or miss ids.
//
// A veth's IFLA_LINK is the peer's ifindex and IFLA_LINK_NETNSID the
// peer's namespace as namespace i numbers it (absent: the same
// namespace). When the id is not in nsids (the kernel gave none, or the
// namespace was not read) the peer is still found when exactly one veth in
// another namespace points back: its ifindex is our IFLA_LINK and its
// IFLA_LINK is our ifindex.
func resolve(nss []Namespace, nsids []map[int]int) {
	type at struct{ ns, link int }
	byIndex := make([]map[int]int, len(nss))
	for i := range nss {
		byIndex[i] = make(map[int]int, len(nss[i].Links))
		for j, l := range nss[i].Links {
			byIndex[i][l.Index] = j
		}
	}
	for i := range nss {
		for j := range nss[i].Links {
			l := &nss[i].Links[j]
			if k, ok := byIndex[i][l.MasterIndex]; ok && l.MasterIndex != 0 {
				l.Master = nss[i].Links[k].Name
			}
		}
	}
	for i := range nss {
		for j := range nss[i].Links {
			l := &nss[i].Links[j]
			if l.Peer == nil {
				continue
			}
			other := -1
			switch {
			case l.peerNSID < 0:
				other = i
			case i < len(nsids) && nsids[i] != nil:
				if o, ok := nsids[i][l.peerNSID]; ok {
					other = o
				}
			}
			if other < 0 {
				var found []at
				for o := range nss {
					if o == i {
						continue
					}
					if k, ok := byIndex[o][l.Peer.Index]; ok {
						p := nss[o].Links[k]
						if p.Peer != nil && p.Peer.Index == l.Index && p.peerNSID >= 0 {
							found = append(found, at{o, k})
						}
					}
				}
				if len(found) == 1 {
					other = found[0].ns
				}
			}
			if other < 0 {
				continue
			}
			l.Peer.NS = nss[other].ID
			if k, ok := byIndex[other][l.Peer.Index]; ok {
				p := nss[other].Links[k]
				l.Peer.Name = p.Name
				l.Peer.Master = p.Master
			}
		}
	}
}
