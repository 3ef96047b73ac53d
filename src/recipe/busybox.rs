//! Stage 8: a curated static busybox, cross-compiled with xx's clang on the
//! build platform, stripped, compressed, with its applet symlink farm made
//! without running the target binary.

use super::arch;
use super::{BuildError, Ctx};
use crate::llb::{CopyOptions, FileActions, Mount, NetMode, Source, State};

/// The frontend's own applet list, used when the build context has none.
const DEFAULT_APPLETS: &str = include_str!("../../busybox-applets.config");
const CONFIGURE: &str = include_str!("scripts/busybox-configure.sh");
const BUILD: &str = include_str!("scripts/busybox-build.sh");
const LINKS: &str = include_str!("scripts/busybox-links.sh");

/// The busybox toolchain: alpine with xx's cross-compilation helpers and the
/// native tools (clang/lld to cross-compile, gcc for the host-side kconfig
/// tools, perl for the build scripts, upx). Shared by every platform.
pub(super) fn toolchain(ctx: &Ctx, alpine: &State, xx: &State) -> State {
    let with_xx = ctx
        .op(
            alpine.file(FileActions::new().copy(
                xx,
                "/",
                "/",
                CopyOptions {
                    dir_copy_contents: true,
                    ..CopyOptions::default()
                },
            )),
            "[busybox] copy xx helpers",
        )
        .state();
    let mut apk = vec![
        "apk",
        "add",
        "--no-cache",
        "clang",
        "lld",
        "llvm",
        "gcc",
        "make",
        "perl",
    ];
    if ctx.recipe().upx {
        apk.push("upx");
    }
    let name = format!("[busybox] {}", apk.join(" "));
    ctx.op(with_xx.run(apk).network(ctx.network(true)), name)
        .root()
}

/// The target's C library, headers and libgcc, installed by xx-apk into
/// the target's sysroot next to the native tools.
pub(super) fn target_sysroot(ctx: &Ctx, toolchain: &State, target: &crate::llb::Platform) -> State {
    let xx_env = arch::xx_env(target);
    ctx.op(
        toolchain
            .run([
                "xx-apk",
                "add",
                "--no-cache",
                "musl-dev",
                "gcc",
                "linux-headers",
            ])
            .envs(xx_env.iter().map(|(k, v)| (*k, v.as_str())))
            .network(ctx.network(true)),
        format!("[busybox {target}] xx-apk add musl-dev gcc linux-headers"),
    )
    .root()
}

/// The busybox source tree: the user's `busybox` context, or the release
/// tarball checked against its sha256 and unpacked once.
pub(super) fn source(
    ctx: &Ctx,
    alpine: &State,
    named: Option<&State>,
) -> Result<State, BuildError> {
    if let Some(tree) = named {
        return Ok(tree.clone());
    }
    let args = &ctx.req.args;
    let url = ctx
        .recipe()
        .busybox
        .url
        .replace("{version}", &args.busybox_version);
    let tarball = ctx
        .op(
            Source::http(&url)
                .checksum(&format!("sha256:{}", args.busybox_sha256))
                .filename("busybox.tar.bz2"),
            format!(
                "[busybox] download busybox-{}.tar.bz2",
                args.busybox_version
            ),
        )
        .state();
    Ok(ctx
        .op(
            alpine
                .run([
                    "tar",
                    "-xjf",
                    "/download/busybox.tar.bz2",
                    "-C",
                    "/busybox",
                    "--strip-components=1",
                ])
                .mount_ro("/download", &tarball)
                .mount_scratch("/busybox")
                .network(NetMode::None),
            format!("[busybox] unpack busybox-{}", args.busybox_version),
        )
        .output("/busybox")?)
}

/// Configured once for every platform: the .config and busybox.links depend
/// only on the applet list.
pub(super) fn configure(
    ctx: &Ctx,
    toolchain: &State,
    source: &State,
    context: &State,
) -> Result<State, BuildError> {
    let defaults = ctx
        .op(
            State::scratch().file(FileActions::new().mkfile(
                "/busybox-applets.config",
                0o644,
                DEFAULT_APPLETS,
            )),
            "[busybox] built-in applet list",
        )
        .state();
    Ok(ctx
        .op(
            toolchain
                .run(["/bin/sh", "-euc", CONFIGURE, "busybox-configure"])
                .mount("/busybox", Mount::writable(source))
                .mount_ro("/context", context)
                .mount_ro("/defaults", &defaults)
                .network(NetMode::None),
            "[busybox] make allnoconfig + applet list",
        )
        .output("/busybox")?)
}

/// The applet symlink farm, from busybox.links: the same for every
/// platform, so made once.
pub(super) fn links(ctx: &Ctx, alpine: &State, configured: &State) -> Result<State, BuildError> {
    Ok(ctx
        .op(
            alpine
                .run(["/bin/sh", "-euc", LINKS, "busybox-links"])
                .mount_ro("/busybox", configured)
                .mount_scratch("/rootfs")
                .network(NetMode::None),
            "[busybox] applet links from busybox.links",
        )
        .output("/rootfs")?)
}

/// The busybox root filesystem for `target`: compile, strip, compress, and
/// put the binary into the shared symlink farm.
pub(super) fn rootfs(
    ctx: &Ctx,
    sysroot: &State,
    configured: &State,
    links: &State,
    target: &crate::llb::Platform,
) -> Result<State, BuildError> {
    let xx_env = arch::xx_env(target);
    let compiled = ctx
        .op(
            sysroot
                .run(["/bin/sh", "-euc", BUILD, "busybox-build"])
                .envs(xx_env.iter().map(|(k, v)| (*k, v.as_str())))
                .env("BUSYBOX_ARCH", arch::busybox_arch(target))
                .mount("/busybox", Mount::writable(configured))
                .mount_scratch("/out")
                .network(NetMode::None),
            format!("[busybox {target}] make"),
        )
        .output("/out")?;
    let binary = if ctx.recipe().upx {
        // Safe because the shell has no standalone/nofork applets: nothing
        // re-executes /proc/self/exe, which UPX breaks.
        ctx.op(
            sysroot
                .run(["upx", "--lzma", "--best", "/out/busybox"])
                .mount("/out", Mount::writable(&compiled))
                .network(NetMode::None),
            format!("[busybox {target}] upx --lzma --best"),
        )
        .output("/out")?
    } else {
        compiled
    };
    Ok(ctx
        .op(
            links.file(FileActions::new().copy(
                &binary,
                "/busybox",
                "/bin/busybox",
                CopyOptions {
                    mode: Some(0o755),
                    create_dest_path: true,
                    ..CopyOptions::default()
                },
            )),
            format!("[busybox {target}] rootfs"),
        )
        .state())
}
