//! The mikrotik-tailscale build as typed LLB, stage by stage, reading like
//! the multi-stage Dockerfile it replaces (builder, busybox, the final
//! scratch image). Nothing here speaks gRPC: the recipe asks for its inputs
//! by name through [`Inputs`] (the BuildKit frontend or the offline CLI
//! answers) and returns one state per target platform.
//!
//! Every exec runs on the build platform: nothing is emulated. What does
//! not depend on the target platform (source, modules, build tags, busybox
//! configuration, applet links, CA bundle) is made once: identical ops
//! marshal to one vertex, so BuildKit runs each once for all platforms.

mod arch;
mod busybox;
pub mod config;
pub mod image;
pub mod request;
pub mod sources;
mod steps;
mod tailscale;
pub mod validate;

use std::collections::BTreeMap;

pub use config::{Finding, Recipe, RecipeError, key_range};
pub use request::{
    BUILD_ARGS, BuildArgs, BuildRequest, DaemonSupport, InputError, NoCache, RequestOptions,
    STEP_GROUPS, SUPPORTED_PLATFORMS, Target,
};
pub use sources::{IMAGE_INPUTS, INPUT_NAMES, Inputs, Named, SourceError, Unresolved, input};

pub use busybox::{SYSROOT_PACKAGES, toolchain_packages};

/// The progress names of the steps that tests, the bench and the docs
/// name, each made under that name in its stage file.
pub mod step {
    pub use super::busybox::{CONFIGURE_STEP, LINKS_STEP};
    pub use super::image::CERTS_STEP;
    pub use super::tailscale::{
        APPLY_PATCHES_STEP, FEATURETAGS_STEP, GO_VERSION_STEP, MOD_DOWNLOAD_STEP,
    };
}
pub use tailscale::golang_packages;

use crate::llb::{Platform, State};
use busybox::Busybox;
use image::Image;
use oci_spec::image::ImageConfiguration;
use steps::Steps;
use tailscale::Tailscale;

/// What one target platform produces.
#[derive(Clone, Debug)]
pub struct PlatformResult {
    pub platform: Platform,
    pub state: State,
    /// Only for the `image` target.
    pub image_config: Option<ImageConfiguration>,
}

/// Makes the graph of `req` for every target platform, asking `inputs` for
/// exactly the inputs the target uses.
pub async fn build<I: Inputs>(
    req: &BuildRequest,
    inputs: &I,
) -> Result<Vec<PlatformResult>, SourceError> {
    let steps = Steps { req };
    let results = match req.target {
        Target::Tags => {
            let builder = Tailscale::new(&steps, inputs).await?;
            for_each_platform(req, |_| (builder.tags(), None))
        }
        Target::Tailscale => {
            let builder = Tailscale::new(&steps, inputs).await?;
            for_each_platform(req, |p| (builder.binary(p), None))
        }
        Target::Busybox => {
            let busybox = Busybox::new(&steps, inputs).await?;
            for_each_platform(req, |p| (busybox.rootfs(p), None))
        }
        Target::Image => {
            // FROM golang AS builder
            let builder = Tailscale::new(&steps, inputs).await?;
            // FROM alpine AS busybox
            let busybox = Busybox::new(&steps, inputs).await?;
            // FROM scratch
            let image = Image::new(&steps, builder.go_base());
            for_each_platform(req, |p| {
                let [links, busybox] = busybox.layers(p);
                let fs = image.filesystem(p, [links, busybox, builder.usr_local_bin(p)]);
                (fs, Some(image.config(p)))
            })
        }
    };
    Ok(results)
}

/// `make`'s state (and image config) for each target platform of `req`.
fn for_each_platform(
    req: &BuildRequest,
    mut make: impl FnMut(&Platform) -> (State, Option<ImageConfiguration>),
) -> Vec<PlatformResult> {
    req.platforms
        .iter()
        .map(|p| {
            let (state, image_config) = make(p);
            PlatformResult {
                platform: p.clone(),
                state,
                image_config,
            }
        })
        .collect()
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
    use crate::llb::{ImageMeta, ImageMetaResolver, ImageRef, NetMode, ResolveError, ResolveMode};

    /// Records which inputs were asked for and pins images to a fixed digest.
    #[derive(Default)]
    struct Recording {
        asked: Mutex<Vec<String>>,
    }

    const PIN: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    impl Recording {
        fn note(&self, what: String) {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(what);
            }
        }
    }

    impl ImageMetaResolver for Recording {
        async fn resolve_image(
            &self,
            image: &ImageRef,
            _platform: &Platform,
            _mode: ResolveMode,
        ) -> Result<ImageMeta, ResolveError> {
            self.note(format!("resolve {}", image.name()));
            Ok(ImageMeta {
                digest: Some(PIN.to_string()),
                env: vec!["PATH=/from/config".into()],
                working_dir: Some("/work".into()),
                user: Some("builder".into()),
            })
        }
    }

    impl Inputs for Recording {
        fn build_context(&self, path: &str) -> Result<State, SourceError> {
            self.note(format!("context {path}"));
            Ok(State::scratch())
        }

        fn named_context(&self, name: &str) -> Result<Option<Named>, SourceError> {
            self.note(format!("named {name}"));
            Ok(None)
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
            no_cache: NoCache::Nothing,
            resolve_mode: ResolveMode::Default,
            daemon: DaemonSupport::all(),
        }
    }

    fn built(target: Target) -> (Vec<String>, Vec<PlatformResult>) {
        built_for(&request(target))
    }

    fn built_for(req: &BuildRequest) -> (Vec<String>, Vec<PlatformResult>) {
        let inputs = Recording::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let results = rt
            .block_on(build(req, &inputs))
            .unwrap_or_else(|e| panic!("{e}"));
        let asked = inputs.asked.lock().map(|s| s.clone()).unwrap_or_default();
        (asked, results)
    }

    #[test]
    fn a_target_asks_for_exactly_the_inputs_it_uses() {
        let builder = [
            "named golang",
            "resolve docker.io/library/golang",
            "named tailscale",
            "context patches",
        ];
        let busybox = [
            "named alpine",
            "resolve docker.io/library/alpine",
            "named xx",
            "resolve docker.io/tonistiigi/xx",
            "named busybox",
            "context busybox-applets.config",
        ];
        let (asked, _) = built(Target::Image);
        assert_eq!(asked, [&builder[..], &busybox[..]].concat());
        let (asked, _) = built(Target::Tags);
        assert_eq!(asked, builder);
        let (asked, _) = built(Target::Busybox);
        assert_eq!(asked, busybox);
    }

    #[test]
    fn resolved_config_flows_into_the_execs() {
        let (_, results) = built(Target::Tags);
        let def = crate::llb::marshal(&results[0].state);
        let g = crate::llb::inspect::Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
        let golang = g
            .vertices
            .iter()
            .filter_map(|v| v.source())
            .find(|s| s.identifier.contains("golang"))
            .map(|s| s.identifier.clone())
            .unwrap_or_default();
        assert!(
            golang.ends_with(&format!("@{PIN}")),
            "{golang} is not pinned to the resolved digest"
        );
        let tags = g
            .vertices
            .iter()
            .find(|v| v.name() == Some(step::FEATURETAGS_STEP))
            .and_then(|v| v.exec())
            .and_then(|e| e.meta.clone())
            .unwrap_or_default();
        assert!(
            tags.env.contains(&"PATH=/from/config".to_string()),
            "{:?}",
            tags.env
        );
        assert_eq!(tags.user, "builder");
    }

    #[test]
    fn no_cache_filter_drops_the_cache_of_its_groups_only() {
        let mut req = request(Target::Image);
        req.no_cache = NoCache::Groups(["busybox".to_string()].into());
        let (_, results) = built_for(&req);
        let def = crate::llb::marshal(&results[0].state);
        let g = crate::llb::inspect::Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
        let named = |prefix: &str| {
            g.vertices
                .iter()
                .filter(|v| v.name().is_some_and(|n| n.starts_with(prefix)))
                .collect::<Vec<_>>()
        };
        let busybox = named("[busybox");
        assert!(busybox.len() > 5, "{busybox:?}");
        assert!(busybox.iter().all(|v| v.metadata.ignore_cache));
        let others = named("[tailscale");
        assert!(!others.is_empty());
        assert!(others.iter().all(|v| !v.metadata.ignore_cache));
        assert!(named("[image").iter().all(|v| !v.metadata.ignore_cache));
    }

    #[test]
    fn unknown_no_cache_filter_names_are_warned_about() {
        let (_, warnings) = BuildRequest::new(RequestOptions {
            recipe: Recipe::default(),
            platforms: vec![],
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            target: String::new(),
            build_platform: Platform::new("linux", "amd64", None),
            network: NetMode::Sandbox,
            no_cache: Some(vec!["busybox".into(), "bussybox".into()]),
            resolve_mode: ResolveMode::Default,
            daemon: DaemonSupport::all(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("bussybox") && warnings[0].contains("golang, alpine, xx"),
            "{warnings:?}"
        );
        assert!(NoCache::Everything.covers("[tailscale] go mod download"));
        assert!(!NoCache::Nothing.covers("[tailscale] go mod download"));
        let image = NoCache::Groups(["image".to_string()].into());
        assert!(image.covers("[image linux/amd64] assemble"));
        assert!(!image.covers("[internal] load build context (patches)"));
    }
}
