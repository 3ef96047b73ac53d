//! Graphs that arrive already marshalled (a frontend input forwarded by
//! BuildKit, a named context from another frontend): kept byte for byte so
//! their digests, and so BuildKit's cache, stay the same.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use prost::Message;

use super::caps::Cap;
use super::marshal::digest_of;
use super::state::{Node, Op, OpMeta, Output, State};
use crate::proto::pb;

/// A foreign op: its exact bytes, metadata and the nodes it reads.
#[derive(Debug)]
pub(crate) struct RawOp {
    pub(crate) bytes: Vec<u8>,
    /// `digest_of(bytes)`, computed once.
    pub(crate) digest: String,
    pub(crate) metadata: pb::OpMetadata,
    pub(crate) inputs: Vec<Output>,
}

impl RawOp {
    pub(crate) fn inputs(&self) -> Vec<&Output> {
        self.inputs.iter().collect()
    }

    pub(crate) fn take_inputs(&mut self, out: &mut Vec<Arc<Node>>) {
        out.extend(self.inputs.drain(..).map(|o| o.node));
    }

    pub(crate) fn caps(&self) -> BTreeSet<Cap> {
        // Whatever made the definition checked its caps; ours are unknown.
        BTreeSet::new()
    }
}

/// A definition that cannot be used as a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawError {
    #[error("op #{index} of the definition does not decode: {reason}")]
    Decode { index: usize, reason: String },
    #[error("op {op} reads {input}, which comes later or not at all in the definition")]
    Order { op: String, input: String },
    #[error("the definition's terminal op does not point at one output")]
    Terminal,
}

impl State {
    /// The state a marshalled definition ends in. An empty definition is
    /// scratch.
    pub fn from_definition(def: &pb::Definition) -> Result<State, RawError> {
        let Some((terminal, ops)) = def.def.split_last() else {
            return Ok(State::scratch());
        };
        let mut nodes: BTreeMap<String, Arc<Node>> = BTreeMap::new();
        for (index, bytes) in ops.iter().enumerate() {
            let op = pb::Op::decode(bytes.as_slice()).map_err(|e| RawError::Decode {
                index,
                reason: e.to_string(),
            })?;
            let digest = digest_of(bytes);
            let mut inputs = Vec::with_capacity(op.inputs.len());
            for input in &op.inputs {
                let node = nodes.get(&input.digest).ok_or_else(|| RawError::Order {
                    op: digest.clone(),
                    input: input.digest.clone(),
                })?;
                inputs.push(Output {
                    node: Arc::clone(node),
                    index: u32::try_from(input.index).map_err(|_| RawError::Terminal)?,
                });
            }
            let node = Node {
                op: Op::Raw(RawOp {
                    bytes: bytes.clone(),
                    digest: digest.clone(),
                    metadata: def.metadata.get(&digest).cloned().unwrap_or_default(),
                    inputs,
                }),
                meta: OpMeta::default(),
            };
            nodes.insert(digest, Arc::new(node));
        }
        let terminal = pb::Op::decode(terminal.as_slice()).map_err(|e| RawError::Decode {
            index: ops.len(),
            reason: e.to_string(),
        })?;
        let [head] = terminal.inputs.as_slice() else {
            return Err(RawError::Terminal);
        };
        let node = nodes.get(&head.digest).ok_or(RawError::Terminal)?;
        Ok(State::scratch().with_output(Some(Output {
            node: Arc::clone(node),
            index: u32::try_from(head.index).map_err(|_| RawError::Terminal)?,
        })))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::llb::marshal;

    /// How deep the deep-graph tests go.
    pub(crate) const DEEP: usize = 100_000;

    /// Runs `f` on a thread with a small stack, so that anything recursive
    /// over the depth of a graph overflows it (and aborts the test binary).
    pub(crate) fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        let joined = std::thread::Builder::new()
            .name("small-stack".into())
            .stack_size(256 * 1024)
            .spawn(f)
            .map(|handle| handle.join());
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("the small-stack thread panicked"),
            Err(e) => panic!("cannot spawn the small-stack thread: {e}"),
        }
    }

    /// A definition of `n` ops: an image, then file ops each reading the one
    /// before, then the terminal op.
    fn chained_definition(n: usize) -> pb::Definition {
        let mut def = pb::Definition::default();
        let mut previous: Option<String> = None;
        for i in 0..n {
            let op = match &previous {
                None => pb::Op {
                    op: Some(pb::op::Op::Source(pb::SourceOp {
                        identifier: "docker-image://docker.io/library/alpine:latest".into(),
                        attrs: Default::default(),
                    })),
                    ..Default::default()
                },
                Some(digest) => pb::Op {
                    inputs: vec![pb::Input {
                        digest: digest.clone(),
                        index: 0,
                    }],
                    op: Some(pb::op::Op::File(pb::FileOp {
                        actions: vec![pb::FileAction {
                            input: 0,
                            secondary_input: -1,
                            output: 0,
                            action: Some(pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                                path: format!("/d{i}"),
                                mode: 0o755,
                                ..Default::default()
                            })),
                        }],
                    })),
                    ..Default::default()
                },
            };
            let bytes = op.encode_to_vec();
            previous = Some(digest_of(&bytes));
            def.def.push(bytes);
        }
        let terminal = pb::Op {
            inputs: vec![pb::Input {
                digest: previous.unwrap_or_default(),
                index: 0,
            }],
            ..Default::default()
        };
        def.def.push(terminal.encode_to_vec());
        def
    }

    #[test]
    fn a_deep_forwarded_definition_loads_marshals_and_drops() {
        let def = chained_definition(DEEP);
        // The same chain with its head missing: the whole chain is built,
        // then thrown away with the error.
        let mut headless = def.clone();
        let terminal = headless.def.pop();
        headless.def.pop();
        headless.def.extend(terminal);
        on_small_stack(move || {
            let state = match State::from_definition(&def) {
                Ok(s) => s,
                Err(e) => panic!("{e}"),
            };
            let again = marshal(&state);
            // Verbatim ops in the same order, and the same terminal op.
            assert_eq!(again.pb.def.len(), def.def.len());
            assert!(again.pb.def == def.def, "the ops changed on the way");
            drop(state);
            drop(again);
            assert_eq!(
                State::from_definition(&headless).err(),
                Some(RawError::Terminal)
            );
        });
    }
}
