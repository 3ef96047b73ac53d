//! The gateway protocol, shaped like BuildKit's `dockerui`: everything that
//! talks to BuildKit, and nothing of what is built. A [`Frontend`] gets a
//! [`Client`] that knows the options, the entrypoint file (the stub
//! Dockerfile), the main and named contexts by name, image configs and
//! warnings; it returns a state per platform, which this module solves and
//! returns as the result, or answers a subrequest.

pub mod caps;
pub mod contexts;
pub mod options;
pub mod result;
mod transport;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use tonic::transport::Channel;

use crate::llb::{
    ImageMeta, ImageMetaResolver, ImageRef, OpOptions, Platform, ResolveError, ResolveMode, Source,
    State, head_of, marshal,
};
use crate::proto::gateway::llb_bridge_client::LlbBridgeClient;
use crate::proto::gateway::{
    InputsRequest, PingRequest, ReadFileRequest, ResolveImageConfigRequest, ReturnRequest,
    SolveRequest, WarnRequest,
};
use crate::proto::{google, pb};
use caps::DaemonCaps;
use contexts::{ContextError, Contexts, NamedContext};
use options::{FrontendEnv, FrontendOptions};
use result::{SolvedPlatform, TargetInfo};

type Bridge = LlbBridgeClient<Channel>;

/// Why a build could not be made; shown to the user by BuildKit.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Options(#[from] options::OptionError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    Caps(#[from] caps::CapsError),
    #[error("connecting to BuildKit over stdio: {0}")]
    Connect(tonic::transport::Error),
    #[error("{what}: {}", .status.message())]
    Rpc { what: String, status: tonic::Status },
    #[error("{0} is not UTF-8 text")]
    NotText(String),
    #[error("BuildKit returned no reference for {0}")]
    NoReference(String),
    #[error("encoding {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("unsupported subrequest {0:?}; this frontend answers frontend.targets")]
    Subrequest(String),
    /// The frontend's own failure (a bad recipe, input, ...).
    #[error(transparent)]
    Frontend(Box<dyn std::error::Error + Send + Sync>),
}

fn rpc(what: impl Into<String>) -> impl FnOnce(tonic::Status) -> GatewayError {
    let what = what.into();
    move |status| GatewayError::Rpc { what, status }
}

/// What a frontend made for one platform.
#[derive(Clone, Debug)]
pub struct Built {
    pub platform: Platform,
    pub state: State,
    /// The image config JSON, when the result is an image.
    pub image_config: Option<Vec<u8>>,
}

/// What runs on top of the protocol.
pub trait Frontend: Sync {
    /// Makes the graph for every requested platform, asking `client` for
    /// what it needs.
    fn build(
        &self,
        client: &Client,
    ) -> impl Future<Output = Result<Vec<Built>, GatewayError>> + Send;

    /// The answer to `--call targets`.
    fn targets(&self) -> Vec<TargetInfo>;
}

/// Runs `frontend` as a BuildKit gateway frontend over stdin/stdout until
/// the result (or the error) has been returned.
pub async fn serve<F: Frontend>(frontend: &F) -> Result<(), GatewayError> {
    tracing::info!(
        "mtts-frontend {} started by BuildKit",
        env!("CARGO_PKG_VERSION")
    );
    let env = FrontendEnv::from_vars(std::env::vars());
    let mut bridge = transport::connect().await.map_err(GatewayError::Connect)?;
    let pong = bridge
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
        Ok(env) => run(frontend, bridge.clone(), caps.clone(), env).await,
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
    bridge
        .r#return(request)
        .await
        .map_err(rpc("returning the result"))?;
    Ok(())
}

/// One request: a subrequest answered at once, or a build solved.
async fn run<F: Frontend>(
    frontend: &F,
    bridge: Bridge,
    caps: DaemonCaps,
    env: FrontendEnv,
) -> Result<crate::proto::gateway::Result, GatewayError> {
    let options = FrontendOptions::parse(&env.opts)?;
    let encoding = |what| move |source| GatewayError::Encode { what, source };
    match options.request_id.as_deref() {
        None => {}
        Some("frontend.targets") => {
            return result::targets(&frontend.targets()).map_err(encoding("the target list"));
        }
        Some("frontend.subrequests.describe") => {
            return result::describe().map_err(encoding("the subrequest list"));
        }
        Some(other) => return Err(GatewayError::Subrequest(other.to_string())),
    }
    caps.check_gateway()?;
    let client = Client::connect(bridge, caps, env, options).await?;
    let built = frontend.build(&client).await?;
    for name in client.contexts.unused() {
        client.warn(format!(
            "named context {:?} is not used by this build",
            crate::llb::short(&name)
        ));
    }

    let definitions: Vec<_> = built.iter().map(|b| marshal(&b.state)).collect();
    let needed = definitions
        .iter()
        .flat_map(|d| d.caps.iter().copied())
        .collect();
    client.caps.check_llb(&needed)?;
    client.send_warnings().await;

    let mut solved = Vec::with_capacity(built.len());
    for (b, def) in built.into_iter().zip(definitions) {
        let ref_id = client
            .solve(def.pb, &format!("the build for {}", b.platform))
            .await?;
        solved.push(SolvedPlatform {
            platform: b.platform,
            ref_id,
            image_config: b.image_config,
        });
    }
    result::assemble(&solved, client.options.multi_platform).map_err(encoding("the result"))
}

/// What a frontend may ask of BuildKit during one build.
pub struct Client {
    bridge: Bridge,
    caps: DaemonCaps,
    env: FrontendEnv,
    options: FrontendOptions,
    contexts: Contexts,
    /// The digest of the op that loaded the entrypoint file: warnings point
    /// at it.
    entrypoint_digest: Mutex<Option<String>>,
    warnings: Mutex<Vec<String>>,
}

impl Client {
    async fn connect(
        mut bridge: Bridge,
        caps: DaemonCaps,
        env: FrontendEnv,
        options: FrontendOptions,
    ) -> Result<Self, GatewayError> {
        let forwarded = if caps.has_gateway("frontend.inputs") {
            bridge
                .inputs(InputsRequest {})
                .await
                .map_err(rpc("reading the frontend inputs"))?
                .into_inner()
                .definitions
        } else {
            BTreeMap::new()
        };
        let contexts = Contexts::new(
            &env.session_id,
            &options.context_local_name,
            options.contexts.clone(),
            forwarded,
        );
        Ok(Client {
            bridge,
            caps,
            env,
            options,
            contexts,
            entrypoint_digest: Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// The frontend options of this build.
    pub fn options(&self) -> &FrontendOptions {
        &self.options
    }

    /// What the daemon can do.
    pub fn caps(&self) -> &DaemonCaps {
        &self.caps
    }

    /// The platform the daemon's worker runs on.
    pub fn build_platform(&self) -> Platform {
        self.env.build_platform()
    }

    /// The main build context with only `include` transferred.
    pub fn main_context(&self, include: &[&str]) -> Result<State, GatewayError> {
        Ok(self.contexts.main(include)?)
    }

    /// The named context `name` (`--build-context name=...`), if given.
    pub fn named_context(&self, name: &str) -> Result<Option<NamedContext>, GatewayError> {
        Ok(self.contexts.named(name)?)
    }

    /// Shows `message` as a warning of this build (sent before solving).
    pub fn warn(&self, message: String) {
        tracing::warn!("{message}");
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message);
        }
    }

    /// Reads the entrypoint file (`--file`, default `Dockerfile`): from the
    /// forwarded `dockerfile` input, or the client's `dockerfile` local.
    pub async fn read_entrypoint(&self) -> Result<String, GatewayError> {
        let filename = &self.options.filename;
        let def = match self.contexts.forwarded("dockerfile") {
            Some(def) => def.clone(),
            None => {
                let local = &self.options.dockerfile_local_name;
                let state = Source::local(local)
                    .session(&self.env.session_id)
                    .include_patterns(&[filename.as_str()])
                    .shared_key_hint(local)
                    .named(format!("[internal] load build definition from {filename}"))
                    .state();
                marshal(&state).pb
            }
        };
        if let Ok(mut d) = self.entrypoint_digest.lock() {
            *d = head_of(&def);
        }
        let ref_id = self.solve(def, filename).await?;
        let data = self
            .bridge
            .clone()
            .read_file(ReadFileRequest {
                r#ref: ref_id,
                file_path: filename.clone(),
                ..Default::default()
            })
            .await
            .map_err(rpc(format!("reading {filename}")))?
            .into_inner()
            .data;
        String::from_utf8(data).map_err(|_| GatewayError::NotText(filename.clone()))
    }

    async fn solve(&self, def: pb::Definition, what: &str) -> Result<String, GatewayError> {
        let response = self
            .bridge
            .clone()
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
            _ => Err(GatewayError::NoReference(what.to_string())),
        }
    }

    /// Sends the collected warnings to the client's progress output, when
    /// the daemon can show them (they are logged either way).
    async fn send_warnings(&self) {
        let digest = self.entrypoint_digest.lock().ok().and_then(|d| d.clone());
        let warnings = self.warnings.lock().map(|w| w.clone()).unwrap_or_default();
        let Some(digest) = digest else { return };
        if !self.caps.has_gateway("gateway.warnings") {
            return;
        }
        for message in warnings {
            let request = WarnRequest {
                digest: digest.clone(),
                level: 1,
                short: message.into_bytes(),
                ..Default::default()
            };
            if let Err(e) = self.bridge.clone().warn(request).await {
                tracing::warn!("could not forward a warning: {}", e.message());
            }
        }
    }
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

/// Image configs through the daemon (`ResolveImageConfig`).
impl ImageMetaResolver for Client {
    async fn resolve_image(
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
            .bridge
            .clone()
            .resolve_image_config(ResolveImageConfigRequest {
                r#ref: image.to_string(),
                platform: Some(platform.to_pb()),
                resolve_mode: mode.as_str().to_string(),
                log_name: format!("[internal] load metadata for {image}"),
                session_id: self.env.session_id.clone(),
                ..Default::default()
            })
            .await
            .map_err(|s| err(s.message().to_string()))?
            .into_inner();
        meta_from_config(response.digest, &response.config).map_err(err)
    }
}

/// The digest and run config of an image config's JSON.
fn meta_from_config(digest: String, config: &[u8]) -> Result<ImageMeta, String> {
    let file: ConfigFile = serde_json::from_slice(config)
        .map_err(|e| format!("the image config is not valid JSON: {e}"))?;
    let run = file.config.unwrap_or_default();
    Ok(ImageMeta {
        digest: Some(digest).filter(|d| !d.is_empty()),
        env: run.env.unwrap_or_default(),
        working_dir: run.working_dir,
        user: run.user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_config_gives_digest_env_workdir_and_user() {
        let config = br#"{"architecture":"amd64","config":{"Env":["PATH=/go/bin:/bin","GOPATH=/go"],"WorkingDir":"/go","User":"1000"}}"#;
        let meta = meta_from_config("sha256:ab".into(), config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.digest.as_deref(), Some("sha256:ab"));
        assert_eq!(meta.env, ["PATH=/go/bin:/bin", "GOPATH=/go"]);
        assert_eq!(meta.working_dir.as_deref(), Some("/go"));
        assert_eq!(meta.user.as_deref(), Some("1000"));
        let bare = meta_from_config(String::new(), b"{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bare, ImageMeta::default());
        let e = meta_from_config(String::new(), b"{")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("the image config is not valid JSON"), "{e}");
    }

    #[test]
    fn errors_read_as_sentences_naming_what_failed() {
        let e = GatewayError::Subrequest("frontend.outline".into()).to_string();
        assert_eq!(
            e,
            "unsupported subrequest \"frontend.outline\"; this frontend answers frontend.targets"
        );
        let e = GatewayError::Rpc {
            what: "solving the build for linux/arm64".into(),
            status: tonic::Status::unknown("process \"/bin/sh\" did not complete"),
        }
        .to_string();
        assert_eq!(
            e,
            "solving the build for linux/arm64: process \"/bin/sh\" did not complete"
        );
    }
}
