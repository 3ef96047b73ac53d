//! What BuildKit tells a gateway frontend through its environment, and the
//! frontend options in it, read the way BuildKit's Dockerfile frontend
//! (`frontend/dockerui`) reads them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::git_ref::GitRef;
use crate::llb::{ImageRef, NetMode, Platform, ResolveMode, short};

/// Environment variables BuildKit sets for a gateway frontend.
pub const ENV_OPT_PREFIX: &str = "BUILDKIT_FRONTEND_OPT_";
pub const ENV_SESSION_ID: &str = "BUILDKIT_SESSION_ID";
pub const ENV_WORKERS: &str = "BUILDKIT_WORKERS";
pub const ENV_PRODUCT: &str = "BUILDKIT_EXPORTEDPRODUCT";

/// The process environment as text. `std::env::vars` panics on a value
/// that is not UTF-8 (a build argument can be any bytes); here such bytes
/// become U+FFFD, which the checks of every value that reaches the image
/// refuse, naming the argument.
pub fn process_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    })
}

/// True when this process was started by BuildKit as a frontend.
pub fn started_by_buildkit<I: IntoIterator<Item = (String, String)>>(vars: I) -> bool {
    vars.into_iter()
        .any(|(k, _)| k == ENV_SESSION_ID || k == ENV_WORKERS || k.starts_with(ENV_OPT_PREFIX))
}

/// Options that cannot be used, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("frontend option {key}: {message}")]
    Invalid { key: String, message: String },
    #[error("{ENV_WORKERS} is not valid JSON: {0}")]
    Workers(String),
}

/// The raw frontend environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontendEnv {
    /// `key=value` frontend options, e.g. `platform`, `build-arg:X`.
    pub opts: BTreeMap<String, String>,
    pub session_id: String,
    pub product: String,
    pub workers: Vec<WorkerInfo>,
}

/// One entry of `BUILDKIT_WORKERS`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct WorkerInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub platforms: Option<Vec<WorkerPlatform>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct WorkerPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl FrontendEnv {
    /// Reads the variables BuildKit sets. Each `BUILDKIT_FRONTEND_OPT_<n>`
    /// holds one `key=value`; its own name does not matter.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Self, OptionError> {
        let mut env = FrontendEnv::default();
        for (k, v) in vars {
            if k.starts_with(ENV_OPT_PREFIX) {
                let (key, value) = v.split_once('=').unwrap_or((v.as_str(), ""));
                env.opts.insert(key.to_string(), value.to_string());
            } else if k == ENV_SESSION_ID {
                env.session_id = v;
            } else if k == ENV_PRODUCT {
                env.product = v;
            } else if k == ENV_WORKERS && !v.trim().is_empty() {
                env.workers = serde_json::from_str::<Option<Vec<WorkerInfo>>>(&v)
                    .map_err(|e| OptionError::Workers(e.to_string()))?
                    .unwrap_or_default();
            }
        }
        Ok(env)
    }

    /// The build platform: the first platform of the first worker, as
    /// BuildKit's clients take it; else the platform we run on.
    pub fn build_platform(&self) -> Platform {
        self.workers
            .iter()
            .filter_map(|w| w.platforms.as_ref()?.first())
            .next()
            .map(|p| Platform::new(&p.os, &p.architecture, p.variant.as_deref()))
            .unwrap_or_else(Platform::host)
    }
}

/// A named context (`--build-context NAME=VALUE`, option `context:NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextSpec {
    /// `docker-image://ref`
    Image(ImageRef),
    /// `git://...`, `ssh://...`, `git@host:...`, or an https URL of a git
    /// repository (`https://host/repo.git#ref:subdir`, `?ref=`, ...).
    Git(GitRef),
    /// `https://...` file.
    Http(String),
    /// `local:NAME`: a directory the client registered under NAME.
    Local(String),
    /// `oci-layout://store@sha256:...`.
    OciLayout { store: String, digest: String },
    /// `input:NAME`: an input BuildKit forwarded to the frontend.
    Input(String),
    /// `target:NAME`: a bake target. buildx builds it and sends `input:`
    /// instead for a build; a subrequest (`--call outline`, `--check`)
    /// gets the name as written.
    Target(String),
}

impl ContextSpec {
    pub fn parse(name: &str, value: &str) -> Result<Self, OptionError> {
        let err = |message: String| OptionError::Invalid {
            key: format!("context:{}", short(name)),
            message,
        };
        if let Some(git) = GitRef::parse(value) {
            return git.map(ContextSpec::Git).map_err(err);
        }
        let (scheme, rest) = value.split_once(':').ok_or_else(|| {
            err(format!(
                "{:?} has no source type (e.g. docker-image://, local:, git://)",
                short(value)
            ))
        })?;
        let after_slashes = rest.strip_prefix("//").unwrap_or(rest);
        match scheme {
            "docker-image" => ImageRef::parse(after_slashes)
                .map(ContextSpec::Image)
                .map_err(|e| err(e.to_string())),
            "local" if !rest.is_empty() => Ok(ContextSpec::Local(rest.to_string())),
            "input" if !rest.is_empty() => Ok(ContextSpec::Input(rest.to_string())),
            "target" if !rest.is_empty() => Ok(ContextSpec::Target(rest.to_string())),
            "oci-layout" => {
                // STORE[:TAG]@DIGEST: buildx names the layout it registers
                // in the session by an id, and keeps the tag the user gave.
                let (name, digest) = after_slashes
                    .split_once('@')
                    .ok_or_else(|| err(format!("{:?} has no @sha256: digest", short(value))))?;
                crate::llb::validate_digest(digest).map_err(err)?;
                let store = match name.rsplit_once(':') {
                    Some((store, tag)) if !tag.contains('/') => store,
                    _ => name,
                };
                if store.is_empty() {
                    return Err(err(format!("{:?} names no store", short(value))));
                }
                Ok(ContextSpec::OciLayout {
                    store: store.to_string(),
                    digest: digest.to_string(),
                })
            }
            "http" | "https" => Ok(ContextSpec::Http(value.to_string())),
            _ => Err(err(format!(
                "unsupported context source {:?}: use docker-image://, local:, git://, https://, oci-layout:// or input:",
                short(value)
            ))),
        }
    }
}

/// A main build context that is not a directory of the client's:
/// `docker buildx build URL`, as the Dockerfile frontend takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteContext {
    /// A git repository; `BUILDKIT_CONTEXT_KEEP_GIT_DIR` is folded in.
    Git(GitRef),
    /// An http(s) download: a tarball of the context, or the Dockerfile
    /// itself.
    Http(String),
}

/// The frontend options this frontend honours, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontendOptions {
    pub platforms: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub target: String,
    pub filename: String,
    pub contexts: BTreeMap<String, ContextSpec>,
    pub network: NetMode,
    /// `no-cache`: none when not given; empty for every step
    /// (`--no-cache`), else the names of `--no-cache-filter`.
    pub no_cache: Option<Vec<String>>,
    pub resolve_mode: ResolveMode,
    /// The local source names of the client session (`contextkey`,
    /// `dockerfilekey`).
    pub context_local_name: String,
    pub dockerfile_local_name: String,
    /// `dockerfilekey` given: the entrypoint comes from that local even
    /// when the main context is remote (`-f /abs/Dockerfile URL`).
    pub dockerfile_forced_local: bool,
    /// The main context, when it is a URL rather than the client's files.
    pub remote_context: Option<RemoteContext>,
    /// A subrequest such as `frontend.targets` instead of a build.
    pub request_id: Option<String>,
    /// The client wants a platform-keyed result even for one platform.
    pub multi_platform: bool,
    /// Where to look for cached results (`--cache-from`).
    pub cache_imports: Vec<CacheImport>,
    /// The buildx flags given that this frontend does not apply (each
    /// worth a warning, never silence).
    pub unapplied: Vec<&'static str>,
    /// The image config of each forwarded input (`input-metadata:NAME`, a
    /// JSON map whose `containerimage.config` is the config, base64).
    pub input_configs: BTreeMap<String, Vec<u8>>,
    /// `attest:sbom` (buildx `--sbom`, `--attest type=sbom,...`): the
    /// parameters given (`generator=IMAGE`, ...); `None` when no SBOM is
    /// asked for.
    pub sbom: Option<BTreeMap<String, String>>,
}

/// The image config in `input-metadata:` JSON (Go's map[string][]byte:
/// values in base64); empty when it has none.
fn input_image_config(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let map: BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON map of strings: {e}"))?;
    match map.get("containerimage.config") {
        None => Ok(Vec::new()),
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("containerimage.config is not base64: {e}")),
    }
}

/// The attestation options, as BuildKit's `attestations.Parse` reads them:
/// `attest:TYPE`, or the build argument `BUILDKIT_ATTEST_TYPE`, holding
/// comma-separated `key=value` parameters. `disabled=true` asks for none.
fn attestation(opts: &BTreeMap<String, String>, kind: &str) -> Option<BTreeMap<String, String>> {
    let value = opts.iter().find_map(|(k, v)| {
        let name = k
            .strip_prefix("attest:")
            .or_else(|| k.strip_prefix("build-arg:BUILDKIT_ATTEST_"))?;
        name.eq_ignore_ascii_case(kind).then_some(v)
    })?;
    let params: BTreeMap<String, String> = value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (params.get("disabled").map(String::as_str) != Some("true")).then_some(params)
}

/// Options the Dockerfile frontend applies to every `RUN` and this one
/// does not, with the buildx flag that sets each.
const UNAPPLIED: [(&str, &str); 4] = [
    ("add-hosts", "--add-host"),
    ("shm-size", "--shm-size"),
    ("ulimit", "--ulimit"),
    ("cgroup-parent", "--cgroup-parent"),
];

/// A cache to import, as `--cache-from type=registry,ref=...` gives it:
/// BuildKit loads it for every build solve that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheImport {
    /// `registry`, `local`, `gha`, `s3`, ...
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

impl CacheImport {
    /// `cache-imports`: buildx's JSON list of BuildKit's CacheOptionsEntry
    /// (`[{"Type": "registry", "Attrs": {"ref": "..."}}]`; the field names
    /// in any case, as Go reads them).
    fn parse_list(text: &str) -> Result<Vec<CacheImport>, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let entries = match value {
            serde_json::Value::Array(entries) => entries,
            serde_json::Value::Null => Vec::new(),
            _ => return Err("not a JSON list of cache sources".to_string()),
        };
        entries
            .iter()
            .map(|entry| {
                let serde_json::Value::Object(fields) = entry else {
                    return Err(format!("{entry} is not a cache source"));
                };
                let field = |name: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v)
                };
                let kind = match field("type") {
                    Some(serde_json::Value::String(kind)) if !kind.is_empty() => kind.clone(),
                    _ => return Err(format!("{entry} has no Type")),
                };
                let mut attrs = BTreeMap::new();
                match field("attrs") {
                    None | Some(serde_json::Value::Null) => {}
                    Some(serde_json::Value::Object(map)) => {
                        for (k, v) in map {
                            let serde_json::Value::String(v) = v else {
                                return Err(format!("{entry}: attribute {k} is not a string"));
                            };
                            attrs.insert(k.clone(), v.clone());
                        }
                    }
                    Some(_) => return Err(format!("{entry}: Attrs is not a map")),
                }
                Ok(CacheImport { kind, attrs })
            })
            .collect()
    }
}

impl FrontendOptions {
    pub fn parse(opts: &BTreeMap<String, String>) -> Result<Self, OptionError> {
        let invalid = |key: &str, message: String| OptionError::Invalid {
            key: key.to_string(),
            message,
        };
        let mut out = FrontendOptions {
            platforms: Vec::new(),
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            target: String::new(),
            filename: "Dockerfile".to_string(),
            contexts: BTreeMap::new(),
            network: NetMode::Sandbox,
            no_cache: None,
            resolve_mode: ResolveMode::Default,
            context_local_name: "context".to_string(),
            dockerfile_local_name: "dockerfile".to_string(),
            dockerfile_forced_local: false,
            remote_context: None,
            request_id: None,
            multi_platform: false,
            cache_imports: Vec::new(),
            unapplied: Vec::new(),
            input_configs: BTreeMap::new(),
            sbom: attestation(opts, "sbom"),
        };
        for (key, flag) in UNAPPLIED {
            if opts.get(key).is_some_and(|v| !v.is_empty() && v != "0") {
                out.unapplied.push(flag);
            }
        }
        // Both cache options, as dockerui reads them: the JSON list, then
        // the older comma-separated registry refs.
        if let Some(text) = opts.get("cache-imports").filter(|t| !t.is_empty()) {
            out.cache_imports = CacheImport::parse_list(text)
                .map_err(|m| invalid("cache-imports", format!("{m} ({:?})", short(text))))?;
        }
        if let Some(refs) = opts.get("cache-from") {
            for r in refs.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                out.cache_imports.push(CacheImport {
                    kind: "registry".to_string(),
                    attrs: BTreeMap::from([("ref".to_string(), r.to_string())]),
                });
            }
        }
        for (key, value) in opts {
            if let Some(name) = key.strip_prefix("build-arg:") {
                if name == "BUILDKIT_MULTI_PLATFORM" {
                    // dockerui takes it as the multi-platform option.
                    out.multi_platform |= matches!(value.as_str(), "1" | "true");
                }
                out.build_args.insert(name.to_string(), value.clone());
            } else if let Some(name) = key.strip_prefix("label:") {
                out.labels.insert(name.to_string(), value.clone());
            } else if let Some(name) = key.strip_prefix("context:") {
                // Kept as given: a platform-qualified name (NAME::os/arch,
                // as bake sends a multi-platform target) is picked for the
                // platform it is used on (Contexts::named).
                let base = name.split("::").next().unwrap_or(name);
                out.contexts
                    .insert(name.to_string(), ContextSpec::parse(base, value)?);
            } else if let Some(input) = key.strip_prefix("input-metadata:") {
                // What bake says of a `target:` context it forwards: its
                // image config, as dockerui reads it.
                out.input_configs.insert(
                    input.to_string(),
                    input_image_config(value).map_err(|m| invalid(key, m))?,
                );
            } else {
                match key.as_str() {
                    "platform" => {
                        out.platforms = value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect();
                    }
                    "target" => out.target = value.clone(),
                    "filename" if !value.is_empty() => {
                        // A path inside the dockerfile local source, as
                        // dockerui reads it (buildx sends the base name;
                        // buildctl users may send sub/Dockerfile).
                        let clean = value.trim_start_matches("./");
                        let ok = !clean.starts_with('/')
                            && clean
                                .split('/')
                                .all(|c| !c.is_empty() && c != "." && c != "..")
                            && !clean.chars().any(char::is_control);
                        if !ok {
                            return Err(invalid(
                                key,
                                format!(
                                    "{:?} is not a relative path inside the Dockerfile's directory",
                                    short(value)
                                ),
                            ));
                        }
                        out.filename = clean.to_string();
                    }
                    "force-network-mode" => {
                        out.network = match value.as_str() {
                            "" | "default" | "sandbox" => NetMode::Sandbox,
                            "none" => NetMode::None,
                            "host" => NetMode::Host,
                            other => {
                                return Err(invalid(
                                    key,
                                    format!("{:?} is not one of none, host, sandbox", short(other)),
                                ));
                            }
                        }
                    }
                    // An empty value means every step; a list names
                    // stages (dockerui), here step groups.
                    "no-cache" => {
                        out.no_cache = Some(
                            value
                                .split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect(),
                        );
                    }
                    "image-resolve-mode" => {
                        out.resolve_mode = ResolveMode::parse(value).ok_or_else(|| {
                            invalid(
                                key,
                                format!("{:?} is not one of default, pull, local", short(value)),
                            )
                        })?;
                    }
                    "contextkey" if !value.is_empty() => out.context_local_name = value.clone(),
                    "dockerfilekey" if !value.is_empty() => {
                        out.dockerfile_local_name = value.clone();
                        out.dockerfile_forced_local = true;
                    }
                    "requestid" if !value.is_empty() => out.request_id = Some(value.clone()),
                    "multi-platform" => out.multi_platform = value == "true",
                    _ => {}
                }
            }
        }
        out.remote_context = remote_context(opts, &out.context_local_name)?;
        Ok(out)
    }
}

/// The main context's URL, read as dockerui reads it: the option named by
/// `contextkey` (default `context`) holds a git reference or an http(s)
/// URL; anything else leaves the client's local directory.
fn remote_context(
    opts: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<RemoteContext>, OptionError> {
    let Some(value) = opts.get(key).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let invalid = |key: &str, message: String| OptionError::Invalid {
        key: key.to_string(),
        message,
    };
    if let Some(git) = GitRef::parse(value) {
        let mut git = git.map_err(|m| invalid(key, format!("{:?}: {m}", short(value))))?;
        const KEEP: &str = "build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR";
        if let Some(v) = opts.get(KEEP).filter(|v| !v.is_empty()) {
            let keep = super::git_ref::parse_bool(v)
                .ok_or_else(|| invalid(KEEP, format!("{:?} is not true or false", short(v))))?;
            // Either one asking keeps it, as in dockerui.
            git.keep_git_dir = Some(keep || git.keep_git_dir == Some(true));
        }
        return Ok(Some(RemoteContext::Git(git)));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        return Ok(Some(RemoteContext::Http(value.clone())));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_buildkit_environment() {
        let env = FrontendEnv::from_vars(vars(&[
            ("BUILDKIT_FRONTEND_OPT_0", "platform=linux/amd64,linux/arm/v7"),
            ("BUILDKIT_FRONTEND_OPT_1", "build-arg:OCI_VERSION=v1=2"),
            ("BUILDKIT_FRONTEND_OPT_2", "no-cache"),
            ("BUILDKIT_SESSION_ID", "s1"),
            ("BUILDKIT_EXPORTEDPRODUCT", "docker"),
            (
                "BUILDKIT_WORKERS",
                r#"[{"id":"w","labels":null,"platforms":[{"architecture":"arm64","os":"linux"},{"architecture":"amd64","os":"linux"}],"gcPolicy":null}]"#,
            ),
            ("PATH", "/bin"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(env.session_id, "s1");
        assert_eq!(env.product, "docker");
        assert_eq!(
            env.opts.get("build-arg:OCI_VERSION").map(String::as_str),
            Some("v1=2")
        );
        assert_eq!(env.opts.get("no-cache").map(String::as_str), Some(""));
        assert_eq!(env.build_platform().to_string(), "linux/arm64");
        assert!(started_by_buildkit(vars(&[("BUILDKIT_SESSION_ID", "x")])));
        assert!(!started_by_buildkit(vars(&[("HOME", "/root")])));
        assert!(FrontendEnv::from_vars(vars(&[("BUILDKIT_WORKERS", "{")])).is_err());
    }

    #[test]
    fn an_sbom_is_asked_for_as_buildkit_reads_attestation_options() {
        let parse = |pairs: &[(&str, &str)]| {
            let opts = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            FrontendOptions::parse(&opts)
                .map(|o| o.sbom)
                .unwrap_or_default()
        };
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[("attest:sbom", "")]), Some(BTreeMap::new()));
        let named = parse(&[("attest:SBOM", "generator=me/scanner:1,x=y")]).unwrap_or_default();
        assert_eq!(named["generator"], "me/scanner:1");
        assert_eq!(named["x"], "y");
        assert!(parse(&[("build-arg:BUILDKIT_ATTEST_SBOM", "")]).is_some());
        assert_eq!(parse(&[("attest:sbom", "disabled=true")]), None);
        assert_eq!(parse(&[("attest:provenance", "mode=max")]), None);
    }

    #[test]
    fn bake_and_oci_layout_contexts_are_read_as_buildx_sends_them() {
        let d = format!("sha256:{}", "a".repeat(64));
        let opts: BTreeMap<String, String> = [
            ("context:golang::linux/amd64", "input:golang::linux/amd64".to_string()),
            (
                "input-metadata:golang::linux/amd64",
                // {"containerimage.config": base64 of {"config":{"Env":["A=1"]}}}
                r#"{"containerimage.config":"eyJjb25maWciOnsiRW52IjpbIkE9MSJdfX0=","containerimage.buildinfo":"e30="}"#.to_string(),
            ),
            ("context:alpine", format!("oci-layout://0123abcd:latest@{d}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let o = FrontendOptions::parse(&opts).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            o.contexts.get("golang::linux/amd64"),
            Some(&ContextSpec::Input("golang::linux/amd64".into()))
        );
        assert_eq!(
            o.input_configs
                .get("golang::linux/amd64")
                .map(Vec::as_slice),
            Some(&br#"{"config":{"Env":["A=1"]}}"#[..])
        );
        assert_eq!(
            o.contexts.get("alpine"),
            Some(&ContextSpec::OciLayout {
                store: "0123abcd".into(),
                digest: d.clone()
            }),
            "the tag is not part of the store's id"
        );
        let bad: BTreeMap<String, String> =
            [("input-metadata:x".to_string(), "not json".to_string())].into();
        let e = FrontendOptions::parse(&bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("input-metadata:x"), "{e}");
    }

    #[test]
    fn without_workers_the_build_platform_is_ours() {
        let env = FrontendEnv::from_vars(vars(&[("BUILDKIT_WORKERS", "null")])).unwrap_or_default();
        assert_eq!(env.build_platform(), Platform::host());
    }

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_url_as_the_main_context_is_remote_as_in_dockerui() {
        let remote = |pairs: &[(&str, &str)]| {
            FrontendOptions::parse(&opts(pairs))
                .map(|o| o.remote_context)
                .map_err(|e| e.to_string())
        };
        let git = |remote: &str, reference: &str, keep| {
            Ok(Some(RemoteContext::Git(GitRef {
                remote: remote.into(),
                reference: reference.into(),
                keep_git_dir: keep,
                ..GitRef::default()
            })))
        };
        assert_eq!(remote(&[]), Ok(None));
        assert_eq!(
            remote(&[("context", "git://10.0.0.1/ctx.git#main")]),
            git("git://10.0.0.1/ctx.git", "main", None)
        );
        assert_eq!(
            remote(&[
                ("context", "git://h/ctx.git"),
                ("build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR", "1"),
            ]),
            git("git://h/ctx.git", "", Some(true))
        );
        // contextkey names the option that holds it.
        assert_eq!(
            remote(&[("contextkey", "main"), ("main", "git://h/ctx.git")]),
            git("git://h/ctx.git", "", None)
        );
        assert_eq!(
            remote(&[("context", "https://h/ctx.tar.gz")]),
            Ok(Some(RemoteContext::Http("https://h/ctx.tar.gz".into())))
        );
        assert_eq!(remote(&[("context", "some-local-name")]), Ok(None));
        let e = remote(&[("context", "git://h/ctx.git?ref=a#b")])
            .err()
            .unwrap_or_default();
        assert!(e.contains("context") && e.contains("ref conflicts"), "{e}");
        let e = remote(&[
            ("context", "git://h/ctx.git"),
            ("build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR", "yes"),
        ])
        .err()
        .unwrap_or_default();
        assert!(e.contains("BUILDKIT_CONTEXT_KEEP_GIT_DIR"), "{e}");
    }

    #[test]
    fn filename_is_a_relative_path() {
        for bad in [
            "../Dockerfile",
            "/etc/passwd",
            "a//b",
            "sub/../../x",
            "a\nb",
        ] {
            let e = FrontendOptions::parse(&opts(&[("filename", bad)]))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("filename"), "{bad:?}: {e}");
        }
        let o = FrontendOptions::parse(&opts(&[("filename", "./ci/Dockerfile")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.filename, "ci/Dockerfile");
    }

    #[test]
    fn parses_the_standard_options() {
        let o = FrontendOptions::parse(&opts(&[
            ("platform", "linux/amd64, linux/arm64"),
            ("build-arg:TAILSCALE_VERSION", "v1.2.3"),
            ("label:org.example", "x"),
            ("target", "tailscale"),
            ("filename", "sub/Dockerfile.mtts"),
            ("force-network-mode", "none"),
            ("no-cache", ""),
            ("image-resolve-mode", "local"),
            ("context:golang", "docker-image://mtts-fixture-golang"),
            ("context:tailscale", "local:tailscale"),
            ("requestid", "frontend.targets"),
            ("cmdline", "ghcr.io/org/mtts-frontend"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(
            o.build_args.get("TAILSCALE_VERSION").map(String::as_str),
            Some("v1.2.3")
        );
        assert_eq!(o.labels.get("org.example").map(String::as_str), Some("x"));
        assert_eq!(o.target, "tailscale");
        assert_eq!(o.filename, "sub/Dockerfile.mtts", "the directory is kept");
        assert_eq!(o.network, NetMode::None);
        assert_eq!(o.no_cache, Some(vec![]));
        assert_eq!(o.resolve_mode, ResolveMode::PreferLocal);
        assert_eq!(o.request_id.as_deref(), Some("frontend.targets"));
        assert!(
            matches!(o.contexts.get("golang"), Some(ContextSpec::Image(r)) if r.name() == "docker.io/library/mtts-fixture-golang")
        );
        assert_eq!(
            o.contexts.get("tailscale"),
            Some(&ContextSpec::Local("tailscale".into()))
        );
        let multi = FrontendOptions::parse(&opts(&[("build-arg:BUILDKIT_MULTI_PLATFORM", "1")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(multi.multi_platform, "dockerui's build-arg spelling");
        let defaults = FrontendOptions::parse(&BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!defaults.multi_platform);
        assert_eq!(defaults.filename, "Dockerfile");
        assert_eq!(defaults.network, NetMode::Sandbox);
        assert_eq!(defaults.no_cache, None);
    }

    #[test]
    fn cache_sources_are_read_as_dockerui_reads_them() {
        let o = FrontendOptions::parse(&opts(&[
            (
                "cache-imports",
                r#"[{"Type":"registry","Attrs":{"ref":"reg:5000/cache","mode":"max"}},{"type":"local","attrs":{"src":"/c"}}]"#,
            ),
            ("cache-from", "reg:5000/old,reg:5000/older"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let kinds: Vec<(&str, Option<&str>)> = o
            .cache_imports
            .iter()
            .map(|c| {
                (
                    c.kind.as_str(),
                    c.attrs
                        .get("ref")
                        .or(c.attrs.get("src"))
                        .map(String::as_str),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("registry", Some("reg:5000/cache")),
                ("local", Some("/c")),
                ("registry", Some("reg:5000/old")),
                ("registry", Some("reg:5000/older")),
            ]
        );
        assert_eq!(
            o.cache_imports[0].attrs.get("mode").map(String::as_str),
            Some("max")
        );
        let none = FrontendOptions::parse(&opts(&[("cache-imports", "null")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.cache_imports.is_empty());
        assert!(none.unapplied.is_empty());
    }

    #[test]
    fn options_this_frontend_does_not_apply_are_named() {
        let o = FrontendOptions::parse(&opts(&[
            ("add-hosts", "db=10.0.0.1"),
            ("shm-size", "0"),
            ("ulimit", "nofile=1024:1024"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.unapplied, ["--add-host", "--ulimit"]);
    }

    #[test]
    fn rejects_bad_options_by_name() {
        for (k, v) in [
            ("cache-imports", "{not json"),
            ("cache-imports", r#"[{"Attrs":{}}]"#),
            ("cache-imports", r#"[{"Type":"local","Attrs":{"src":1}}]"#),
            ("force-network-mode", "bridge"),
            ("image-resolve-mode", "sometimes"),
            ("context:xx", "ftp://x"),
            ("context:xx", "docker-image://Not Valid"),
            ("context:xx", "oci-layout://store"),
        ] {
            let e = FrontendOptions::parse(&opts(&[(k, v)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(k), "{e}");
        }
    }

    #[test]
    fn named_context_forms() {
        let p = |v: &str| ContextSpec::parse("x", v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p("git://github.com/org/tailscale#v1.2.3"),
            ContextSpec::Git(GitRef {
                remote: "git://github.com/org/tailscale".into(),
                reference: "v1.2.3".into(),
                ..GitRef::default()
            })
        );
        assert_eq!(
            p("https://github.com/org/tailscale.git#main:cmd"),
            ContextSpec::Git(GitRef {
                remote: "https://github.com/org/tailscale.git".into(),
                reference: "main".into(),
                subdir: "cmd".into(),
                ..GitRef::default()
            })
        );
        // A query the Dockerfile frontend takes is a repository too, not a
        // file.
        assert_eq!(
            p("https://github.com/org/tailscale.git?ref=main&subdir=cmd"),
            p("https://github.com/org/tailscale.git#main:cmd")
        );
        assert_eq!(
            p("https://example.invalid/bb.tar"),
            ContextSpec::Http("https://example.invalid/bb.tar".into())
        );
        assert_eq!(p("input:busybox"), ContextSpec::Input("busybox".into()));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            p(&format!("oci-layout://store@{d}")),
            ContextSpec::OciLayout {
                store: "store".into(),
                digest: d
            }
        );
    }
}
