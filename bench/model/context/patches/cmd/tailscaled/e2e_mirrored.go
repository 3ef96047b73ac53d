// mtts-e2e: overlay patches/cmd/tailscaled/e2e_mirrored.go
//
// mtts-frontend e2e fixture: a file in a subdirectory of patches/, which the
// frontend copies to the same path in the source tree.

package main
