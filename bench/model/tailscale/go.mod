module tailscale.com

go 1.26.3

// mtts-frontend e2e fixture: a stand-in for Tailscale's go.mod. The fake `go`
// of the fixture golang image only checks that this file exists.
require (
	github.com/mtts-fixture/placeholder v0.0.0-20260101000000-000000000000
	golang.org/x/sys v0.40.0
)
