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
    pub(crate) metadata: pb::OpMetadata,
    pub(crate) inputs: Vec<Output>,
}

impl RawOp {
    pub(crate) fn inputs(&self) -> Vec<&Output> {
        self.inputs.iter().collect()
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
