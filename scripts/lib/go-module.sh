# shellcheck shell=bash
# Go modules at pinned versions, from the Go module proxy, for the test
# fixtures: Tailscale's source (sources.sh), headscale (headscale.sh),
# buildkitd, buildctl and the registry (buildkitd.sh). Each caller keeps its
# own module cache (GOMODCACHE=HOME/gomod), so its downloads stay for a
# rebuild without the network. The builds share one Go build cache
# (GO_MODULE_BUILD_CACHE, default $MTTS_E2E_CACHE/go-build): they run side
# by side on a new machine, and each compiled the standard library and the
# common dependencies again in a cache of its own. Go trims it by itself;
# about 1 GB. Needs go and jq.
#
#   go_module_dir HOME MODULE@VERSION
#       downloads MODULE@VERSION and prints its (read-only) directory; a
#       module whose go.mod needs a newer Go than the machine's is fetched
#       with that Go (see go_toolchain_for)
#   go_toolchain_for GO.MOD
#       prints what GOTOOLCHAIN a go command in that module needs: local
#       while the machine's Go is enough, else go<the go line's version>,
#       which the go command takes from the Go module proxy as Go's own
#       toolchain module (golang.org/toolchain; the only newer Go this
#       project uses is go1.27.3: see the README)
#   go_module_build HOME MODULE@VERSION OUTDIR [BUILD-FLAG...] -- PACKAGE...
#       nothing when OUTDIR exists (it appears whole, once all is built);
#       else builds the PACKAGEs (paths in the module, e.g. ./cmd/headscale) with
#       `go build -mod=mod -trimpath BUILD-FLAG...` in a copy of the module,
#       so its own go.mod and go.sum decide every dependency (`go install
#       M@V` refuses a module with replace or exclude directives), into
#       OUTDIR; then drops the unpacked modules (about 1 GB each): the
#       binaries' presence is what skips a rebuild

# _go_module_env HOME: a private module cache, the shared build cache, the
# machine's Go, static binaries.
_go_module_env() {
	export GOMODCACHE=$1/gomod GOTOOLCHAIN=local CGO_ENABLED=0 \
		GOCACHE=${GO_MODULE_BUILD_CACHE:-${MTTS_E2E_CACHE:-/var/cache/mtts-e2e}/go-build}
}

go_toolchain_for() {
	local gomod=$1 need have
	need=$(awk '$1 == "go" { print $2; exit }' "$gomod") || return 1
	have=$(cd / && GOTOOLCHAIN=local go env GOVERSION) || return 1
	have=${have#go}
	if [[ -z $need ]] || [[ $(printf '%s\n' "$need" "$have" | sort -V | tail -n 1) == "$have" ]]; then
		echo local
	else
		echo "go$need"
	fi
}

go_module_dir() {
	local home=$1 module=$2 json dir gomod
	command -v go >/dev/null || {
		echo "go-module: no go on PATH" >&2
		return 1
	}
	(
		_go_module_env "$home"
		# A module that needs a newer Go is refused by the machine's (but
		# its go.mod arrives): again with the Go it names.
		json=$(go mod download -json "$module" 2>/dev/null) || {
			gomod=$(jq -r '.GoMod // empty' <<<"$json" 2>/dev/null)
			if [[ -f $gomod ]]; then
				GOTOOLCHAIN=$(go_toolchain_for "$gomod") || exit 1
				export GOTOOLCHAIN
			fi
			json=$(go mod download -json "$module")
		} || {
			echo "go-module: the Go module proxy does not serve $module: $json" >&2
			exit 1
		}
		dir=$(jq -r '.Dir // empty' <<<"$json")
		[[ -d $dir ]] || {
			echo "go-module: go mod download $module gave no module directory: $json" >&2
			exit 1
		}
		echo "$dir"
	)
}

go_module_build() {
	local home=$1 module=$2 out=$3 dir src tmp flags=()
	shift 3
	while (($#)) && [[ $1 != -- ]]; do
		flags+=("$1")
		shift
	done
	[[ ${1:-} == -- && $# -gt 1 ]] || {
		echo "go-module: go_module_build $module: no packages after --" >&2
		return 1
	}
	shift
	[[ -d $out ]] && return 0
	# One build of OUTDIR at a time: a second caller waits, then finds it.
	mkdir -p "$(dirname "$out")" || return 1
	(
		flock 9 || exit 1
		[[ -d $out ]] && exit 0
		_go_module_build_unlocked "$home" "$module" "$out" ${flags[@]+"${flags[@]}"} -- "$@"
	) 9>"$out.lock"
}

_go_module_build_unlocked() {
	local home=$1 module=$2 out=$3 dir src tmp flags=()
	shift 3
	while [[ $1 != -- ]]; do
		flags+=("$1")
		shift
	done
	shift
	echo "go-module: building $* of $module from the Go module proxy" >&2
	dir=$(go_module_dir "$home" "$module") || return 1
	src=$out.src
	tmp=$out.tmp
	# (Each step checked: a caller's `|| die` turns set -e off in here.)
	rm -rf "$src" "$tmp"
	if ! { mkdir -p "$tmp" && cp -r "$dir" "$src" && chmod -R u+w "$src"; }; then
		echo "go-module: copying $module to $src failed" >&2
		rm -rf "$src" "$tmp"
		return 1
	fi
	if ! (
		_go_module_env "$home"
		cd "$src" && go build -mod=mod -trimpath ${flags[@]+"${flags[@]}"} -o "$tmp/" "$@"
	); then
		echo "go-module: building $* of $module failed" >&2
		rm -rf "$src" "$tmp"
		return 1
	fi
	rm -rf "$src" "$out"
	mv "$tmp" "$out" || return 1
	# (A private build cache of earlier versions of this script.)
	rm -rf "$home/gocache"
	find "$home/gomod" -mindepth 1 -maxdepth 1 ! -name cache -exec chmod -R u+w {} + \
		-exec rm -rf {} +
}
