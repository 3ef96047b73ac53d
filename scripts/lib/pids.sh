# shellcheck shell=bash
# Processes started and stopped by pid, for every script: the private docker
# daemons (scripts/buildkit-env) and the test fixtures' servers (sources,
# headscale, buildkitd). Nothing is ever stopped by name.
#
#   proc_alive PID
#       true while PID runs and is not a zombie (reads /proc, so it answers
#       for any caller, unlike kill -0 for a non-root one)
#   pid_in FILE
#       the pid written in FILE (nothing without FILE)
#   pid_is_ours PID MARKER
#       PID runs and MARKER is one of its arguments (a private config or
#       pid file path): a stale pid file whose number now belongs to an
#       unrelated process is not ours
#   spawn PIDFILE LOGFILE CMD...
#       starts CMD in a session of its own (a test's Ctrl-C does not reach
#       it), detached from our stdio (callers in $(...) or pipes do not
#       hang) and from fd 9 (our scripts' lock), output appended to
#       LOGFILE; the process writes its own pid to PIDFILE before it execs
#       CMD, and spawn returns once it is there
#   stop_pid NAME PID [SECONDS]
#       TERM, wait up to SECONDS (default 5), then KILL; NAME is for the
#       warning when it needed KILL
#   stop_pidfile FILE [SECONDS]
#       stop_pid the pid in FILE, then remove FILE; nothing to do without it

proc_alive() {
	local stat
	[[ ${1:-} =~ ^[0-9]+$ ]] || return 1
	# (not $(<file): under set -e a failed $(<file) ends the whole script)
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) } # the state field follows "(comm) "
	[[ ${stat%% *} != Z ]]
}

pid_in() { if [[ -s $1 ]]; then tr -dc 0-9 <"$1"; fi; }

pid_is_ours() {
	local pid=$1 marker=$2
	proc_alive "$pid" || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "$marker"
}

spawn() {
	local pidfile=$1 logfile=$2 i
	shift 2
	rm -f "$pidfile"
	# shellcheck disable=SC2016 # $$, $0 and $@ are the inner sh's
	setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
		</dev/null >>"$logfile" 2>&1 9>&- &
	for ((i = 0; i < 50; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.1
	done
	echo "spawn: $1 did not start (see $logfile)" >&2
	return 1
}

stop_pid() {
	local name=$1 pid=$2 tenths=$((${3:-5} * 10)) i
	proc_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < tenths; i++)); do
		proc_alive "$pid" || return 0
		sleep 0.1
	done
	echo "$name (pid $pid) did not exit within $((tenths / 10)) s; sending KILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		proc_alive "$pid" || return 0
		sleep 0.1
	done
	echo "$name (pid $pid) is still alive after KILL" >&2
}

stop_pidfile() {
	local file=$1 pid
	pid=$(pid_in "$file")
	[[ -z $pid ]] || stop_pid "$(basename "$file" .pid)" "$pid" "${2:-5}"
	rm -f "$file"
}
