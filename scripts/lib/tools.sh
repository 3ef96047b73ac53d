# shellcheck shell=bash
# Test tools the scripts install themselves on first use, cached by version
# (so a new machine gets them, and a warm one keeps them).
#
#   tools_cache
#       prints where: $MTTS_TOOLS_CACHE, else /var/cache/mtts-e2e/tools as
#       root, else ~/.cache/mtts-tools
#   pypi_tool NAME VERSION
#       makes a virtualenv of PyPI's NAME==VERSION under tools_cache (once)
#       and prints its bin directory

tools_cache() {
	if [ -n "${MTTS_TOOLS_CACHE:-}" ]; then
		echo "$MTTS_TOOLS_CACHE"
	elif [ "$(id -u)" = 0 ]; then
		echo /var/cache/mtts-e2e/tools
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/mtts-tools"
	fi
}

pypi_tool() {
	local name=$1 version=$2
	local dir
	dir=$(tools_cache)/$name-$version
	if [ ! -f "$dir/.installed" ]; then
		echo "installing $name $version from PyPI" >&2
		rm -rf "$dir"
		python3 -m venv "$dir"
		"$dir/bin/pip" install --quiet --disable-pip-version-check "$name==$version" >&2
		touch "$dir/.installed"
	fi
	echo "$dir/bin"
}
