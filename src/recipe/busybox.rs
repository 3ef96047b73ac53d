//! The Dockerfile's `busybox` stage: a curated static busybox,
//! cross-compiled with xx's clang on the build platform, stripped and
//! compressed, with its applet symlink farm made without running the
//! target binary. Toolchain, configuration and links are made once; the
//! sysroot, compile and compression per target platform.

use super::arch;
use super::request::BuildRequest;
use super::sbom::UsedImage;
use super::sources::{self, Inputs, SourceError, input};
use super::steps::{CONTEXT, OUT, Steps, script};
use crate::llb::{CopyOptions, FileActions, Mount, NetMode, OutputMount, Platform, Source, State};

// Paths the scripts share with this file, passed to them as environment.
const TREE: &str = "/busybox";
const APPLETS_FILE: &str = "busybox-applets.config";
const ROOTFS: &str = "/rootfs";

/// The recipe key most of the stage's steps come from.
const BUSYBOX_VERSION: &str = "busybox.version";

/// The frontend's own applet list, used when the build context has none.
const DEFAULT_APPLETS: &str = include_str!("../../busybox-applets.config");
const CONFIGURE: &str = include_str!("scripts/busybox-configure.sh");
const BUILD: &str = include_str!("scripts/busybox-build.sh");
const LINKS: &str = include_str!("scripts/busybox-links.sh");

/// Progress names of the steps that make the image's busybox layers.
pub const LINKS_STEP: &str = "[busybox] applet links from busybox.links";
/// The configure step's: the one an edit of the applet list re-runs.
pub const CONFIGURE_STEP: &str = "[busybox] make allnoconfig + applet list";

pub(super) fn binary_step(target: &Platform) -> String {
    format!("[busybox {target}] /bin/busybox")
}

/// The platform-independent half of the stage, made once.
pub(super) struct Busybox<'a> {
    steps: &'a Steps<'a>,
    /// alpine + xx + clang/lld/gcc/make/perl/upx, on the build platform.
    toolchain: State,
    /// The source tree configured with the applet list.
    configured: State,
    /// The applet symlink farm, the same for every platform: a layer.
    links: State,
    /// What the SBOM says it was built from.
    pub(super) images: [UsedImage; 2],
    pub(super) source_from_context: bool,
}

impl<'a> Busybox<'a> {
    /// `FROM alpine AS busybox`, up to the per-platform compile.
    pub(super) async fn new<I: Inputs>(
        steps: &'a Steps<'a>,
        inputs: &I,
    ) -> Result<Self, SourceError> {
        let images = &steps.recipe().images;
        let alpine = steps
            .base_image(inputs, input::ALPINE, &images.alpine)
            .await?;
        let xx = steps.base_image(inputs, input::XX, &images.xx).await?;
        let used = [
            UsedImage {
                input: input::ALPINE,
                reference: alpine.reference.clone(),
            },
            UsedImage {
                input: input::XX,
                reference: xx.reference.clone(),
            },
        ];
        let (alpine, xx) = (alpine.state, xx.state);
        let named_tree = sources::source_tree(inputs, input::BUSYBOX)?;
        let source_from_context = named_tree.is_some();
        let toolchain = toolchain(steps, &alpine, &xx);
        let tree = named_tree.unwrap_or_else(|| release_tree(steps, &alpine));
        // Only the applet list of the context: editing patches/ must not
        // re-run the configure step.
        let applets = inputs.build_context(APPLETS_FILE)?;
        let configured = configure(steps, &toolchain, &tree, &applets);
        let links = steps.layer(
            &links(steps, &alpine, &configured),
            LINKS_STEP,
            &[BUSYBOX_VERSION],
        );
        Ok(Busybox {
            steps,
            toolchain,
            configured,
            links,
            images: used,
            source_from_context,
        })
    }

    /// The busybox root filesystem for `target`: the applet links, then the
    /// binary, each its own layer.
    pub(super) fn rootfs(&self, target: &Platform) -> State {
        self.steps.stack(
            &format!("[busybox {target}] rootfs"),
            &self.layers(target),
            &[BUSYBOX_VERSION],
        )
    }

    /// The image's busybox layers for `target`, bottom up: the applet
    /// links (shared by every platform) and `/bin/busybox`.
    pub(super) fn layers(&self, target: &Platform) -> [State; 2] {
        let name = binary_step(target);
        let binary = self.steps.op(
            State::scratch().file(FileActions::new().copy(
                &self.binary(target),
                "/busybox",
                "/bin/busybox",
                CopyOptions {
                    mode: Some(0o755),
                    create_dest_path: true,
                    ..CopyOptions::default()
                },
            )),
            &name,
            &[BUSYBOX_VERSION],
        );
        [
            self.links.clone(),
            self.steps.layer(&binary.state(), &name, &[BUSYBOX_VERSION]),
        ]
    }

    /// The configured source tree (its Makefile and busybox.links).
    pub(super) fn configured(&self) -> &State {
        &self.configured
    }

    /// The toolchain image every busybox step runs on.
    pub(super) fn toolchain(&self) -> &State {
        &self.toolchain
    }

    /// busybox for `target`: compile, strip, compress. Holds `/busybox`.
    pub(super) fn binary(&self, target: &Platform) -> State {
        let steps = self.steps;
        let xx_env = arch::xx_env(target);
        let xx_env = || xx_env.iter().map(|(k, v)| (*k, v.as_str()));
        // The target's C library, headers and libgcc, installed by xx-apk
        // into the target's sysroot next to the native tools.
        let sysroot = steps
            .op(
                steps.downloading(
                    self.toolchain
                        .run(
                            ["xx-apk", "add", "--no-cache"]
                                .into_iter()
                                .chain(SYSROOT_PACKAGES),
                        )
                        .envs(xx_env()),
                ),
                format!(
                    "[busybox {target}] xx-apk add {}",
                    SYSROOT_PACKAGES.join(" ")
                ),
                &["images.alpine", "images.xx"],
            )
            .root();
        let compiled = steps
            .op(
                script(&sysroot, "busybox-build", BUILD)
                    .envs(xx_env())
                    .env("BUSYBOX_ARCH", arch::busybox_arch(target))
                    .env("SOURCE_DATE_EPOCH", steps.epoch_seconds())
                    .env("MTTS_TREE", TREE)
                    .env("MTTS_OUT", OUT)
                    .mount(TREE, Mount::writable(&self.configured))
                    .network(NetMode::None),
                format!("[busybox {target}] make"),
                &[BUSYBOX_VERSION],
            )
            .output(OUT, OutputMount::Empty);
        if steps.recipe().upx {
            // Safe because the shell has no standalone/nofork applets:
            // nothing re-executes /proc/self/exe, which UPX breaks.
            steps
                .op(
                    sysroot
                        .run(["upx", "--lzma", "--best", &format!("{OUT}/busybox")])
                        .network(NetMode::None),
                    format!("[busybox {target}] upx --lzma --best"),
                    &["upx"],
                )
                .output(OUT, OutputMount::over(&compiled))
        } else {
            compiled
        }
    }
}

/// What xx-apk installs into each target's sysroot: its C library,
/// kernel headers and libgcc.
pub const SYSROOT_PACKAGES: [&str; 3] = ["musl-dev", "gcc", "linux-headers"];

/// The Alpine packages of the busybox toolchain: clang/lld to
/// cross-compile, llvm's binutils, gcc for the host-side kconfig tools,
/// make, perl for the build scripts, and upx when the recipe compresses.
pub fn toolchain_packages(upx: bool) -> Vec<&'static str> {
    let mut packages = vec!["clang", "lld", "llvm", "gcc", "make", "perl"];
    if upx {
        packages.push("upx");
    }
    packages
}

/// alpine with xx's cross-compilation helpers and the native tools
/// (clang/lld to cross-compile, gcc for the host-side kconfig tools, perl
/// for the build scripts, upx).
fn toolchain(steps: &Steps, alpine: &State, xx: &State) -> State {
    let with_xx = steps
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
            &["images.xx"],
        )
        .state();
    let mut apk = vec!["apk", "add", "--no-cache"];
    apk.extend(toolchain_packages(steps.recipe().upx));
    let name = format!("[busybox] {}", apk.join(" "));
    steps
        .op(
            steps.downloading(with_xx.run(apk)),
            name,
            &["images.alpine"],
        )
        .root()
}

/// The tarball's URL in this build.
fn download_url(req: &BuildRequest) -> String {
    req.recipe
        .busybox
        .url
        .replace("{version}", &req.args.busybox_version)
}

/// The download's progress name says where from and by which keys, so a
/// failed download (BuildKit says only "digest mismatch <got>: <wanted>",
/// for an error page as for a wrong checksum) names what to check.
fn download_step(req: &BuildRequest) -> String {
    let sha_from = if req.args.busybox_sha256 == req.recipe.busybox.sha256 {
        "busybox.sha256"
    } else {
        "BUSYBOX_SHA256"
    };
    format!(
        "[busybox] download busybox-{}.tar.bz2 from {} (busybox.url; checked against {sha_from})",
        req.args.busybox_version,
        download_url(req)
    )
}

/// The release tarball, checked against its sha256 and unpacked once.
fn release_tree(steps: &Steps, alpine: &State) -> State {
    let args = &steps.req.args;
    let tarball = steps
        .op(
            Source::http(&download_url(steps.req))
                .checksum(&format!("sha256:{}", args.busybox_sha256))
                .filename("busybox.tar.bz2"),
            download_step(steps.req),
            &["busybox.url", BUSYBOX_VERSION, "busybox.sha256"],
        )
        .state();
    steps
        .op(
            alpine
                .run([
                    "tar",
                    "-xjf",
                    "/download/busybox.tar.bz2",
                    "-C",
                    TREE,
                    "--strip-components=1",
                ])
                .mount_ro("/download", &tarball)
                .network(NetMode::None),
            format!("[busybox] unpack busybox-{}", args.busybox_version),
            &[BUSYBOX_VERSION],
        )
        .output(TREE, OutputMount::Empty)
}

/// Configured once for every platform: the .config and busybox.links
/// depend only on the applet list (the context's, else the built-in one).
fn configure(steps: &Steps, toolchain: &State, tree: &State, applets: &State) -> State {
    // The built-in list is the step's environment. Not a file op: over
    // scratch it has no inputs, and BuildKit reports those as run (never
    // CACHED) on every build; over the toolchain it would be one more step
    // between the shared toolchain and configure.
    steps
        .op(
            script(toolchain, "busybox-configure", CONFIGURE)
                .env("MTTS_TREE", TREE)
                // kconfig writes it into autoconf.h, and so into the
                // version banner: otherwise the binary holds today's date.
                .env("SOURCE_DATE_EPOCH", steps.epoch_seconds())
                .env("MTTS_APPLETS", format!("{CONTEXT}/{APPLETS_FILE}"))
                .env("MTTS_DEFAULT_APPLET_LIST", DEFAULT_APPLETS)
                .mount_ro(CONTEXT, applets)
                .network(NetMode::None),
            CONFIGURE_STEP,
            &[BUSYBOX_VERSION],
        )
        .output(TREE, OutputMount::over(tree))
}

/// The applet symlink farm, from busybox.links.
fn links(steps: &Steps, alpine: &State, configured: &State) -> State {
    steps
        .op(
            script(alpine, "busybox-links", LINKS)
                .env("MTTS_LINKS_FILE", format!("{TREE}/busybox.links"))
                .env("MTTS_ROOTFS", ROOTFS)
                .mount_ro(TREE, configured)
                .network(NetMode::None),
            LINKS_STEP,
            &[BUSYBOX_VERSION],
        )
        .output(ROOTFS, OutputMount::Empty)
}
