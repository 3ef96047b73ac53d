// mtts-frontend e2e fixture: a placeholder for Tailscale's cmd/featuretags.
// The fixture's fake `go run ./cmd/featuretags` runs mtts_fixture_main.sh
// from this directory instead, which behaves like v1.98.5's command.

package main

func main() {}
