# Resolve the Go build tags once for every platform. featuretags follows
# feature dependencies itself (advertiseexitnode pulls in peerapiserver), but
# it silently accepts names it does not know, so check each requested name
# against `featuretags --list` first and name the unknown ones.
# $MTTS_FEATURES: comma-separated feature names (checked by the frontend to
# be lowercase letters and digits).
# $MTTS_TAGS_DIR: where to write tags.txt (the tags, for people) and go.env
# (the same tags as GOFLAGS, for `GOENV=go.env go build`).
known=$(go run ./cmd/featuretags --list | sed -e 's/^ *//' -e 's/:.*//')
unknown=""
for f in $(echo "$MTTS_FEATURES" | tr ',' ' '); do
	if ! printf '%s\n' "$known" | grep -qx "$f"; then
		unknown="$unknown $f"
	fi
done
if [ -n "$unknown" ]; then
	echo "error: unknown Tailscale feature(s) in the recipe's allowlist:$unknown" >&2
	echo "features this Tailscale version knows: $(printf "%s\n" "$known" | tr "\n" " ")" >&2
	exit 1
fi
tags=$(go run ./cmd/featuretags --min --add="$MTTS_FEATURES")
echo "build tags: $tags"
printf '%s\n' "$tags" >"$MTTS_TAGS_DIR/tags.txt"
printf 'GOFLAGS=-tags=%s\n' "$tags" >"$MTTS_TAGS_DIR/go.env"
