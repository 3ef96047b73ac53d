# shellcheck shell=bash
# Background servers tracked by pid files, for the test fixtures' scripts
# (sources, headscale, buildkitd).
#
#   pid_alive PID
#       true while PID runs
#   pid_in FILE
#       the pid written in FILE (nothing, and false, without FILE)
#   spawn DIR NAME CMD...
#       starts CMD in its own session (so a test's Ctrl-C does not reach
#       it), output appended to DIR/NAME.log, its pid in DIR/NAME.pid
#   stop_pidfile FILE [SECONDS]
#       TERM the pid in FILE, KILL it if it still runs after SECONDS
#       (default 5), then remove FILE; nothing to do without FILE

pid_alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

pid_in() { [[ -f $1 ]] && tr -dc 0-9 <"$1"; }

spawn() {
	local dir=$1 name=$2
	shift 2
	setsid "$@" </dev/null >>"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
}

stop_pidfile() {
	local file=$1 tenths=$((${2:-5} * 10)) pid i
	pid=$(pid_in "$file") || return 0
	if pid_alive "$pid"; then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < tenths; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		if pid_alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
	fi
	rm -f "$file"
}
