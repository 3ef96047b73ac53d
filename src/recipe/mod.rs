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

/// Resolves the base images the target needs (through `resolver`) and
/// gathers the sources. Images the target does not use are not looked up:
/// their (unused) states keep the recipe's pin.
pub async fn prepare_sources<R: ImageResolver>(
    resolver: &R,
    req: &BuildRequest,
    overrides: Overrides,
    context: State,
    mode: ResolveMode,
) -> Result<Sources, ResolveError> {
    let images = &req.recipe.images;
    let b = &req.build_platform;
    // The Go base feeds Tailscale and the image's CA bundle; alpine and xx
    // only feed busybox.
    let needs_busybox = matches!(req.target, Target::Image | Target::Busybox);
    let needs_go = req.target != Target::Busybox;
    async fn base<R: ImageResolver>(
        resolver: &R,
        needed: bool,
        name: &str,
        pin: &crate::llb::ImageRef,
        over: Option<BaseOverride>,
        b: &Platform,
        mode: ResolveMode,
    ) -> Result<State, ResolveError> {
        if needed {
            images::base_image(resolver, name, pin, over, b, mode).await
        } else {
            images::base_image(&StaticResolver, name, pin, over, b, mode).await
        }
    }
    Ok(Sources {
        golang: base(
            resolver,
            needs_go,
            "golang",
            &images.golang,
            overrides.golang,
            b,
            mode,
        )
        .await?,
        alpine: base(
            resolver,
            needs_busybox,
            "alpine",
            &images.alpine,
            overrides.alpine,
            b,
            mode,
        )
        .await?,
        xx: base(
            resolver,
            needs_busybox,
            "xx",
            &images.xx,
            overrides.xx,
            b,
            mode,
        )
        .await?,
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
                return Err(InputError::Pair {
                    flag: what.to_string(),
                    value: validate::short(pair),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::llb::ImageRef;

    /// Records which images were asked for and pins them to a fixed digest.
    #[derive(Default)]
    struct Recording(Mutex<Vec<String>>);

    const PIN: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    impl ImageResolver for Recording {
        async fn resolve(
            &self,
            image: &ImageRef,
            _platform: &Platform,
            _mode: ResolveMode,
        ) -> Result<ImageMeta, ResolveError> {
            if let Ok(mut seen) = self.0.lock() {
                seen.push(image.name().to_string());
            }
            Ok(ImageMeta {
                digest: Some(PIN.to_string()),
                env: vec!["PATH=/from/config".into()],
                working_dir: Some("/work".into()),
                user: Some("builder".into()),
            })
        }
    }

    fn request(target: Target) -> BuildRequest {
        let recipe = Recipe::default();
        BuildRequest {
            args: BuildArgs::resolve(&recipe, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}")),
            recipe,
            platforms: vec![Platform::new("linux", "arm64", None)],
            build_platform: Platform::new("linux", "amd64", None),
            target,
            labels: BTreeMap::new(),
            network: NetMode::Sandbox,
            no_cache: false,
            daemon: DaemonSupport::all(),
        }
    }

    fn resolved_for(target: Target) -> (Vec<String>, Sources) {
        let resolver = Recording::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let sources = rt
            .block_on(prepare_sources(
                &resolver,
                &request(target),
                Overrides::default(),
                State::scratch(),
                ResolveMode::Default,
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        let seen = resolver.0.lock().map(|s| s.clone()).unwrap_or_default();
        (seen, sources)
    }

    #[test]
    fn only_the_images_a_target_uses_are_resolved() {
        let (seen, _) = resolved_for(Target::Image);
        assert_eq!(
            seen,
            [
                "docker.io/library/golang",
                "docker.io/library/alpine",
                "docker.io/tonistiigi/xx"
            ]
        );
        let (seen, _) = resolved_for(Target::Tags);
        assert_eq!(seen, ["docker.io/library/golang"]);
        let (seen, _) = resolved_for(Target::Busybox);
        assert_eq!(
            seen,
            ["docker.io/library/alpine", "docker.io/tonistiigi/xx"]
        );
    }

    #[test]
    fn resolved_config_flows_into_the_base_state() {
        let (_, sources) = resolved_for(Target::Image);
        let go = &sources.golang;
        assert_eq!(go.get_env().get("PATH"), Some("/from/config"));
        assert_eq!(go.get_cwd(), Some("/work"));
        assert_eq!(go.get_user(), Some("builder"));
        let def = crate::llb::marshal(go);
        let g = crate::llb::inspect::Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
        let id = g.vertices[0]
            .source()
            .map(|s| s.identifier.clone())
            .unwrap_or_default();
        assert!(
            id.ends_with(&format!("@{PIN}")),
            "{id} is not pinned to the resolved digest"
        );
    }
}
