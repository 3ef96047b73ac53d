# List what `go build ./cmd/tailscaled` compiles for this target that is not
# Tailscale's own code, the standard library's and other modules' packages,
# for the next step to compile apart from the source, so that its inputs
# change only when a dependency, the tags or Go do, not with each Tailscale
# release or patch:
#   packages.txt  the packages, one per line
#   tags.txt      the build tags (a copy of the tags step's)
#   go.mod        a module requiring exactly the modules those packages come
#                 from, at the versions Tailscale's build selects
# With a module replaced by a directory (which such a go.mod cannot name),
# packages.txt is empty and the real build compiles everything itself.
#   MTTS_TAGS_FILE  the tags step's tags.txt
#   MTTS_OUT        where the three files go
tags=$(cat -- "$MTTS_TAGS_FILE")
cp -- "$MTTS_TAGS_FILE" "$MTTS_OUT/tags.txt"
main=$(go list -m)
go list -deps -tags "$tags" \
	-f "{{if .Standard}}{{.ImportPath}}{{else if ne .Module.Path \"$main\"}}{{.ImportPath}}{{end}}" \
	./cmd/tailscaled | sed '/^$/d' >"$MTTS_OUT/packages.txt"
go list -deps -tags "$tags" \
	-f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{with .Replace}} {{.Path}} {{.Version}}{{end}}{{end}}{{end}}' \
	./cmd/tailscaled | sed '/^$/d' | sort -u >/tmp/modules.txt
version=$(go env GOVERSION)
version=${version#go}
{
	echo "module mtts.invalid/dependencies"
	echo
	echo "go ${version%% *}"
	echo
	while read -r path ver rpath rver; do
		echo "require $path $ver"
		if [ -n "$rpath" ]; then
			if [ -z "$rver" ]; then
				echo "dependencies: $path is replaced by the directory $rpath: no packages compiled apart" >&2
				: >"$MTTS_OUT/packages.txt"
			fi
			echo "replace $path $ver => $rpath $rver"
		fi
	done </tmp/modules.txt
} >"$MTTS_OUT/go.mod"
echo "$(wc -l <"$MTTS_OUT/packages.txt") packages from the standard library and $(wc -l </tmp/modules.txt) modules"
