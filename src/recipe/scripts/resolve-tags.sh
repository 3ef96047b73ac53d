# Resolve the Go build tags once for every platform. featuretags follows
# feature dependencies itself (advertiseexitnode pulls in peerapiserver), but
# it silently accepts names it does not know, so check each requested name
# against `featuretags --list` first and name the unknown ones.
# $MTTS_FEATURES: comma-separated feature names (checked by the frontend to
# be lowercase letters and digits).
# $MTTS_TAGS_DIR: where to write tags.txt (the tags, for people) and go.env
# (GOFLAGS for `GOENV=go.env go build`: the tags and the version stamps).
# $MTTS_VERSION: the Tailscale version without its v (1.98.5).
# The stamps follow upstream's build_dist.sh: the short stamp is the
# version; the long one adds -t and the commit's first 9 hex digits, and the
# commit stamp is the whole commit, when the tree has git metadata (the git
# source keeps .git; a named context without it gets the version alone).
# (Two steps, so a failing go run stops here instead of reading as "every
# feature unknown".)
list=$(go run ./cmd/featuretags --list)
known=$(printf '%s\n' "$list" | sed -e 's/^ *//' -e 's/:.*//')
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

commit=""
if [ -f .git/HEAD ]; then
	head=$(cat .git/HEAD)
	case $head in
	"ref: "*)
		ref=${head#ref: }
		if [ -f ".git/$ref" ]; then
			commit=$(cat ".git/$ref")
		elif [ -f .git/packed-refs ]; then
			commit=$(awk -v r="$ref" '$2 == r { print $1 }' .git/packed-refs)
		fi
		;;
	*) commit=$head ;;
	esac
fi
stamp="tailscale.com/version"
ldflags="-s -w -X $stamp.shortStamp=$MTTS_VERSION"
if printf '%s' "$commit" | grep -qx '[0-9a-f]\{40\}'; then
	short=$(printf '%s' "$commit" | cut -c1-9)
	ldflags="$ldflags -X $stamp.longStamp=$MTTS_VERSION-t$short -X $stamp.gitCommitStamp=$commit"
	echo "version stamps: $MTTS_VERSION-t$short, commit $commit"
else
	ldflags="$ldflags -X $stamp.longStamp=$MTTS_VERSION"
	echo "version stamps: $MTTS_VERSION (the source has no git metadata: no commit)"
fi
# -buildvcs=false: Go would otherwise look for a git binary to stamp .git.
printf "GOFLAGS=-buildvcs=false -tags=%s '-ldflags=%s'\n" "$tags" "$ldflags" >"$MTTS_TAGS_DIR/go.env"
