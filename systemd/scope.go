package systemd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/ctop-dev/ctop/cgroup"
)

// DefaultSlice is the slice ctop's scopes go in, made by systemd when the
// first scope names it.
const DefaultSlice = "ctop.slice"

// jobTimeout bounds the wait for a start or stop job: systemd runs jobs
// in order, so one queued behind a slow unit could wait long.
const jobTimeout = 30 * time.Second

// UnitName is the scope of sandbox name.
func UnitName(name string) string { return "ctop-" + name + ".scope" }

// ValidSlice checks that slice names a slice unit, as --cgroup-parent
// must under systemd.
func ValidSlice(slice string) error {
	if !strings.HasSuffix(slice, ".slice") || len(slice) == len(".slice") || strings.ContainsAny(slice, "/ \t\n") {
		return fmt.Errorf("want a slice unit name like %s, not a path", DefaultSlice)
	}
	return nil
}

// Scope is a transient scope to start around a running process.
type Scope struct {
	Unit, Slice, Description string
	// PID is the process the scope is made around (its init, waiting).
	PID int
	// Resources are set as the unit's properties (see Properties).
	Resources cgroup.Resources
	// KillSignal and StopTimeout are what `systemctl stop` does to the
	// scope: the signal, and how long until SIGKILL (0: systemd's).
	KillSignal  int
	StopTimeout time.Duration
}

// properties are the scope's unit properties: its place, Delegate=yes (so
// that ctop may attach a device program to the group and the sandbox may
// own its subtree), accounting, and its limits.
func (s Scope) properties() ([]sd.Property, error) {
	limits, err := Properties(s.Resources)
	if err != nil {
		return nil, err
	}
	prop := func(name string, v any) sd.Property { return sd.Property{Name: name, Value: dbus.MakeVariant(v)} }
	ps := []sd.Property{
		sd.PropDescription(s.Description),
		sd.PropSlice(s.Slice),
		sd.PropPids(uint32(s.PID)),
		prop("Delegate", true),
		// A scope that ended or failed goes at once, leaving nothing for
		// `systemctl list-units --all` to show.
		prop("CollectMode", "inactive-or-failed"),
		prop("CPUAccounting", true),
		prop("MemoryAccounting", true),
		prop("TasksAccounting", true),
		prop("IOAccounting", true),
		// An OOM kill ends the process the kernel chose, as under
		// docker, not the whole scope (systemd's default, OOMPolicy=stop).
		prop("OOMPolicy", "continue"),
	}
	if s.KillSignal != 0 {
		ps = append(ps, prop("KillSignal", int32(s.KillSignal)))
	}
	if s.StopTimeout > 0 {
		ps = append(ps, prop("TimeoutStopUSec", uint64(s.StopTimeout/time.Microsecond)))
	}
	return append(ps, limits...), nil
}

// StartScope starts scope s and returns its group's path as systemd
// reports it (ControlGroup): under the system manager
// /ctop.slice/ctop-NAME.scope, under a user's
// /user.slice/user-UID.slice/user@UID.service/ctop.slice/ctop-NAME.scope.
// Its error is one line naming the unit. A unit of the same name that a
// killed ctop left (failed, or not yet collected) is reset and the start
// tried once more.
func (c *Conn) StartScope(ctx context.Context, s Scope) (string, error) {
	props, err := s.properties()
	if err != nil {
		return "", fmt.Errorf("start %s: %w", s.Unit, err)
	}
	ctx, cancel := context.WithTimeout(ctx, jobTimeout)
	defer cancel()
	res, err := c.startTransient(ctx, s.Unit, props)
	if err != nil && strings.Contains(err.Error(), "OOMPolicy") {
		// A systemd before 251 has no OOMPolicy for scopes.
		props = withoutProperty(props, "OOMPolicy")
		res, err = c.startTransient(ctx, s.Unit, props)
	}
	if isUnitExists(err) {
		_ = c.c.ResetFailedUnitContext(ctx, s.Unit)
		res, err = c.startTransient(ctx, s.Unit, props)
		if isUnitExists(err) {
			return "", fmt.Errorf("start %s: %w (another sandbox's of that name, in another state directory?)", s.Unit, ErrUnitExists)
		}
	}
	if err != nil {
		return "", fmt.Errorf("start %s: %w", s.Unit, err)
	}
	if res != "done" {
		_ = c.c.ResetFailedUnitContext(ctx, s.Unit)
		return "", fmt.Errorf("start %s: job %s (see journalctl -u %s)", s.Unit, res, s.Unit)
	}
	path, err := c.ControlGroup(ctx, s.Unit)
	if err != nil {
		return "", err
	}
	return path, nil
}

func withoutProperty(ps []sd.Property, name string) []sd.Property {
	out := ps[:0:0]
	for _, p := range ps {
		if p.Name != name {
			out = append(out, p)
		}
	}
	return out
}

// startTransient starts unit with job mode "fail" (do not replace a job
// queued for it) and waits for the job's result.
func (c *Conn) startTransient(ctx context.Context, unit string, props []sd.Property) (string, error) {
	// Buffered: go-systemd sends the result from its signal loop, which
	// must not block on a caller that gave up waiting.
	ch := make(chan string, 1)
	if _, err := c.c.StartTransientUnitContext(ctx, unit, "fail", props, ch); err != nil {
		return "", err
	}
	return waitJob(ctx, ch)
}

func waitJob(ctx context.Context, ch <-chan string) (string, error) {
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return "", fmt.Errorf("wait for job: %w", ctx.Err())
	}
}

// ControlGroup is unit's group path as systemd reports it, relative to
// the cgroup2 mount.
func (c *Conn) ControlGroup(ctx context.Context, unit string) (string, error) {
	typ := unit[strings.LastIndexByte(unit, '.')+1:]
	p, err := c.c.GetUnitTypePropertyContext(ctx, unit, strings.ToUpper(typ[:1])+typ[1:], "ControlGroup")
	if err != nil {
		return "", fmt.Errorf("read ControlGroup of %s: %w", unit, err)
	}
	path, ok := p.Value.Value().(string)
	if !ok || path == "" {
		return "", fmt.Errorf("read ControlGroup of %s: %w", unit, ErrNoGroup)
	}
	return path, nil
}

// ErrNoGroup means systemd reports no group for a unit (it is not
// running).
var ErrNoGroup = errors.New("unit has no control group")

// Stop stops unit and waits for it to be gone, then clears a failed
// state so that the name is free. A unit that is not loaded (collected
// already) is stopped.
func (c *Conn) Stop(ctx context.Context, unit string) error {
	ctx, cancel := context.WithTimeout(ctx, jobTimeout)
	defer cancel()
	ch := make(chan string, 1)
	_, err := c.c.StopUnitContext(ctx, unit, "replace", ch)
	if isNoSuchUnit(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", unit, err)
	}
	res, err := waitJob(ctx, ch)
	if err != nil {
		return fmt.Errorf("stop %s: %w", unit, err)
	}
	if err := c.c.ResetFailedUnitContext(ctx, unit); err != nil && !isNoSuchUnit(err) && !isNotFailed(err) {
		return fmt.Errorf("reset %s: %w", unit, err)
	}
	if res != "done" {
		return fmt.Errorf("stop %s: job %s", unit, res)
	}
	return nil
}

// isNotFailed reports whether a reset-failed found nothing to reset.
func isNotFailed(err error) bool {
	var e dbus.Error
	return errors.As(err, &e) && strings.HasSuffix(e.Name, ".NotFailed")
}

// SetResources sets r as unit's properties at runtime (lost at reboot,
// as `systemctl set-property --runtime`): systemd writes the kernel's
// files itself, and its record and the group agree.
func (c *Conn) SetResources(ctx context.Context, unit string, r cgroup.Resources) error {
	props, err := Properties(r)
	if err != nil {
		return fmt.Errorf("set properties of %s: %w", unit, err)
	}
	if len(props) == 0 {
		return nil
	}
	if err := c.c.SetUnitPropertiesContext(ctx, unit, true, props...); err != nil {
		if isNoSuchUnit(err) {
			err = fmt.Errorf("%w: %w", ErrNoUnit, err)
		}
		return fmt.Errorf("set properties of %s: %w", unit, err)
	}
	return nil
}

// Manages reports whether the caller's manager (see Connect) is the one
// that owns the group at path, whose unit names.Parse found: root's system
// manager owns every group but those under a user manager
// (user@UID.service), which a user's own manager owns.
func Manages(path string, uid int) bool {
	// user@UID.service itself is the system manager's unit; only the
	// groups below it are the user manager's.
	_, below, ok := strings.Cut(path, "/user@")
	if ok {
		_, below, ok = strings.Cut(below, ".service/")
		ok = ok && below != ""
	}
	if uid == 0 {
		return !ok
	}
	return ok && strings.Contains(path, "/user@"+strconv.Itoa(uid)+".service/")
}

// SetUnitResources sets r as unit's runtime properties through the
// caller's manager (see Conn.SetResources).
func SetUnitResources(ctx context.Context, unit string, r cgroup.Resources) error {
	c, err := Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SetResources(ctx, unit, r)
}
