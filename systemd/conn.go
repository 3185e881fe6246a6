package systemd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// Conn is a connection to one systemd manager: the system's (root) or the
// calling user's.
type Conn struct {
	c    *sd.Conn
	user bool
	addr string
}

// address is one place a manager answers: its private socket (no bus
// daemon in between, so no Hello) or a bus.
type address struct {
	path string
	bus  bool
}

// systemBus is the system bus's socket (dbus-daemon(1)).
const systemBus = "/run/dbus/system_bus_socket"

// addresses are where the manager of the user uid answers, in the order
// they are tried: root's is the system manager; any other user's is
// their user manager, under runtimeDir ($XDG_RUNTIME_DIR, /run/user/UID
// when empty).
func addresses(uid int, runtimeDir string) []address {
	if uid == 0 {
		return []address{{path: "/run/systemd/private"}, {path: systemBus, bus: true}}
	}
	if runtimeDir == "" {
		runtimeDir = "/run/user/" + strconv.Itoa(uid)
	}
	return []address{{path: filepath.Join(runtimeDir, "systemd/private")}, {path: filepath.Join(runtimeDir, "bus"), bus: true}}
}

func callerAddresses() []address {
	return addresses(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"))
}

// Booted reports whether systemd is the host's init, as sd_booted(3)
// decides: /run/systemd/system exists.
func Booted() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// Available reports why the caller's manager cannot be used, or nil when
// systemd is booted and one of the manager's sockets accepts a
// connection. It costs a connect and a close, not a D-Bus handshake.
func Available() error {
	if !Booted() {
		return fmt.Errorf("%w: /run/systemd/system does not exist (systemd is not the init)", ErrUnavailable)
	}
	var errs []error
	for _, a := range callerAddresses() {
		c, err := net.DialTimeout("unix", a.path, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(errs...))
}

// Connect connects to the caller's manager: root's to the system manager,
// any other user's to their user manager (see the package doc).
func Connect(ctx context.Context) (*Conn, error) {
	uid := os.Geteuid()
	var errs []error
	for _, a := range addresses(uid, os.Getenv("XDG_RUNTIME_DIR")) {
		c, err := sd.NewConnection(func() (*dbus.Conn, error) { return dial(ctx, uid, a) })
		if err == nil {
			return &Conn{c: c, user: uid != 0, addr: a.path}, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", a.path, err))
	}
	who := "system"
	if uid != 0 {
		who = "user " + strconv.Itoa(uid) + "'s"
	}
	return nil, fmt.Errorf("connect to the %s systemd manager: %w: %w", who, ErrUnavailable, errors.Join(errs...))
}

// dial opens and authenticates one D-Bus connection to a, by uid
// (EXTERNAL, the uid as a number: no user name lookup).
func dial(ctx context.Context, uid int, a address) (*dbus.Conn, error) {
	c, err := dbus.Dial("unix:path="+dbus.EscapeBusAddressValue(a.path), dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(uid))}); err != nil {
		c.Close()
		return nil, err
	}
	if a.bus {
		if err := c.Hello(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// User reports whether c is a user manager's connection.
func (c *Conn) User() bool { return c.user }

// Close closes the connection.
func (c *Conn) Close() { c.c.Close() }

// isNoSuchUnit reports whether err says the unit is not loaded: gone
// already, which for a stop or a reset is done.
func isNoSuchUnit(err error) bool {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name == "org.freedesktop.systemd1.NoSuchUnit"
	}
	return false
}

// isUnitExists reports whether err says a unit of that name is loaded.
func isUnitExists(err error) bool {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name == "org.freedesktop.systemd1.UnitExists"
	}
	return false
}
