# go build with the tags resolved by the tags step; every other argument is
# passed through as argv.
exec go build -tags "$(cat /tags/tags.txt)" "$@"
