package names

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// engineInfo is what an engine says about one container.
type engineInfo struct {
	ok                            bool
	name, image, project, service string
}

// engineClient asks one engine's API socket about containers. Docker's
// Engine API (and podman's docker-compatible one on its own socket) answers
// GET /containers/{id}/json with the container's name, image and labels:
// one request with net/http over a unix socket is all ctop needs, so it
// does without docker's client library, whose module would bring dozens of
// packages (and their updates) into a tool that reads three fields.
type engineClient struct {
	socket string
	http   *http.Client
}

func newEngineClient(socket string, timeout time.Duration) *engineClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:    1,
		IdleConnTimeout: 10 * time.Second,
	}
	return &engineClient{socket: socket, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// inspectDoc is the part of docker's ContainerInspect response ctop reads.
type inspectDoc struct {
	Name   string `json:"Name"`
	Config struct {
		Image  string            `json:"Image"`
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
}

// inspect asks about one container. A container the engine does not know
// (404) is not an error: it gives an engineInfo with ok false.
func (c *engineClient) inspect(id string) (engineInfo, error) {
	if _, err := os.Stat(c.socket); err != nil {
		return engineInfo{}, fmt.Errorf("engine socket %s: %w", c.socket, err)
	}
	// The host part is ignored: the transport dials the socket.
	resp, err := c.http.Get("http://engine/containers/" + url.PathEscape(id) + "/json")
	if err != nil {
		return engineInfo{}, fmt.Errorf("ask %s about container %s: %w", c.socket, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return engineInfo{}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return engineInfo{}, fmt.Errorf("ask %s about container %s: %s", c.socket, id, resp.Status)
	}
	var d inspectDoc
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&d); err != nil {
		return engineInfo{}, fmt.Errorf("read %s's answer about container %s: %w", c.socket, id, err)
	}
	name := d.Name
	if len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	return engineInfo{
		ok:      true,
		name:    name,
		image:   d.Config.Image,
		project: d.Config.Labels["com.docker.compose.project"],
		service: d.Config.Labels["com.docker.compose.service"],
	}, nil
}
