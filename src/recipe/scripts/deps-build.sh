# Compile the list step's packages.txt for this target with its tags.txt
# and the real build's compile flags ($MTTS_COMPILE_FLAGS) into $GOCACHE, a
# layer of its own that the real build copies into its build cache. The
# list step's go.mod requires only modules the download verified against
# go.sum, so go may record their sums from the module cache itself
# (-mod=mod, GOSUMDB=off, GOPROXY=off: nothing is fetched).
if [ ! -s packages.txt ]; then
	echo "nothing to compile apart"
	exit 0
fi
# shellcheck disable=SC2046,SC2086 # flags and package paths are words
go build $MTTS_COMPILE_FLAGS -tags "$(cat tags.txt)" $(cat packages.txt)
echo "$(wc -l <packages.txt) packages compiled"
