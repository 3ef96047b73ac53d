# Build the applet symlink farm from busybox.links (absolute paths such as
# /bin/ls, /sbin/ip). Commands reach applets through PATH -> symlink ->
# argv[0], which keeps working after UPX (standalone shell mode would not).
#   MTTS_LINKS_FILE  busybox.links of the configured tree
#   MTTS_ROOTFS      where the farm is made
mkdir -p "$MTTS_ROOTFS/bin"
while IFS= read -r path; do
	case "$path" in
	/bin/busybox) continue ;;
	/*) ;;
	*) continue ;;
	esac
	mkdir -p "$MTTS_ROOTFS${path%/*}"
	ln -sf /bin/busybox "$MTTS_ROOTFS$path"
done <"$MTTS_LINKS_FILE"
[ -L "$MTTS_ROOTFS/bin/sh" ] || ln -s /bin/busybox "$MTTS_ROOTFS/bin/sh"
echo "$(find "$MTTS_ROOTFS" -type l | wc -l) applet links"
