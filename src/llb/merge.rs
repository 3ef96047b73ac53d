//! Merge ops: layer several filesystems on top of each other without copying,
//! so each input stays its own layer in an exported image.

use std::sync::Arc;

use super::state::{Node, Op, OpMeta, OpOptions, Output, State, take_output};
use crate::proto::pb;

#[derive(Debug)]
pub(crate) struct MergeOp {
    inputs: Vec<State>,
}

impl MergeOp {
    pub(crate) fn inputs(&self) -> Vec<&Output> {
        self.inputs
            .iter()
            .filter_map(|s| s.output.as_ref())
            .collect()
    }

    pub(crate) fn take_inputs(&mut self, out: &mut Vec<Arc<Node>>) {
        for s in &mut self.inputs {
            take_output(s, out);
        }
    }

    pub(crate) fn to_pb(&self, slots: &[i64]) -> pb::MergeOp {
        pb::MergeOp {
            inputs: slots
                .iter()
                .map(|&input| pb::MergeInput { input })
                .collect(),
        }
    }
}

/// Builder for a merge; created by [`State::merge`].
#[derive(Clone, Debug)]
pub struct Merge {
    inputs: Vec<State>,
    meta: OpMeta,
}

impl OpOptions for Merge {
    fn op_meta(&mut self) -> &mut OpMeta {
        &mut self.meta
    }
}

impl State {
    /// Layers `states` in order (later ones win on conflicts). Scratch inputs
    /// contribute nothing and are dropped.
    pub fn merge(states: &[State]) -> Merge {
        Merge {
            inputs: states.iter().filter(|s| !s.is_scratch()).cloned().collect(),
            meta: OpMeta::default(),
        }
    }
}

impl Merge {
    /// The merged filesystem (the first input's metadata flows on). Fewer
    /// than two non-empty inputs need no op.
    pub fn state(self) -> State {
        match self.inputs.len() {
            0 => State::scratch(),
            1 => self.inputs.into_iter().next().unwrap_or_default(),
            _ => {
                let first = self.inputs[0].clone();
                let node = Node {
                    op: Op::Merge(MergeOp {
                        inputs: self.inputs,
                    }),
                    meta: self.meta,
                };
                first.with_output(State::from_node(node).output)
            }
        }
    }
}
