# What a build's result holds, read from the build's own outputs for its
# SBOM (the frontend turns these files into the SPDX document). Each part is
# there only when its variable is set; every file is written, empty when its
# part is absent, so the frontend can read them all.
# $MTTS_OUT: where the files go.
# $MTTS_TAILSCALE: tailscale.combined as the image has it; $MTTS_UPX=1 when
#   it is UPX-packed: UPX hides Go's build info, so a copy is unpacked first.
# $MTTS_TAGS: the tags step's go.env (the version stamps name the commit).
# $MTTS_BUSYBOX: /bin/busybox as the image has it; $MTTS_BUSYBOX_TREE: the
#   configured source tree (its Makefile says the version, busybox.links
#   lists the applets).
# $MTTS_CA_BUNDLE: the CA bundle; the apk database beside it says which
#   package it came from (when this root has one).
out=$MTTS_OUT
: >"$out/checksums.txt"
for f in go-buildinfo.json go.env busybox-makefile busybox.links apk-installed; do
	: >"$out/$f"
done
sums() {
	sha256=$(sha256sum <"$2" | cut -d' ' -f1)
	sha1=$(sha1sum <"$2" | cut -d' ' -f1)
	printf '%s %s %s\n' "$1" "$sha256" "$sha1" >>"$out/checksums.txt"
}
if [ -n "${MTTS_TAILSCALE:-}" ]; then
	sums tailscale "$MTTS_TAILSCALE"
	unpacked=$MTTS_TAILSCALE
	if [ "${MTTS_UPX:-0}" = 1 ]; then
		unpacked=/tmp/tailscale.combined
		upx -q -d -o "$unpacked" "$MTTS_TAILSCALE" >/dev/null
	fi
	go version -m -json "$unpacked" >"$out/go-buildinfo.json"
fi
if [ -n "${MTTS_TAGS:-}" ]; then
	cp "$MTTS_TAGS" "$out/go.env"
fi
if [ -n "${MTTS_BUSYBOX:-}" ]; then
	sums busybox "$MTTS_BUSYBOX"
	head -n 8 "$MTTS_BUSYBOX_TREE/Makefile" >"$out/busybox-makefile"
	cp "$MTTS_BUSYBOX_TREE/busybox.links" "$out/busybox.links"
fi
if [ -n "${MTTS_CA_BUNDLE:-}" ]; then
	sums ca-bundle "$MTTS_CA_BUNDLE"
	if [ -f /lib/apk/db/installed ]; then
		cp /lib/apk/db/installed "$out/apk-installed"
	fi
fi
