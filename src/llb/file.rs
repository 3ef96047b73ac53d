//! File ops: copy, create, remove and link files without running anything.
//! Several actions chain into one op, and so into one layer.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::caps::Cap;
use super::epoch::Epoch;
use super::state::{Node, Op, OpMeta, OpOptions, Output, State, take_output};
use crate::proto::pb;

/// Numeric owner for created files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    fn to_pb(self) -> pb::ChownOpt {
        let id = |n: u32| pb::UserOpt {
            user: Some(pb::user_opt::User::ById(n)),
        };
        pb::ChownOpt {
            user: Some(id(self.uid)),
            group: Some(id(self.gid)),
        }
    }
}

/// Options of a copy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Resolve a symlink at the source path and copy its target.
    pub follow_symlinks: bool,
    /// Create missing parent directories of the destination.
    pub create_dest_path: bool,
    /// Treat the source path as a glob.
    pub allow_wildcard: bool,
    /// Copy a directory's contents rather than the directory itself.
    pub dir_copy_contents: bool,
    /// Force these permission bits on what is copied.
    pub mode: Option<u32>,
    pub owner: Option<Owner>,
    /// With `allow_wildcard`: a pattern that matches nothing copies nothing
    /// instead of failing (a Dockerfile's `COPY optional* ...`).
    pub allow_empty_wildcard: bool,
    /// Set the modification time of every copied entry (files, symlinks
    /// and directories) to this; `None` keeps the source's times.
    pub timestamp: Option<Epoch>,
    /// A source that is a tar archive (plain or compressed) is unpacked at
    /// the destination, as a Dockerfile's `ADD` does.
    pub attempt_unpack: bool,
}

#[derive(Clone, Debug)]
enum Action {
    Copy {
        from: State,
        src: String,
        dest: String,
        options: CopyOptions,
    },
    Mkfile {
        path: String,
        mode: u32,
        data: Vec<u8>,
        owner: Option<Owner>,
    },
    Mkdir {
        path: String,
        mode: u32,
        parents: bool,
        owner: Option<Owner>,
    },
    Rm {
        path: String,
        allow_not_found: bool,
        allow_wildcard: bool,
    },
    Symlink {
        target: String,
        link: String,
    },
}

/// An ordered list of file actions, applied one after another.
#[derive(Clone, Debug, Default)]
pub struct FileActions {
    actions: Vec<Action>,
}

impl FileActions {
    pub fn new() -> Self {
        FileActions::default()
    }

    /// Copies `src` of `from` to `dest`.
    pub fn copy(mut self, from: &State, src: &str, dest: &str, options: CopyOptions) -> Self {
        self.actions.push(Action::Copy {
            from: from.clone(),
            src: src.to_string(),
            dest: dest.to_string(),
            options,
        });
        self
    }

    /// Writes `data` to `path` with permission bits `mode`.
    pub fn mkfile(mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> Self {
        self.actions.push(Action::Mkfile {
            path: path.to_string(),
            mode,
            data: data.into(),
            owner: None,
        });
        self
    }

    /// Creates the directory `path` (and its parents when `parents`).
    pub fn mkdir(mut self, path: &str, mode: u32, parents: bool) -> Self {
        self.actions.push(Action::Mkdir {
            path: path.to_string(),
            mode,
            parents,
            owner: None,
        });
        self
    }

    /// Removes `path`.
    pub fn rm(mut self, path: &str, allow_not_found: bool) -> Self {
        self.actions.push(Action::Rm {
            path: path.to_string(),
            allow_not_found,
            allow_wildcard: false,
        });
        self
    }

    /// Removes everything matching the glob `pattern`.
    pub fn rm_glob(mut self, pattern: &str) -> Self {
        self.actions.push(Action::Rm {
            path: pattern.to_string(),
            allow_not_found: true,
            allow_wildcard: true,
        });
        self
    }

    /// Creates a symlink at `link` pointing to `target`.
    pub fn symlink(mut self, target: &str, link: &str) -> Self {
        self.actions.push(Action::Symlink {
            target: target.to_string(),
            link: link.to_string(),
        });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// A marshal-ready file op over `base`.
#[derive(Debug)]
pub(crate) struct FileOp {
    base: State,
    actions: Vec<Action>,
}

impl FileOp {
    /// The base first (if not scratch), then each copy's source.
    pub(crate) fn inputs(&self) -> Vec<&Output> {
        let mut inputs: Vec<&Output> = self.base.output.iter().collect();
        for a in &self.actions {
            if let Action::Copy { from, .. } = a {
                inputs.extend(from.output.iter());
            }
        }
        inputs
    }

    pub(crate) fn take_inputs(&mut self, out: &mut Vec<Arc<Node>>) {
        take_output(&mut self.base, out);
        for a in &mut self.actions {
            if let Action::Copy { from, .. } = a {
                take_output(from, out);
            }
        }
    }

    pub(crate) fn caps(&self) -> BTreeSet<Cap> {
        let mut caps = BTreeSet::from([Cap::FileBase]);
        for a in &self.actions {
            match a {
                Action::Symlink { .. } => {
                    caps.insert(Cap::FileSymlinkCreate);
                }
                Action::Rm {
                    allow_wildcard: true,
                    ..
                } => {
                    caps.insert(Cap::FileRmWildcard);
                }

                _ => {}
            }
        }
        caps
    }

    /// `slots[i]` is the op input index of the i-th entry of `inputs()`;
    /// `input_count` is the number of distinct op inputs. Action results are
    /// referred to as `input_count + action index`, as BuildKit expects.
    pub(crate) fn to_pb(&self, slots: &[i64], input_count: usize) -> pb::FileOp {
        let mut slot = slots.iter().copied();
        let base_input = if self.base.output.is_some() {
            slot.next().unwrap_or(-1)
        } else {
            -1
        };
        let cwd = self.base.cwd.as_deref().unwrap_or("/");
        let last = self.actions.len().saturating_sub(1);
        let actions = self
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let input = if i == 0 {
                    base_input
                } else {
                    (input_count + i - 1) as i64
                };
                let mut secondary_input = -1;
                let action = match a {
                    Action::Copy {
                        from,
                        src,
                        dest,
                        options,
                    } => {
                        if from.output.is_some() {
                            secondary_input = slot.next().unwrap_or(-1);
                        }
                        let from_cwd = from.cwd.as_deref().unwrap_or("/");
                        pb::file_action::Action::Copy(pb::FileActionCopy {
                            src: absolute(from_cwd, src),
                            dest: absolute(cwd, dest),
                            owner: options.owner.map(Owner::to_pb),
                            mode: options.mode.map_or(-1, |m| m as i32),
                            follow_symlink: options.follow_symlinks,
                            dir_copy_contents: options.dir_copy_contents,
                            create_dest_path: options.create_dest_path,
                            allow_wildcard: options.allow_wildcard,
                            allow_empty_wildcard: options.allow_empty_wildcard,
                            timestamp: options.timestamp.map_or(-1, Epoch::nanos),
                            attempt_unpack_docker_compatibility: options.attempt_unpack,
                            ..Default::default()
                        })
                    }
                    Action::Mkfile {
                        path,
                        mode,
                        data,
                        owner,
                    } => pb::file_action::Action::Mkfile(pb::FileActionMkFile {
                        path: absolute(cwd, path),
                        mode: *mode as i32,
                        data: data.clone(),
                        owner: owner.map(Owner::to_pb),
                        timestamp: -1,
                    }),
                    Action::Mkdir {
                        path,
                        mode,
                        parents,
                        owner,
                    } => pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                        path: absolute(cwd, path),
                        mode: *mode as i32,
                        make_parents: *parents,
                        owner: owner.map(Owner::to_pb),
                        timestamp: -1,
                    }),
                    Action::Rm {
                        path,
                        allow_not_found,
                        allow_wildcard,
                    } => pb::file_action::Action::Rm(pb::FileActionRm {
                        path: absolute(cwd, path),
                        allow_not_found: *allow_not_found,
                        allow_wildcard: *allow_wildcard,
                    }),
                    Action::Symlink { target, link } => {
                        pb::file_action::Action::Symlink(pb::FileActionSymlink {
                            oldpath: target.clone(),
                            newpath: absolute(cwd, link),
                            owner: None,
                            timestamp: -1,
                        })
                    }
                };
                pb::FileAction {
                    input,
                    secondary_input,
                    output: if i == last { 0 } else { -1 },
                    action: Some(action),
                }
            })
            .collect();
        pb::FileOp { actions }
    }
}

/// Joins a relative path onto `dir`, keeping a trailing slash (which means
/// "into this directory" to a copy).
fn absolute(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let dir = dir.trim_end_matches('/');
    format!("{dir}/{path}")
}

/// Builder for a file op; created by [`State::file`].
#[derive(Clone, Debug)]
pub struct File {
    base: State,
    actions: FileActions,
    meta: OpMeta,
}

impl OpOptions for File {
    fn op_meta(&mut self) -> &mut OpMeta {
        &mut self.meta
    }
}

impl State {
    /// Applies `actions` on top of this state, as one op (one layer).
    pub fn file(&self, actions: FileActions) -> File {
        File {
            base: self.clone(),
            actions,
            meta: OpMeta::default(),
        }
    }

    /// This filesystem copied onto scratch with every entry's modification
    /// time set to `epoch`: a layer whose bytes do not depend on when the
    /// ops that made it ran.
    pub fn restamped(&self, epoch: Epoch) -> File {
        State::scratch().file(FileActions::new().copy(
            self,
            "/",
            "/",
            CopyOptions {
                dir_copy_contents: true,
                timestamp: Some(epoch),
                ..CopyOptions::default()
            },
        ))
    }
}

impl File {
    /// The filesystem after every action. No actions means no op at all.
    pub fn state(self) -> State {
        if self.actions.is_empty() {
            return self.base;
        }
        let base = self.base.clone();
        let node = Node {
            op: Op::File(FileOp {
                base: self.base,
                actions: self.actions.actions,
            }),
            meta: self.meta,
        };
        base.with_output(State::from_node(node).output)
    }
}
