//! The build's contexts, as BuildKit's `dockerui` serves them: the main
//! context (from the client's session, or forwarded by another frontend)
//! and named contexts (`--build-context NAME=...`), looked up by name. It
//! knows no names of its own: whoever builds asks, and what was given but
//! never asked for is reported as unused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::git_ref::GitRef;
use super::options::{ContextSpec, RemoteContext};
use crate::llb::{
    CopyOptions, FileActions, ImageMeta, ImageRef, OpOptions, Platform, RawError, Source, State,
    short,
};
use crate::proto::pb;

/// What a named context holds.
#[derive(Clone, Debug)]
pub enum NamedContext {
    /// `docker-image://...`: for the caller to resolve like any image.
    Image(ImageRef),
    /// Any other kind, as a filesystem, with the image config it came
    /// with (an OCI layout's, a bake target's), if any.
    State(State, Option<ImageMeta>),
}

/// A context that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("{what}: {source}")]
    Definition { what: String, source: RawError },
    #[error("named context {name}: BuildKit forwarded no input {input:?}")]
    MissingInput { name: String, input: String },
    #[error("named context {name}: {message}")]
    Invalid { name: String, message: String },
    #[error("the remote build context {0} was used before it was loaded")]
    RemoteNotLoaded(String),
}

/// A git source as BuildKit's `llb.Git` makes one from a reference.
pub fn git_source(git: &GitRef) -> Source {
    Source::git_subdir(&git.remote, &git.reference, &git.subdir)
        .keep_git_dir(git.keep_git_dir == Some(true))
        .git_checksum(&git.checksum)
}

/// Whether the first bytes of a download are an archive that a copy with
/// `attempt_unpack` unpacks, as dockerui's `isArchive` decides: bzip2,
/// gzip or xz magic, or a tar header whose checksum holds.
pub fn is_archive(head: &[u8]) -> bool {
    const MAGIC: [&[u8]; 3] = [
        &[0x42, 0x5A, 0x68],
        &[0x1F, 0x8B, 0x08],
        &[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],
    ];
    if MAGIC.iter().any(|m| head.starts_with(m)) {
        return true;
    }
    let Some(header) = head.get(..512) else {
        return false;
    };
    if header.iter().all(|&b| b == 0) {
        return false;
    }
    let field = &header[148..156];
    let digits: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| !matches!(c, ' ' | '\0'))
        .collect();
    let Ok(recorded) = i64::from_str_radix(&digits, 8) else {
        return false;
    };
    let blanked = |b: u8, i: usize| if (148..156).contains(&i) { b' ' } else { b };
    let unsigned: i64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| i64::from(blanked(b, i)))
        .sum();
    // Old tars summed signed bytes; Go's reader takes either.
    let signed: i64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| i64::from(blanked(b, i) as i8))
        .sum();
    recorded == unsigned || recorded == signed
}

/// The contexts of one build.
#[derive(Debug)]
pub struct Contexts {
    session_id: String,
    /// The client's local source name for the main context (`contextkey`).
    main_local_name: String,
    /// By the key given: `NAME`, or `NAME::os/arch` for one platform.
    specs: BTreeMap<String, ContextSpec>,
    /// The platform a context is used on (every exec runs there): a
    /// `NAME::<it>` context wins over a plain `NAME`.
    platform: Option<Platform>,
    /// Image configs of contexts (by key) that came with one.
    configs: BTreeMap<String, ImageMeta>,
    /// A subrequest (`--check`): bake's `target:` contexts are unbuilt.
    subrequest: bool,
    /// Definitions BuildKit forwarded (`context`, `dockerfile`, `input:`s).
    forwarded: BTreeMap<String, pb::Definition>,
    asked: Mutex<BTreeSet<String>>,
    /// The main context's `.dockerignore` patterns, once read.
    excludes: Mutex<Vec<String>>,
    /// `docker buildx build URL`: the URL, and its filesystem once loaded.
    remote: Option<RemoteContext>,
    remote_state: Mutex<Option<State>>,
}

impl Contexts {
    pub fn new(
        session_id: &str,
        main_local_name: &str,
        specs: BTreeMap<String, ContextSpec>,
        forwarded: BTreeMap<String, pb::Definition>,
        remote: Option<RemoteContext>,
    ) -> Self {
        // A repository needs no look first; a download is loaded by
        // whoever reads the entrypoint from it (it may be a tarball).
        let remote_state = match &remote {
            Some(RemoteContext::Git(git)) => Some(
                git_source(git)
                    .named(format!("[internal] load git source {}", short(&git.remote)))
                    .state(),
            ),
            _ => None,
        };
        Contexts {
            session_id: session_id.to_string(),
            main_local_name: main_local_name.to_string(),
            specs,
            platform: None,
            configs: BTreeMap::new(),
            subrequest: false,
            forwarded,
            asked: Mutex::new(BTreeSet::new()),
            excludes: Mutex::new(Vec::new()),
            remote,
            remote_state: Mutex::new(remote_state),
        }
    }

    /// Picks `NAME::<platform>` contexts for `platform`.
    pub fn for_platform(mut self, platform: &Platform) -> Self {
        self.platform = Some(platform.clone());
        self
    }

    /// For a subrequest, which sees bake `target:` contexts unbuilt.
    pub fn for_subrequest(mut self, subrequest: bool) -> Self {
        self.subrequest = subrequest;
        self
    }

    /// The image configs some contexts came with, by context key.
    pub fn with_configs(mut self, configs: BTreeMap<String, ImageMeta>) -> Self {
        self.configs = configs;
        self
    }

    /// Every context given, by key, for looking up what each came with.
    pub fn specs(&self) -> &BTreeMap<String, ContextSpec> {
        &self.specs
    }

    /// The main context's URL, when it is remote.
    pub fn remote(&self) -> Option<&RemoteContext> {
        self.remote.as_ref()
    }

    /// The remote main context's filesystem: the repository, or what the
    /// download became (see [`Contexts::set_remote_state`]).
    pub fn remote_state(&self) -> Option<State> {
        self.remote_state.lock().ok().and_then(|s| s.clone())
    }

    /// Records what the remote download is, once looked at.
    pub fn set_remote_state(&self, state: State) {
        if let Ok(mut s) = self.remote_state.lock() {
            *s = Some(state);
        }
    }

    /// Whether the main context comes from the client's session (not
    /// forwarded by another frontend).
    pub fn main_is_local(&self) -> bool {
        !self.forwarded.contains_key("context") && self.remote.is_none()
    }

    /// What every path of the main context leaves out from now on: the
    /// patterns of its `.dockerignore`.
    pub fn exclude(&self, patterns: Vec<String>) {
        if let Ok(mut excludes) = self.excludes.lock() {
            *excludes = patterns;
        }
    }

    /// A definition BuildKit forwarded under `name`.
    pub fn forwarded(&self, name: &str) -> Option<&pb::Definition> {
        self.forwarded.get(name)
    }

    /// Only `path` of the main build context (nothing when it has none).
    /// From the client it is a local source of its own that transfers just
    /// that path: a step mounting it is found in the cache by that path's
    /// content alone. Of a forwarded or remote context (a repository, a
    /// tarball), the path is copied out, as an
    /// optional wildcard (`patche[s]`), as `COPY patches* ...` would.
    pub fn main_path(&self, path: &str) -> Result<State, ContextError> {
        let whole = if let Some(def) = self.forwarded.get("context") {
            Some(
                State::from_definition(def).map_err(|source| ContextError::Definition {
                    what: "the forwarded build context".into(),
                    source,
                })?,
            )
        } else if let Some(remote) = &self.remote {
            Some(self.remote_state().ok_or_else(|| {
                ContextError::RemoteNotLoaded(match remote {
                    RemoteContext::Git(git) => short(&git.remote),
                    RemoteContext::Http(url) => short(url),
                })
            })?)
        } else {
            None
        };
        if let Some(whole) = whole {
            let mut chars = path.chars();
            let last = chars.next_back().map(String::from).unwrap_or_default();
            let optional = format!("/{}[{last}]", chars.as_str());
            let copy = FileActions::new().copy(
                &whole,
                &optional,
                "/",
                CopyOptions {
                    allow_wildcard: true,
                    allow_empty_wildcard: true,
                    ..CopyOptions::default()
                },
            );
            return Ok(State::scratch()
                .file(copy)
                .named(format!("[context] {path}"))
                .state());
        }
        let excludes = self.excludes.lock().map(|e| e.clone()).unwrap_or_default();
        let excludes: Vec<&str> = excludes.iter().map(String::as_str).collect();
        // (None, no attribute: a context without .dockerignore keeps its
        // cache keys.)
        Ok(Source::local(&self.main_local_name)
            .session(&self.session_id)
            .include_patterns(&[path])
            .exclude_patterns(&excludes)
            // Each path its own snapshot on the daemon, kept between builds.
            .shared_key_hint(&format!("{}:{path}", self.main_local_name))
            .named(format!("[internal] load build context ({path})"))
            .state())
    }

    /// The named context `name`, if the user gave one. Asking marks it used.
    pub fn named(&self, name: &str) -> Result<Option<NamedContext>, ContextError> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.insert(name.to_string());
        }
        // As dockerui: the platform's own first, then the plain name.
        let qualified = self.platform.as_ref().map(|p| format!("{name}::{p}"));
        let Some((key, spec)) = qualified
            .iter()
            .map(String::as_str)
            .chain([name])
            .find_map(|k| self.specs.get_key_value(k))
        else {
            return Ok(None);
        };
        let config = self.configs.get(key).cloned();
        let label = format!("[context {name}]");
        let state = match spec {
            ContextSpec::Image(r) => return Ok(Some(NamedContext::Image(r.clone()))),
            ContextSpec::Git(git) => git_source(git)
                .named(format!("{label} {}", git.remote))
                .state(),
            // The Dockerfile frontend makes it one file named `context`;
            // every input of this recipe is a tree (a source, an image's
            // root), which one file cannot be.
            ContextSpec::Http(url) => {
                return Err(ContextError::Invalid {
                    name: short(name),
                    message: format!(
                        "{:?} is a single file over http(s), and this input is a directory tree: give a git URL, a local directory, an image (docker-image://) or an OCI layout",
                        short(url)
                    ),
                });
            }
            ContextSpec::Local(local) => Source::local(local)
                .session(&self.session_id)
                .shared_key_hint(&format!("context:{name}"))
                .named(format!("{label} load from client"))
                .state(),
            ContextSpec::OciLayout { store, digest } => {
                let attrs = BTreeMap::from([
                    ("oci.session".to_string(), self.session_id.clone()),
                    ("oci.store".to_string(), store.clone()),
                ]);
                // BuildKit wants an image reference; the name is a dummy.
                let dummy = ImageRef::parse(name)
                    .and_then(|r| r.with_digest(digest))
                    .map_err(|e| ContextError::Invalid {
                        name: short(name),
                        message: e.to_string(),
                    })?;
                Source::raw(&format!("oci-layout://{dummy}"), &attrs)
                    .named(format!("{label} OCI load from client"))
                    .state()
            }
            // Only a subrequest sees one (a build gets `input:`): --check
            // makes the graph over an empty stand-in; nothing is built.
            ContextSpec::Target(target) => {
                if !self.subrequest {
                    return Err(ContextError::Invalid {
                        name: short(name),
                        message: format!(
                            "target:{} is a bake target that buildx did not build for this request",
                            short(target)
                        ),
                    });
                }
                State::scratch()
            }
            ContextSpec::Input(input) => {
                let def = self
                    .forwarded
                    .get(input)
                    .ok_or_else(|| ContextError::MissingInput {
                        name: short(name),
                        input: short(input),
                    })?;
                State::from_definition(def).map_err(|source| ContextError::Definition {
                    what: format!("named context {}", short(name)),
                    source,
                })?
            }
        };
        Ok(Some(NamedContext::State(state, config)))
    }

    /// Named contexts the user gave that the build never asked for.
    pub fn unused(&self) -> Vec<String> {
        let asked = self.asked.lock().map(|a| a.clone()).unwrap_or_default();
        let mut unused: Vec<String> = self
            .specs
            .keys()
            .map(|key| key.split("::").next().unwrap_or(key).to_string())
            .filter(|name| !asked.contains(name))
            .collect();
        unused.dedup();
        unused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llb::{inspect::Graph, marshal};

    fn contexts(specs: &[(&str, &str)], forwarded: &[(&str, State)]) -> Contexts {
        let specs = specs
            .iter()
            .map(|(n, v)| {
                let spec = ContextSpec::parse(n, v).unwrap_or_else(|e| panic!("{e}"));
                (n.to_string(), spec)
            })
            .collect();
        let forwarded = forwarded
            .iter()
            .map(|(n, s)| (n.to_string(), marshal(s).pb))
            .collect();
        Contexts::new("session-1", "context", specs, forwarded, None)
    }

    fn source_of(state: &State) -> String {
        let g = Graph::decode(&marshal(state).pb).unwrap_or_else(|e| panic!("{e}"));
        g.vertices
            .iter()
            .filter_map(|v| v.source())
            .map(|s| s.identifier.clone())
            .next()
            .unwrap_or_default()
    }

    #[test]
    fn the_main_context_is_the_session_local_unless_forwarded() {
        let c = contexts(&[], &[]);
        let main = c.main_path("patches").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source_of(&main), "local://context");
        let g = Graph::decode(&marshal(&main).pb).unwrap_or_else(|e| panic!("{e}"));
        let local = g
            .vertices
            .iter()
            .find_map(|v| v.source())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            local.attrs.get("local.includepattern").map(String::as_str),
            Some("[\"patches\"]"),
            "only the path is transferred"
        );
        assert_eq!(g.vertices.len(), 1, "nothing but the local source");
        let forwarded = Source::git("https://example.invalid/ctx.git", "main").state();
        let c = contexts(&[], &[("context", forwarded)]);
        let main = c.main_path("patches").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source_of(&main), "git://example.invalid/ctx#main");
    }

    #[test]
    fn the_dockerignore_patterns_leave_out_of_every_path() {
        let c = contexts(&[], &[]);
        let before = source_of(&c.main_path("patches").unwrap_or_else(|e| panic!("{e}")));
        c.exclude(vec!["patches/*.orig".into(), "!patches/keep.orig".into()]);
        let main = c.main_path("patches").unwrap_or_else(|e| panic!("{e}"));
        let g = Graph::decode(&marshal(&main).pb).unwrap_or_else(|e| panic!("{e}"));
        let attrs = g
            .vertices
            .iter()
            .filter_map(|v| v.source())
            .map(|s| s.attrs.clone())
            .next()
            .unwrap_or_default();
        assert_eq!(
            attrs.get("local.excludepatterns").map(String::as_str),
            Some(r#"["patches/*.orig","!patches/keep.orig"]"#)
        );
        assert_eq!(source_of(&main), before);
    }

    #[test]
    fn named_contexts_are_found_by_name_and_unused_ones_reported() {
        let c = contexts(
            &[
                ("golang", "docker-image://mtts-fixture-golang"),
                ("tailscale", "local:tailscale"),
                ("typo", "local:typo"),
            ],
            &[],
        );
        assert!(matches!(
            c.named("golang"),
            Ok(Some(NamedContext::Image(r))) if r.name() == "docker.io/library/mtts-fixture-golang"
        ));
        match c.named("tailscale") {
            Ok(Some(NamedContext::State(s, _))) => assert_eq!(source_of(&s), "local://tailscale"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(c.named("busybox"), Ok(None)));
        assert_eq!(c.unused(), ["typo"]);
    }

    #[test]
    fn a_platform_qualified_context_wins_for_its_platform_and_brings_its_config() {
        let golang = Source::git("https://example.invalid/golang.git", "amd64").state();
        let other = Source::git("https://example.invalid/golang.git", "arm64").state();
        let meta = ImageMeta {
            digest: None,
            env: vec!["PATH=/usr/local/go/bin:/bin".into()],
            working_dir: Some("/go".into()),
            user: None,
        };
        let c = contexts(
            &[
                ("golang::linux/amd64", "input:golang::linux/amd64"),
                ("golang::linux/arm64", "input:golang::linux/arm64"),
                ("xx", "input:xx"),
            ],
            &[
                ("golang::linux/amd64", golang),
                ("golang::linux/arm64", other),
                ("xx", State::scratch()),
            ],
        )
        .for_platform(&Platform::new("linux", "amd64", None))
        .with_configs(BTreeMap::from([(
            "golang::linux/amd64".to_string(),
            meta.clone(),
        )]));
        match c.named("golang") {
            Ok(Some(NamedContext::State(s, config))) => {
                assert_eq!(source_of(&s), "git://example.invalid/golang#amd64");
                assert_eq!(config, Some(meta));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.named("xx"),
            Ok(Some(NamedContext::State(_, None)))
        ));
        assert!(c.unused().is_empty(), "{:?}", c.unused());
        let unasked = contexts(
            &[
                ("alpine::linux/amd64", "local:a"),
                ("alpine::linux/arm64", "local:b"),
            ],
            &[],
        );
        assert_eq!(unasked.unused(), ["alpine"]);
    }

    #[test]
    fn an_unbuilt_bake_target_serves_a_subrequest_only() {
        let build = contexts(&[("golang", "target:golang")], &[]);
        let e = build
            .named("golang")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("bake target that buildx did not build"), "{e}");
        let check = contexts(&[("golang", "target:golang")], &[]).for_subrequest(true);
        assert!(matches!(
            check.named("golang"),
            Ok(Some(NamedContext::State(_, None)))
        ));
    }

    #[test]
    fn a_missing_forwarded_input_is_named() {
        let c = contexts(&[("busybox", "input:bb")], &[]);
        let e = c.named("busybox").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("named context busybox: BuildKit forwarded no input \"bb\"")
        );
    }

    #[test]
    fn a_remote_repository_is_the_main_context_and_paths_are_copied_out_of_it() {
        let git = match GitRef::parse("git://example.invalid/ctx.git#v1:sub") {
            Some(Ok(g)) => g,
            other => panic!("{other:?}"),
        };
        let c = Contexts::new(
            "session-1",
            "context",
            BTreeMap::new(),
            BTreeMap::new(),
            Some(RemoteContext::Git(git)),
        );
        assert!(!c.main_is_local(), "no .dockerignore is read from it");
        let main = c.main_path("patches").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(source_of(&main), "git://example.invalid/ctx#v1:sub");
        let g = Graph::decode(&marshal(&main).pb).unwrap_or_else(|e| panic!("{e}"));
        assert!(g.vertices.iter().any(|v| v.file().is_some()), "copied out");
    }

    #[test]
    fn a_download_is_used_only_once_loaded() {
        let c = Contexts::new(
            "session-1",
            "context",
            BTreeMap::new(),
            BTreeMap::new(),
            Some(RemoteContext::Http(
                "https://example.invalid/ctx.tar.gz".into(),
            )),
        );
        let e = c.main_path("patches").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "the remote build context https://example.invalid/ctx.tar.gz was used before it was loaded"
            )
        );
        c.set_remote_state(Source::http("https://example.invalid/ctx.tar.gz").state());
        assert!(c.main_path("patches").is_ok());
    }

    #[test]
    fn archives_are_told_from_a_dockerfile_as_dockerui_tells_them() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header
            .set_path("Dockerfile")
            .unwrap_or_else(|e| panic!("{e}"));
        header.set_size(5);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append(&header, &b"FROM\n"[..])
            .unwrap_or_else(|e| panic!("{e}"));
        let tarball = builder.into_inner().unwrap_or_else(|e| panic!("{e}"));
        assert!(is_archive(&tarball[..1024]), "a plain tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tarball).unwrap_or_else(|e| panic!("{e}"));
        let gz = gz.finish().unwrap_or_else(|e| panic!("{e}"));
        assert!(is_archive(&gz), "gzip");
        assert!(is_archive(&[0x42, 0x5A, 0x68, 0x39]), "bzip2");
        assert!(is_archive(&[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1]), "xz");
        let mut broken = tarball.clone();
        broken[0] ^= 1;
        assert!(!is_archive(&broken[..1024]), "a tar header must sum right");
        assert!(
            !is_archive(b"# syntax=mtts\nFROM scratch\n"),
            "a Dockerfile"
        );
        assert!(
            !is_archive(&[0; 1024]),
            "zeros end a tar, they do not start one"
        );
    }
}
