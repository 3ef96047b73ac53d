# syntax=ghcr.io/org/mtts-frontend:0.1
#
# mikrotik-tailscale: this file is the build recipe. The line above hands the
# build to mtts-frontend; the rest is TOML (every key optional). This very
# file is also the frontend's built-in recipe (embedded when the frontend is
# built), so its values are the defaults, stated nowhere else. Build with:
#
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -t mikrotik-tailscale .
#
# Build args: TAILSCALE_VERSION, BUSYBOX_VERSION + BUSYBOX_SHA256, OCI_VERSION,
# GOPROXY, SOURCE_DATE_EPOCH.

# Compress tailscale.combined and busybox with UPX (LZMA).
upx = true

[tailscale]
# renovate: datasource=github-releases depName=tailscale/tailscale versioning=semver
version = "v1.102.2"
# When that tag was committed (UTC). Every file in the image and the image's
# created time carry it unless SOURCE_DATE_EPOCH is given, so the same inputs
# give the same digest. Update it with the version: the end-to-end test
# checks it against the Go module proxy's time for the version.
commit_time = "2026-08-04T17:32:46Z"
repository = "https://github.com/tailscale/tailscale.git"
# Drop [v1]..[v3] log lines unless TS_LOG_VERBOSITY is set (logtail is omitted).
verbosity_filter = true
# Features compiled in; everything else (and anything a future Tailscale
# adds) is omitted. featuretags adds what these depend on.
features = [
  "advertiseexitnode", # be an exit node for the tailnet
  "advertiseroutes",   # advertise the router's LAN subnets
  "useexitnode",       # send the router's own traffic through an exit node
  "useroutes",         # accept other nodes' subnet routes
  "dns",               # MagicDNS resolver and resolv.conf management
  "portmapper",        # NAT-PMP/PCP/UPnP through an upstream NAT
  "listenrawdisco",    # raw-socket disco: better NAT traversal
  "health",            # what `tailscale status` reports
  "iptables",          # routing and NAT rules on Linux
  # Without it the local API cannot tell that a request came over its unix
  # socket, and refuses every CLI call.
  "unixsocketidentity",
  # Without it `tailscale up` cannot wait for the login: no auth URL shows.
  "ipnbus",
  # Needed even with a kernel TUN: only netstack answers MagicDNS on
  # 100.100.100.100; without it DNS dies silently (and the exit-node inject
  # path panicked). About 0.5 MB.
  "netstack",
  "gro",               # generic receive offload on the netstack path
  # The exit node's DNS-over-HTTPS proxy for its clients; featuretags would
  # pull it in for advertiseexitnode anyway, listed to say why.
  "peerapiserver",
]
# Not listed: tailnetlock (~188 kB). Up to v1.98 `tailscale up` exited 1
# without it ("tailnet lock is not supported by this binary": the CLI could
# not read the netmap the daemon put on the IPN bus). Since v1.100 tailscaled
# on Linux sends the netmap only to a watcher that asks for it, and `up` does
# not: the e2e tailnet test joins with an auth key and by the login URL
# without it (v1.102.2 and v1.102.5). Only `tailscale lock` needs it.

[busybox]
# A bump needs the new tarball's sha256 in the same change (Renovate cannot
# compute it); until then the download fails its checksum.
# renovate: datasource=repology depName=alpine_edge/busybox versioning=semver
version = "1.38.0"
sha256 = "34f9ea6ff8636f2c9241153b9114eefa9e65674a45318ae1ef95bb5f31c53bb2"
# {version} is replaced with the version.
url = "https://busybox.net/downloads/busybox-{version}.tar.bz2"

[images]
# renovate: datasource=docker depName=golang
golang = "golang:1.26.5-alpine@sha256:0178a641fbb4858c5f1b48e34bdaabe0350a330a1b1149aabd498d0699ff5fb2"
# renovate: datasource=docker depName=alpine
alpine = "alpine:3.24.1@sha256:28bd5fe8b56d1bd048e5babf5b10710ebe0bae67db86916198a6eec434943f8b"
# renovate: datasource=docker depName=tonistiigi/xx
xx = "tonistiigi/xx:1.9.0@sha256:c64defb9ed5a91eacb37f96ccc3d4cd72521c4bd18d5442905b95e2226b0e707"

[labels]
title = "mikrotik-tailscale"
description = "Minimal Tailscale image for MikroTik RouterOS Container"
source = "https://github.com/Lumpiasty/mikrotik-tailscale"
