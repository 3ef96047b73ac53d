# shellcheck shell=bash
# QEMU user emulation in binfmt_misc, for scripts that must run foreign
# binaries inside containers or chroots (scripts/bench: the original
# Dockerfile's applet probe; scripts/test --arm64-host: an arm64 build
# host). Debian's qemu-user-static entries are registered with flag F (the
# kernel opens the interpreter now, so a container finds it without a copy)
# under names of the caller's own, so that exactly these are removed
# afterwards and an entry someone else registered is never touched.
#
#   binfmt_register PREFIX ARCH...
#       ARCH as Debian's qemu names it (aarch64, arm); the entries are
#       PREFIX-ARCH. Installs qemu-user-static when missing and mounts
#       binfmt_misc when it is not. Says why on stderr and fails when it
#       cannot.
#   binfmt_unregister
#       removes what binfmt_register added (and unmounts binfmt_misc if it
#       mounted it); nothing to do otherwise

binfmt_names=()
binfmt_mounted=no

binfmt_register() {
	local prefix=$1 arch line conf entry
	shift
	if ! dpkg-query -W -f='${db:Status-Abbrev}' qemu-user-static 2>/dev/null | grep -q '^ii'; then
		echo "binfmt: installing qemu-user-static" >&2
		DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
			--no-install-recommends install qemu-user-static </dev/null >&2 || return 1
	fi
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || {
			echo "binfmt: cannot mount binfmt_misc" >&2
			return 1
		}
		binfmt_mounted=yes
	fi
	for arch in "$@"; do
		conf=/usr/lib/binfmt.d/qemu-$arch.conf
		[ -f "$conf" ] || {
			echo "binfmt: no $conf (qemu-user-static)" >&2
			return 1
		}
		line=$(cat "$conf")
		[[ $line == *F ]] || {
			echo "binfmt: $conf does not have flag F" >&2
			return 1
		}
		entry=$prefix-$arch
		# Left behind by a run that was killed: ours to replace.
		if [ -e "/proc/sys/fs/binfmt_misc/$entry" ]; then
			echo -1 >"/proc/sys/fs/binfmt_misc/$entry"
		fi
		echo ":$entry${line#:qemu-"$arch"}" >/proc/sys/fs/binfmt_misc/register || {
			echo "binfmt: registering QEMU for $arch in binfmt_misc failed" >&2
			return 1
		}
		binfmt_names+=("$entry")
	done
}

binfmt_unregister() {
	local entry
	for entry in ${binfmt_names[@]+"${binfmt_names[@]}"}; do
		if [ -e "/proc/sys/fs/binfmt_misc/$entry" ]; then
			echo -1 >"/proc/sys/fs/binfmt_misc/$entry"
		fi
	done
	binfmt_names=()
	if [ "$binfmt_mounted" = yes ]; then
		umount /proc/sys/fs/binfmt_misc || true
		binfmt_mounted=no
	fi
}
