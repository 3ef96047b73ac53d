#!/usr/bin/env bash
# Builds the base images of the mtts-frontend end-to-end test, offline, with
# `docker import` (no registry, no network, no Dockerfile):
#
#   mtts-fixture-golang:e2e   stands in for golang:*-alpine: a static busybox
#                             with its applet links, the fake go in
#                             /usr/local/go/bin, a fake apk; config ENV PATH
#                             (with /usr/local/go/bin), GOPATH=/go,
#                             GOTOOLCHAIN=local, WORKDIR /go
#   mtts-fixture-alpine:e2e   stands in for alpine: busybox + the fake apk
#   mtts-fixture-xx:e2e       stands in for tonistiigi/xx: only
#                             /usr/bin/xx-info, xx-apk and xx-clang
#
# The fake tools apk installs (make, clang, lld, llvm-strip, gcc, perl, upx,
# ca-certificates, musl-dev, linux-headers) are payloads under
# /usr/lib/mtts-fixture/apk/ in the golang and alpine images. All images are
# linux/amd64, the build platform of the e2e test.
#
# It also copies the repository's busybox-applets.config into
# bench/model/context/ (the benchmark's build context), so both stay equal.
#
# Idempotent: an image whose content and config are unchanged (recorded in
# its label mtts.fixture.hash) is left alone.
#
# Usage: bench/model/build-images.sh [--force]
#   Needs a `docker` that answers, e.g. after
#     scripts/buildkit-env start && eval "$(scripts/buildkit-env env)"
#   Installs Debian's busybox-static with apt-get if it is missing (root).
# Environment:
#   MTTS_FIXTURE_TAG      image tag (default e2e)
#   MTTS_FIXTURE_BUSYBOX  a static busybox binary to use instead of Debian's
#   MTTS_FIXTURE_SLEEP    opt-in modelled step costs, for benchmarks: when set
#                         (a scale, e.g. 1, 0.5, or 0 for none), the golang
#                         and alpine images get images/data/costs.tbl times the
#                         scale in /etc/mtts-fixture/costs and the helper
#                         /usr/lib/mtts-fixture/cost, and the fake tools sleep
#                         that long. Use it with its own tag (e.g. bench):
#                         unset (the default), the images are as before.
set -euo pipefail

fixtures=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$fixtures/../../.." && pwd)
tools=$fixtures/images/tools
data=$fixtures/images/data
tag=${MTTS_FIXTURE_TAG:-e2e}
sleep_scale=${MTTS_FIXTURE_SLEEP:-}
force=0

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "build-images.sh: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

log() {
	echo "build-images: $*" >&2
}

die() {
	echo "build-images: error: $*" >&2
	exit 1
}

command -v docker >/dev/null 2>&1 ||
	die "no docker on PATH: run scripts/buildkit-env start and eval \"\$(scripts/buildkit-env env)\" first"
docker version >/dev/null 2>&1 ||
	die "docker does not answer: run scripts/buildkit-env start and eval \"\$(scripts/buildkit-env env)\" first"

# A static busybox: the caller's, or Debian's busybox-static (installed when
# missing).
find_busybox() {
	if [ -n "${MTTS_FIXTURE_BUSYBOX:-}" ]; then
		[ -x "$MTTS_FIXTURE_BUSYBOX" ] || die "MTTS_FIXTURE_BUSYBOX=$MTTS_FIXTURE_BUSYBOX is not an executable"
		printf '%s\n' "$MTTS_FIXTURE_BUSYBOX"
		return
	fi
	if ! dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
		command -v apt-get >/dev/null 2>&1 || die "busybox-static is not installed and there is no apt-get; set MTTS_FIXTURE_BUSYBOX"
		log "installing busybox-static with apt-get"
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y --no-install-recommends busybox-static </dev/null >&2; then
			apt-get update </dev/null >&2
			apt-get install -y --no-install-recommends busybox-static </dev/null >&2
		fi
	fi
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ]; then
			printf '%s\n' "$b"
			return
		fi
	done
	die "busybox-static is installed but no /bin/busybox was found"
}

case $sleep_scale in
'') ;;
*[!0-9.]* | *.*.* | . | .*) die "MTTS_FIXTURE_SLEEP must be a number such as 1 or 0.5, not '$sleep_scale'" ;;
esac

busybox=$(find_busybox)
if command -v ldd >/dev/null 2>&1 && ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked: the images need a static busybox (Debian's busybox-static)"
fi
log "busybox: $busybox ($("$busybox" 2>&1 | head -n 1))"

# The test's build context carries the repository's applet list.
if ! cmp -s "$repo/busybox-applets.config" "$fixtures/context/busybox-applets.config"; then
	cp "$repo/busybox-applets.config" "$fixtures/context/busybox-applets.config"
	log "copied busybox-applets.config into $fixtures/context/"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mtts-fixture-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# put SRC ROOT PATH [MODE]: one file into the root filesystem being built.
put() {
	install -D -m "${4:-755}" "$1" "$2/$3"
}

# A package payload that apk copies into the root on `apk add NAME`.
payload() {
	printf '%s/usr/lib/mtts-fixture/apk/%s' "$1" "$2"
}

add_payloads() {
	local root=$1 p
	p=$(payload "$root" upx)
	put "$tools/upx" "$p" usr/bin/upx
	p=$(payload "$root" make)
	put "$tools/make" "$p" usr/bin/make
	for t in busybox-kconfig.tbl busybox-applets.tbl busybox-selects.tbl; do
		put "$data/$t" "$p" "usr/share/mtts-fixture/busybox/$t" 644
	done
	p=$(payload "$root" clang)
	put "$tools/toolstub" "$p" usr/bin/clang
	p=$(payload "$root" lld)
	put "$tools/toolstub" "$p" usr/bin/lld
	put "$tools/toolstub" "$p" usr/bin/ld.lld
	p=$(payload "$root" llvm)
	put "$tools/llvm-strip" "$p" usr/bin/llvm-strip
	for t in addr2line ar as nm objcopy ranlib readelf; do
		put "$tools/toolstub" "$p" "usr/bin/llvm-$t"
	done
	p=$(payload "$root" gcc)
	put "$tools/toolstub" "$p" usr/bin/gcc
	mkdir -p "$p/usr/lib/gcc/mtts-fixture"
	echo "mtts-fixture: not a real libgcc.a" >"$p/usr/lib/gcc/mtts-fixture/libgcc.a"
	p=$(payload "$root" perl)
	put "$tools/toolstub" "$p" usr/bin/perl
	p=$(payload "$root" musl-dev)
	mkdir -p "$p/usr/include" "$p/usr/lib"
	echo "/* mtts-fixture: not a real stdio.h (musl-dev payload) */" >"$p/usr/include/stdio.h"
	echo "mtts-fixture: not a real libc.a (musl-dev payload)" >"$p/usr/lib/libc.a"
	p=$(payload "$root" linux-headers)
	mkdir -p "$p/usr/include/linux"
	echo "/* mtts-fixture: not a real linux/version.h (linux-headers payload) */" >"$p/usr/include/linux/version.h"
	p=$(payload "$root" ca-certificates)
	mkdir -p "$p/etc/ssl/certs"
	cat >"$p/etc/ssl/certs/ca-certificates.crt" <<'EOF'
# mtts-fixture: not a real CA bundle (ca-certificates payload)
-----BEGIN CERTIFICATE-----
TVRUUy1GSVhUVVJFOiBub3QgYSByZWFsIGNlcnRpZmljYXRl
-----END CERTIFICATE-----
EOF
	# apk copies payloads over the root: none may land on a busybox link.
	local f
	while IFS= read -r f; do
		f=${f#"$root"/usr/lib/mtts-fixture/apk/*/}
		if [ -L "$root/$f" ]; then
			die "payload file /$f would overwrite a busybox applet link"
		fi
	done < <(find "$root/usr/lib/mtts-fixture/apk" -type f)
}

# An Alpine-like root: busybox and one link per applet, /etc basics, apk.
alpine_root() {
	local root=$1 name=$2 p
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/sbin,lib,etc/apk,etc/mtts-fixture,root,tmp,var/lock,var/log,dev,proc,sys,run}
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	install -m 755 "$busybox" "$root/bin/busybox"
	while IFS= read -r p; do
		[ "$p" = bin/busybox ] && continue
		mkdir -p "$root/$(dirname "$p")"
		[ -e "$root/$p" ] || [ -L "$root/$p" ] || ln -s /bin/busybox "$root/$p"
	done < <("$busybox" --list-full)
	[ -L "$root/bin/sh" ] || die "busybox --list-full gave no bin/sh"
	cat >"$root/etc/os-release" <<'EOF'
NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.24.1
PRETTY_NAME="mtts-fixture (Alpine-like, busybox only)"
EOF
	echo "3.24.1" >"$root/etc/alpine-release"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$root/etc/passwd"
	printf 'root:x:0:root\nnogroup:x:65534:\n' >"$root/etc/group"
	echo "https://dl-cdn.alpinelinux.org/alpine/v3.24/main" >"$root/etc/apk/repositories"
	echo "$name" >"$root/etc/mtts-fixture/image"
	put "$tools/apk" "$root" sbin/apk
	add_payloads "$root"
	[ -z "$sleep_scale" ] || add_costs "$root"
}

# Benchmark images only: the modelled step costs, scaled, and their helper.
add_costs() {
	put "$tools/cost" "$1" usr/lib/mtts-fixture/cost
	awk -v scale="$sleep_scale" '
		/^#/ || NF < 2 { next }
		{ printf "%s %.2f\n", $1, $2 * scale }
	' "$data/costs.tbl" >"$1/etc/mtts-fixture/costs"
}

# import NAME ROOT CHANGE...: tar ROOT reproducibly and docker-import it as
# mtts-fixture-NAME:$tag, unless the image already has this content.
import() {
	local name=$1 root=$2 image="mtts-fixture-$1:$tag" tarball="$work/$1.tar" hash have c
	shift 2
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		-C "$root" -cf "$tarball" .
	hash=$({
		sha256sum <"$tarball"
		for c in "$@"; do printf '%s\n' "$c"; done
	} | sha256sum | cut -d ' ' -f 1)
	have=$(docker image inspect --format '{{index .Config.Labels "mtts.fixture.hash"}}' "$image" 2>/dev/null || true)
	if [ "$force" = 0 ] && [ "$have" = "$hash" ]; then
		log "$image is up to date"
		return
	fi
	local args=(--platform linux/amd64 --message "mtts-frontend e2e fixture $name")
	for c in "$@" "LABEL mtts.fixture.hash=$hash"; do
		args+=(--change "$c")
	done
	docker import "${args[@]}" "$tarball" "$image" >/dev/null
	log "imported $image ($(du -k "$tarball" | cut -f 1) KiB)"
}

# golang: golang:alpine's layout and config.
golang=$work/golang
alpine_root "$golang" golang
put "$tools/go" "$golang" usr/local/go/bin/go
echo "go1.26.5" >"$golang/usr/local/go/VERSION"
mkdir -p "$golang/go/bin" "$golang/go/src"
chmod -R 1777 "$golang/go"
import golang "$golang" \
	"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	"ENV GOLANG_VERSION=1.26.5" \
	"ENV GOTOOLCHAIN=local" \
	"ENV GOPATH=/go" \
	"ENV MTTS_FIXTURE_IMAGE=golang" \
	"WORKDIR /go" \
	'CMD ["/bin/sh"]'

# alpine
alpine=$work/alpine
alpine_root "$alpine" alpine
import alpine "$alpine" \
	"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	"ENV MTTS_FIXTURE_IMAGE=alpine" \
	'CMD ["/bin/sh"]'

# xx: FROM scratch with the helpers in /usr/bin, nothing else, so copying it
# onto alpine's / replaces no file of alpine's.
xx=$work/xx
mkdir -p "$xx/usr/bin"
for t in xx-info xx-apk xx-clang; do
	put "$fixtures/images/xx/$t" "$xx" "usr/bin/$t"
done
import xx "$xx"

for n in golang alpine xx; do
	echo "mtts-fixture-$n:$tag"
done
