package names

import (
	"fmt"
	"strings"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// SyncHint is the line ctop update prints when another manager owns the
// group it changed: that manager's own record still holds the old limits
// (docker inspect shows them, a restart puts them back), and the command
// that records the new ones there. g are the options as given, which for
// docker and podman are their own update flags; r is what they parsed to,
// which systemd records as unit properties. "" when ctop or nobody owns
// the group.
func SyncHint(owner Name, g sandbox.Given, r cgroup.Resources) string {
	switch {
	case owner.Kind == KindSandbox || !owner.Known():
		return ""
	case owner.Pod != "" || owner.PodUID != "":
		return fmt.Sprintf("%s is managed by the kubelet, whose pod spec still holds the old limits and may restore them: change the pod's resources to keep them", owner)
	case owner.Kind == KindContainer && (owner.Runtime == RuntimeDocker || owner.Runtime == RuntimePodman):
		who := owner.Name
		if who == "" {
			who = owner.ShortID
		}
		return fmt.Sprintf("%s's own record of %s still holds the old limits (a restart puts them back); to keep it in sync: %s update %s %s",
			owner.Runtime, who, owner.Runtime, strings.Join(givenFlags(g), " "), who)
	case owner.Runtime == RuntimeSystemd && owner.Unit != "":
		var props []string
		for _, p := range cgroup.SystemdProperties(r) {
			props = append(props, shellWord(p.String()))
		}
		if len(props) == 0 {
			return ""
		}
		return fmt.Sprintf("systemd's record of %s still holds the old limits (a restart or daemon-reload puts them back); to keep it in sync: systemctl set-property %s %s",
			owner.Unit, owner.Unit, strings.Join(props, " "))
	}
	return ""
}

// givenFlags writes the options given back as flags, in the option
// table's order: ctop's update flags are docker's vocabulary.
func givenFlags(g sandbox.Given) []string {
	var out []string
	for _, o := range sandbox.Options() {
		for _, v := range g[o.Name] {
			out = append(out, "--"+o.Name+" "+shellWord(v))
		}
	}
	return out
}

// shellWord quotes v for a shell when it needs it.
func shellWord(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\"\\$`*?[]{}()<>|&;!#~") {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
