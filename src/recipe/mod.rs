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
pub mod sbom;
pub mod sources;
mod steps;
mod tailscale;
pub mod validate;

use std::collections::BTreeMap;

pub use config::{BUILTIN_FILE_NAME, Finding, Recipe, RecipeError, RecipeSource, key_range};
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
        APPLY_PATCHES_STEP, FEATURETAGS_STEP, GO_VERSION_STEP, MOD_DOWNLOAD_STEP, deps_build_step,
        deps_list_step,
    };
}
pub use tailscale::golang_packages;

use crate::llb::{Platform, State};
use busybox::Busybox;
use image::Image;
use oci_spec::image::ImageConfiguration;
pub use sbom::SbomSource;
use steps::Steps;
use tailscale::Tailscale;

/// What one target platform produces.
#[derive(Clone, Debug)]
pub struct PlatformResult {
    pub platform: Platform,
    pub state: State,
    /// Only for the `image` target.
    pub image_config: Option<ImageConfiguration>,
    /// What its SBOM is made from; in the graph only when solved.
    pub sbom: SbomSource,
}

/// Makes the graph of `req` for every target platform, asking `inputs` for
/// exactly the inputs the target uses.
pub async fn build<I: Inputs>(
    req: &BuildRequest,
    inputs: &I,
) -> Result<Vec<PlatformResult>, SourceError> {
    let steps = Steps { req };
    let steps = &steps;
    let results = match req.target {
        Target::Tags => {
            let builder = Tailscale::new(steps, inputs).await?;
            for_each_platform(req, |p| Made {
                state: builder.tags(),
                image_config: None,
                sbom: builder_sbom(steps, &builder, p, false),
            })
        }
        Target::Tailscale => {
            let builder = Tailscale::new(steps, inputs).await?;
            for_each_platform(req, |p| Made {
                state: builder.binary(p),
                image_config: None,
                sbom: builder_sbom(steps, &builder, p, true),
            })
        }
        Target::Busybox => {
            let busybox = Busybox::new(steps, inputs).await?;
            for_each_platform(req, |p| {
                let parts = sbom::Parts {
                    tailscale: None,
                    tags: None,
                    busybox: Some((busybox.binary(p), busybox.configured().clone())),
                    ca_bundle: false,
                };
                Made {
                    state: busybox.rootfs(p),
                    image_config: None,
                    sbom: SbomSource {
                        platform: p.clone(),
                        facts: sbom::facts(steps, busybox.toolchain(), p, parts),
                        images: busybox.images.to_vec(),
                        tailscale_from_context: false,
                        busybox_from_context: busybox.source_from_context,
                    },
                }
            })
        }
        Target::Image => {
            // FROM golang AS builder
            let builder = Tailscale::new(steps, inputs).await?;
            // FROM alpine AS busybox
            let busybox = Busybox::new(steps, inputs).await?;
            // FROM scratch
            let image = Image::new(steps, builder.go_base());
            for_each_platform(req, |p| {
                let [links, busybox_layer] = busybox.layers(p);
                let fs = image.filesystem(p, [links, busybox_layer, builder.usr_local_bin(p)]);
                let parts = sbom::Parts {
                    tailscale: Some(builder.binary(p)),
                    tags: Some(builder.tags()),
                    busybox: Some((busybox.binary(p), busybox.configured().clone())),
                    ca_bundle: true,
                };
                let mut images = vec![builder.golang.clone()];
                images.extend(busybox.images.iter().cloned());
                Made {
                    state: fs,
                    image_config: Some(image.config(p)),
                    sbom: SbomSource {
                        platform: p.clone(),
                        facts: sbom::facts(steps, builder.go_base(), p, parts),
                        images,
                        tailscale_from_context: builder.source_from_context,
                        busybox_from_context: busybox.source_from_context,
                    },
                }
            })
        }
    };
    Ok(results)
}

/// What a target makes for one platform.
struct Made {
    state: State,
    image_config: Option<ImageConfiguration>,
    sbom: SbomSource,
}

/// The SBOM source of the `tags` and `tailscale` targets: the Tailscale
/// source, and the binary when the result holds it.
fn builder_sbom(steps: &Steps, builder: &Tailscale, p: &Platform, binary: bool) -> SbomSource {
    let parts = sbom::Parts {
        tailscale: binary.then(|| builder.binary(p)),
        tags: Some(builder.tags()),
        busybox: None,
        ca_bundle: false,
    };
    SbomSource {
        platform: p.clone(),
        facts: sbom::facts(steps, builder.go_base(), p, parts),
        images: vec![builder.golang.clone()],
        tailscale_from_context: builder.source_from_context,
        busybox_from_context: false,
    }
}

/// What `make` gives for each target platform of `req`.
fn for_each_platform(
    req: &BuildRequest,
    mut make: impl FnMut(&Platform) -> Made,
) -> Vec<PlatformResult> {
    req.platforms
        .iter()
        .map(|p| {
            let made = make(p);
            PlatformResult {
                platform: p.clone(),
                state: made.state,
                image_config: made.image_config,
                sbom: made.sbom,
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
            source: RecipeSource::default(),
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
    fn the_sbom_facts_are_read_on_the_build_platform_and_stay_out_of_the_result() {
        use crate::llb::inspect::Graph;
        let decode =
            |s: &State| Graph::decode(&crate::llb::marshal(s).pb).unwrap_or_else(|e| panic!("{e}"));
        for (target, mounts) in [
            (
                Target::Image,
                vec![
                    "/sbom/tailscale",
                    "/sbom/tags",
                    "/sbom/busybox",
                    "/sbom/busybox-tree",
                ],
            ),
            (Target::Tailscale, vec!["/sbom/tailscale", "/sbom/tags"]),
            (Target::Tags, vec!["/sbom/tags"]),
            (Target::Busybox, vec!["/sbom/busybox", "/sbom/busybox-tree"]),
        ] {
            let (_, results) = built(target);
            let r = &results[0];
            let result = decode(&r.state);
            assert!(
                !result
                    .vertices
                    .iter()
                    .any(|v| v.name().is_some_and(|n| n.starts_with("[sbom"))),
                "{target:?}: a build without --sbom has no SBOM step"
            );
            let facts = decode(&r.sbom.facts);
            let step = facts
                .vertices
                .iter()
                .find(|v| v.name() == Some("[sbom linux/arm64] what the result holds"))
                .unwrap_or_else(|| panic!("{target:?}: no facts step"));
            assert_eq!(
                step.platform().map(|p| p.to_string()).as_deref(),
                Some("linux/amd64")
            );
            let exec = step.exec().unwrap_or_else(|| panic!("not an exec"));
            let mut read_only: Vec<&str> = exec
                .mounts
                .iter()
                .filter(|m| m.readonly)
                .map(|m| m.dest.as_str())
                .collect();
            read_only.sort_unstable();
            let mut mounts = mounts;
            mounts.sort_unstable();
            assert_eq!(read_only, mounts, "{target:?}");
            let env = exec
                .meta
                .as_ref()
                .map(|m| m.env.clone())
                .unwrap_or_default();
            assert_eq!(
                env.contains(&"MTTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt".to_string()),
                target == Target::Image,
                "{target:?}: {env:?}"
            );
            assert_eq!(
                exec.network,
                crate::proto::pb::NetMode::None as i32,
                "{target:?}: the facts step needs no network"
            );
        }
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
            recipe_file: None,
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
