# shellcheck shell=bash
# What the recipe says, asked of the frontend itself (`mtts-frontend
# recipe`), so no script keeps a copy of a pin, a version or a list.
#
#   recipe FILTER [STUB]
#       jq's FILTER over the effective recipe (the built-in one, or STUB laid
#       over it), raw: `recipe .tailscale.version` prints v1.102.2, an array
#       prints one item per line. Fails, naming FILTER, when it is null.
#   recipe_frontend
#       prints the path of the frontend binary used
#
# The frontend is $MTTS_FRONTEND_BIN when set (scripts/test builds it once
# and sets it), or else the repository's debug build, built here by cargo
# when it is missing or stale. Needs jq (Debian's package).

_recipe_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

recipe_frontend() {
	if [[ -n ${MTTS_FRONTEND_BIN:-} ]]; then
		echo "$MTTS_FRONTEND_BIN"
		return
	fi
	(cd "$_recipe_repo" && cargo build --locked -q --bin mtts-frontend) >&2 ||
		{
			echo "recipe: building the frontend (cargo build --bin mtts-frontend) failed" >&2
			return 1
		}
	echo "$_recipe_repo/target/debug/mtts-frontend"
}

recipe() {
	local filter=$1 stub=${2:-} bin json args=()
	command -v jq >/dev/null || {
		echo "recipe: jq is missing (apt-get install jq)" >&2
		return 1
	}
	bin=$(recipe_frontend) || return 1
	[[ -n $stub ]] && args=(--recipe "$stub")
	json=$("$bin" recipe ${args[@]+"${args[@]}"}) || {
		echo "recipe: $bin recipe ${args[*]} failed" >&2
		return 1
	}
	jq -er "$filter | if type == \"array\" then .[] else . end" <<<"$json" || {
		echo "recipe: the recipe${stub:+ $stub} has no $filter" >&2
		return 1
	}
}
