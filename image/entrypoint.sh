#!/bin/sh
# Subnet routes and exit-node traffic need IP forwarding in the container's
# network namespace; tailscaled does not reliably turn on IPv6 forwarding
# there itself. RouterOS lets the container write these, so try both, and
# say so (without failing) where the runtime keeps /proc/sys read-only.
for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding; do
	if ! { [ -w "$f" ] && echo 1 >"$f"; } 2>/dev/null; then
		echo "entrypoint: cannot enable forwarding in $f (read-only /proc/sys?): subnet routes and exit-node traffic will not pass" >&2
	fi
done
# exec keeps tailscaled as PID 1, so it gets the container's signals.
exec /usr/local/bin/tailscaled "$@"
