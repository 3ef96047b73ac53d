# Configure busybox once for every platform: start from allnoconfig and turn
# on exactly the symbols listed in busybox-applets.config (the build
# context's, else the frontend's built-in list), then generate busybox.links,
# the applet install list, on the build machine: nothing is run for the
# target, so no emulation is needed.
#   MTTS_TREE             the busybox source tree, configured in place
#   MTTS_APPLETS               the build context's applet list (a file,
#                              may be missing)
#   MTTS_DEFAULT_APPLET_LIST   the text of the frontend's built-in list
if [ -f "$MTTS_APPLETS" ]; then
	list=$(cat -- "$MTTS_APPLETS")
	echo "applet list: the build context's busybox-applets.config"
else
	list=$MTTS_DEFAULT_APPLET_LIST
	echo "applet list: the frontend's built-in busybox-applets.config"
fi
cd -- "$MTTS_TREE" || exit 1
make allnoconfig >/dev/null
# allnoconfig writes every int/string option as 0 or "": drop them so
# oldconfig gives them their defaults (history size, less line limit, ...).
sed -i '/^CONFIG_[A-Za-z0-9_]*=[^y]/d' .config
syms=$(printf '%s\n' "$list" | sed 's/#.*//' | tr -d ' \t\r' | grep -v '^$' || true)
bad=$(printf '%s\n' "$syms" | grep '[^A-Z0-9_]' || true)
if [ -n "$bad" ]; then
	echo "error: busybox-applets.config: not Kconfig symbol names: $(printf "%s\n" "$bad" | tr "\n" " ")" >&2
	exit 1
fi
for sym in $syms; do
	if grep -q "^# CONFIG_${sym} is not set" .config; then
		sed -i "s/^# CONFIG_${sym} is not set\$/CONFIG_${sym}=y/" .config
	elif ! grep -q "^CONFIG_${sym}=y" .config; then
		echo "CONFIG_${sym}=y" >>.config
	fi
done
yes "" | make oldconfig >/dev/null
make busybox.links
echo "$(wc -l <busybox.links) applets"
