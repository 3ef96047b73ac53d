# Overlay the build context's patches/ onto the Tailscale tree in /src.
# Fixed text: nothing from the user is spliced in; paths come from the
# read-only context mounted at /context.
#   patches/*.go            -> cmd/tailscaled/ (the package of the binary)
#   patches/<dir>/.../file  -> <dir>/.../file (mirrors the tree)
#   patches/*.diff|*.patch  -> applied with patch -p1, in name order
dir=/context/patches
if [ ! -d "$dir" ]; then
	echo "no patches/ in the build context: nothing to apply"
	exit 0
fi
cd /src || exit 1
for f in "$dir"/*.go; do
	[ -f "$f" ] || continue
	echo "overlay ${f#"$dir"/} -> cmd/tailscaled/"
	cp "$f" cmd/tailscaled/
done
(cd "$dir" && find . -mindepth 2 -type f | sort) | while IFS= read -r rel; do
	rel=${rel#./}
	echo "overlay $rel"
	mkdir -p "$(dirname "$rel")"
	cp "$dir/$rel" "$rel"
done
for p in "$dir"/*.diff "$dir"/*.patch; do
	[ -f "$p" ] || continue
	echo "apply ${p#"$dir"/}"
	patch -p1 -i "$p"
done
