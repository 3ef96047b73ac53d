//! The offline commands: the same graph the frontend would solve, made
//! without a BuildKit (base image configs as the images publish them: see
//! [`recipe::Unresolved`]).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context as _;
use serde::Serialize;

use crate::llb::inspect::Graph;
use crate::llb::{
    CopyOptions, Definition, FileActions, ImageRef, NetMode, OpOptions, Platform, ResolveMode,
    Source, SourceFile, State, marshal,
};
use crate::recipe::{
    self, BuildRequest, DaemonSupport, INPUT_NAMES, Named, PlatformResult, Recipe, RequestOptions,
    Unresolved, request::InputError, validate,
};

/// What to build, as the offline commands take it: the inputs `docker
/// buildx build` would pass.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--platform` values; none means the build platform.
    pub platforms: Vec<String>,
    /// `KEY=VALUE` build arguments.
    pub build_args: Vec<String>,
    /// `KEY=VALUE` image labels.
    pub labels: Vec<String>,
    pub target: Option<String>,
    /// The stub Dockerfile holding the TOML recipe; none: the built-in one.
    pub recipe: Option<PathBuf>,
    /// Where the build runs; none: this machine's platform.
    pub build_platform: Option<String>,
    /// Inputs (`golang`, `tailscale`, ...) taken from the session's local
    /// of the same name, i.e. buildctl's `--local NAME=DIR`.
    pub locals: Vec<String>,
}

/// A `--local` that names no input of the recipe.
#[derive(Debug, thiserror::Error)]
#[error("--local {name:?}: the recipe has no input of that name; its inputs are {}", INPUT_NAMES.join(", "))]
pub struct UnknownLocal {
    pub name: String,
}

/// Turns the offline options into a checked build request, logging its
/// warnings.
pub fn request(options: &Options) -> anyhow::Result<BuildRequest> {
    let (recipe, recipe_file) = match &options.recipe {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading recipe {}", path.display()))?;
            let name = path.display().to_string();
            let recipe = Recipe::parse(&text, &name)?;
            // The ops point back at its lines, unless it holds a password.
            let file = validate::shareable(&text).then(|| SourceFile {
                filename: name,
                language: "Dockerfile".to_string(),
                data: text.into_bytes(),
            });
            (recipe, file)
        }
        None => (Recipe::default(), None),
    };
    let build_platform = match &options.build_platform {
        Some(p) => p
            .parse::<Platform>()
            .map_err(|e| InputError::PlatformSyntax(e.to_string()))?,
        None => Platform::host(),
    };
    let (req, warnings) = BuildRequest::new(RequestOptions {
        recipe,
        platforms: options.platforms.clone(),
        build_args: recipe::parse_pairs("--build-arg", &options.build_args)?,
        labels: recipe::parse_pairs("--label", &options.labels)?,
        target: options.target.clone().unwrap_or_default(),
        build_platform,
        network: NetMode::Sandbox,
        no_cache: None,
        resolve_mode: ResolveMode::Default,
        daemon: DaemonSupport::all(),
        recipe_file,
    })?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(req)
}

/// The whole graph for `options` as one definition: one platform's result
/// directly, several collected into `/<os>_<arch>[_<variant>]/` directories
/// (the layout buildx's local exporter uses for several platforms).
pub fn definition(options: &Options) -> anyhow::Result<Definition> {
    Ok(combine(&results(options)?))
}

/// Every platform's result for `options`.
pub fn results(options: &Options) -> anyhow::Result<Vec<PlatformResult>> {
    results_with_locals(&request(options)?, &options.locals)
}

/// Every platform's result for a checked request, with the recipe's own
/// inputs.
pub fn results_for(req: &BuildRequest) -> anyhow::Result<Vec<PlatformResult>> {
    results_with_locals(req, &[])
}

/// Every platform's result for a checked request, with the inputs named in
/// `locals` taken from the session's locals of those names.
pub fn results_with_locals(
    req: &BuildRequest,
    locals: &[String],
) -> anyhow::Result<Vec<PlatformResult>> {
    if let Some(name) = locals.iter().find(|n| !INPUT_NAMES.contains(&n.as_str())) {
        return Err(UnknownLocal { name: name.clone() }.into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the async runtime")?;
    let asked = Mutex::new(BTreeSet::new());
    // The inputs as `buildctl build --local context=DIR [--local NAME=DIR]`
    // provides them: the build context as the session's `context` local
    // source, each `--local` input as the local of its name, the other
    // images as the recipe pins them.
    let inputs = Unresolved {
        context: Some("context".to_string()),
        named: |name: &str| {
            if let Ok(mut asked) = asked.lock() {
                asked.insert(name.to_string());
            }
            Ok(locals.iter().any(|l| l == name).then(|| Named::Tree {
                state: Source::local(name)
                    .shared_key_hint(name)
                    .named(format!("[context {name}] local {name}"))
                    .state(),
                config: None,
            }))
        },
    };
    let results = runtime.block_on(recipe::build(req, &inputs))?;
    let asked = asked.into_inner().unwrap_or_default();
    for name in locals.iter().filter(|n| !asked.contains(*n)) {
        tracing::warn!(
            "--local {name}: target {:?} does not use it",
            req.target.to_string()
        );
    }
    Ok(results)
}

/// One definition for several platforms' results.
pub fn combine(results: &[PlatformResult]) -> Definition {
    let state = match results {
        [one] => one.state.clone(),
        many => {
            let mut actions = FileActions::new();
            for r in many {
                let dir = r.platform.to_string().replace('/', "_");
                actions = actions.copy(
                    &r.state,
                    "/",
                    &format!("/{dir}/"),
                    CopyOptions {
                        dir_copy_contents: true,
                        create_dest_path: true,
                        ..CopyOptions::default()
                    },
                );
            }
            State::scratch()
                .file(actions)
                .named("[all platforms] collect results")
                .state()
        }
    };
    marshal(&state)
}

#[derive(Serialize)]
struct JsonVertex<'a> {
    digest: &'a str,
    kind: &'a str,
    platform: Option<String>,
    description: String,
    inputs: Vec<&'a str>,
}

/// The `--format json` form of the graph.
pub fn graph_json(graph: &Graph) -> anyhow::Result<String> {
    let vertices: Vec<JsonVertex> = graph
        .vertices
        .iter()
        .map(|v| JsonVertex {
            digest: &v.digest,
            kind: v.kind(),
            platform: v.platform().map(|p| p.to_string()),
            description: v.describe(),
            inputs: v.op.inputs.iter().map(|i| i.digest.as_str()).collect(),
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&vertices)?;
    out.push('\n');
    Ok(out)
}

/// What the recipe says for `options`, as JSON (`mtts-frontend recipe`):
/// the stub over the built-in recipe, the build arguments over both, and
/// the names the frontend defines. Maps are ordered, so the text is stable.
pub fn recipe_json(options: &Options) -> anyhow::Result<String> {
    let req = request(options)?;
    let (recipe, args) = (&req.recipe, &req.args);
    let url = recipe
        .busybox
        .url
        .replace("{version}", &args.busybox_version);
    let build_args: serde_json::Map<String, serde_json::Value> = args
        .values()
        .into_iter()
        .map(|(name, _, value)| (name.to_string(), value.into()))
        .collect();
    let value = serde_json::json!({
        "tailscale": {
            "version": args.tailscale_version,
            "commit_time": recipe.tailscale.commit_time.to_string(),
            "repository": recipe.tailscale.repository,
            "features": recipe.tailscale.features,
            "verbosity_filter": recipe.tailscale.verbosity_filter,
        },
        "busybox": {
            "version": args.busybox_version,
            "sha256": args.busybox_sha256,
            "url": url,
        },
        "images": {
            "golang": image(&recipe.images.golang),
            "alpine": image(&recipe.images.alpine),
            "xx": image(&recipe.images.xx),
        },
        // What each image's `apk add` installs: the stand-in images of the
        // tests must provide them.
        "packages": {
            "golang": recipe::golang_packages(recipe.upx),
            "alpine": recipe::toolchain_packages(recipe.upx),
            "sysroot": recipe::SYSROOT_PACKAGES,
        },
        "upx": recipe.upx,
        "labels": recipe.labels,
        "build_args": build_args,
        "source_date_epoch": args.source_date_epoch.seconds(),
        "platforms": recipe::SUPPORTED_PLATFORMS,
        "targets": recipe::Target::names(),
        "inputs": INPUT_NAMES,
    });
    let mut text = serde_json::to_string_pretty(&value).context("encoding the recipe")?;
    text.push('\n');
    Ok(text)
}

/// An image pin as `mtts-frontend recipe` shows it: the whole reference,
/// and its tag alone (the version a script needs).
fn image(reference: &ImageRef) -> serde_json::Value {
    serde_json::json!({ "ref": reference.to_string(), "tag": reference.tag() })
}

#[cfg(test)]
mod recipe_tests {
    use super::*;

    fn json(options: &Options) -> serde_json::Value {
        let text = recipe_json(options).unwrap_or_else(|e| panic!("{e:#}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_recipe_command_says_the_effective_values() {
        let builtin = Recipe::default();
        let v = json(&Options::default());
        assert_eq!(v["tailscale"]["version"], builtin.tailscale.version);
        assert_eq!(v["busybox"]["sha256"], builtin.busybox.sha256);
        assert_eq!(
            v["busybox"]["url"],
            builtin
                .busybox
                .url
                .replace("{version}", &builtin.busybox.version)
        );
        assert_eq!(
            v["images"]["golang"]["ref"],
            builtin.images.golang.to_string()
        );
        assert_eq!(v["images"]["golang"]["tag"], "1.26.5-alpine");
        assert_eq!(v["packages"]["golang"][1], "upx");
        assert_eq!(v["platforms"][2], "linux/arm/v7");
        assert_eq!(v["targets"][0], "image");
        assert_eq!(v["inputs"][0], "golang");
        // Build arguments win over the recipe, as in a build.
        let v = json(&Options {
            build_args: vec!["TAILSCALE_VERSION=1.104.6".into(), "OCI_VERSION=x".into()],
            ..Options::default()
        });
        assert_eq!(v["tailscale"]["version"], "v1.104.6");
        assert_eq!(v["build_args"]["OCI_VERSION"], "x");
        // Without upx, no image installs it.
        let stub = std::env::temp_dir().join(format!("mtts-recipe-{}", std::process::id()));
        std::fs::write(&stub, "upx = false\n").unwrap_or_else(|e| panic!("{e}"));
        let v = json(&Options {
            recipe: Some(stub.clone()),
            ..Options::default()
        });
        let _ = std::fs::remove_file(&stub);
        assert_eq!(
            v["packages"]["golang"],
            serde_json::json!(["ca-certificates"])
        );
        assert!(!v["packages"]["alpine"].to_string().contains("upx"));
        // A bad value fails as a build would, naming it.
        let e = recipe_json(&Options {
            build_args: vec!["TAILSCALE_VERSION=main".into()],
            ..Options::default()
        })
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
        assert!(e.contains("TAILSCALE_VERSION"), "{e}");
    }
}
