//! One pass from a [`State`] to BuildKit's `pb.Definition`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message;
use sha2::{Digest, Sha256};

use super::caps::Cap;
use super::state::{Node, Op, Output, State};
use crate::proto::pb;

/// A marshalled graph and the LLB caps it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub pb: pb::Definition,
    /// Every cap some op in the graph needs (checked against the daemon).
    pub caps: BTreeSet<Cap>,
}

impl Definition {
    /// The wire bytes of the whole definition, as `buildctl build` reads it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.pb.encode_to_vec()
    }

    /// The digest of the op the terminal op points at (None for scratch).
    pub fn head(&self) -> Option<String> {
        head_of(&self.pb)
    }
}

/// The digest of the op `def`'s terminal op points at (None for scratch or
/// a definition that does not decode), for definitions made elsewhere too.
pub fn head_of(def: &pb::Definition) -> Option<String> {
    let last = def.def.last()?;
    let op = pb::Op::decode(last.as_slice()).ok()?;
    op.inputs.first().map(|i| i.digest.clone())
}

/// `sha256:<hex>` of `bytes`, as BuildKit names ops.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

struct Marshaller {
    def: Vec<Vec<u8>>,
    metadata: BTreeMap<String, pb::OpMetadata>,
    caps: BTreeSet<Cap>,
    /// Digest of each node already visited, keyed by its address: the graph
    /// lives for the whole pass, so addresses are stable.
    visited: HashMap<*const Node, String>,
}

impl Marshaller {
    fn input(&mut self, output: &Output) -> pb::Input {
        pb::Input {
            digest: self.visit(output),
            index: i64::from(output.index),
        }
    }

    /// Encodes the node behind `output` (inputs first) and returns its digest.
    fn visit(&mut self, output: &Output) -> String {
        let node: &Node = &output.node;
        let key = node as *const Node;
        if let Some(d) = self.visited.get(&key) {
            return d.clone();
        }

        // Inputs first, each distinct (digest, index) once.
        let mut inputs: Vec<pb::Input> = Vec::new();
        let mut slots: Vec<i64> = Vec::new();
        for out in node.op.inputs() {
            let input = self.input(out);
            let slot = match inputs.iter().position(|i| *i == input) {
                Some(i) => i,
                None => {
                    inputs.push(input);
                    inputs.len() - 1
                }
            };
            slots.push(slot as i64);
        }

        let (encoded, metadata) = match &node.op {
            // Kept verbatim: its bytes already name its inputs.
            Op::Raw(raw) => (raw.bytes.clone(), raw.metadata.clone()),
            op => {
                let input_count = inputs.len();
                let wire = match op {
                    Op::Source(s) => Some(pb::op::Op::Source(s.to_pb())),
                    Op::Exec(e) => Some(pb::op::Op::Exec(e.to_pb(&slots))),
                    Op::File(f) => Some(pb::op::Op::File(f.to_pb(&slots, input_count))),
                    Op::Merge(m) => Some(pb::op::Op::Merge(m.to_pb(&slots))),
                    Op::Raw(_) => None,
                };
                let platform = if node.op.is_platform_specific() {
                    node.meta.platform.as_ref().map(|p| p.to_pb())
                } else {
                    None
                };
                let encoded = pb::Op {
                    inputs,
                    platform,
                    constraints: Some(pb::WorkerConstraints::default()),
                    op: wire,
                }
                .encode_to_vec();
                let caps = node.op.caps();
                self.caps.extend(caps.iter().copied());
                let mut md = pb::OpMetadata {
                    ignore_cache: node.meta.ignore_cache,
                    caps: caps.iter().map(|c| (c.id().to_string(), true)).collect(),
                    ..Default::default()
                };
                if let Some(name) = &node.meta.description {
                    md.description
                        .insert("llb.customname".to_string(), name.clone());
                }
                (encoded, md)
            }
        };
        let digest = digest_of(&encoded);
        if !self.metadata.contains_key(&digest) {
            self.def.push(encoded);
            self.metadata.insert(digest.clone(), metadata);
        }
        self.visited.insert(key, digest.clone());
        digest
    }
}

/// Marshals the graph ending in `state`: each op once, inputs by digest,
/// identical ops merged, and a terminal op pointing at `state`'s output.
/// The same graph always gives the same bytes.
pub fn marshal(state: &State) -> Definition {
    let mut m = Marshaller {
        def: Vec::new(),
        metadata: BTreeMap::new(),
        caps: BTreeSet::new(),
        visited: HashMap::new(),
    };
    let Some(output) = &state.output else {
        return Definition {
            pb: pb::Definition::default(),
            caps: BTreeSet::new(),
        };
    };
    let head = m.input(output);
    let terminal = pb::Op {
        inputs: vec![head],
        ..Default::default()
    }
    .encode_to_vec();
    let terminal_digest = digest_of(&terminal);

    // The terminal op carries the caps that apply to the definition as a
    // whole, as BuildKit's own client does.
    let mut whole = BTreeSet::from([Cap::Constraints, Cap::Platform]);
    if m.metadata.values().any(|md| md.ignore_cache) {
        whole.insert(Cap::MetaIgnoreCache);
    }
    if m.metadata.values().any(|md| !md.description.is_empty()) {
        whole.insert(Cap::MetaDescription);
    }
    m.caps.extend(whole.iter().copied());
    m.def.push(terminal);
    m.metadata.insert(
        terminal_digest,
        pb::OpMetadata {
            caps: whole.iter().map(|c| (c.id().to_string(), true)).collect(),
            ..Default::default()
        },
    );
    Definition {
        pb: pb::Definition {
            def: m.def,
            metadata: m.metadata,
            source: None,
        },
        caps: m.caps,
    }
}
