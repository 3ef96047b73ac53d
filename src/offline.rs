//! The offline commands: the same graph the frontend would solve, made
//! without a BuildKit (base image configs from [`StaticResolver`]).

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::GraphArgs;
use crate::llb::inspect::Graph;
use crate::llb::{
    CopyOptions, Definition, FileActions, NetMode, OpOptions, Platform, ResolveMode, Source, State,
    marshal,
};
use crate::recipe::{
    self, BuildArgs, BuildRequest, DaemonSupport, Overrides, PlatformResult, Recipe,
    StaticResolver, Target, inputs,
};

/// The paths of the build context the recipe reads; only these are
/// transferred from the client.
pub const CONTEXT_INCLUDES: &[&str] = &["patches", "busybox-applets.config"];

/// Turns command-line arguments into a checked build request.
pub fn request(args: &GraphArgs) -> anyhow::Result<BuildRequest> {
    let recipe = match &args.recipe {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading recipe {}", path.display()))?;
            Recipe::parse(&text, &path.display().to_string())?
        }
        None => Recipe::default(),
    };
    let build_args = recipe::parse_pairs("--build-arg", &args.build_args)?;
    let labels = recipe::parse_pairs("--label", &args.labels)?;
    inputs::check_labels(&labels)?;
    let resolved = BuildArgs::resolve(&recipe, &build_args)?;
    for unused in &resolved.unused {
        tracing::warn!(
            "build argument {} is not used by this build",
            recipe::validate::short(unused)
        );
    }
    let build_platform = match &args.build_platform {
        Some(p) => p
            .parse::<Platform>()
            .map_err(|e| inputs::InputError::PlatformSyntax(e.to_string()))?,
        None => Platform::host(),
    };
    inputs::check_build_platform(&build_platform)?;
    let platforms = if args.platforms.is_empty() {
        inputs::parse_platforms(&[build_platform.to_string()])?
    } else {
        inputs::parse_platforms(&args.platforms)?
    };
    Ok(BuildRequest {
        recipe,
        args: resolved,
        platforms,
        build_platform,
        target: Target::parse(args.target.as_deref().unwrap_or(""))?,
        labels,
        network: NetMode::Sandbox,
        no_cache: false,
        daemon: DaemonSupport::all(),
    })
}

/// The build context as a local source of the client session, as
/// `buildctl build --local context=DIR` provides it.
pub fn local_context() -> State {
    Source::local("context")
        .include_patterns(CONTEXT_INCLUDES)
        .shared_key_hint("context")
        .named("[context] patches/ busybox-applets.config")
        .state()
}

/// The whole graph for `args` as one definition: one platform's result
/// directly, several collected into `/<os>_<arch>[_<variant>]/` directories
/// (the layout buildx's local exporter uses for several platforms).
pub fn definition(args: &GraphArgs) -> anyhow::Result<Definition> {
    Ok(combine(&results(args)?))
}

/// Every platform's result for `args`.
pub fn results(args: &GraphArgs) -> anyhow::Result<Vec<PlatformResult>> {
    results_for(&request(args)?)
}

/// Every platform's result for a checked request.
pub fn results_for(req: &BuildRequest) -> anyhow::Result<Vec<PlatformResult>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the async runtime")?;
    let sources = runtime.block_on(recipe::prepare_sources(
        &StaticResolver,
        req,
        Overrides::default(),
        local_context(),
        ResolveMode::Default,
    ))?;
    Ok(recipe::build(req, &sources)?)
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
