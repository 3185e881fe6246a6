package names

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// podIndex is what the kubelet's log directories say about pods: it makes
// /var/log/pods/NAMESPACE_POD_UID/CONTAINER/ for every pod and container
// it runs, and /var/log/containers/POD_NAMESPACE_CONTAINER-ID.log linking
// into it. (Pod, namespace and container names are DNS labels: no '_'.)
type podIndex struct {
	byUID     map[string]podInfo
	container map[string]string // container id → its name in the pod
	scanned   time.Time
}

type podInfo struct{ namespace, name string }

// addPod fills n's pod namespace, pod name and container name, listing
// the kubelet's directories again when the pod is new to the index (at
// most every podsRescan).
func (r *Resolver) addPod(n *Name) {
	_, ok := r.pods.byUID[n.PodUID]
	if !ok && r.now().Sub(r.pods.scanned) >= podsRescan {
		r.pods = scanPods(r.opts.Root)
		r.pods.scanned = r.now()
	}
	if p, ok := r.pods.byUID[n.PodUID]; ok {
		n.PodNamespace, n.Pod = p.namespace, p.name
	}
	if n.ID != "" {
		n.Container = r.pods.container[n.ID]
	}
}

func scanPods(root string) podIndex {
	ix := podIndex{byUID: map[string]podInfo{}, container: map[string]string{}}
	ents, _ := os.ReadDir(filepath.Join(root, "var/log/pods"))
	for _, e := range ents {
		parts := strings.Split(e.Name(), "_")
		if len(parts) != 3 || !e.IsDir() {
			continue
		}
		ix.byUID[parts[2]] = podInfo{namespace: parts[0], name: parts[1]}
	}
	ents, _ = os.ReadDir(filepath.Join(root, "var/log/containers"))
	for _, e := range ents {
		stem, ok := strings.CutSuffix(e.Name(), ".log")
		parts := strings.Split(stem, "_")
		if !ok || len(parts) != 3 {
			continue
		}
		i := strings.LastIndexByte(parts[2], '-')
		if i < 0 || !isID(parts[2][i+1:]) {
			continue
		}
		ix.container[parts[2][i+1:]] = parts[2][:i]
	}
	return ix
}
