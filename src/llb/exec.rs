//! Exec ops: run a program (argv, never an implicit shell) over a root
//! filesystem with extra mounts.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::caps::Cap;
use super::state::{Env, Node, Op, OpMeta, OpOptions, Output, State, take_output};
use crate::proto::pb;

/// The PATH an exec gets when its image config sets none (BuildKit's own
/// default for Linux).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Proxies for an exec's downloads, as BuildKit's `llb.WithProxy` sets
/// them: the daemon adds each as both `NAME` and `name` to the process's
/// environment and leaves them out of the op's cache key, so a build
/// behind a proxy shares its cache with one that is not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub http_proxy: String,
    pub https_proxy: String,
    pub ftp_proxy: String,
    pub no_proxy: String,
    pub all_proxy: String,
}

impl ProxyEnv {
    /// True when no proxy is set (then the exec carries none).
    pub fn is_empty(&self) -> bool {
        *self == ProxyEnv::default()
    }

    fn to_pb(&self) -> pb::ProxyEnv {
        pb::ProxyEnv {
            http_proxy: self.http_proxy.clone(),
            https_proxy: self.https_proxy.clone(),
            ftp_proxy: self.ftp_proxy.clone(),
            no_proxy: self.no_proxy.clone(),
            all_proxy: self.all_proxy.clone(),
        }
    }
}

/// Network access for an exec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetMode {
    /// The daemon's default sandboxed network.
    #[default]
    Sandbox,
    /// The host's network namespace (needs an entitlement).
    Host,
    /// No network at all.
    None,
}

impl NetMode {
    fn to_pb(self) -> pb::NetMode {
        match self {
            NetMode::Sandbox => pb::NetMode::Unset,
            NetMode::Host => pb::NetMode::Host,
            NetMode::None => pb::NetMode::None,
        }
    }
}

/// Who may use a cache mount at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheSharing {
    /// Many writers at once (the tool must cope, as Go's build cache does).
    Shared,
    /// Each concurrent user gets its own copy.
    Private,
    /// One user at a time.
    Locked,
}

impl CacheSharing {
    fn to_pb(self) -> pb::CacheSharingOpt {
        match self {
            CacheSharing::Shared => pb::CacheSharingOpt::Shared,
            CacheSharing::Private => pb::CacheSharingOpt::Private,
            CacheSharing::Locked => pb::CacheSharingOpt::Locked,
        }
    }
}

/// What is mounted at a path inside the exec.
#[derive(Clone, Debug)]
pub enum Mount {
    /// A state's filesystem; when writable, the exec's changes to it become
    /// an output (`output(path)`).
    Layer {
        state: State,
        readonly: bool,
        selector: Option<String>,
    },
    /// An empty writable directory whose contents become an output.
    Scratch,
    /// A persistent cache directory shared across builds, never an output.
    Cache { id: String, sharing: CacheSharing },
    /// An in-memory filesystem, never an output.
    Tmpfs,
}

impl Mount {
    /// `state` read-only.
    pub fn readonly(state: &State) -> Self {
        Mount::Layer {
            state: state.clone(),
            readonly: true,
            selector: None,
        }
    }

    /// Only `path` of `state`, read-only.
    pub fn readonly_path(state: &State, path: &str) -> Self {
        Mount::Layer {
            state: state.clone(),
            readonly: true,
            selector: Some(path.to_string()),
        }
    }

    /// `state` writable; the result is an output of the exec.
    pub fn writable(state: &State) -> Self {
        Mount::Layer {
            state: state.clone(),
            readonly: false,
            selector: None,
        }
    }

    pub fn cache(id: &str, sharing: CacheSharing) -> Self {
        Mount::Cache {
            id: id.to_string(),
            sharing,
        }
    }

    fn has_output(&self) -> bool {
        match self {
            Mount::Layer { readonly, .. } => !readonly,
            Mount::Scratch => true,
            Mount::Cache { .. } | Mount::Tmpfs => false,
        }
    }
}

#[derive(Clone, Debug)]
struct MountAt {
    dest: String,
    mount: Mount,
}

/// A marshal-ready exec: mounts sorted by destination, root first.
#[derive(Debug)]
pub(crate) struct ExecOp {
    args: Vec<String>,
    env: Env,
    cwd: String,
    user: String,
    network: NetMode,
    proxy: Option<ProxyEnv>,
    mounts: Vec<MountAt>,
}

impl ExecOp {
    pub(crate) fn inputs(&self) -> Vec<&Output> {
        self.mounts
            .iter()
            .filter_map(|m| match &m.mount {
                Mount::Layer { state, .. } => state.output.as_ref(),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn take_inputs(&mut self, out: &mut Vec<Arc<Node>>) {
        for m in &mut self.mounts {
            if let Mount::Layer { state, .. } = &mut m.mount {
                take_output(state, out);
            }
        }
    }

    pub(crate) fn caps(&self) -> BTreeSet<Cap> {
        // removeMountStubsRecursive is set but, as in BuildKit's own client, not
        // required: older daemons ignore the field.
        let mut caps = BTreeSet::from([Cap::ExecMetaBase]);
        if self.network != NetMode::Sandbox {
            caps.insert(Cap::ExecMetaNetwork);
        }
        if self.proxy.is_some() {
            caps.insert(Cap::ExecMetaProxy);
        }
        for m in &self.mounts {
            match &m.mount {
                Mount::Layer {
                    state, selector, ..
                } => {
                    if selector.is_some() {
                        caps.insert(Cap::ExecMountSelector);
                    }
                    if state.output.is_some() {
                        caps.insert(Cap::ExecMountBind);
                    }
                }
                Mount::Scratch => {}
                Mount::Cache { .. } => {
                    caps.insert(Cap::ExecMountCache);
                    caps.insert(Cap::ExecMountCacheSharing);
                }
                Mount::Tmpfs => {
                    caps.insert(Cap::ExecMountTmpfs);
                }
            }
        }
        caps
    }

    /// `slots[i]` is the op input index of the i-th entry of `inputs()`.
    pub(crate) fn to_pb(&self, slots: &[i64]) -> pb::ExecOp {
        let mut next_slot = slots.iter();
        let mut next_output = 0i64;
        let mounts = self
            .mounts
            .iter()
            .map(|m| {
                let mut pm = pb::Mount {
                    dest: m.dest.clone(),
                    input: -1,
                    output: -1,
                    ..Default::default()
                };
                if m.mount.has_output() {
                    pm.output = next_output;
                    next_output += 1;
                }
                match &m.mount {
                    Mount::Layer {
                        state,
                        readonly,
                        selector,
                    } => {
                        if state.output.is_some() {
                            pm.input = next_slot.next().copied().unwrap_or(-1);
                        }
                        pm.readonly = *readonly;
                        pm.selector = selector.clone().unwrap_or_default();
                    }
                    Mount::Scratch => {}
                    Mount::Cache { id, sharing } => {
                        pm.mount_type = pb::MountType::Cache as i32;
                        pm.cache_opt = Some(pb::CacheOpt {
                            id: id.clone(),
                            sharing: sharing.to_pb() as i32,
                        });
                    }
                    Mount::Tmpfs => {
                        pm.mount_type = pb::MountType::Tmpfs as i32;
                        pm.tmpfs_opt = Some(pb::TmpfsOpt::default());
                    }
                }
                pm
            })
            .collect();
        pb::ExecOp {
            meta: Some(pb::Meta {
                args: self.args.clone(),
                env: self.env.to_strings(),
                cwd: self.cwd.clone(),
                user: self.user.clone(),
                remove_mount_stubs_recursive: true,
                proxy_env: self.proxy.as_ref().map(ProxyEnv::to_pb),
                ..Default::default()
            }),
            mounts,
            network: self.network.to_pb() as i32,
            ..Default::default()
        }
    }
}

/// Builder for an exec over `base`; created by [`State::run`].
#[derive(Clone, Debug)]
pub struct Exec {
    base: State,
    args: Vec<String>,
    env: Env,
    cwd: Option<String>,
    user: Option<String>,
    network: NetMode,
    proxy: Option<ProxyEnv>,
    mounts: Vec<MountAt>,
    meta: OpMeta,
}

impl OpOptions for Exec {
    fn op_meta(&mut self) -> &mut OpMeta {
        &mut self.meta
    }
}

impl State {
    /// Runs `args` (argv[0] is looked up on the state's PATH by the daemon;
    /// no shell is involved) with this state as the root filesystem.
    pub fn run<I, S>(&self, args: I) -> Exec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Exec {
            base: self.clone(),
            args: args.into_iter().map(Into::into).collect(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            user: self.user.clone(),
            network: NetMode::Sandbox,
            proxy: None,
            mounts: Vec::new(),
            meta: OpMeta {
                platform: self.platform.clone(),
                ..OpMeta::default()
            },
        }
    }
}

impl Exec {
    /// Sets an environment variable for this exec only.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.set(key, value);
        self
    }

    /// Sets several environment variables for this exec only.
    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        for (k, v) in vars {
            self.env.set(k, v);
        }
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    pub fn network(mut self, mode: NetMode) -> Self {
        self.network = mode;
        self
    }

    /// Gives the exec `proxy` (none when it is empty).
    pub fn proxy(mut self, proxy: &ProxyEnv) -> Self {
        self.proxy = (!proxy.is_empty()).then(|| proxy.clone());
        self
    }

    /// Mounts `mount` at `dest` (an absolute path); a later mount at the
    /// same path replaces the earlier one.
    pub fn mount(mut self, dest: &str, mount: Mount) -> Self {
        self.mounts.retain(|m| m.dest != dest);
        self.mounts.push(MountAt {
            dest: dest.to_string(),
            mount,
        });
        self
    }

    /// Shorthand for a read-only mount of `state` at `dest`.
    pub fn mount_ro(self, dest: &str, state: &State) -> Self {
        self.mount(dest, Mount::readonly(state))
    }

    /// Shorthand for an empty writable directory at `dest`, an output.
    pub fn mount_scratch(self, dest: &str) -> Self {
        self.mount(dest, Mount::Scratch)
    }

    /// Freezes the exec into a vertex whose outputs can be taken.
    pub fn finish(self) -> ExecState {
        let mut mounts = self.mounts;
        mounts.retain(|m| m.dest != "/");
        mounts.push(MountAt {
            dest: "/".to_string(),
            mount: Mount::writable(&self.base),
        });
        // BuildKit's client sorts mounts by destination; so do we, so the
        // digest does not depend on the order the recipe added them in.
        mounts.sort_by(|a, b| a.dest.cmp(&b.dest));
        let outputs: Vec<String> = mounts
            .iter()
            .filter(|m| m.mount.has_output())
            .map(|m| m.dest.clone())
            .collect();
        let mut env = self.env;
        if env.get("PATH").is_none() {
            env.set("PATH", DEFAULT_PATH);
        }
        let op = ExecOp {
            args: self.args,
            env,
            cwd: self.cwd.unwrap_or_else(|| "/".to_string()),
            user: self.user.unwrap_or_default(),
            network: self.network,
            proxy: self.proxy,
            mounts,
        };
        ExecState {
            node: Arc::new(Node {
                op: Op::Exec(op),
                meta: self.meta,
            }),
            base: self.base,
            outputs,
        }
    }

    /// The root filesystem after the exec.
    pub fn root(self) -> State {
        self.finish().root()
    }

    /// Mounts `start` writable at `dest` and returns what the exec leaves
    /// there, as BuildKit's Go `AddMount` returns the mount's state: the
    /// output exists by construction, so taking it cannot fail.
    pub fn output(self, dest: &str, start: OutputMount) -> State {
        let mount = match start {
            OutputMount::Empty => Mount::Scratch,
            OutputMount::Over(state) => Mount::writable(&state),
        };
        self.mount(dest, mount).finish().output_at(dest)
    }
}

/// What a mount whose contents become the exec's output starts as.
#[derive(Clone, Debug)]
pub enum OutputMount {
    /// An empty directory.
    Empty,
    /// A copy of a state's filesystem, changed in place by the exec.
    Over(State),
}

impl OutputMount {
    pub fn over(state: &State) -> Self {
        OutputMount::Over(state.clone())
    }
}

/// A finished exec vertex.
#[derive(Clone, Debug)]
pub struct ExecState {
    node: Arc<Node>,
    base: State,
    outputs: Vec<String>,
}

impl ExecState {
    /// The root filesystem after the exec, with the base state's metadata.
    pub fn root(&self) -> State {
        // "/" always sorts first among outputs.
        self.base.with_output(Some(Output {
            node: Arc::clone(&self.node),
            index: 0,
        }))
    }

    /// The writable mount at `dest` after the exec; `None` when the exec has
    /// no output there (a read-only, cache or tmpfs mount, or none).
    pub fn output(&self, dest: &str) -> Option<State> {
        self.outputs
            .iter()
            .any(|d| d == dest)
            .then(|| self.output_at(dest))
    }

    /// The output at `dest`, which the caller knows is one ("/" is always
    /// output 0).
    fn output_at(&self, dest: &str) -> State {
        let position = self.outputs.iter().position(|d| d == dest).unwrap_or(0);
        // An exec's mounts are far fewer than 2^32.
        let index = u32::try_from(position).unwrap_or(u32::MAX);
        let mut state = State::scratch().with_output(Some(Output {
            node: Arc::clone(&self.node),
            index,
        }));
        state.platform = self.base.platform.clone();
        state
    }
}
