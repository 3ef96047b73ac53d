//! The gateway protocol, shaped like BuildKit's `dockerui`: everything that
//! talks to BuildKit, and nothing of what is built. A [`Frontend`] gets a
//! [`Client`] that knows the options, the entrypoint file (the stub
//! Dockerfile), the main and named contexts by name, image configs and
//! warnings; it returns a state per platform, which this module solves and
//! returns as the result, or answers a subrequest.

pub mod caps;
pub mod contexts;
pub mod dockerignore;
pub mod git_ref;
pub mod options;
pub mod result;
pub mod subrequests;
mod transport;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use tonic::transport::Channel;

use crate::llb::{
    CopyOptions, Epoch, FileActions, ImageMeta, ImageMetaResolver, ImageRef, OpOptions, Platform,
    ResolveError, ResolveMode, Source, SourceFile, SourceRange, State, head_of, marshal, short,
};
use crate::proto::gateway::llb_bridge_client::LlbBridgeClient;
use crate::proto::gateway::{
    CacheOptionsEntry, FileRange, InputsRequest, PingRequest, ReadFileRequest,
    ResolveImageConfigRequest, ReturnRequest, SolveRequest, WarnRequest,
};
use crate::proto::{google, pb};
use caps::DaemonCaps;
use contexts::{ContextError, Contexts, NamedContext};
use options::{FrontendEnv, FrontendOptions, RemoteContext};
use result::SolvedPlatform;
use subrequests::{CheckReport, Outline, TargetInfo};

type Bridge = LlbBridgeClient<Channel>;

/// The file name BuildKit gives a downloaded main context, as dockerui.
const DOWNLOAD_NAME: &str = "context";

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
    #[error(
        "unsupported subrequest {0:?}; this frontend answers frontend.targets, frontend.outline, frontend.lint and frontend.subrequests.describe"
    )]
    Subrequest(String),
    /// The frontend's own failure (a bad recipe, input, ...).
    #[error(transparent)]
    Frontend(Box<dyn std::error::Error + Send + Sync>),
    /// The same, at known lines of a file: buildx shows an excerpt with
    /// those lines marked.
    #[error("{error}")]
    InFile {
        error: Box<dyn std::error::Error + Send + Sync>,
        file: SourceFile,
        ranges: Vec<SourceRange>,
    },
}

impl GatewayError {
    /// The status BuildKit shows the user: the message, and for an error in
    /// a file BuildKit's `errdefs.Source` detail, which makes buildx print
    /// the file's lines around it. Every other error gets a `Source` of
    /// `filename` with no range, which buildx prints as nothing: without
    /// one, the Dockerfile frontend that forwarded the build to us marks
    /// its `# syntax=` line as the culprit of a bad build argument or
    /// platform, or of a failed step.
    fn to_status(&self, filename: &str) -> google::rpc::Status {
        let mut details = Vec::new();
        if let GatewayError::Rpc { status, .. } = self {
            // BuildKit's own details of a failed call (the failed step, its
            // exit code, its source) go back with our message.
            if let Ok(inner) = <google::rpc::Status as prost::Message>::decode(status.details()) {
                details = inner.details;
            }
        }
        if let GatewayError::InFile { file, ranges, .. } = self {
            let source = crate::proto::errdefs::Source {
                info: Some(file.to_pb()),
                ranges: ranges.iter().map(|r| r.to_pb()).collect(),
            };
            details.push(prost_types::Any {
                // As BuildKit names it (containerd typeurl: the message's
                // full name), so its registry decodes it.
                type_url: "errdefs.Source".to_string(),
                value: prost::Message::encode_to_vec(&source),
            });
        }
        if !details.iter().any(|d| d.type_url == "errdefs.Source") {
            let nowhere = crate::proto::errdefs::Source {
                info: Some(pb::SourceInfo {
                    filename: filename.to_string(),
                    language: "Dockerfile".to_string(),
                    ..Default::default()
                }),
                ranges: Vec::new(),
            };
            details.push(prost_types::Any {
                type_url: "errdefs.Source".to_string(),
                value: prost::Message::encode_to_vec(&nowhere),
            });
        }
        google::rpc::Status {
            // gRPC "unknown": BuildKit shows the message as is.
            code: 2,
            message: self.to_string(),
            details,
        }
    }
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
    /// The time exporters use for what they date (`SOURCE_DATE_EPOCH`).
    pub epoch: Option<Epoch>,
    /// In-toto attestations of this result (the SBOM).
    pub attestations: Vec<Attestation>,
}

/// An in-toto attestation a frontend attaches to a platform's result: the
/// predicate is file `path` of `state`.
#[derive(Clone, Debug)]
pub struct Attestation {
    pub state: State,
    pub path: String,
    pub predicate_type: String,
    /// Why it is there, as BuildKit says it (`sbom`).
    pub reason: String,
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

    /// The answer to `--call outline`: the target's build arguments.
    fn outline(
        &self,
        client: &Client,
    ) -> impl Future<Output = Result<Outline, GatewayError>> + Send;

    /// The answer to `--check`: everything checked that can be without
    /// building. An error here (the entrypoint file unreadable) is the
    /// subrequest's error; what the check finds goes into the report.
    fn check(
        &self,
        client: &Client,
    ) -> impl Future<Output = Result<CheckReport, GatewayError>> + Send;
}

/// Runs `frontend` as a BuildKit gateway frontend over stdin/stdout until
/// the result (or the error) has been returned.
pub async fn serve<F: Frontend>(frontend: &F) -> Result<(), GatewayError> {
    tracing::info!(
        "mtts-frontend {} started by BuildKit",
        env!("CARGO_PKG_VERSION")
    );
    let env = FrontendEnv::from_vars(options::process_vars());
    let filename = env
        .as_ref()
        .ok()
        .and_then(|e| e.opts.get("filename"))
        .map_or("Dockerfile", String::as_str)
        .to_string();
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
                error: Some(e.to_status(&filename)),
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
    let request = options.request_id.clone();
    match request.as_deref() {
        Some(subrequests::TARGETS) => {
            return subrequests::targets(&frontend.targets()).map_err(encoding("the target list"));
        }
        Some(subrequests::DESCRIBE) => {
            return subrequests::describe().map_err(encoding("the subrequest list"));
        }
        None | Some(subrequests::OUTLINE | subrequests::LINT) => {}
        Some(other) => return Err(GatewayError::Subrequest(other.to_string())),
    }
    caps.check_gateway()?;
    let client = Client::connect(bridge, caps, env, options).await?;
    match request.as_deref() {
        Some(subrequests::OUTLINE) => {
            let outline = frontend.outline(&client).await?;
            return subrequests::outline(&outline).map_err(encoding("the outline"));
        }
        Some(subrequests::LINT) => {
            let report = frontend.check(&client).await?;
            return subrequests::lint(&report).map_err(encoding("the check report"));
        }
        _ => {}
    }
    let prepared = prepare(frontend, &client).await;
    // The warnings go out whether or not the graph could be made: one of
    // them may be why it could not.
    client.send_warnings().await;
    let (built, definitions) = prepared?;

    let mut solved = Vec::with_capacity(built.len());
    for (b, def) in built.into_iter().zip(definitions) {
        let ref_id = client
            .solve_build(def.pb, &format!("the build for {}", b.platform))
            .await?;
        let mut attestations = Vec::with_capacity(b.attestations.len());
        for a in b.attestations {
            let what = format!("the {} attestation for {}", a.reason, b.platform);
            attestations.push(result::SolvedAttestation {
                ref_id: client.solve(marshal(&a.state).pb, &what).await?,
                path: a.path,
                predicate_type: a.predicate_type,
                reason: a.reason,
            });
        }
        solved.push(SolvedPlatform {
            platform: b.platform,
            ref_id,
            image_config: b.image_config,
            epoch: b.epoch,
            attestations,
        });
    }
    result::assemble(&solved, client.options.multi_platform).map_err(encoding("the result"))
}

/// The frontend's graph, marshalled per platform, checked against the
/// daemon's caps.
async fn prepare<F: Frontend>(
    frontend: &F,
    client: &Client,
) -> Result<(Vec<Built>, Vec<crate::llb::Definition>), GatewayError> {
    let built = frontend.build(client).await?;
    let definitions: Vec<_> = built.iter().map(|b| marshal(&b.state)).collect();
    let needed = definitions
        .iter()
        .flat_map(|d| d.caps.iter().copied())
        .collect();
    client.caps.check_llb(&needed)?;
    Ok((built, definitions))
}

/// What a frontend may ask of BuildKit during one build.
pub struct Client {
    bridge: Bridge,
    caps: DaemonCaps,
    env: FrontendEnv,
    options: FrontendOptions,
    contexts: Contexts,
    /// The digest of the op that loaded the entrypoint file (warnings
    /// point at it) and the file as read.
    entrypoint: Mutex<Option<(Option<String>, SourceFile)>>,
    warnings: Mutex<Vec<Warning>>,
}

/// A warning for the build's output, at lines of the entrypoint file when
/// it has ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub ranges: Vec<SourceRange>,
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
        let build_platform = env.build_platform();
        let configs =
            context_configs(&mut bridge, &env.session_id, &options, &build_platform).await?;
        let contexts = Contexts::new(
            &env.session_id,
            &options.context_local_name,
            options.contexts.clone(),
            forwarded,
            options.remote_context.clone(),
        )
        .for_platform(&build_platform)
        .for_subrequest(options.request_id.is_some())
        .with_configs(configs);
        Ok(Client {
            bridge,
            caps,
            env,
            options,
            contexts,
            entrypoint: Mutex::new(None),
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

    /// Only `path` of the main build context (see [`Contexts::main_path`]).
    pub fn main_context(&self, path: &str) -> Result<State, GatewayError> {
        Ok(self.contexts.main_path(path)?)
    }

    /// The named context `name` (`--build-context name=...`), if given.
    pub fn named_context(&self, name: &str) -> Result<Option<NamedContext>, GatewayError> {
        Ok(self.contexts.named(name)?)
    }

    /// Named contexts the user gave that nothing asked for (yet).
    pub fn unused_named_contexts(&self) -> Vec<String> {
        self.contexts.unused()
    }

    /// The entrypoint file, once [`Client::read_entrypoint`] has read it.
    pub fn entrypoint_file(&self) -> Option<SourceFile> {
        self.entrypoint
            .lock()
            .ok()
            .and_then(|e| e.as_ref().map(|(_, f)| f.clone()))
    }

    /// Shows `message` as a warning of this build (sent before solving).
    pub fn warn(&self, message: String) {
        self.warn_at(message, Vec::new());
    }

    /// The same, marking `ranges` of the entrypoint file.
    pub fn warn_at(&self, message: String, ranges: Vec<SourceRange>) {
        tracing::warn!("{message}");
        if let Ok(mut w) = self.warnings.lock() {
            w.push(Warning { message, ranges });
        }
    }

    /// The warnings so far.
    pub fn warnings(&self) -> Vec<Warning> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Reads the entrypoint file (`--file`, default `Dockerfile`): from a
    /// remote main context, the forwarded `dockerfile` input, or the
    /// client's `dockerfile` local, in dockerui's order.
    pub async fn read_entrypoint(&self) -> Result<String, GatewayError> {
        let remote = self.load_remote_context().await?;
        let mut filename = self.options.filename.clone();
        let forwarded = self.contexts.forwarded("dockerfile").cloned();
        let def = match (remote, forwarded) {
            (Some((state, from_download)), _) if !self.options.dockerfile_forced_local => {
                if from_download {
                    // A download that is no archive is the Dockerfile.
                    filename = DOWNLOAD_NAME.to_string();
                }
                marshal(&state).pb
            }
            (_, Some(def)) if !self.options.dockerfile_forced_local => def,
            _ => {
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
        let filename = &filename;
        let digest = head_of(&def);
        let ref_id = self.solve(def, filename).await?;
        let data = self
            .read_file(ref_id, filename)
            .await
            .map_err(rpc(format!("reading {filename}")))?;
        let text = String::from_utf8(data).map_err(|_| GatewayError::NotText(filename.clone()))?;
        if let Ok(mut e) = self.entrypoint.lock() {
            *e = Some((
                digest,
                SourceFile {
                    filename: filename.clone(),
                    language: "Dockerfile".to_string(),
                    data: text.clone().into_bytes(),
                },
            ));
        }
        Ok(text)
    }

    /// Loads a remote main context: a repository is used as it is; a
    /// download is fetched and its first bytes looked at, as dockerui
    /// does: an archive is unpacked to be the context, anything else is
    /// the Dockerfile itself. Gives the context's state, and whether it is
    /// such a bare download; nothing for a local or forwarded context.
    async fn load_remote_context(&self) -> Result<Option<(State, bool)>, GatewayError> {
        let url = match self.contexts.remote() {
            None => return Ok(None),
            Some(RemoteContext::Git(_)) => {
                return Ok(self.contexts.remote_state().map(|s| (s, false)));
            }
            Some(RemoteContext::Http(url)) => url,
        };
        let download = Source::http(url)
            .filename(DOWNLOAD_NAME)
            .named(format!(
                "[internal] load remote build context {}",
                short(url)
            ))
            .state();
        let ref_id = self.solve(marshal(&download).pb, url).await?;
        let head = self
            .read_file_range(ref_id, DOWNLOAD_NAME, Some(1024))
            .await
            .map_err(rpc(format!(
                "reading the downloaded context {}",
                short(url)
            )))?;
        let (state, bare) = if contexts::is_archive(&head) {
            let unpacked = State::scratch()
                .file(FileActions::new().copy(
                    &download,
                    &format!("/{DOWNLOAD_NAME}"),
                    "/",
                    CopyOptions {
                        attempt_unpack: true,
                        ..CopyOptions::default()
                    },
                ))
                .state();
            (unpacked, false)
        } else {
            (download, true)
        };
        self.contexts.set_remote_state(state.clone());
        Ok(Some((state, bare)))
    }

    /// Reads the main context's `.dockerignore`, so that every path taken
    /// from the context from now on leaves out what it excludes, as with
    /// the Dockerfile frontend. Nothing when the context has none, or when
    /// another frontend forwarded the context (it applied its own).
    pub async fn read_dockerignore(&self) -> Result<(), GatewayError> {
        if !self.contexts.main_is_local() {
            return Ok(());
        }
        let local = &self.options.context_local_name;
        let file = dockerignore::FILE;
        let state = Source::local(local)
            .session(&self.env.session_id)
            .include_patterns(&[file])
            .shared_key_hint(&format!("{local}:{file}"))
            .named(format!("[internal] load {file}"))
            .state();
        let ref_id = self.solve(marshal(&state).pb, file).await?;
        let data = match self.read_file(ref_id, file).await {
            Ok(data) => data,
            // BuildKit says so in words only.
            Err(status) if status.message().contains("no such file or directory") => {
                return Ok(());
            }
            Err(status) => return Err(rpc(format!("reading {file}"))(status)),
        };
        let text = String::from_utf8(data).map_err(|_| GatewayError::NotText(file.to_string()))?;
        self.contexts.exclude(dockerignore::patterns(&text));
        Ok(())
    }

    /// Solves `state` (with the build's cache imports) and reads the whole
    /// files `paths` of it, in order; `what` names it in errors.
    pub async fn solve_and_read(
        &self,
        state: &State,
        paths: &[&str],
        what: &str,
    ) -> Result<Vec<Vec<u8>>, GatewayError> {
        let def = marshal(state);
        self.caps.check_llb(&def.caps)?;
        let ref_id = self.solve_build(def.pb, what).await?;
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            files.push(
                self.read_file(ref_id.clone(), path)
                    .await
                    .map_err(rpc(format!("reading {path} of {what}")))?,
            );
        }
        Ok(files)
    }

    /// The whole file `path` of the solved result `ref_id`.
    async fn read_file(&self, ref_id: String, path: &str) -> Result<Vec<u8>, tonic::Status> {
        self.read_file_range(ref_id, path, None).await
    }

    /// The file `path` of `ref_id`, or only its first `length` bytes.
    async fn read_file_range(
        &self,
        ref_id: String,
        path: &str,
        length: Option<i64>,
    ) -> Result<Vec<u8>, tonic::Status> {
        let read = self
            .bridge
            .clone()
            .read_file(ReadFileRequest {
                r#ref: ref_id,
                file_path: path.to_string(),
                range: length.map(|length| FileRange { offset: 0, length }),
                ..Default::default()
            })
            .await?;
        Ok(read.into_inner().data)
    }

    async fn solve(&self, def: pb::Definition, what: &str) -> Result<String, GatewayError> {
        self.solve_request(def, Vec::new(), what).await
    }

    /// A build's solve: it carries the caches to import (`--cache-from`),
    /// as the Dockerfile frontend's does, so BuildKit looks there too.
    async fn solve_build(&self, def: pb::Definition, what: &str) -> Result<String, GatewayError> {
        let imports = self
            .options
            .cache_imports
            .iter()
            .map(|c| CacheOptionsEntry {
                r#type: c.kind.clone(),
                attrs: c.attrs.clone().into_iter().collect(),
            })
            .collect();
        self.solve_request(def, imports, what).await
    }

    async fn solve_request(
        &self,
        def: pb::Definition,
        cache_imports: Vec<CacheOptionsEntry>,
        what: &str,
    ) -> Result<String, GatewayError> {
        let response = self
            .bridge
            .clone()
            .solve(SolveRequest {
                definition: Some(def),
                allow_result_return: true,
                allow_result_array_ref: true,
                cache_imports,
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
        let entrypoint = self.entrypoint.lock().ok().and_then(|e| e.clone());
        let Some((Some(digest), file)) = entrypoint else {
            return;
        };
        if !self.caps.has_gateway("gateway.warnings") {
            return;
        }
        for warning in self.warnings() {
            let located = !warning.ranges.is_empty();
            let request = WarnRequest {
                digest: digest.clone(),
                level: 1,
                short: warning.message.into_bytes(),
                info: located.then(|| file.to_pb()),
                ranges: warning.ranges.iter().map(|r| r.to_pb()).collect(),
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
/// The image configs named contexts come with, by context key: an OCI
/// layout's (asked of BuildKit, which reads it from the client's store, as
/// dockerui does), a bake target's (its `input-metadata:`). Execs on such
/// a context run with its ENV, WORKDIR and USER, as on a pulled image.
async fn context_configs(
    bridge: &mut Bridge,
    session_id: &str,
    options: &FrontendOptions,
    platform: &Platform,
) -> Result<BTreeMap<String, ImageMeta>, GatewayError> {
    let mut configs = BTreeMap::new();
    for (key, spec) in &options.contexts {
        let invalid = |message: String| options::OptionError::Invalid {
            key: format!("context:{}", short(key)),
            message,
        };
        match spec {
            options::ContextSpec::Input(input) => {
                let Some(config) = options.input_configs.get(input).filter(|c| !c.is_empty())
                else {
                    continue;
                };
                let meta = meta_from_config(String::new(), config).map_err(invalid)?;
                configs.insert(key.clone(), meta);
            }
            options::ContextSpec::OciLayout { store, digest } => {
                let name = key.split("::").next().unwrap_or(key);
                let dummy = ImageRef::parse(name)
                    .and_then(|r| r.with_digest(digest))
                    .map_err(|e| invalid(e.to_string()))?;
                let response = bridge
                    .resolve_image_config(ResolveImageConfigRequest {
                        r#ref: dummy.to_string(),
                        platform: Some(platform.to_pb()),
                        log_name: format!("[context {name}] load metadata for {dummy}"),
                        // BuildKit's sourceresolver: 1 reads an OCI layout.
                        resolver_type: 1,
                        session_id: session_id.to_string(),
                        store_id: store.clone(),
                        ..Default::default()
                    })
                    .await
                    .map_err(rpc(format!("reading the image config of context {name}")))?
                    .into_inner();
                let meta = meta_from_config(response.digest, &response.config).map_err(invalid)?;
                configs.insert(key.clone(), meta);
            }
            _ => {}
        }
    }
    Ok(configs)
}

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
    fn an_error_in_a_file_carries_buildkits_source_detail() {
        let file = SourceFile {
            filename: "Dockerfile".into(),
            language: "Dockerfile".into(),
            data: b"# syntax=x\n[busybox]\nsha256 = \"abc\"\n".to_vec(),
        };
        let e = GatewayError::InFile {
            error: "Dockerfile: busybox.sha256: not a sha256".into(),
            file,
            ranges: vec![SourceRange::line(3)],
        };
        let status = e.to_status("Dockerfile");
        assert_eq!(status.message, "Dockerfile: busybox.sha256: not a sha256");
        assert_eq!(status.details.len(), 1);
        assert_eq!(status.details[0].type_url, "errdefs.Source");
        let source: crate::proto::errdefs::Source =
            prost::Message::decode(status.details[0].value.as_slice())
                .unwrap_or_else(|e| panic!("{e}"));
        let info = source.info.unwrap_or_default();
        assert_eq!(info.filename, "Dockerfile");
        assert!(info.data.starts_with(b"# syntax=x"));
        assert_eq!(source.ranges[0].start.map(|p| p.line), Some(3));
        // Other errors carry a Source with no range: nothing is marked.
        let plain = GatewayError::NoReference("x".into()).to_status("Dockerfile.x");
        assert_eq!(plain.details.len(), 1);
        let source: crate::proto::errdefs::Source =
            prost::Message::decode(plain.details[0].value.as_slice())
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(source.ranges.is_empty());
        assert_eq!(
            source.info.map(|i| i.filename).as_deref(),
            Some("Dockerfile.x")
        );
    }

    #[test]
    fn buildkits_details_of_a_failed_solve_go_back_with_our_message() {
        let theirs = google::rpc::Status {
            code: 2,
            message: "process did not complete".into(),
            details: vec![prost_types::Any {
                type_url: "errdefs.ExitError".into(),
                value: vec![8, 1],
            }],
        };
        let e = GatewayError::Rpc {
            what: "solving the build for linux/amd64".into(),
            status: tonic::Status::with_details(
                tonic::Code::Unknown,
                "process did not complete",
                prost::Message::encode_to_vec(&theirs).into(),
            ),
        };
        let status = e.to_status("Dockerfile");
        assert_eq!(
            status.message,
            "solving the build for linux/amd64: process did not complete"
        );
        assert_eq!(status.details[..1], theirs.details[..]);
        assert_eq!(status.details[1].type_url, "errdefs.Source");
    }

    #[test]
    fn errors_read_as_sentences_naming_what_failed() {
        let e = GatewayError::Subrequest("frontend.compose".into()).to_string();
        assert!(
            e.starts_with("unsupported subrequest \"frontend.compose\"; this frontend answers frontend.targets, frontend.outline"),
            "{e}"
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
