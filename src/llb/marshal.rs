//! One pass from a [`State`] to BuildKit's `pb.Definition`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use super::caps::Cap;
use super::source_map::{SourceFile, SourceLocation};
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

/// `op`'s bytes as BuildKit's Go code writes them: its fields in field
/// order, but the `op` oneof last (Go's generated marshaller puts oneofs
/// after the other fields; prost would put it by number, between `inputs`
/// and `platform`). BuildKit v0.18 and later re-marshal every op when they
/// load a definition and name vertices by those bytes: with any other
/// order, no vertex keeps the digest the definition gave it, and the
/// source map (keyed by digest) points at nothing.
fn encode_op(op: pb::Op) -> Vec<u8> {
    let pb::Op {
        inputs,
        op: wire,
        platform,
        constraints,
    } = op;
    let mut out = pb::Op {
        inputs,
        platform,
        constraints,
        op: None,
    }
    .encode_to_vec();
    pb::Op {
        op: wire,
        ..Default::default()
    }
    .encode(&mut out)
    .unwrap_or_default();
    out
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
    /// The source map: the files, in the order first met, and each op's
    /// places in them.
    infos: Vec<Arc<SourceFile>>,
    locations: BTreeMap<String, pb::Locations>,
}

/// A node being marshalled: the outputs it reads, how many of them are
/// resolved, and the distinct op inputs found so far.
struct Frame<'a> {
    /// The output the node was reached through.
    via: &'a Output,
    reads: Vec<&'a Output>,
    next: usize,
    inputs: Vec<pb::Input>,
    /// `slots[i]` is the op input index of `reads[i]`.
    slots: Vec<i64>,
}

impl<'a> Frame<'a> {
    fn new(via: &'a Output) -> Self {
        Frame {
            via,
            reads: via.node.op.inputs(),
            next: 0,
            inputs: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Records the next read as `input`, each distinct (digest, index) once.
    fn resolved(&mut self, input: pb::Input) {
        let slot = match self.inputs.iter().position(|i| *i == input) {
            Some(i) => i,
            None => {
                self.inputs.push(input);
                self.inputs.len() - 1
            }
        };
        self.slots.push(slot as i64);
        self.next += 1;
    }
}

impl Marshaller {
    /// Records where op `digest` comes from; an op made in several places
    /// (one vertex for every platform) keeps each place once.
    fn locate(&mut self, digest: &str, locations: &[SourceLocation]) {
        for location in locations {
            let index = match self.infos.iter().position(|f| **f == *location.file) {
                Some(i) => i,
                None => {
                    self.infos.push(location.file.clone());
                    self.infos.len() - 1
                }
            };
            let wire = pb::Location {
                source_index: i32::try_from(index).unwrap_or(i32::MAX),
                ranges: location.ranges.iter().map(|r| r.to_pb()).collect(),
            };
            let entry = self.locations.entry(digest.to_string()).or_default();
            if !entry.locations.contains(&wire) {
                entry.locations.push(wire);
            }
        }
    }

    /// The input naming `output` if its node is already encoded.
    fn known(&self, output: &Output) -> Option<pb::Input> {
        let key: *const Node = &*output.node;
        self.visited.get(&key).map(|digest| pb::Input {
            digest: digest.clone(),
            index: i64::from(output.index),
        })
    }

    /// Encodes the node behind `head` and everything it reads (inputs
    /// first, depth first in the op's own order) and returns its input.
    /// The walk keeps its own stack, so any depth of graph fits.
    fn input(&mut self, head: &Output) -> pb::Input {
        if let Some(input) = self.known(head) {
            return input;
        }
        let mut stack = vec![Frame::new(head)];
        while let Some(top) = stack.last_mut() {
            if let Some(&read) = top.reads.get(top.next) {
                match self.known(read) {
                    Some(input) => top.resolved(input),
                    None => stack.push(Frame::new(read)),
                }
                continue;
            }
            let Some(done) = stack.pop() else { break };
            let input = pb::Input {
                digest: self.encode(&done.via.node, done.inputs, &done.slots),
                index: i64::from(done.via.index),
            };
            match stack.last_mut() {
                Some(parent) => parent.resolved(input),
                None => return input,
            }
        }
        // Not reached: the loop returns once the head's frame is done.
        pb::Input::default()
    }

    /// Encodes `node`, whose inputs are encoded already, and returns its
    /// digest.
    fn encode(&mut self, node: &Node, inputs: Vec<pb::Input>, slots: &[i64]) -> String {
        let key = node as *const Node;
        let (encoded, metadata, digest) = match &node.op {
            // Kept verbatim: its bytes already name its inputs.
            Op::Raw(raw) => (raw.bytes.clone(), raw.metadata.clone(), raw.digest.clone()),
            op => {
                let input_count = inputs.len();
                let wire = match op {
                    Op::Source(s) => Some(pb::op::Op::Source(s.to_pb())),
                    Op::Exec(e) => Some(pb::op::Op::Exec(e.to_pb(slots))),
                    Op::File(f) => Some(pb::op::Op::File(f.to_pb(slots, input_count))),
                    Op::Merge(m) => Some(pb::op::Op::Merge(m.to_pb(slots))),
                    Op::Raw(_) => None,
                };
                let platform = if node.op.is_platform_specific() {
                    node.meta.platform.as_ref().map(|p| p.to_pb())
                } else {
                    None
                };
                let encoded = encode_op(pb::Op {
                    inputs,
                    platform,
                    constraints: Some(pb::WorkerConstraints::default()),
                    op: wire,
                });
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
                let digest = digest_of(&encoded);
                self.locate(&digest, &node.meta.locations);
                (encoded, md, digest)
            }
        };
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
        infos: Vec::new(),
        locations: BTreeMap::new(),
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
    // Daemons that know no source maps ignore the field: no cap needed.
    let source = (!m.infos.is_empty()).then(|| pb::Source {
        locations: m.locations,
        infos: m.infos.iter().map(|f| f.to_pb()).collect(),
    });
    Definition {
        pb: pb::Definition {
            def: m.def,
            metadata: m.metadata,
            source,
        },
        caps: m.caps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llb::raw::tests::{DEEP, on_small_stack};
    use crate::llb::{FileActions, ImageRef, Source};

    #[test]
    fn a_deep_graph_marshals_and_drops_on_a_small_stack() {
        let base = match ImageRef::parse("alpine") {
            Ok(r) => Source::image(&r).state(),
            Err(e) => panic!("{e}"),
        };
        // Built here; only marshalled and dropped on the small stack.
        let mut state = base.clone();
        for i in 0..DEEP {
            state = if i % 2 == 0 {
                state
                    .file(FileActions::new().mkdir(&format!("/d{i}"), 0o755, false))
                    .state()
            } else {
                State::merge(&[state, base.clone()]).state()
            };
        }
        on_small_stack(move || {
            let def = marshal(&state);
            // Every op once, the image shared, plus the terminal op.
            assert_eq!(def.pb.def.len(), DEEP + 2);
            // Debug names the head op, not the whole graph below it.
            let shown = format!("{state:?}");
            assert!(shown.len() < 1000, "{shown}");
            drop(state);
            drop(base);
        });
    }
}
