# syntax=ghcr.io/org/mtts-frontend:0.1
#
# mikrotik-tailscale: this file is the build recipe. The line above hands the
# build to mtts-frontend; the rest is TOML (every key optional, the values
# below are the built-in defaults). Build with:
#
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 -t mikrotik-tailscale .
#
# Build args: TAILSCALE_VERSION, BUSYBOX_VERSION + BUSYBOX_SHA256, OCI_VERSION.

# Compress tailscale.combined and busybox with UPX (LZMA).
upx = true

[tailscale]
# renovate: datasource=github-releases depName=tailscale/tailscale versioning=semver
version = "v1.98.5"
repository = "https://github.com/tailscale/tailscale.git"
# Drop [v1]..[v3] log lines unless TS_LOG_VERBOSITY is set (logtail is omitted).
verbosity_filter = true
# Features compiled in; everything else (and anything a future Tailscale
# adds) is omitted. featuretags adds what these depend on.
features = [
  "advertiseexitnode",
  "advertiseroutes",
  "useexitnode",
  "useroutes",
  "dns",
  "portmapper",
  "listenrawdisco",
  "health",
  "iptables",
  "unixsocketidentity",
  "ipnbus",
  "netstack",
  "gro",
  "peerapiserver",
]

[busybox]
version = "1.38.0"
sha256 = "34f9ea6ff8636f2c9241153b9114eefa9e65674a45318ae1ef95bb5f31c53bb2"

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
