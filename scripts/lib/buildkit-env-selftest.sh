# shellcheck shell=bash
# End-to-end checks for `scripts/buildkit-env selftest`. Sourced by
# buildkit-env after it has exported DOCKER_HOST/DOCKER_CONFIG/PATH for the
# private daemon. Uses only local images (no registry is reachable).

ST_FAILS=0
st_pass() { printf 'selftest: PASS: %s\n' "$*" >&2; }
st_fail() { printf 'selftest: FAIL: %s\n' "$*" >&2; ST_FAILS=$((ST_FAILS + 1)); }

# Platforms of the image manifests in an OCI layout tarball (one level of
# nested index is followed, as written by buildx); attestation manifests
# (platform unknown/unknown) are skipped.
st_oci_platforms() {
  local tar=$1 top digest
  top=$(tar -xOf "$tar" index.json)
  if [[ $(jq -r '.manifests[0].mediaType' <<<"$top") == *image.index* ]]; then
    digest=$(jq -r '.manifests[0].digest' <<<"$top")
    top=$(tar -xOf "$tar" "blobs/${digest%%:*}/${digest#*:}")
  fi
  jq -r '.manifests[] | .platform | select(.os != "unknown")
         | [.os, .architecture, .variant] | map(select(. != null)) | join("/")' <<<"$top"
}

st_deps() {
  local missing=()
  # a static busybox, so the imported rootfs needs no libraries.
  dpkg-query -W -f='${db:Status-Abbrev}' busybox-static 2>/dev/null | grep -q '^ii' ||
    missing+=(busybox-static)
  command -v jq >/dev/null || missing+=(jq)
  (( ${#missing[@]} )) || return 0
  log "selftest: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
    --no-install-recommends install "${missing[@]}" </dev/null >&2 ||
    { DEBIAN_FRONTEND=noninteractive apt-get -q update </dev/null >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends \
        install "${missing[@]}" </dev/null >&2; } || die "cannot install ${missing[*]}"
}

selftest_main() {
  local w out platforms
  st_deps
  w=$(mktemp -d /tmp/mtts-buildkit-selftest.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$w'" EXIT

  docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' >&2
  docker buildx version >&2

  # 1. multi-platform build without emulation (nothing is executed).
  mkdir -p "$w/mp"
  echo hello >"$w/mp/hello.txt"
  printf 'FROM scratch\nCOPY hello.txt /\n' >"$w/mp/Dockerfile"
  if docker buildx build -q --network none \
      --platform linux/amd64,linux/arm64,linux/arm/v7 \
      --output "type=oci,dest=$w/mp.oci.tar" "$w/mp" >/dev/null; then
    platforms=$(st_oci_platforms "$w/mp.oci.tar" | sort | paste -sd' ' -)
    if [[ $platforms == "linux/amd64 linux/arm/v7 linux/arm64" ]]; then
      st_pass "multi-platform OCI build: $platforms"
    else
      st_fail "multi-platform OCI build: unexpected platforms '$platforms'"
    fi
  else
    st_fail "multi-platform OCI build failed"
  fi

  # 2. a local base image from `docker import` (busybox-static rootfs).
  mkdir -p "$w/rootfs/bin" "$w/rootfs/tmp"
  cp /bin/busybox "$w/rootfs/bin/busybox"
  ln -s busybox "$w/rootfs/bin/sh"
  tar -C "$w/rootfs" -cf "$w/rootfs.tar" .
  if docker import "$w/rootfs.tar" mtts-selftest-busybox >/dev/null; then
    st_pass "docker import mtts-selftest-busybox"
  else
    st_fail "docker import"
  fi

  # 3. FROM <local image> + RUN with --network none.
  mkdir -p "$w/from"
  printf 'FROM mtts-selftest-busybox\nRUN echo hi > /x\n' >"$w/from/Dockerfile"
  if docker buildx build -q --network none --output "type=local,dest=$w/from.out" \
      "$w/from" >/dev/null && [[ $(cat "$w/from.out/x" 2>/dev/null) == hi ]]; then
    st_pass "FROM local image + RUN --network none"
  else
    st_fail "FROM local image + RUN --network none"
  fi

  # 4. --build-context name=docker-image://<local image>.
  mkdir -p "$w/bc"
  printf 'FROM base\nRUN echo bc > /y\n' >"$w/bc/Dockerfile"
  if docker buildx build -q --network none \
      --build-context base=docker-image://mtts-selftest-busybox \
      --output "type=local,dest=$w/bc.out" "$w/bc" >/dev/null &&
      [[ $(cat "$w/bc.out/y" 2>/dev/null) == bc ]]; then
    st_pass "--build-context base=docker-image://local image"
  else
    st_fail "--build-context base=docker-image://local image"
  fi

  # 5. '# syntax=<local image>': a fake frontend that just exits 42. Getting
  # "exit code: 42" proves the image was resolved locally (no registry) and
  # its container ran (needs the bridge network).
  mkdir -p "$w/ff" "$w/syn"
  printf 'FROM mtts-selftest-busybox\nENTRYPOINT ["/bin/sh","-c","echo mtts-fake-frontend-ran >&2; exit 42"]\n' \
    >"$w/ff/Dockerfile"
  docker buildx build -q --network none -t mtts-selftest-fakefrontend --load "$w/ff" >/dev/null ||
    st_fail "building the fake frontend image"
  printf '# syntax=mtts-selftest-fakefrontend\nFROM scratch\n' >"$w/syn/Dockerfile"
  out=$(docker buildx build --network none "$w/syn" 2>&1 || true)
  if grep -q 'exit code: 42' <<<"$out"; then
    st_pass "# syntax=<local image> resolved locally and the frontend container ran"
  else
    st_fail "# syntax=<local image>: $(grep -m1 ERROR <<<"$out" || tail -n1 <<<"$out")"
  fi

  docker image rm -f mtts-selftest-busybox mtts-selftest-fakefrontend >/dev/null 2>&1 || true
  if (( ST_FAILS )); then
    die "selftest: $ST_FAILS check(s) failed"
  fi
  log "selftest: all checks passed"
}
