# Give Go's build cache the dependencies compiled apart ($MTTS_DEPS_CACHE,
# a layer), only the files it lacks: none is rewritten under another build
# that may be reading it. Then run the build given as arguments.
missing=/tmp/missing-from-go-cache
(cd -- "$MTTS_DEPS_CACHE" && find . -type f) | while read -r f; do
	[ -e "$GOCACHE/$f" ] || printf '%s\n' "$f"
done >"$missing"
# (cpio: busybox's tar takes no file list everywhere; Debian's has no -T)
if [ -s "$missing" ]; then
	(cd -- "$MTTS_DEPS_CACHE" && cpio -o -H newc <"$missing") | (cd -- "$GOCACHE" && cpio -i -d)
fi
echo "Go's build cache: $(wc -l <"$missing") files added from the compiled dependencies"
exec "$@"
