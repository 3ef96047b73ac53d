//! Immutable graph values: a [`State`] is one output of some op plus the
//! metadata (env, working directory, user, platform) that flows to the next
//! op built on top of it.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use super::caps::Cap;
use super::exec::ExecOp;
use super::file::FileOp;
use super::merge::MergeOp;
use super::platform::Platform;
use super::raw::RawOp;
use super::source::SourceOp;
use super::source_map::SourceLocation;

/// The op kinds this layer can emit.
#[derive(Debug)]
pub(crate) enum Op {
    Source(SourceOp),
    Exec(ExecOp),
    File(FileOp),
    Merge(MergeOp),
    Raw(RawOp),
}

impl Op {
    /// The outputs this op reads, in the op's own order (may repeat).
    pub(crate) fn inputs(&self) -> Vec<&Output> {
        match self {
            Op::Source(_) => Vec::new(),
            Op::Exec(e) => e.inputs(),
            Op::File(f) => f.inputs(),
            Op::Merge(m) => m.inputs(),
            Op::Raw(r) => r.inputs(),
        }
    }

    pub(crate) fn caps(&self) -> BTreeSet<Cap> {
        match self {
            Op::Source(s) => s.caps(),
            Op::Exec(e) => e.caps(),
            Op::File(f) => f.caps(),
            Op::Merge(_) => BTreeSet::from([Cap::MergeOp]),
            Op::Raw(r) => r.caps(),
        }
    }

    /// Whether the op carries a platform on the wire. File and merge ops only
    /// move bytes, so BuildKit's own client leaves their platform unset; that
    /// also lets one such op serve every target platform.
    pub(crate) fn is_platform_specific(&self) -> bool {
        matches!(self, Op::Source(_) | Op::Exec(_))
    }

    /// Moves the nodes this op reads into `out`, leaving the op without
    /// inputs (only for dropping it).
    fn take_inputs(&mut self, out: &mut Vec<Arc<Node>>) {
        match self {
            Op::Source(_) => {}
            Op::Exec(e) => e.take_inputs(out),
            Op::File(f) => f.take_inputs(out),
            Op::Merge(m) => m.take_inputs(out),
            Op::Raw(r) => r.take_inputs(out),
        }
    }
}

/// Per-op constraints and progress metadata (opaque outside this layer).
#[derive(Clone, Debug, Default)]
pub struct OpMeta {
    pub(crate) platform: Option<Platform>,
    pub(crate) description: Option<String>,
    pub(crate) ignore_cache: bool,
    pub(crate) locations: Vec<SourceLocation>,
}

/// One vertex of the graph.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) op: Op,
    pub(crate) meta: OpMeta,
}

impl Drop for Node {
    /// Drops the nodes only this one kept alive one after another rather
    /// than nested, so that a chain of any length (a forwarded definition
    /// of 100,000 ops) cannot overflow the stack.
    fn drop(&mut self) {
        let mut orphans = Vec::new();
        self.op.take_inputs(&mut orphans);
        while let Some(node) = orphans.pop() {
            // The last reference: unlink its inputs before it goes, so its
            // own drop has nothing left to recurse into.
            if let Some(mut node) = Arc::into_inner(node) {
                node.op.take_inputs(&mut orphans);
            }
        }
    }
}

/// Moves the node behind `state`'s output, if any, into `out`.
pub(crate) fn take_output(state: &mut State, out: &mut Vec<Arc<Node>>) {
    out.extend(state.output.take().map(|o| o.node));
}

/// An output of a vertex: the node and which of its outputs.
#[derive(Clone)]
pub(crate) struct Output {
    pub(crate) node: Arc<Node>,
    pub(crate) index: u32,
}

impl fmt::Debug for Output {
    /// Names the op without descending into its inputs: a derived `Debug`
    /// would recurse through the whole graph (overflowing the stack on a
    /// deep one) and print shared vertices once per path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.node.op {
            Op::Source(s) => s.identifier.as_str(),
            Op::Exec(_) => "exec",
            Op::File(_) => "file",
            Op::Merge(_) => "merge",
            Op::Raw(_) => "raw",
        };
        f.debug_struct("Output")
            .field("op", &kind)
            .field("name", &self.node.meta.description)
            .field("inputs", &self.node.op.inputs().len())
            .field("index", &self.index)
            .finish()
    }
}

/// Setters shared by every op builder: the per-op constraints.
pub trait OpOptions: Sized {
    #[doc(hidden)]
    fn op_meta(&mut self) -> &mut OpMeta;

    /// The progress name BuildKit shows for this vertex (`llb.customname`).
    fn named(mut self, name: impl Into<String>) -> Self {
        self.op_meta().description = Some(name.into());
        self
    }

    /// The platform this op runs on or resolves for.
    fn platform(mut self, platform: &Platform) -> Self {
        self.op_meta().platform = Some(platform.clone());
        self
    }

    /// Never reuse a cached result for this op.
    fn ignore_cache(mut self, ignore: bool) -> Self {
        self.op_meta().ignore_cache = ignore;
        self
    }

    /// Where in its source files this op comes from (a source map):
    /// shown when it fails, recorded in provenance. Not in the op's
    /// digest, so it never changes what is cached.
    fn located(mut self, locations: Vec<SourceLocation>) -> Self {
        self.op_meta().locations = locations;
        self
    }
}

/// An ordered environment: setting a key again replaces it in place, so the
/// order (and so the op digest) depends only on the order keys first appear.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env(Vec<(String, String)>);

impl Env {
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `KEY=value` strings, as BuildKit's `Meta.env` wants them.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Reads `KEY=value` strings (an image config's `Env`); an entry without
    /// `=` is a key with an empty value, as Docker treats it.
    pub fn from_strings<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut env = Env::default();
        for entry in entries {
            let entry = entry.as_ref();
            let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
            env.set(k, v);
        }
        env
    }
}

/// The filesystem of some op's output, with the metadata that the next exec
/// built on it inherits. Cheap to clone; never mutated in place.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) output: Option<Output>,
    pub(crate) env: Env,
    pub(crate) cwd: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) platform: Option<Platform>,
}

impl State {
    /// The empty filesystem.
    pub fn scratch() -> Self {
        State::default()
    }

    pub(crate) fn from_node(node: Node) -> Self {
        State {
            output: Some(Output {
                node: Arc::new(node),
                index: 0,
            }),
            ..State::default()
        }
    }

    /// The same metadata over a different filesystem.
    pub(crate) fn with_output(&self, output: Option<Output>) -> Self {
        State {
            output,
            ..self.clone()
        }
    }

    pub fn is_scratch(&self) -> bool {
        self.output.is_none()
    }

    /// Sets an environment variable for execs built on this state.
    pub fn env(&self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let mut next = self.clone();
        next.env.set(key, value);
        next
    }

    /// Replaces the whole environment (e.g. with an image config's `Env`).
    pub fn with_env(&self, env: Env) -> Self {
        State {
            env,
            ..self.clone()
        }
    }

    /// The working directory for execs built on this state.
    pub fn cwd(&self, dir: impl Into<String>) -> Self {
        State {
            cwd: Some(dir.into()),
            ..self.clone()
        }
    }

    /// The user for execs built on this state.
    pub fn user(&self, user: impl Into<String>) -> Self {
        State {
            user: Some(user.into()),
            ..self.clone()
        }
    }

    /// The default platform for ops built on this state.
    pub fn with_platform(&self, platform: &Platform) -> Self {
        State {
            platform: Some(platform.clone()),
            ..self.clone()
        }
    }

    pub fn get_env(&self) -> &Env {
        &self.env
    }

    pub fn get_cwd(&self) -> Option<&str> {
        self.cwd.as_deref()
    }

    pub fn get_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub fn get_platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_replaces_in_place_and_keeps_first_order() {
        let mut env = Env::default();
        env.set("A", "1");
        env.set("B", "2");
        env.set("A", "3");
        assert_eq!(env.to_strings(), ["A=3", "B=2"]);
        assert_eq!(env.get("A"), Some("3"));
        assert_eq!(env.get("C"), None);
    }

    #[test]
    fn env_reads_image_config_entries() {
        let env = Env::from_strings(["PATH=/a:/b", "EMPTY", "X=y=z"]);
        assert_eq!(env.get("PATH"), Some("/a:/b"));
        assert_eq!(env.get("EMPTY"), Some(""));
        assert_eq!(env.get("X"), Some("y=z"));
    }

    #[test]
    fn states_are_values() {
        let base = State::scratch().env("A", "1");
        let derived = base.env("A", "2").cwd("/src");
        assert_eq!(base.get_env().get("A"), Some("1"));
        assert_eq!(base.get_cwd(), None);
        assert_eq!(derived.get_env().get("A"), Some("2"));
        assert_eq!(derived.get_cwd(), Some("/src"));
    }
}
