package sandbox

import (
	"fmt"
	"slices"
	"strings"
)

// A sandbox of a user who is not root ("rootless", as podman says) lives
// in a subtree of cgroup v2 that root delegated to the user (systemd's
// user@UID.service) and in a user namespace of the user's own. What needs
// root on the host it cannot have, and each such option is refused in one
// line that names it; see README's rootless section.

// DelegateDropIn is the systemd drop-in that delegates every controller
// ctop's limits use to users' managers (systemd.resource-control(5)).
const DelegateDropIn = "/etc/systemd/system/user@.service.d/delegate.conf"

// v2Controller is the cgroup v2 name of an option row's controller.
func v2Controller(c string) string {
	if c == "blkio" {
		return "io"
	}
	return c
}

// CheckDelegated checks that every limit spec sets has its controller in
// controllers, those a group's children may enable: the cgroup.controllers
// of the parent the sandbox is made under. A limit whose controller is
// missing is refused in one line naming the option, the missing and the
// delegated controllers, and the systemd drop-in that delegates them.
// Without limits on such controllers the sandbox just runs.
func CheckDelegated(controllers []string, spec *Spec) error {
	l := LimitsOf(spec.Resources)
	var opts, missing []string
	for _, o := range Options() {
		if o.Limit == nil || o.Format == nil {
			continue
		}
		c := v2Controller(o.Files.Controller)
		if slices.Contains(controllers, c) {
			continue
		}
		vs := o.Format(l)
		if len(vs) == 0 {
			continue
		}
		if !slices.Contains(missing, c) {
			missing = append(missing, c)
			opts = append(opts, "--"+o.Name+" "+vs[0])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	have := "none"
	if len(controllers) > 0 {
		have = strings.Join(controllers, " ")
	}
	noun := "controller is"
	if len(missing) > 1 {
		noun = "controllers are"
	}
	return fmt.Errorf("%s: the %s %s not delegated to this user (delegated: %s): root can add %s with \"[Service]\" \"Delegate=cpu cpuset io memory pids\", run systemctl daemon-reload, and the user log in again",
		strings.Join(opts, ", "), andList(missing), noun, have, DelegateDropIn)
}

// checkRootless refuses what a sandbox of uid, who is not root, cannot
// have, in the option table's order; each message names the option.
func checkRootless(spec *Spec, uid int) error {
	if len(spec.Devices) > 0 {
		d := spec.Devices[0]
		return fmt.Errorf("--device %s: a host device needs root (uid %d's user namespace may neither make device nodes nor set the devices cgroup)", d.Host, uid)
	}
	if !spec.Resources.Empty() && !spec.Has(NSCgroup) && (spec.User == nil || spec.User.UID == 0) {
		// Root in the sandbox is the user outside, who owns the sandbox's
		// group and its files: only a cgroup namespace of its own, whose
		// root's files the kernel keeps from writes inside (nsdelegate),
		// holds it to its limits.
		return fmt.Errorf("--ns %s: limits of a sandbox of uid %d need a cgroup namespace (its root owns its cgroup's files): add cgroup to --ns, or give a --user who is not root", nsList(spec.Namespaces), uid)
	}
	return nil
}

// andList joins words as "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
