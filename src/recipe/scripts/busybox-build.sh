# Cross-compile busybox for $TARGETPLATFORM with xx's clang on the build
# machine. $BUSYBOX_ARCH is busybox's name for the target architecture;
# $MTTS_TREE is the configured source tree, $MTTS_OUT where the binary goes.
xx-clang --setup-target-triple
triple=$(xx-info triple)
cd -- "$MTTS_TREE" || exit 1
make -j"$(nproc)" ARCH="$BUSYBOX_ARCH" CROSS_COMPILE="$triple-" CC="$triple-clang" \
	HOSTCC=gcc SKIP_STRIP=y busybox
# llvm-strip handles every target's ELF.
llvm-strip -o "$MTTS_OUT/busybox" busybox
