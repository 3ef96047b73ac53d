//! The gateway frontend: everything that talks to BuildKit. It reads the
//! options and inputs, resolves images, hands the recipe typed inputs,
//! solves what the recipe makes and returns the result. The recipe itself
//! never sees gRPC.

pub mod caps;
pub mod options;
pub mod result;
mod transport;

use std::collections::BTreeMap;

use tonic::transport::Channel;

use crate::llb::{
    Definition, ImageRef, OpOptions, Platform, RawError, ResolveMode, Source, State, head_of,
    marshal,
};
use crate::offline::CONTEXT_INCLUDES;
use crate::proto::gateway::llb_bridge_client::LlbBridgeClient;
use crate::proto::gateway::{
    InputsRequest, PingRequest, ReadFileRequest, ResolveImageConfigRequest, ReturnRequest,
    SolveRequest, WarnRequest,
};
use crate::proto::{google, pb};
use crate::recipe::validate::short;
use crate::recipe::{
    self, BaseOverride, BuildArgs, BuildRequest, ImageMeta, ImageResolver, Overrides, Recipe,
    ResolveError, Target, image, inputs,
};
use caps::DaemonCaps;
use options::{ContextSpec, FrontendEnv, FrontendOptions};
use result::SolvedPlatform;

type Client = LlbBridgeClient<Channel>;

/// Why a build could not be made; shown to the user by BuildKit.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Options(#[from] options::OptionError),
    #[error(transparent)]
    Input(#[from] recipe::InputError),
    #[error(transparent)]
    Recipe(#[from] recipe::RecipeError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Build(#[from] recipe::BuildError),
    #[error(transparent)]
    Caps(#[from] caps::CapsError),
    #[error("{what}: {}", .status.message())]
    Rpc { what: String, status: tonic::Status },
    #[error("{what}: {source}")]
    Definition { what: String, source: RawError },
    #[error("{0}")]
    Other(String),
}

fn rpc(what: impl Into<String>) -> impl FnOnce(tonic::Status) -> GatewayError {
    let what = what.into();
    move |status| GatewayError::Rpc { what, status }
}

/// Runs as a BuildKit gateway frontend over stdin/stdout until the result
/// (or the error) has been returned.
pub async fn serve() -> Result<(), GatewayError> {
    tracing::info!(
        "mtts-frontend {} started by BuildKit",
        env!("CARGO_PKG_VERSION")
    );
    let env = FrontendEnv::from_vars(std::env::vars());
    let mut client = transport::connect()
        .await
        .map_err(|e| GatewayError::Other(format!("connecting to BuildKit over stdio: {e}")))?;
    let pong = client
        .ping(PingRequest {})
        .await
        .map_err(rpc("ping"))?
        .into_inner();
    let caps = DaemonCaps::from_pong(&pong);
    tracing::info!(
        "connected: {} gateway caps, {} LLB caps",
        caps.gateway.len(),
        caps.llb.len()
    );
    let outcome = match env {
        Ok(env) => {
            Frontend {
                client: client.clone(),
                caps: caps.clone(),
                env,
            }
            .run()
            .await
        }
        Err(e) => Err(e.into()),
    };
    if !caps.has_gateway("return") {
        // Nothing to return through: the daemon reads our exit status.
        return outcome.map(|_| ());
    }
    let request = match &outcome {
        Ok(result) => ReturnRequest {
            result: Some(result.clone()),
            error: None,
        },
        Err(e) => {
            tracing::error!("{e}");
            ReturnRequest {
                result: None,
                error: Some(google::rpc::Status {
                    // gRPC "unknown": BuildKit shows the message as is.
                    code: 2,
                    message: e.to_string(),
                    details: Vec::new(),
                }),
            }
        }
    };
    client
        .r#return(request)
        .await
        .map_err(rpc("returning the result"))?;
    Ok(())
}

struct Frontend {
    client: Client,
    caps: DaemonCaps,
    env: FrontendEnv,
}

impl Frontend {
    async fn run(mut self) -> Result<crate::proto::gateway::Result, GatewayError> {
        let opts = FrontendOptions::parse(&self.env.opts)?;
        match opts.request_id.as_deref() {
            None => {}
            Some("frontend.targets") => {
                return result::targets().map_err(|e| GatewayError::Other(e.to_string()));
            }
            Some("frontend.subrequests.describe") => {
                return result::describe().map_err(|e| GatewayError::Other(e.to_string()));
            }
            Some(other) => {
                return Err(GatewayError::Other(format!(
                    "unsupported subrequest {other:?}; this frontend answers frontend.targets"
                )));
            }
        }
        self.caps.check_gateway()?;

        let mut inputs = self.inputs().await?;
        let (recipe_text, recipe_digest) = self.read_recipe(&opts, &mut inputs).await?;
        let recipe = Recipe::parse(&recipe_text, &opts.filename)?;

        let build_platform = self.env.build_platform();
        inputs::check_build_platform(&build_platform)?;
        let platforms = if opts.platforms.is_empty() {
            inputs::parse_platforms(&[build_platform.to_string()])?
        } else {
            inputs::parse_platforms(&opts.platforms)?
        };
        let args = BuildArgs::resolve(&recipe, &opts.build_args)?;
        inputs::check_labels(&opts.labels)?;
        let req = BuildRequest {
            recipe,
            args,
            platforms,
            build_platform,
            target: Target::parse(&opts.target)?,
            labels: opts.labels.clone(),
            network: opts.network,
            no_cache: opts.no_cache,
            daemon: self.caps.support(),
        };

        let mut warnings: Vec<String> = req
            .args
            .unused
            .iter()
            .map(|a| format!("build argument {} is not used by this build", short(a)))
            .collect();
        let context = match inputs.remove("context") {
            Some(def) => {
                State::from_definition(&def).map_err(|source| GatewayError::Definition {
                    what: "the forwarded build context".into(),
                    source,
                })?
            }
            None => Source::local(&opts.context_local_name)
                .session(&self.env.session_id)
                .include_patterns(CONTEXT_INCLUDES)
                .shared_key_hint(&opts.context_local_name)
                .named("[internal] load build context")
                .state(),
        };
        let overrides = self.overrides(&opts, &mut inputs, &mut warnings)?;
        let resolver = GatewayResolver {
            client: self.client.clone(),
            session_id: self.env.session_id.clone(),
        };
        let sources =
            recipe::prepare_sources(&resolver, &req, overrides, context, opts.resolve_mode).await?;
        let built = recipe::build(&req, &sources)?;

        let definitions: Vec<Definition> = built.iter().map(|r| marshal(&r.state)).collect();
        let needed = definitions
            .iter()
            .flat_map(|d| d.caps.iter().copied())
            .collect();
        self.caps.check_llb(&needed)?;

        if let Some(digest) = &recipe_digest {
            for w in &warnings {
                self.warn(digest, w).await;
            }
        }

        let mut solved = Vec::with_capacity(built.len());
        for (r, def) in built.iter().zip(definitions) {
            let ref_id = self
                .solve(def.pb, &format!("the build for {}", r.platform))
                .await?;
            let image_config = match &r.image_config {
                Some(cfg) => {
                    Some(image::config_json(cfg).map_err(|e| GatewayError::Other(e.to_string()))?)
                }
                None => None,
            };
            solved.push(SolvedPlatform {
                platform: r.platform.clone(),
                ref_id,
                image_config,
            });
        }
        let multi = self
            .env
            .opts
            .get("multi-platform")
            .is_some_and(|v| v == "true");
        result::assemble(&solved, multi).map_err(|e| GatewayError::Other(e.to_string()))
    }

    /// The definitions BuildKit forwarded (when it can forward any).
    async fn inputs(&mut self) -> Result<BTreeMap<String, pb::Definition>, GatewayError> {
        if !self.caps.has_gateway("frontend.inputs") {
            return Ok(BTreeMap::new());
        }
        Ok(self
            .client
            .inputs(InputsRequest {})
            .await
            .map_err(rpc("reading the frontend inputs"))?
            .into_inner()
            .definitions)
    }

    async fn solve(&mut self, def: pb::Definition, what: &str) -> Result<String, GatewayError> {
        let response = self
            .client
            .solve(SolveRequest {
                definition: Some(def),
                allow_result_return: true,
                allow_result_array_ref: true,
                ..Default::default()
            })
            .await
            .map_err(rpc(format!("solving {what}")))?
            .into_inner();
        use crate::proto::gateway::result::Result as R;
        match response.result.and_then(|r| r.result) {
            Some(R::Ref(r)) => Ok(r.id),
            Some(R::RefDeprecated(id)) => Ok(id),
            _ if !response.r#ref.is_empty() => Ok(response.r#ref),
            _ => Err(GatewayError::Other(format!(
                "BuildKit returned no reference for {what}"
            ))),
        }
    }

    /// Reads the stub Dockerfile: from the forwarded `dockerfile` input, or
    /// from the client's `dockerfile` local source. Returns its text and the
    /// digest of the op that loaded it (for warnings).
    async fn read_recipe(
        &mut self,
        opts: &FrontendOptions,
        inputs: &mut BTreeMap<String, pb::Definition>,
    ) -> Result<(String, Option<String>), GatewayError> {
        let def = match inputs.remove("dockerfile") {
            Some(def) => def,
            None => {
                let state = Source::local(&opts.dockerfile_local_name)
                    .session(&self.env.session_id)
                    .include_patterns(&[opts.filename.as_str()])
                    .shared_key_hint(&opts.dockerfile_local_name)
                    .named(format!(
                        "[internal] load build definition from {}",
                        opts.filename
                    ))
                    .state();
                marshal(&state).pb
            }
        };
        let digest = head_of(&def);
        let ref_id = self.solve(def, &opts.filename).await?;
        let data = self
            .client
            .read_file(ReadFileRequest {
                r#ref: ref_id,
                file_path: opts.filename.clone(),
                ..Default::default()
            })
            .await
            .map_err(rpc(format!("reading {}", opts.filename)))?
            .into_inner()
            .data;
        let text = String::from_utf8(data)
            .map_err(|_| GatewayError::Other(format!("{} is not UTF-8 text", opts.filename)))?;
        Ok((text, digest))
    }

    /// Named contexts for the inputs this build has; others are reported.
    fn overrides(
        &self,
        opts: &FrontendOptions,
        inputs: &mut BTreeMap<String, pb::Definition>,
        warnings: &mut Vec<String>,
    ) -> Result<Overrides, GatewayError> {
        let mut o = Overrides::default();
        for (name, spec) in &opts.contexts {
            match name.as_str() {
                "golang" | "alpine" | "xx" => {
                    let base = match spec {
                        ContextSpec::Image(r) => BaseOverride::Image(r.clone()),
                        other => BaseOverride::State(self.context_state(name, other, inputs)?),
                    };
                    match name.as_str() {
                        "golang" => o.golang = Some(base),
                        "alpine" => o.alpine = Some(base),
                        _ => o.xx = Some(base),
                    }
                }
                "tailscale" => o.tailscale = Some(self.context_state(name, spec, inputs)?),
                "busybox" => o.busybox = Some(self.context_state(name, spec, inputs)?),
                other => warnings.push(format!(
                    "named context {:?} is not used by this build (it uses xx, golang, alpine, tailscale, busybox)",
                    short(other)
                )),
            }
        }
        Ok(o)
    }

    /// The filesystem of a named context of any kind.
    fn context_state(
        &self,
        name: &str,
        spec: &ContextSpec,
        inputs: &mut BTreeMap<String, pb::Definition>,
    ) -> Result<State, GatewayError> {
        let label = format!("[context {name}]");
        Ok(match spec {
            ContextSpec::Image(r) => Source::image(r).named(format!("{label} {r}")).state(),
            ContextSpec::Git { url, reference } => Source::git(url, reference)
                .named(format!("{label} {url}"))
                .state(),
            ContextSpec::Http(url) => Source::http(url)
                .filename("context")
                .named(format!("{label} {url}"))
                .state(),
            ContextSpec::Local(local) => Source::local(local)
                .session(&self.env.session_id)
                .shared_key_hint(&format!("context:{name}"))
                .named(format!("{label} load from client"))
                .state(),
            ContextSpec::OciLayout { store, digest } => {
                let attrs = BTreeMap::from([
                    ("oci.session".to_string(), self.env.session_id.clone()),
                    ("oci.store".to_string(), store.clone()),
                ]);
                let dummy = ImageRef::parse(name)
                    .and_then(|r| r.with_digest(digest))
                    .map_err(|e| GatewayError::Other(e.to_string()))?;
                Source::raw(&format!("oci-layout://{dummy}"), &attrs)
                    .named(format!("{label} OCI load from client"))
                    .state()
            }
            ContextSpec::Input(input) => {
                let def = inputs.get(input).ok_or_else(|| {
                    GatewayError::Other(format!(
                        "named context {name}: BuildKit forwarded no input {input:?}"
                    ))
                })?;
                State::from_definition(def).map_err(|source| GatewayError::Definition {
                    what: format!("named context {name}"),
                    source,
                })?
            }
        })
    }

    /// Shows a warning in the client's progress output, when the daemon can.
    async fn warn(&mut self, digest: &str, message: &str) {
        tracing::warn!("{message}");
        if !self.caps.has_gateway("gateway.warnings") {
            return;
        }
        let request = WarnRequest {
            digest: digest.to_string(),
            level: 1,
            short: message.as_bytes().to_vec(),
            ..Default::default()
        };
        if let Err(e) = self.client.warn(request).await {
            tracing::warn!("could not forward a warning: {}", e.message());
        }
    }
}

/// Resolves image configs through the daemon (`ResolveImageConfig`).
struct GatewayResolver {
    client: Client,
    session_id: String,
}

/// The parts of an image config the execs need.
#[derive(serde::Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    config: Option<RunConfig>,
}

#[derive(serde::Deserialize, Default)]
struct RunConfig {
    #[serde(rename = "Env", default)]
    env: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    working_dir: Option<String>,
    #[serde(rename = "User", default)]
    user: Option<String>,
}

impl ImageResolver for GatewayResolver {
    async fn resolve(
        &self,
        image: &ImageRef,
        platform: &Platform,
        mode: ResolveMode,
    ) -> Result<ImageMeta, ResolveError> {
        let err = |message: String| ResolveError {
            image: image.to_string(),
            platform: platform.to_string(),
            message,
        };
        let response = self
            .client
            .clone()
            .resolve_image_config(ResolveImageConfigRequest {
                r#ref: image.to_string(),
                platform: Some(platform.to_pb()),
                resolve_mode: mode.as_str().to_string(),
                log_name: format!("[internal] load metadata for {image}"),
                session_id: self.session_id.clone(),
                ..Default::default()
            })
            .await
            .map_err(|s| err(s.message().to_string()))?
            .into_inner();
        let file: ConfigFile = serde_json::from_slice(&response.config)
            .map_err(|e| err(format!("the image config is not valid JSON: {e}")))?;
        let run = file.config.unwrap_or_default();
        Ok(ImageMeta {
            digest: Some(response.digest).filter(|d| !d.is_empty()),
            env: run.env.unwrap_or_default(),
            working_dir: run.working_dir,
            user: run.user,
        })
    }
}
