//! The mikrotik-tailscale build as typed LLB, stage by stage, reading like
//! the multi-stage Dockerfile it replaces. Nothing here speaks gRPC: the
//! gateway (or the offline CLI) resolves the inputs, this module makes the
//! graph.
//!
//! Per target platform P, with every exec on the build platform B:
//!
//! 1. xx (B): cross-compilation helpers for C.
//! 2. Tailscale source at the version, with `patches/` laid over it (once).
//! 3. Go base (B): golang alpine + upx + ca-certificates (once).
//! 4. `go mod download` (once).
//! 5. featuretags build tags (once).
//! 6. go build for P, then upx.
//! 7. `/usr/local/bin` for P in one layer.
//! 8. busybox: toolchain and configure once; sysroot, make and upx for P.
//! 9. the scratch image for P and its OCI config.

mod arch;
mod busybox;
pub mod config;
pub mod image;
pub mod images;
pub mod inputs;
mod tailscale;
pub mod validate;

use std::collections::BTreeMap;

pub use config::{Recipe, RecipeError};
pub use images::{BaseOverride, ImageMeta, ImageResolver, ResolveError, StaticResolver};
pub use inputs::{BuildArgs, BuildRequest, DaemonSupport, InputError, SUPPORTED_PLATFORMS, Target};

use crate::llb::{LlbError, NetMode, OpOptions, Platform, ResolveMode, State};
use oci_spec::image::ImageConfiguration;

/// A graph that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("internal error in the build graph: {0}")]
    Graph(#[from] LlbError),
    #[error("making the image config: {0}")]
    ImageConfig(String),
    #[error("no target platform given")]
    NoPlatform,
}

/// Where the inputs of the graph come from, resolved by the caller.
#[derive(Clone, Debug)]
pub struct Sources {
    /// The build context (only `patches/` and `busybox-applets.config` are
    /// read from it).
    pub context: State,
    /// Base images on the build platform, carrying their ENV/WORKDIR/USER.
    pub golang: State,
    pub alpine: State,
    pub xx: State,
    /// `--build-context tailscale=...`: a Tailscale source tree.
    pub tailscale: Option<State>,
    /// `--build-context busybox=...`: an extracted busybox source tree.
    pub busybox: Option<State>,
}

/// Named contexts that replace the recipe's inputs.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub golang: Option<BaseOverride>,
    pub alpine: Option<BaseOverride>,
    pub xx: Option<BaseOverride>,
    pub tailscale: Option<State>,
    pub busybox: Option<State>,
}

/// Resolves the base images (through `resolver`) and gathers the sources.
pub async fn prepare_sources<R: ImageResolver>(
    resolver: &R,
    req: &BuildRequest,
    overrides: Overrides,
    context: State,
    mode: ResolveMode,
) -> Result<Sources, ResolveError> {
    let images = &req.recipe.images;
    let b = &req.build_platform;
    Ok(Sources {
        golang: images::base_image(
            resolver,
            "golang",
            &images.golang,
            overrides.golang,
            b,
            mode,
        )
        .await?,
        alpine: images::base_image(
            resolver,
            "alpine",
            &images.alpine,
            overrides.alpine,
            b,
            mode,
        )
        .await?,
        xx: images::base_image(resolver, "xx", &images.xx, overrides.xx, b, mode).await?,
        tailscale: overrides.tailscale,
        busybox: overrides.busybox,
        context,
    })
}

/// What one target platform produces.
#[derive(Clone, Debug)]
pub struct PlatformResult {
    pub platform: Platform,
    pub state: State,
    /// Only for the `image` target.
    pub image_config: Option<ImageConfiguration>,
}

/// Shared settings every stage reads.
pub(crate) struct Ctx<'a> {
    pub(crate) req: &'a BuildRequest,
}

impl Ctx<'_> {
    fn recipe(&self) -> &Recipe {
        &self.req.recipe
    }

    /// Names an op and applies `--no-cache`; every exec also runs on the
    /// build platform: nothing is ever emulated.
    fn op<T: OpOptions>(&self, op: T, name: impl Into<String>) -> T {
        op.named(name).ignore_cache(self.req.no_cache)
    }

    /// The network for an exec: only steps that download get one, and not
    /// even those under `--network none`.
    fn network(&self, downloads: bool) -> NetMode {
        if downloads {
            self.req.network
        } else {
            NetMode::None
        }
    }
}

/// Makes the graph for every requested platform.
pub fn build(req: &BuildRequest, sources: &Sources) -> Result<Vec<PlatformResult>, BuildError> {
    if req.platforms.is_empty() {
        return Err(BuildError::NoPlatform);
    }
    let ctx = Ctx { req };
    // Every base runs on the build platform; ops inherit it from them.
    let on_build = |s: &State| s.with_platform(&req.build_platform);
    let golang = on_build(&sources.golang);
    let alpine = on_build(&sources.alpine);

    // Platform-independent work, made once: identical ops marshal to one
    // vertex, so BuildKit runs each of these once for all platforms.
    let go = tailscale::go_base(&ctx, &golang);
    let src = tailscale::source(&ctx, &golang, &sources.context, sources.tailscale.as_ref())?;
    let modules = tailscale::modules(&ctx, &go, &src)?;
    let tags = tailscale::tags(&ctx, &go, &src, &modules)?;
    let toolchain = busybox::toolchain(&ctx, &alpine, &sources.xx);
    let bb_src = busybox::source(&ctx, &alpine, sources.busybox.as_ref())?;
    let configured = busybox::configure(&ctx, &toolchain, &bb_src, &sources.context)?;
    let links = busybox::links(&ctx, &alpine, &configured)?;
    let certs = image::certificates(&ctx, &go);

    let mut results = Vec::with_capacity(req.platforms.len());
    for target in &req.platforms {
        let (state, image_config) = match req.target {
            Target::Tags => (tags.clone(), None),
            Target::Tailscale => (
                tailscale::binary(&ctx, &go, &src, &modules, &tags, target)?,
                None,
            ),
            Target::Busybox => {
                let sysroot = busybox::target_sysroot(&ctx, &toolchain, target);
                (
                    busybox::rootfs(&ctx, &sysroot, &configured, &links, target)?,
                    None,
                )
            }
            Target::Image => {
                let binary = tailscale::binary(&ctx, &go, &src, &modules, &tags, target)?;
                let bin_dir = tailscale::usr_local_bin(&ctx, &go, &binary, target)?;
                let sysroot = busybox::target_sysroot(&ctx, &toolchain, target);
                let rootfs = busybox::rootfs(&ctx, &sysroot, &configured, &links, target)?;
                let fs = image::assemble(&ctx, &rootfs, &certs, &bin_dir, target);
                (fs, Some(image::config(&ctx, target)?))
            }
        };
        results.push(PlatformResult {
            platform: target.clone(),
            state,
            image_config,
        });
    }
    Ok(results)
}

/// Parses `KEY=VALUE` pairs (build args, labels) into a map.
pub fn parse_pairs<S: AsRef<str>>(
    what: &str,
    pairs: &[S],
) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let pair = pair.as_ref();
        match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(InputError::BuildArg {
                    name: pair.to_string(),
                    message: format!("{what} must be KEY=VALUE"),
                });
            }
        }
    }
    Ok(out)
}
