# Build the applet symlink farm from busybox.links (absolute paths such as
# /bin/ls, /sbin/ip). Commands reach applets through PATH -> symlink ->
# argv[0], which keeps working after UPX (standalone shell mode would not).
mkdir -p /rootfs/bin
while IFS= read -r path; do
	case "$path" in
	/bin/busybox) continue ;;
	/*) ;;
	*) continue ;;
	esac
	mkdir -p "/rootfs${path%/*}"
	ln -sf /bin/busybox "/rootfs$path"
done </busybox/busybox.links
[ -L /rootfs/bin/sh ] || ln -s /bin/busybox /rootfs/bin/sh
echo "$(find /rootfs -type l | wc -l) applet links"
