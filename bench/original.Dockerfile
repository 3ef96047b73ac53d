# The upstream project's hand-written Dockerfile (Lumpiasty/mikrotik-tailscale
# at HEAD), transcribed stage by stage and command by command for
# scripts/bench, so that it builds offline with the real tools of the e2e
# fixtures. Its long explanations are cut to short comments; the stages,
# ARGs, commands and their order are the original's. What differs, and why:
#
#  * No `# syntax=docker/dockerfile:1.25.0@sha256:...` line: that would pull a
#    frontend image from a registry. The daemon's built-in Dockerfile frontend
#    builds this file.
#  * The base images are named `golang`, `alpine` and `xx` instead of their
#    pinned references (golang:1.26.5-alpine@sha256:0178a641...,
#    alpine:3.24.1@sha256:28bd5fe8..., tonistiigi/xx:1.9.0@sha256:c64defb9...),
#    so that `--build-context NAME=docker-image://mtts-fixture-NAME:TAG`
#    supplies them, the same fixture images our frontend gets (their `apk`
#    checks that the image has each package asked for). The stage `xx` is
#    replaced by the context of the same name.
#  * Where the original fetches from the internet, the fetch is the same
#    command pointed at the bench's local servers (tests/e2e/fixtures/
#    sources.sh): `git clone` from TAILSCALE_GIT instead of GitHub, `wget`
#    from BUSYBOX_MIRROR instead of busybox.net, and Go's modules from the
#    GOPROXY build argument instead of Go's default proxy. The three ARGs
#    are the additions; their defaults give the original's behaviour.
#  * The patch file and busybox-applets.config come from the bench's build
#    context (the e2e fixture context plus patches/stderr_verbosity_filter.go).
#
# The applet probe in the busybox stage runs the target's busybox: on a build
# machine of another architecture only QEMU user emulation registered in
# binfmt_misc makes that work, as the original's users run it. scripts/bench
# registers it for the original's builds.

# xx: cross-compilation helpers (xx-clang, xx-apk, xx-info).
FROM --platform=$BUILDPLATFORM xx AS xx

# ---------------------------------------------------------------------------
# Stage 1: tailscale.combined, cross-compiled on the build machine.
# ---------------------------------------------------------------------------
FROM --platform=$BUILDPLATFORM golang AS builder

ARG TAILSCALE_VERSION=v1.102.2
# (bench) Where the clone and the modules come from.
ARG TAILSCALE_GIT=https://github.com/tailscale/tailscale.git
# (empty: Go's own default)
ARG GOPROXY

# Set by buildx for each target platform.
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT

RUN apk add --no-cache \
    git \
    upx \
    ca-certificates

# The release tag only, no history.
RUN git clone --depth 1 --branch ${TAILSCALE_VERSION} \
    ${TAILSCALE_GIT} /src/tailscale

WORKDIR /src/tailscale

# Drops [vN] log lines on stderr (logtail is compiled out).
COPY patches/stderr_verbosity_filter.go cmd/tailscaled/

# Allowlist: featuretags --min omits every feature, then sed takes the
# ts_omit_ tag of each wanted feature back out; ts_include_cli is prepended.
RUN mkdir -p /out && \
    ALL_OMIT=$(GOOS= GOARCH= go run ./cmd/featuretags --min --add=osrouter) && \
    TAGS=$(echo "ts_include_cli,${ALL_OMIT}" | \
        sed \
          -e 's/ts_omit_advertiseexitnode,\{0,1\}//g' \
          -e 's/ts_omit_advertiseroutes,\{0,1\}//g' \
          -e 's/ts_omit_useexitnode,\{0,1\}//g' \
          -e 's/ts_omit_useroutes,\{0,1\}//g' \
          -e 's/ts_omit_dns,\{0,1\}//g' \
          -e 's/ts_omit_portmapper,\{0,1\}//g' \
          -e 's/ts_omit_listenrawdisco,\{0,1\}//g' \
          -e 's/ts_omit_health,\{0,1\}//g' \
          -e 's/ts_omit_iptables,\{0,1\}//g' \
          -e 's/ts_omit_unixsocketidentity,\{0,1\}//g' \
          -e 's/ts_omit_ipnbus,\{0,1\}//g' \
          -e 's/ts_omit_netstack,\{0,1\}//g' \
          -e 's/ts_omit_gro,\{0,1\}//g' \
          -e 's/ts_omit_peerapiserver,\{0,1\}//g' \
          -e 's/,$//' \
    ) && \
    echo "Build tags: ${TAGS}" && \
    # TARGETARCH/TARGETVARIANT to GOARCH/GOARM.
    GOARM="" && \
    if [ "${TARGETARCH}" = "arm" ]; then \
      case "${TARGETVARIANT}" in \
        v7) GOARM=7 ;; \
        v6) GOARM=6 ;; \
        v5) GOARM=5 ;; \
        *)  GOARM=7 ;; \
      esac; \
    fi && \
    echo "Cross-compiling: GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} GOARM=${GOARM}" && \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} GOARM=${GOARM} \
    go build \
      -tags "${TAGS}" \
      -gcflags="all=-l" \
      -ldflags="-s -w" \
      -trimpath \
      -o /out/tailscale.combined \
      ./cmd/tailscaled

RUN upx --lzma --best /out/tailscale.combined

# /usr/local/bin laid out here, so the final stage copies it in one layer.
RUN mkdir -p /out/usrlocalbin && \
    mv /out/tailscale.combined /out/usrlocalbin/tailscale.combined && \
    ln -s /usr/local/bin/tailscale.combined /out/usrlocalbin/tailscale && \
    ln -s /usr/local/bin/tailscale.combined /out/usrlocalbin/tailscaled

# Entrypoint: turn on IP forwarding, then exec tailscaled.
RUN printf '%s\n' \
      '#!/bin/sh' \
      '# Enable IPv4/IPv6 forwarding. Required for advertised subnet routes and' \
      '# exit-node functionality.' \
      'for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding; do' \
      '  if [ -w "$f" ]; then echo 1 > "$f" 2>/dev/null || echo "warn: could not write $f"; fi' \
      'done' \
      'exec /usr/local/bin/tailscaled "$@"' \
      > /out/usrlocalbin/entrypoint.sh && \
    chmod +x /out/usrlocalbin/entrypoint.sh

# ---------------------------------------------------------------------------
# Stage 2: a curated static busybox, cross-compiled with xx's clang.
# ---------------------------------------------------------------------------
FROM --platform=$BUILDPLATFORM alpine AS busybox

COPY --from=xx / /

ARG BUSYBOX_VERSION=1.38.0
# (bench) Where the tarball comes from.
ARG BUSYBOX_MIRROR=https://busybox.net/downloads

ARG TARGETPLATFORM
ARG TARGETARCH
ARG TARGETVARIANT

# Native tools, then the target's sysroot (musl-dev, gcc, linux-headers).
RUN apk add --no-cache \
        clang \
        lld \
        llvm \
        gcc \
        make \
        wget \
        bzip2 \
        perl \
        upx && \
    xx-apk add --no-cache musl-dev gcc linux-headers

RUN wget -q ${BUSYBOX_MIRROR}/busybox-${BUSYBOX_VERSION}.tar.bz2 \
 && tar xf busybox-${BUSYBOX_VERSION}.tar.bz2
WORKDIR /busybox-${BUSYBOX_VERSION}

COPY busybox-applets.config /tmp/applets.config
# allnoconfig, the listed symbols on, oldconfig, then the cross build.
RUN xx-clang --setup-target-triple && \
    CROSS=$(xx-info triple) && \
    # TARGETARCH to busybox's ARCH.
    case "${TARGETARCH}" in \
      amd64)  BUSYBOX_ARCH=x86_64 ;; \
      arm64)  BUSYBOX_ARCH=aarch64 ;; \
      arm)    BUSYBOX_ARCH=arm ;; \
      *)      BUSYBOX_ARCH=${TARGETARCH} ;; \
    esac && \
    make allnoconfig ARCH="${BUSYBOX_ARCH}" && \
    while read -r sym; do \
      case "$sym" in ''|\#*) continue ;; esac; \
      if grep -q "^# CONFIG_${sym} is not set" .config; then \
        sed -i "s/^# CONFIG_${sym} is not set/CONFIG_${sym}=y/" .config; \
      elif ! grep -q "^CONFIG_${sym}=y" .config; then \
        echo "CONFIG_${sym}=y" >> .config; \
      fi; \
    done < /tmp/applets.config && \
    yes "" | make oldconfig ARCH="${BUSYBOX_ARCH}" >/dev/null 2>&1 && \
    make -j"$(nproc)" \
        ARCH="${BUSYBOX_ARCH}" \
        CROSS_COMPILE="${CROSS}-" \
        CC="${CROSS}-clang" \
        HOSTCC=gcc \
        SKIP_STRIP=y \
        >/dev/null 2>&1 && \
    llvm-strip busybox

# Applet links by probing the uncompressed binary: a symbol is an applet
# unless `busybox <name> --help` says "applet not found". Then upx.
RUN mkdir -p /rootfs/bin && \
    grep '^CONFIG_.*=y' .config \
      | sed -e 's/^CONFIG_//' -e 's/=y$//' \
      | tr 'A-Z' 'a-z' \
      | while read -r app; do \
          if ! ./busybox "$app" --help 2>&1 | grep -q "applet not found"; then \
            ln -sf /bin/busybox /rootfs/bin/"$app"; \
          fi; \
        done && \
    ln -sf /bin/busybox /rootfs/bin/sh && \
    echo "Applet symlinks created: $(ls /rootfs/bin | wc -l)" && \
    upx --lzma --best busybox && \
    cp busybox /rootfs/bin/busybox

# ---------------------------------------------------------------------------
# Stage 3: the image.
# ---------------------------------------------------------------------------
FROM scratch

# The release version, set by CI; "dev" for local builds.
ARG OCI_VERSION=dev

LABEL org.opencontainers.image.title="mikrotik-tailscale" \
      org.opencontainers.image.description="Minimal Tailscale image for MikroTik RouterOS Container" \
      org.opencontainers.image.source="https://gitea.lumpiasty.xyz/lumpiasty/mikrotik-tailscale" \
      org.opencontainers.image.version="${OCI_VERSION}"

COPY --from=busybox /rootfs/ /

COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/

# Binary and its argv[0] links: one layer.
COPY --from=builder /out/usrlocalbin/ /usr/local/bin/

ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

VOLUME ["/var/lib/tailscale"]

ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]

CMD ["--no-logs-no-support", \
     "--state=/var/lib/tailscale/tailscaled.state", \
     "--socket=/var/run/tailscale/tailscaled.sock", \
     "--statedir=/var/lib/tailscale"]
