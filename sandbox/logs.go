package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LogOptions are ctop logs' options.
type LogOptions struct {
	// Follow keeps writing what the sandbox writes until it ends.
	Follow bool
	// Tail is how many lines to start from, counted from the end; nil is
	// the whole log.
	Tail *int
}

// followPoll is how often Logs looks for more output and for the end.
const followPoll = 100 * time.Millisecond

// Logs writes the output log of detached sandbox name (running or
// exited) to w, as docker logs does.
func Logs(stateDir, name string, o LogOptions, w io.Writer) error {
	st, err := Load(stateDir, name)
	if err != nil {
		return err
	}
	if st.Log == "" {
		return fmt.Errorf("sandbox %s keeps no output log (it was not started detached)", name)
	}
	fh, err := os.Open(st.Log)
	if err != nil {
		return fmt.Errorf("read output of sandbox %s: %w", name, err)
	}
	defer fh.Close()
	if o.Tail != nil {
		off, err := tailOffset(fh, *o.Tail)
		if err != nil {
			return fmt.Errorf("read %s: %w", st.Log, err)
		}
		if _, err := fh.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("read %s: %w", st.Log, err)
		}
	}
	for {
		// Whether it had ended is asked before the last read: what it
		// wrote up to its end is then all in the file. (The log stays
		// readable through fh should a --rm sandbox's go meanwhile.)
		done := !o.Follow || ended(stateDir, st)
		if _, err := io.Copy(w, fh); err != nil {
			return fmt.Errorf("read %s: %w", st.Log, err)
		}
		if done {
			return nil
		}
		time.Sleep(followPoll)
	}
}

// ended reports whether the sandbox st has ended: its record says so or
// is gone, or its owner is (then Reap finds it).
func ended(stateDir string, st *State) bool {
	cur, err := Load(stateDir, st.Name)
	if errors.Is(err, ErrNotFound) {
		return true
	}
	if err == nil && cur.Exited() {
		return true
	}
	return !st.OwnerAlive()
}

// tailOffset returns where the last n lines of f begin; a last line
// without its newline counts as one.
func tailOffset(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	if n <= 0 {
		return end, nil
	}
	buf := make([]byte, 32<<10)
	pos := end
	first := true
	for pos > 0 {
		size := min(int64(len(buf)), pos)
		pos -= size
		b := buf[:size]
		if _, err := f.ReadAt(b, pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if first {
			// The newline that ends the last line starts no line.
			first = false
			if len(b) > 0 && b[len(b)-1] == '\n' {
				b = b[:len(b)-1]
			}
		}
		for {
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				break
			}
			if n--; n == 0 {
				return pos + int64(i) + 1, nil
			}
			b = b[:i]
		}
	}
	return 0, nil
}
