# Lay the build context's patches/ over the Tailscale tree. Fixed text:
# nothing from the user is spliced in; paths come from the environment:
#   MTTS_PATCHES   the read-only patches/ directory of the build context
#   MTTS_SRC       the Tailscale tree to change
#   MTTS_FILTER_FILE  the built-in stderr verbosity filter, copied into
#                     cmd/tailscaled/ first; unset when the recipe says
#                     tailscale.verbosity_filter = false
# Rules (README, "Recipe"):
#   patches/*.go            -> cmd/tailscaled/ (the package of the binary)
#   patches/<dir>/.../file  -> <dir>/.../file (mirrors the tree)
#   patches/*.diff|*.patch  -> applied with patch -p1 (no fuzz), all in one name order,
#                              after the overlays; a file a diff deletes is
#                              removed; git renames, copies and binary diffs
#                              are refused, naming the file
# A tree that is not Tailscale's (an empty named context) fails here, by
# name, not in a cp below.
for need in go.mod cmd/tailscaled; do
	if [ ! -e "$MTTS_SRC/$need" ]; then
		echo "error: the Tailscale source has no $need (a tailscale named context that is not a Tailscale tree?)" >&2
		exit 1
	fi
done
dir=$MTTS_PATCHES
filter=stderr_verbosity_filter.go
if [ -z "${MTTS_FILTER_FILE:-}" ] && [ -e "$dir/$filter" ]; then
	echo "error: the recipe says tailscale.verbosity_filter = false, but the build context's patches/$filter adds the filter: delete that file or drop the setting" >&2
	exit 1
fi
if [ -n "${MTTS_FILTER_FILE:-}" ]; then
	echo "add the built-in $filter"
	cp -- "$MTTS_FILTER_FILE" "$MTTS_SRC/cmd/tailscaled/$filter"
fi
if [ ! -d "$dir" ]; then
	echo "no patches/ in the build context: nothing to apply"
	exit 0
fi
cd -- "$MTTS_SRC" || exit 1
# busybox's patch (the golang:alpine image's) applies a hunk only where its
# context matches exactly; GNU patch would take it with fuzz. GNU is made
# as strict, so a diff that applies in one golang image applies in all.
exact=""
if patch --version 2>/dev/null | grep -q '^GNU patch'; then
	exact=--fuzz=0
fi
for f in "$dir"/*.go; do
	[ -f "$f" ] || continue
	echo "overlay ${f#"$dir"/} -> cmd/tailscaled/"
	cp -- "$f" "./cmd/tailscaled/${f##*/}"
done
(cd -- "$dir" && find . -mindepth 2 -type f | LC_ALL=C sort) | while IFS= read -r rel; do
	rel=${rel#./}
	echo "overlay $rel"
	mkdir -p -- "./$(dirname -- "$rel")"
	cp -- "$dir/$rel" "./$rel"
done
(cd -- "$dir" && find . -maxdepth 1 -type f \( -name '*.diff' -o -name '*.patch' \) | LC_ALL=C sort) |
	while IFS= read -r p; do
		p=${p#./}
		if grep -qE '^(rename from|rename to|copy from|copy to) |^GIT binary patch' "$dir/$p"; then
			echo "error: patches/$p: git renames, copies and binary diffs are not supported; write the new file into patches/ and delete the old one in a diff" >&2
			exit 1
		fi
		echo "apply $p"
		patch -p1 ${exact:+"$exact"} -i "$dir/$p" </dev/null || {
			echo "error: patches/$p does not apply to this Tailscale tree: every hunk must match exactly (busybox patch takes no fuzz), so the patch needs refreshing against this version" >&2
			exit 1
		}
		# A diff to /dev/null deletes its file; patch tools differ in whether
		# they leave it empty.
		awk '/^--- / { from = $2 } /^\+\+\+ \/dev\/null/ { sub(/^a\//, "", from); print from }' "$dir/$p" |
			while IFS= read -r gone; do
				if [ -f "./$gone" ] && [ ! -s "./$gone" ]; then
					echo "delete $gone"
					rm -f -- "./$gone"
				fi
			done
	done
