#!/bin/sh
# mtts-frontend e2e fixture: what `go run ./cmd/featuretags ARGS` runs under
# the fixture's fake `go` (it runs <package>/mtts_fixture_main.sh with ARGS,
# from the module root). Behaves like Tailscale v1.98.5's cmd/featuretags:
#   --list              every feature, sorted, as "%20s: %s\n" (name, description)
#   --min --add=a,b     comma-separated sorted build tags: ts_include_cli when
#                       cli is kept, and ts_omit_<f> for every omittable
#                       feature not kept, where kept = the added features plus
#                       everything they need (transitively). Unknown names are
#                       accepted silently, as the real command does.
# Flags are parsed like Go's flag package (-x and --x, -x=v and -x v).
# --remove is not emulated (the frontend never uses it).
set -eu

table=./feature/featuretags/features.tsv
tab=$(printf '\t')

usage() {
	cat >&2 <<'EOF'
Usage of featuretags:
  -add string
    	a comma-separated list of features or tags to add, if --min is used.
  -list
    	if true, list all known features and what they do
  -min
    	remove all features not mentioned in --add
  -remove string
    	a comma-separated list of features to remove from the build. (without the 'ts_omit_' prefix)
EOF
}

bad_flag() {
	echo "$1" >&2
	usage
	exit 2
}

# Go's flag package accepts true/false spellings for bool flags.
bool_value() {
	case $2 in
	1 | t | T | true | TRUE | True) echo 1 ;;
	0 | f | F | false | FALSE | False) echo 0 ;;
	*) bad_flag "invalid boolean value \"$2\" for -$1: parse error" ;;
	esac
}

list=0
min=0
add=""
remove=""
while [ $# -gt 0 ]; do
	case $1 in
	--) shift; break ;;
	-* ) ;;
	*) break ;;
	esac
	flag=${1#-}
	flag=${flag#-}
	case $flag in
	*=*) name=${flag%%=*} value=${flag#*=} has_value=1 ;;
	*) name=$flag value="" has_value=0 ;;
	esac
	case $name in
	list | min)
		v=1
		if [ "$has_value" = 1 ]; then v=$(bool_value "$name" "$value"); fi
		if [ "$name" = list ]; then list=$v; else min=$v; fi
		;;
	add | remove)
		if [ "$has_value" = 0 ]; then
			[ $# -ge 2 ] || bad_flag "flag needs an argument: -$name"
			value=$2
			shift
		fi
		if [ "$name" = add ]; then add=$value; else remove=$value; fi
		;;
	h | help) usage; exit 0 ;;
	*) bad_flag "flag provided but not defined: -$name" ;;
	esac
	shift
done

[ -f "$table" ] || { echo "featuretags: $table is missing from the source tree" >&2; exit 1; }

if [ "$list" = 1 ]; then
	grep -v '^#' "$table" | LC_ALL=C sort -t "$tab" -k1,1 |
		awk -F '\t' '{ printf "%20s: %s\n", $1, $3 }'
	exit 0
fi

if [ -n "$remove" ]; then
	echo "mtts-fixture: featuretags --remove is not emulated" >&2
	exit 2
fi

# One tag per line, then sorted and de-duplicated like slices.Sort +
# slices.Compact (byte order), then joined with commas.
tags=$(grep -v '^#' "$table" | awk -F '\t' -v add="$add" -v min="$min" '
	{ name[NR] = $1; deps[$1] = $2; n = NR }
	END {
		todo = ""
		k = split(add, a, ",")
		for (i = 1; i <= k; i++) if (a[i] != "") todo = todo " " a[i]
		while (todo != "") {
			sub(/^ +/, "", todo)
			if (todo == "") break
			p = index(todo, " ")
			if (p == 0) { f = todo; todo = "" } else { f = substr(todo, 1, p - 1); todo = substr(todo, p + 1) }
			if (f in keep) continue
			keep[f] = 1
			if ((f in deps) && deps[f] != "-") {
				m = split(deps[f], d, ",")
				for (j = 1; j <= m; j++) todo = todo " " d[j]
			}
		}
		if ("cli" in keep) print "ts_include_cli"
		if (min == 1)
			for (i = 1; i <= n; i++)
				if (!(name[i] in keep) && name[i] != "cli") print "ts_omit_" name[i]
	}' | LC_ALL=C sort -u | tr '\n' ',')
tags=${tags%,}
if [ -n "$tags" ]; then
	printf '%s\n' "$tags"
fi
