//! The build's contexts, as BuildKit's `dockerui` serves them: the main
//! context (from the client's session, or forwarded by another frontend)
//! and named contexts (`--build-context NAME=...`), looked up by name. It
//! knows no names of its own: whoever builds asks, and what was given but
//! never asked for is reported as unused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::options::ContextSpec;
use crate::llb::{CopyOptions, FileActions, ImageRef, OpOptions, RawError, Source, State, short};
use crate::proto::pb;

/// What a named context holds.
#[derive(Clone, Debug)]
pub enum NamedContext {
    /// `docker-image://...`: for the caller to resolve like any image.
    Image(ImageRef),
    /// Any other kind, as a filesystem.
    State(State),
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
}

/// The contexts of one build.
#[derive(Debug)]
pub struct Contexts {
    session_id: String,
    /// The client's local source name for the main context (`contextkey`).
    main_local_name: String,
    specs: BTreeMap<String, ContextSpec>,
    /// Definitions BuildKit forwarded (`context`, `dockerfile`, `input:`s).
    forwarded: BTreeMap<String, pb::Definition>,
    asked: Mutex<BTreeSet<String>>,
    /// The main context's `.dockerignore` patterns, once read.
    excludes: Mutex<Vec<String>>,
}

impl Contexts {
    pub fn new(
        session_id: &str,
        main_local_name: &str,
        specs: BTreeMap<String, ContextSpec>,
        forwarded: BTreeMap<String, pb::Definition>,
    ) -> Self {
        Contexts {
            session_id: session_id.to_string(),
            main_local_name: main_local_name.to_string(),
            specs,
            forwarded,
            asked: Mutex::new(BTreeSet::new()),
            excludes: Mutex::new(Vec::new()),
        }
    }

    /// Whether the main context comes from the client's session (not
    /// forwarded by another frontend).
    pub fn main_is_local(&self) -> bool {
        !self.forwarded.contains_key("context")
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
    /// content alone. Of a forwarded context, the path is copied out, as an
    /// optional wildcard (`patche[s]`), as `COPY patches* ...` would.
    pub fn main_path(&self, path: &str) -> Result<State, ContextError> {
        if let Some(def) = self.forwarded.get("context") {
            let whole = State::from_definition(def).map_err(|source| ContextError::Definition {
                what: "the forwarded build context".into(),
                source,
            })?;
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
        let Some(spec) = self.specs.get(name) else {
            return Ok(None);
        };
        let label = format!("[context {name}]");
        let state = match spec {
            ContextSpec::Image(r) => return Ok(Some(NamedContext::Image(r.clone()))),
            ContextSpec::Git { url, reference } => Source::git(url, reference)
                .named(format!("{label} {url}"))
                .state(),
            ContextSpec::Http(url) => Source::http(url)
                .filename("context")
                .named(format!("{label} {url}"))
                .state(),
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
        Ok(Some(NamedContext::State(state)))
    }

    /// Named contexts the user gave that the build never asked for.
    pub fn unused(&self) -> Vec<String> {
        let asked = self.asked.lock().map(|a| a.clone()).unwrap_or_default();
        self.specs
            .keys()
            .filter(|name| !asked.contains(*name))
            .cloned()
            .collect()
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
        Contexts::new("session-1", "context", specs, forwarded)
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
            Ok(Some(NamedContext::State(s))) => assert_eq!(source_of(&s), "local://tailscale"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(c.named("busybox"), Ok(None)));
        assert_eq!(c.unused(), ["typo"]);
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
}
