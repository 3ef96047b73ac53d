// mtts-e2e: overlay patches/e2e_marker.go
//
// mtts-frontend e2e fixture: a top-level patches/*.go file, which the
// frontend copies into cmd/tailscaled/.

package main
