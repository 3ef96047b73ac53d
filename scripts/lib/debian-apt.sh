# shellcheck shell=bash
# A private apt state for one Debian suite, derived from this machine's own
# apt configuration: the same mirrors, options and keys as the machine's
# entries for its own release, with another suite. The system's apt state
# (sources, lists, cache) is never touched, and no host name is written here.
#
#   debian_apt_sources DIR SUITE [TYPES]
#       writes DIR/sources.list and DIR/sources.list.d/suite.sources; TYPES
#       is "deb" (default) or "deb deb-src" (to download source packages).
#       $MTTS_APT_SOURCES, when set, is used as the sources file instead.
#   debian_apt DIR COMMAND ARGS...
#       runs apt-get/apt-cache COMMAND with that private state.
#   apt_need COMMAND PACKAGE
#       installs the machine's PACKAGE (system apt) unless COMMAND is there;
#       the package lists are updated once per script.
# Callers define die().

debian_apt_sources() {
  local dir=$1 suite=$2 types=${3:-deb} codename sl sp f files=()
  rm -rf "$dir/sources.list.d"
  mkdir -p "$dir/sources.list.d"
  : >"$dir/sources.list"

  if [[ -n ${MTTS_APT_SOURCES:-} ]]; then
    f=$MTTS_APT_SOURCES
    [[ -r $f ]] || die "MTTS_APT_SOURCES=$f is not readable"
    case $f in
      *.sources) cp -- "$f" "$dir/sources.list.d/suite.sources" ;;
      *) cp -- "$f" "$dir/sources.list" ;;
    esac
    return 0
  fi

  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n $codename ]] || die "no VERSION_CODENAME in /etc/os-release; set MTTS_APT_SOURCES"
  # Respect apt's own configuration of where the source lists are.
  eval "$(apt-config shell sl Dir::Etc::sourcelist/f sp Dir::Etc::sourceparts/d)"
  [[ -f ${sl:-} ]] && files+=("$sl")
  for f in "${sp%/}"/*.list "${sp%/}"/*.sources; do [[ -f $f ]] && files+=("$f"); done
  (( ${#files[@]} )) || die "no apt source files found"

  awk -v codename="$codename" -v suite="$suite" -v types="$types" \
      -v out_list="$dir/sources.list" \
      -v out_822="$dir/sources.list.d/suite.sources" '
    function has_word(list, w,   n, a, i) {
      n = split(list, a, /[ \t]+/)
      for (i = 1; i <= n; i++) if (a[i] == w) return 1
      return 0
    }
    # ---- deb822 (.sources) stanzas
    function flush(   i, k, out) {
      if (nkeys == 0) return
      if (tolower(val["enabled"]) != "no" && has_word(val["types"], "deb") &&
          has_word(val["suites"], codename) && !seen[val["uris"]]++) {
        out = "Types: " types "\nSuites: " suite "\nComponents: main\n"
        if (types == "deb") out = out "Targets: Packages\n"
        for (i = 1; i <= nkeys; i++) {
          k = keys[i]
          if (k ~ /^(types|suites|components|enabled|targets)$/) continue
          out = out raw[k] "\n"
        }
        printf "%s\n", out >> out_822
        found++
      }
      nkeys = 0; delete val; delete raw; delete keys
    }
    FNR == 1 { flush(); is822 = (FILENAME ~ /\.sources$/) }
    is822 && /^[ \t]*$/ { flush(); next }
    is822 && /^#/ { next }
    is822 && /^[ \t]/ { if (nkeys) raw[keys[nkeys]] = raw[keys[nkeys]] "\n" $0; next }
    is822 {
      k = tolower(substr($0, 1, index($0, ":") - 1))
      v = substr($0, index($0, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v)
      keys[++nkeys] = k; raw[k] = $0; val[k] = v
      next
    }
    # ---- one-line (.list) entries: deb [options] uri suite components...
    {
      line = $0; sub(/#.*/, "", line)
      n = split(line, t, /[ \t]+/); i = 1
      if (t[1] == "") i++
      if (t[i] != "deb") next
      i++; opts = ""
      if (substr(t[i], 1, 1) == "[") {
        opts = t[i]
        while (opts !~ /\]$/ && i < n) { i++; opts = opts " " t[i] }
        i++
      }
      uri = t[i]; s = t[i + 1]
      if (s == codename && !seen[uri]++) {
        nt = split(types, tt, / /)
        for (j = 1; j <= nt; j++)
          print tt[j] " " (opts == "" ? "" : opts " ") uri " " suite " main" >> out_list
        found++
      }
    }
    END { flush(); exit(found ? 0 : 3) }
  ' "${files[@]}" || die "found no 'deb ... $codename' entry in ${files[*]};" \
    "set MTTS_APT_SOURCES to a sources file for the '$suite' suite"
}

debian_apt() {
  local dir=$1 cmd=$2; shift 2
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/preferences.d"
  # The system's hooks (cache cleaners, packagekit notifications) are about
  # the system's apt state, which we do not touch: drop them.
  printf '#clear %s;\n' APT::Update::Pre-Invoke APT::Update::Post-Invoke \
    APT::Update::Post-Invoke-Success DPkg::Pre-Invoke DPkg::Post-Invoke >"$dir/apt.conf"
  "$cmd" -q -c "$dir/apt.conf" \
    -o "Dir::Etc::sourcelist=$dir/sources.list" \
    -o "Dir::Etc::sourceparts=$dir/sources.list.d" \
    -o "Dir::Etc::preferences=$dir/preferences" \
    -o "Dir::Etc::preferencesparts=$dir/preferences.d" \
    -o "Dir::State::Lists=$dir/lists" \
    -o "Dir::Cache=$dir/cache" \
    -o "APT::Sandbox::User=root" \
    "$@"
}

apt_need() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "installing $pkg (for $cmd)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z ${APT_NEED_UPDATED:-} ]]; then
    apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null >&2 || die "apt-get update failed"
    APT_NEED_UPDATED=1
  fi
  apt-get -q -y -o DPkg::Lock::Timeout=300 --no-install-recommends install "$pkg" </dev/null >&2 ||
    die "apt-get install $pkg failed"
}
