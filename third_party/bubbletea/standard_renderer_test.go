package tea

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer the renderer's goroutine writes to while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The ticker stops when nothing changes; every view written afterwards is
// still drawn, the first one at once and the rest at the frame rate.
func TestStandardRendererDrawsAfterIdle(t *testing.T) {
	var out lockedBuffer
	r := newRenderer(&out, false, 50).(*standardRenderer)
	r.start()
	defer r.kill()
	drawn := func(s string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), s); {
			if time.Now().After(deadline) {
				t.Fatalf("%q not drawn within 5 s; output %q", s, out.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i, view := range []string{"one", "two", "three"} {
		r.write(view)
		if i == 2 {
			r.write(view + " four") // two writes in one frame: the last is drawn
			view += " four"
		}
		drawn(view)
		// A few frames with nothing new: the ticker stops.
		time.Sleep(5 * r.framerate)
		r.mtx.Lock()
		pending := r.buf.Len()
		r.mtx.Unlock()
		if pending != 0 {
			t.Fatalf("after %q: %d bytes still pending", view, pending)
		}
	}
}
