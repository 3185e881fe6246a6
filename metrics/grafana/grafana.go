// Package grafana holds the Grafana dashboard for what ctop serve exports
// (ctop.json, importable as it is), embedded so that a test binary carries
// it wherever it runs: the test VMs ship test binaries, not the tree.
package grafana

import _ "embed"

// Dashboard is ctop.json, the dashboard's JSON model.
//
//go:embed ctop.json
var Dashboard []byte
