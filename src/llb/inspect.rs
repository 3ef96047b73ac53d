//! Reading a marshalled definition back: for the `graph` command, for tests
//! and for anyone who wants to see what BuildKit will be asked to do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prost::Message;

use super::marshal::digest_of;
use super::platform::Platform;
use crate::proto::pb;

/// A definition that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    #[error("op #{index} does not decode: {reason}")]
    Decode { index: usize, reason: String },
    #[error("op {op} reads input {input}, which is not in the definition")]
    DanglingInput { op: String, input: String },
    #[error("the definition has no terminal op")]
    NoTerminal,
}

/// One decoded op.
#[derive(Clone, Debug, PartialEq)]
pub struct Vertex {
    pub digest: String,
    pub op: pb::Op,
    pub metadata: pb::OpMetadata,
}

impl Vertex {
    /// `exec`, `file`, `merge`, `image`, `git`, `http`, `local`, ...
    pub fn kind(&self) -> &'static str {
        match &self.op.op {
            Some(pb::op::Op::Exec(_)) => "exec",
            Some(pb::op::Op::File(_)) => "file",
            Some(pb::op::Op::Merge(_)) => "merge",
            Some(pb::op::Op::Diff(_)) => "diff",
            Some(pb::op::Op::Build(_)) => "build",
            Some(pb::op::Op::Source(s)) => match s.identifier.split_once("://") {
                Some(("docker-image", _)) => "image",
                Some(("git", _)) => "git",
                Some(("local", _)) => "local",
                Some(("oci-layout", _)) => "oci-layout",
                Some(("http" | "https", _)) => "http",
                _ => "source",
            },
            _ => "other",
        }
    }

    /// The progress name, if the op has one.
    pub fn name(&self) -> Option<&str> {
        self.metadata
            .description
            .get("llb.customname")
            .map(String::as_str)
    }

    pub fn platform(&self) -> Option<Platform> {
        self.op.platform.as_ref().map(Platform::from_pb)
    }

    pub fn exec(&self) -> Option<&pb::ExecOp> {
        match &self.op.op {
            Some(pb::op::Op::Exec(e)) => Some(e),
            _ => None,
        }
    }

    pub fn file(&self) -> Option<&pb::FileOp> {
        match &self.op.op {
            Some(pb::op::Op::File(f)) => Some(f),
            _ => None,
        }
    }

    pub fn source(&self) -> Option<&pb::SourceOp> {
        match &self.op.op {
            Some(pb::op::Op::Source(s)) => Some(s),
            _ => None,
        }
    }

    /// What the op does, for people: its name, else its argv or identifier.
    pub fn describe(&self) -> String {
        if let Some(name) = self.name() {
            return name.to_string();
        }
        match &self.op.op {
            Some(pb::op::Op::Exec(e)) => e
                .meta
                .as_ref()
                .map(|m| m.args.join(" "))
                .unwrap_or_default(),
            Some(pb::op::Op::Source(s)) => s.identifier.clone(),
            Some(pb::op::Op::File(f)) => format!("{} file action(s)", f.actions.len()),
            Some(pb::op::Op::Merge(m)) => format!("merge of {} inputs", m.inputs.len()),
            _ => String::new(),
        }
    }
}

/// `text` with control characters escaped, so a name or identifier from a
/// forwarded definition cannot break the one-line-per-vertex layout.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped = c.is_control().then(|| c.escape_default());
            let plain = (!c.is_control()).then_some(c);
            escaped.into_iter().flatten().chain(plain)
        })
        .collect()
}

/// A whole decoded definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Every op but the terminal one, in definition order (inputs first).
    pub vertices: Vec<Vertex>,
    /// The input the terminal op points at.
    pub head: pb::Input,
}

impl Graph {
    /// Decodes and checks `def`: every op decodes and every input it names
    /// is itself in the definition.
    pub fn decode(def: &pb::Definition) -> Result<Self, InspectError> {
        let mut ops = Vec::with_capacity(def.def.len());
        for (index, bytes) in def.def.iter().enumerate() {
            let op = pb::Op::decode(bytes.as_slice()).map_err(|e| InspectError::Decode {
                index,
                reason: e.to_string(),
            })?;
            ops.push((digest_of(bytes), op));
        }
        let (_, terminal) = ops.pop().ok_or(InspectError::NoTerminal)?;
        let head = match (&terminal.op, terminal.inputs.as_slice()) {
            (None, [head]) => head.clone(),
            _ => return Err(InspectError::NoTerminal),
        };
        let vertices: Vec<Vertex> = ops
            .into_iter()
            .map(|(digest, op)| Vertex {
                metadata: def.metadata.get(&digest).cloned().unwrap_or_default(),
                digest,
                op,
            })
            .collect();
        let known: BTreeMap<&str, ()> = vertices.iter().map(|v| (v.digest.as_str(), ())).collect();
        for v in &vertices {
            for i in &v.op.inputs {
                if !known.contains_key(i.digest.as_str()) {
                    return Err(InspectError::DanglingInput {
                        op: v.digest.clone(),
                        input: i.digest.clone(),
                    });
                }
            }
        }
        if !known.contains_key(head.digest.as_str()) {
            return Err(InspectError::DanglingInput {
                op: "terminal".into(),
                input: head.digest.clone(),
            });
        }
        Ok(Graph { vertices, head })
    }

    pub fn get(&self, digest: &str) -> Option<&Vertex> {
        self.vertices.iter().find(|v| v.digest == digest)
    }

    /// The vertices whose progress name matches `pred`.
    pub fn named<'a>(
        &'a self,
        pred: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Vertex> + 'a {
        self.vertices
            .iter()
            .filter(move |v| v.name().is_some_and(&pred))
    }

    /// The vertex feeding input `index` of `v`.
    pub fn input_of(&self, v: &Vertex, index: usize) -> Option<&Vertex> {
        v.op.inputs.get(index).and_then(|i| self.get(&i.digest))
    }

    /// One line per vertex: short digest, kind, platform, description.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for v in &self.vertices {
            let short = v.digest.trim_start_matches("sha256:");
            let short = short.get(..12).unwrap_or(short);
            let platform = v
                .platform()
                .map_or_else(|| "-".to_string(), |p| p.to_string());
            let _ = writeln!(
                out,
                "{short}  {:<6} {:<13} {}",
                v.kind(),
                platform,
                one_line(&v.describe())
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_one_line_per_vertex() {
        assert_eq!(one_line("go build ./..."), "go build ./...");
        assert_eq!(one_line("a\nb\r\tc\0é"), "a\\nb\\r\\tc\\u{0}é");
        let source = pb::Op {
            op: Some(pb::op::Op::Source(pb::SourceOp {
                identifier: "docker-image://x\nfake line".into(),
                attrs: Default::default(),
            })),
            ..Default::default()
        };
        let vertex = Vertex {
            digest: digest_of(&source.encode_to_vec()),
            op: source,
            metadata: pb::OpMetadata::default(),
        };
        let graph = Graph {
            head: pb::Input {
                digest: vertex.digest.clone(),
                index: 0,
            },
            vertices: vec![vertex],
        };
        assert_eq!(graph.to_text().lines().count(), 1);
    }
}
