# Before anything compiles: the Go of the golang image must be at least what
# the Tailscale source's go.mod asks for (its `go` line); otherwise fail now,
# naming both versions and the recipe key to bump, not deep inside go build.
# A newer `toolchain` line is Tailscale's recommendation: said, not fatal.
# Then hand go.mod and go.sum on to the module download.
#   MTTS_SRC     the Tailscale tree
#   MTTS_OUT     where go.mod and go.sum go
#   MTTS_GOLANG  what to change for a newer Go (the recipe key, or the
#                named context that replaced the image)
for f in go.mod go.sum; do
	if [ ! -f "$MTTS_SRC/$f" ]; then
		echo "error: the Tailscale source has no $f (a tailscale named context that is not a Tailscale tree?)" >&2
		exit 1
	fi
done
have=$(cd / && GOTOOLCHAIN=local go env GOVERSION)
have=${have#go}
need=$(awk '$1 == "go" { print $2; exit }' "$MTTS_SRC/go.mod")
toolchain=$(awk '$1 == "toolchain" { print $2; exit }' "$MTTS_SRC/go.mod")
toolchain=${toolchain#go}
# newer A B: A is a later Go release than B (numbers compared field by field).
newer() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, "."); m = split(b, y, ".")
		for (i = 1; i <= (n > m ? n : m); i++) {
			if (x[i] + 0 > y[i] + 0) exit 0
			if (x[i] + 0 < y[i] + 0) exit 1
		}
		exit 1
	}'
}
if [ -n "$need" ] && newer "$need" "$have"; then
	echo "error: this Tailscale's go.mod needs go $need, but the golang image has go $have: $MTTS_GOLANG a Go $need (or newer) image" >&2
	exit 1
fi
if [ -n "$toolchain" ] && newer "$toolchain" "$have"; then
	echo "note: go.mod recommends go $toolchain (toolchain line); the golang image has go $have, which is enough"
fi
echo "go.mod needs go ${need:-(any)}; the golang image has go $have"
cp -- "$MTTS_SRC/go.mod" "$MTTS_SRC/go.sum" "$MTTS_OUT/"
