// mtts-frontend e2e fixture: a placeholder for Tailscale's cmd/tailscaled.
// The fixture's fake `go build` never compiles this; it records which files
// this package holds, and every line starting with "// mtts-e2e:" in them.

package main

func main() {}
