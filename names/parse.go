package names

import (
	"path"
	"strings"

	"github.com/ctop-dev/ctop/sandbox"
)

// Parse reads what the group at p holds from its path alone: systemd's
// unit names, the scopes and directories container engines make, the
// slices and directories the kubelet makes for pods, LXC's and ctop's
// groups. It knows ids but not the names engines give containers; a
// Resolver adds those. An unknown path gives the zero Name.
func Parse(p string) Name {
	p = path.Clean("/" + p)
	if p == "/" {
		return Name{}
	}
	comps := strings.Split(p[1:], "/")
	if n, ok := parseKube(comps); ok {
		return n
	}
	b := comps[len(comps)-1]
	parent := ""
	if len(comps) > 1 {
		parent = comps[len(comps)-2]
	}
	if id, rt, ok := containerID(b); ok {
		return container(rt, id)
	}
	switch {
	case parent == "docker" && isID(b):
		return container(RuntimeDocker, b)
	case strings.HasPrefix(b, "lxc.payload.") && len(b) > len("lxc.payload."):
		return Name{Kind: KindLXC, Runtime: RuntimeLXC, Name: strings.TrimPrefix(b, "lxc.payload.")}
	case parent == "lxc" && len(comps) == 2:
		return Name{Kind: KindLXC, Runtime: RuntimeLXC, Name: b}
	case "/"+parent == sandbox.DefaultCgroupParent && len(comps) == 2:
		return Name{Kind: KindSandbox, Runtime: RuntimeCtop, Name: b}
	}
	return parseSystemd(b)
}

// parseSystemd names a unit by its suffix (systemd.unit(5)).
func parseSystemd(b string) Name {
	stem, suffix, ok := cutLast(b, ".")
	if !ok || stem == "" {
		return Name{}
	}
	n := Name{Runtime: RuntimeSystemd, Unit: b}
	switch suffix {
	case "slice":
		n.Kind = KindSlice
		if uid, ok := strings.CutPrefix(stem, "user-"); ok && isDigits(uid) {
			n.Kind, n.Name = KindUser, uid
		}
	case "service":
		n.Kind = KindUnit
		if uid, ok := strings.CutPrefix(stem, "user@"); ok && isDigits(uid) {
			n.Kind, n.Name = KindUser, uid
		}
	case "scope":
		n.Kind = KindScope
		if s, ok := strings.CutPrefix(stem, "session-"); ok && s != "" {
			n.Kind, n.Name = KindSession, s
		} else if m, ok := strings.CutPrefix(stem, "machine-"); ok && m != "" {
			n.Kind, n.Name = KindMachine, unescape(m)
		}
	case "mount", "swap", "socket":
		n.Kind = KindUnit
	default:
		return Name{}
	}
	return n
}

// containerID recognises the group one container's engine makes for it:
// docker-ID.scope (docker with the systemd cgroup driver), libpod-ID.scope
// or libpod-ID (podman), cri-containerd-ID.scope and nerdctl-ID.scope
// (containerd), crio-ID.scope or crio-ID (CRI-O).
func containerID(b string) (string, Runtime, bool) {
	stem := strings.TrimSuffix(b, ".scope")
	for _, c := range []struct {
		prefix string
		rt     Runtime
	}{
		{"docker-", RuntimeDocker},
		{"libpod-", RuntimePodman},
		{"cri-containerd-", RuntimeContainerd},
		{"nerdctl-", RuntimeContainerd},
		{"crio-", RuntimeCRIO},
	} {
		if id, ok := strings.CutPrefix(stem, c.prefix); ok && isID(id) {
			return id, c.rt, true
		}
	}
	return "", "", false
}

func container(rt Runtime, id string) Name {
	return Name{Kind: KindContainer, Runtime: rt, ID: id, ShortID: id[:12]}
}

// parseKube names the kubelet's groups. With the systemd driver:
// kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID>.slice
// /cri-containerd-<ID>.scope, where the pod's UID has '_' for '-' and a
// guaranteed pod sits directly in kubepods.slice. With the cgroupfs driver:
// /kubepods/burstable/pod<UID>/<ID>, a guaranteed pod in /kubepods.
func parseKube(comps []string) (Name, bool) {
	for i, c := range comps {
		if c == "kubepods" {
			return parseKubeFS(comps[i+1:])
		}
		if c == "kubepods.slice" {
			return parseKubeSlices(comps[i+1:])
		}
	}
	return Name{}, false
}

func parseKubeFS(rest []string) (Name, bool) {
	qos := "guaranteed"
	if len(rest) > 0 && (rest[0] == "burstable" || rest[0] == "besteffort") {
		qos, rest = rest[0], rest[1:]
		if len(rest) == 0 {
			return Name{Kind: KindSlice, QoS: qos}, true
		}
	}
	if len(rest) == 0 {
		return Name{}, false
	}
	uid, ok := strings.CutPrefix(rest[0], "pod")
	if !ok || uid == "" {
		return Name{}, false
	}
	pod := Name{Kind: KindPod, PodUID: uid, QoS: qos}
	switch len(rest) {
	case 1:
		return pod, true
	case 2:
		id, rt, ok := containerID(rest[1])
		if !ok && isID(rest[1]) {
			id, ok = rest[1], true
		}
		if !ok {
			return Name{}, false
		}
		n := container(rt, id)
		n.PodUID, n.QoS = uid, qos
		return n, true
	}
	return Name{}, false
}

func parseKubeSlices(rest []string) (Name, bool) {
	if len(rest) == 0 {
		return Name{Kind: KindSlice, Runtime: RuntimeSystemd, Unit: "kubepods.slice"}, true
	}
	qos := "guaranteed"
	if q, ok := strings.CutPrefix(rest[0], "kubepods-"); ok {
		q = strings.TrimSuffix(q, ".slice")
		if q == "burstable" || q == "besteffort" {
			qos = q
			if len(rest) == 1 {
				return Name{Kind: KindSlice, Runtime: RuntimeSystemd, Unit: rest[0], QoS: qos}, true
			}
			rest = rest[1:]
		}
	}
	stem, ok := strings.CutSuffix(rest[0], ".slice")
	if !ok {
		return Name{}, false
	}
	i := strings.LastIndex(stem, "-pod")
	if i < 0 || i+4 == len(stem) {
		return Name{}, false
	}
	uid := strings.ReplaceAll(stem[i+4:], "_", "-")
	pod := Name{Kind: KindPod, Runtime: RuntimeSystemd, Unit: rest[0], PodUID: uid, QoS: qos}
	switch len(rest) {
	case 1:
		return pod, true
	case 2:
		id, rt, ok := containerID(rest[1])
		if !ok {
			return Name{}, false
		}
		n := container(rt, id)
		n.PodUID, n.QoS, n.Unit = uid, qos, rest[1]
		return n, true
	}
	return Name{}, false
}

// isID reports whether s is a 64-digit lower-case hex container id, as
// docker, podman, containerd and CRI-O all make them.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
