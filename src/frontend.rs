//! Where the protocol meets the recipe: the mikrotik-tailscale build served
//! through the gateway. The gateway knows nothing of the recipe's inputs;
//! the recipe knows nothing of gRPC; this file maps one onto the other.

use crate::gateway::contexts::NamedContext;
use crate::gateway::subrequests::{CheckReport, CheckWarning, Outline, OutlineArg, TargetInfo};
use crate::gateway::{self, Attestation, Built, Client, GatewayError};
use std::collections::BTreeMap;

use crate::llb::{Cap, CopyOptions, FileActions, OpOptions, SourceFile, SourceRange, State};
use crate::recipe::{
    self, BuildRequest, DaemonSupport, INPUT_NAMES, Inputs, Named, PlatformResult, Recipe,
    RecipeError, RequestOptions, SbomSource, SourceError, Target, Unresolved, image, key_range,
    sbom, validate,
};

/// The mikrotik-tailscale frontend.
pub struct MikrotikTailscale;

/// The frontend's own failures, as the user sees them.
fn frontend_error(e: impl std::error::Error + Send + Sync + 'static) -> GatewayError {
    GatewayError::Frontend(Box::new(e))
}

/// The gateway's messages already name the context that failed.
fn source_error(e: GatewayError) -> SourceError {
    SourceError::Input(Box::new(e))
}

impl Inputs for Client {
    fn build_context(&self, path: &str) -> Result<State, SourceError> {
        self.main_context(path).map_err(source_error)
    }

    fn named_context(&self, name: &str) -> Result<Option<Named>, SourceError> {
        let named = Client::named_context(self, name).map_err(source_error)?;
        Ok(named.map(|n| match n {
            NamedContext::Image(r) => Named::Image(r),
            NamedContext::State(state, config) => Named::Tree { state, config },
        }))
    }
}

/// The stub Dockerfile, read and parsed; a recipe error keeps its place
/// in the file, so buildx shows the line.
async fn read_recipe(client: &Client) -> Result<(String, Recipe), GatewayError> {
    let text = client.read_entrypoint().await?;
    let recipe = parse_recipe(client, &text)?;
    Ok((text, recipe))
}

fn parse_recipe(client: &Client, text: &str) -> Result<Recipe, GatewayError> {
    Recipe::parse(text, &client.options().filename).map_err(|e| recipe_error(e, client))
}

fn shareable(text: &str) -> bool {
    validate::shareable(text)
}

/// The entrypoint file, when it may be shown.
fn shown_file(client: &Client) -> Option<SourceFile> {
    client
        .entrypoint_file()
        .filter(|f| shareable(&String::from_utf8_lossy(&f.data)))
}

fn recipe_error(e: RecipeError, client: &Client) -> GatewayError {
    match (e.ranges(), shown_file(client)) {
        (ranges, Some(file)) if !ranges.is_empty() => GatewayError::InFile {
            error: Box::new(e),
            file,
            ranges,
        },
        _ => frontend_error(e),
    }
}

/// The checked request of this build, and its warnings.
fn request(client: &Client, recipe: Recipe) -> Result<(BuildRequest, Vec<String>), GatewayError> {
    let options = client.options();
    let caps = client.caps();
    BuildRequest::new(RequestOptions {
        recipe,
        platforms: options.platforms.clone(),
        build_args: options.build_args.clone(),
        labels: options.labels.clone(),
        target: options.target.clone(),
        build_platform: client.build_platform(),
        network: options.network,
        no_cache: options.no_cache.clone(),
        resolve_mode: options.resolve_mode,
        daemon: DaemonSupport {
            merge_op: caps.has_llb(Cap::MergeOp),
            file_symlink: caps.has_llb(Cap::FileSymlinkCreate),
        },
        recipe_file: shown_file(client),
    })
    .map_err(frontend_error)
}

/// Where recipe key `key` is in `text`, if the user wrote it (and the
/// file may be shown).
fn ranges_of(text: &str, key: &str) -> Vec<SourceRange> {
    if !shareable(text) {
        return Vec::new();
    }
    key_range(text, key).into_iter().collect()
}

impl gateway::Frontend for MikrotikTailscale {
    async fn build(&self, client: &Client) -> Result<Vec<Built>, GatewayError> {
        let (text, recipe) = read_recipe(client).await?;
        let (req, warnings) = request(client, recipe)?;
        for w in warnings {
            client.warn(w);
        }
        for f in req.recipe.findings() {
            client.warn_at(f.detail, ranges_of(&text, &f.key));
        }
        if let Some(generator) = client
            .options()
            .sbom
            .as_ref()
            .and_then(|p| p.get("generator"))
        {
            client.warn(format!(
                "--sbom generator={} is not run: mtts-frontend writes the SBOM itself from what the build used (a scanner cannot see inside the UPX-packed binaries)",
                crate::llb::short(generator)
            ));
        }
        for flag in &client.options().unapplied {
            client.warn(format!(
                "{flag} is ignored: mtts-frontend does not apply it to the recipe's steps"
            ));
        }
        let built = build(&req, client).await?;
        for message in unused_named_contexts(client) {
            client.warn(message);
        }
        Ok(built)
    }

    fn targets(&self) -> Vec<TargetInfo> {
        Target::ALL
            .iter()
            .map(|t| TargetInfo {
                name: t.name(),
                default: *t == Target::default(),
                description: t.description(),
            })
            .collect()
    }

    async fn outline(&self, client: &Client) -> Result<Outline, GatewayError> {
        let (_, recipe) = read_recipe(client).await?;
        let (req, _) = request(client, recipe)?;
        Ok(Outline {
            name: req.target.name().to_string(),
            description: req.target.description().to_string(),
            args: req
                .args
                .values()
                .into_iter()
                .map(|(name, description, value)| OutlineArg {
                    name: name.to_string(),
                    description: description.to_string(),
                    value,
                })
                .collect(),
        })
    }

    async fn check(&self, client: &Client) -> Result<CheckReport, GatewayError> {
        // A file that cannot be read is an error, as for the Dockerfile
        // frontend; everything after it is a finding of the report.
        let text = client.read_entrypoint().await?;
        let mut report = CheckReport {
            file: shown_file(client),
            ..CheckReport::default()
        };
        if let Err(e) = check(client, &text, &mut report).await {
            if report.file.is_none() {
                return Err(e);
            }
            let ranges = match &e {
                GatewayError::InFile { ranges, .. } => ranges.clone(),
                _ => Vec::new(),
            };
            report.error = Some((e.to_string(), ranges));
        }
        Ok(report)
    }
}

/// Everything `--check` can check without building: the recipe, the
/// build arguments, labels, platforms and target, and the named contexts
/// (each is looked up as the build would; none is resolved or fetched).
async fn check(client: &Client, text: &str, report: &mut CheckReport) -> Result<(), GatewayError> {
    let recipe = parse_recipe(client, text)?;
    let (req, warnings) = request(client, recipe)?;
    for detail in warnings {
        report.warnings.push(CheckWarning {
            rule: "UnusedBuildArg",
            description: "A build argument this build does not use, often a typo",
            detail,
            ranges: Vec::new(),
        });
    }
    for f in req.recipe.findings() {
        report.warnings.push(CheckWarning {
            rule: f.rule,
            description: f.description,
            ranges: ranges_of(text, &f.key),
            detail: f.detail,
        });
    }
    // The graph is made as the build makes it, asking for named contexts
    // the same way; nothing is resolved or fetched.
    let inputs = Unresolved {
        context: None,
        named: |name: &str| Inputs::named_context(client, name),
    };
    recipe::build(&req, &inputs).await.map_err(frontend_error)?;
    for detail in unused_named_contexts(client) {
        report.warnings.push(CheckWarning {
            rule: "UnusedNamedContext",
            description: "A named context this build does not use",
            detail,
            ranges: Vec::new(),
        });
    }
    Ok(())
}

/// The named contexts the user gave that the build never asked for (call
/// after the graph is made), said so the user sees what would be used.
fn unused_named_contexts(client: &Client) -> Vec<String> {
    client
        .unused_named_contexts()
        .iter()
        .map(|name| {
            format!(
                "named context {:?} is not used by this build (the recipe's inputs: {}; a target uses only its own)",
                crate::llb::short(name),
                INPUT_NAMES.join(", ")
            )
        })
        .collect()
}

async fn build(req: &BuildRequest, client: &Client) -> Result<Vec<Built>, GatewayError> {
    client.read_dockerignore().await?;
    let results = recipe::build(req, client).await.map_err(frontend_error)?;
    let facts: Vec<Option<Facts>> = if client.options().sbom.is_some() {
        sbom_facts(client, &results)
            .await?
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; results.len()]
    };
    let mut built = Vec::with_capacity(results.len());
    for (r, facts) in results.into_iter().zip(facts) {
        let image_config = match &r.image_config {
            Some(cfg) => Some(
                image::config_json(cfg).map_err(|source| GatewayError::Encode {
                    what: "the image config",
                    source,
                })?,
            ),
            None => None,
        };
        let attestations = match facts {
            Some(files) => vec![sbom_attestation(req, &r.sbom, &files)?],
            None => Vec::new(),
        };
        built.push(Built {
            platform: r.platform,
            state: r.state,
            image_config,
            epoch: Some(req.args.source_date_epoch),
            attestations,
        });
    }
    Ok(built)
}

/// One platform's SBOM fact files, by name.
type Facts = BTreeMap<&'static str, Vec<u8>>;

/// Every platform's SBOM facts, from one solve of them all side by side
/// (`/<i>/` for the i-th platform), so the platforms build in parallel
/// as they do without `--sbom`; one read per file.
async fn sbom_facts(
    client: &Client,
    results: &[PlatformResult],
) -> Result<Vec<Facts>, GatewayError> {
    let mut actions = FileActions::new();
    for (i, r) in results.iter().enumerate() {
        actions = actions.copy(
            &r.sbom.facts,
            "/",
            &format!("/{i}"),
            CopyOptions {
                dir_copy_contents: true,
                create_dest_path: true,
                ..CopyOptions::default()
            },
        );
    }
    let all = State::scratch()
        .file(actions)
        .named("[sbom] what each platform's result holds")
        .state();
    let paths: Vec<String> = (0..results.len())
        .flat_map(|i| sbom::FACT_FILES.iter().map(move |f| format!("/{i}/{f}")))
        .collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut files = client
        .solve_and_read(&all, &paths, "the SBOM facts")
        .await?
        .into_iter();
    Ok(results
        .iter()
        .map(|_| {
            sbom::FACT_FILES
                .iter()
                .map(|name| (*name, files.next().unwrap_or_default()))
                .collect()
        })
        .collect())
}

/// Where the SPDX document sits in its attestation's result.
const SBOM_FILE: &str = "/sbom.spdx.json";

/// The SBOM attestation of one platform's result: the document made from
/// its facts, as the attestation's one file.
fn sbom_attestation(
    req: &BuildRequest,
    source: &SbomSource,
    facts: &Facts,
) -> Result<Attestation, GatewayError> {
    let document = sbom::document(req, source, facts).map_err(frontend_error)?;
    let state = State::scratch()
        .file(FileActions::new().mkfile(SBOM_FILE, 0o644, document))
        .named(format!("[sbom {}] SPDX document", source.platform))
        .state();
    Ok(Attestation {
        state,
        path: SBOM_FILE.to_string(),
        predicate_type: crate::spdx::PREDICATE_TYPE.to_string(),
        reason: "sbom".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_a_password_is_never_shown_back() {
        assert!(shareable(
            "[tailscale]\nrepository = \"https://github.com/t/t.git\"\n"
        ));
        assert!(!shareable(
            "[tailscale]\nrepository = \"https://me:s3cret@example.com/t.git\"\n"
        ));
        assert_eq!(
            ranges_of("[images]\ngolang = \"golang:1\"\n", "images.golang").len(),
            1
        );
        let secret = "[images]\ngolang = \"golang:1\"\n# https://u:pw@host/x\n";
        assert!(ranges_of(secret, "images.golang").is_empty());
    }
}
