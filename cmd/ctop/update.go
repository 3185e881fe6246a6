package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/sandbox"
	"github.com/ctop-dev/ctop/systemd"
)

func newUpdateCmd() *cobra.Command {
	var place sandboxPlace
	c := &cobra.Command{
		Use:   "update [flags] NAME|CGROUP-PATH",
		Short: "Change the limits of a running sandbox, or of any cgroup, live",
		Long: `Change cgroup limits while the processes run. The target is a sandbox's
name, any cgroup path (one with a '/', like /system.slice/cron.service), or
the name of what runs in a group: a docker or podman container's name or short
id, a systemd unit (cron.service), a pod's namespace/name.
The flags, their units and their validation are ctop run's.

When docker, podman or the kubelet owns the group, its own record still
holds the old limits (a restart puts them back): ctop says so and prints the
command that records the new ones there. A systemd unit's group (a sandbox
under --cgroup-manager systemd too) on a systemd host with cgroup v2 alone
gets its limits as the unit's runtime properties, through systemd, which
writes the files: systemctl show and the kernel then agree. --memory alone keeps a docker
container's swap allowance: memory+swap grows or shrinks with the memory.`,
		Example: `  ctop update --cpus 0.1 busy
  ctop update --memory 512m --memory-swap 512m /system.slice/cron.service
  ctop update --memory 1g shop-web-1     # a docker container, by name`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr(errors.New("update: give one sandbox name or cgroup path"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			r, err := sandbox.ParseUpdate(givenOptions(c.Flags()))
			if err != nil {
				return usageErr(err)
			}
			if r.Empty() {
				return usageErr(errors.New("update: no limit to change: give --cpus, --memory, --pids-limit or another limit flag"))
			}
			f, err := cgroup.Open("/")
			if err != nil {
				return usageErr(err)
			}
			_ = place.forUser(c.Flags(), f)
			target := args[0]
			res := newResolver(place.stateDir)
			if _, lerr := sandbox.Load(place.stateDir, target); lerr != nil || strings.Contains(target, "/") {
				// A cgroup path, or a container's, unit's or sandbox's name.
				if target, err = groupOf(f, res, target); err != nil {
					return usageErr(err)
				}
			}
			var owner names.Name
			var ownerAt string
			if strings.Contains(target, "/") {
				owner, ownerAt = names.Owner(target, res.Names(names.Ancestors([]string{target})))
			}
			if owner.Kind == names.KindContainer && owner.Pod == "" {
				h, _ := f.Hierarchy("memory")
				if g, err := f.Read(target); err == nil {
					if sw, ok := cgroup.KeepSwap(h.Version == 1, g.Limits.Memory, &r); ok {
						fmt.Fprintf(c.ErrOrStderr(), "ctop: kept %s's swap allowance of %s, as docker does: memory+swap is now %s (give --memory-swap to change it)\n",
							owner, sandbox.FormatBytes(g.Limits.Memory.Swap.V), sandbox.FormatBytes(sw.V))
					}
				}
			}
			path, unit, err := applyLimits(f, owner, ownerAt, place.stateDir, target, r)
			if err != nil {
				return usageErr(givenOptions(c.Flags()).Blame(err))
			}
			if unit != "" {
				fmt.Fprintf(c.ErrOrStderr(), "ctop: set through systemd as %s's runtime properties (systemctl set-property --runtime), so its record and the kernel agree\n", unit)
			} else if hint := names.SyncHint(owner, givenOptions(c.Flags()), r); hint != "" {
				fmt.Fprintln(c.ErrOrStderr(), "ctop:", hint)
			}
			if r.MemoryMax != nil && r.MemoryMax.Finite() {
				// A limit below current usage is accepted: the kernel then
				// reclaims, and OOM-kills if it cannot.
				if g, err := f.Read(path); err == nil && g.Stats.Memory.Current.OK && g.Stats.Memory.Current.V > r.MemoryMax.V {
					fmt.Fprintf(os.Stderr, "ctop: %s uses %s, above its new %s memory limit: the kernel reclaims or OOM-kills\n",
						path, sandbox.FormatBytes(g.Stats.Memory.Current.V), sandbox.FormatBytes(r.MemoryMax.V))
				}
			}
			fmt.Fprintln(c.OutOrStdout(), args[0])
			return nil
		},
	}
	c.SetFlagErrorFunc(flagErr125)
	registerOptions(c.Flags(), sandbox.CmdUpdate)
	place.register(c.Flags())
	return c
}

// applyLimits sets r on target (a sandbox's name or a group's path, its
// owner found at ownerAt): through systemd, as the unit's runtime
// properties, when systemd owns the group (unit is then the unit's
// name), else by writing the group's files (sandbox.UpdateTarget). A
// group only named like a unit, which systemd does not know, is written.
// path is the group's.
func applyLimits(f *cgroup.FS, owner names.Name, ownerAt, stateDir, target string, r cgroup.Resources) (path, unit string, err error) {
	if unit = systemdUnit(f, owner, ownerAt, target); unit != "" {
		err := systemd.SetUnitResources(context.Background(), unit, r)
		if err == nil {
			return target, unit, nil
		}
		if !errors.Is(err, systemd.ErrNoUnit) {
			return "", "", err
		}
	}
	path, err = sandbox.UpdateTarget(f, stateDir, target, r)
	return path, "", err
}

// systemdUnit is the systemd unit whose group target is, when ctop update
// is to set its limits through systemd rather than write them behind its
// back: a plain unit (not a container's or a pod's, whose own records
// docker, podman and the kubelet keep), of the caller's manager, on a host
// where systemd is the init on cgroup v2 alone. "" otherwise.
func systemdUnit(f *cgroup.FS, owner names.Name, at, target string) string {
	if owner.Runtime != names.RuntimeSystemd || owner.Unit == "" || owner.Pod != "" || owner.PodUID != "" ||
		filepath.Clean(at) != filepath.Clean(target) || f.Mode() != cgroup.ModeUnified ||
		!systemd.Manages(target, os.Geteuid()) || systemd.Available() != nil {
		return ""
	}
	return owner.Unit
}
