//! The subrequests buildx sends instead of a build (`--call targets`,
//! `--call outline`, `--check`), answered in the JSON shapes of BuildKit's
//! `frontend/subrequests` packages, with the text buildx prints when it
//! cannot render them itself.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::llb::{SourceFile, SourceRange};
use crate::proto::gateway::Result as PbResult;

pub const TARGETS: &str = "frontend.targets";
pub const OUTLINE: &str = "frontend.outline";
pub const LINT: &str = "frontend.lint";
pub const DESCRIBE: &str = "frontend.subrequests.describe";

/// Every subrequest answered here: (name, version, description).
const ANSWERED: [(&str, &str, &str); 4] = [
    (TARGETS, "1.0.0", "List all targets current build supports"),
    (
        OUTLINE,
        "1.0.0",
        "List all parameters current build target supports",
    ),
    (LINT, "1.0.0", "Lint a Dockerfile"),
    (DESCRIBE, "1.0.0", "List available subrequest types"),
];

/// The metadata keys a subrequest answers with.
fn metadata_of(name: &str) -> serde_json::Value {
    let mut keys = vec![
        serde_json::json!({"name": "result.json"}),
        serde_json::json!({"name": "result.txt"}),
    ];
    if name == LINT {
        keys.push(serde_json::json!({"name": "result.statuscode"}));
    }
    serde_json::Value::Array(keys)
}

fn answer(json: Vec<u8>, text: String, version: &str, status: Option<u8>) -> PbResult {
    let mut metadata = BTreeMap::from([
        ("result.json".to_string(), json),
        ("result.txt".to_string(), text.into_bytes()),
        ("version".to_string(), version.as_bytes().to_vec()),
    ]);
    if let Some(status) = status {
        metadata.insert(
            "result.statuscode".to_string(),
            status.to_string().into_bytes(),
        );
    }
    PbResult {
        metadata,
        ..Default::default()
    }
}

/// One entry of `--call targets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetInfo {
    pub name: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    pub description: &'static str,
}

#[derive(Serialize)]
struct TargetList<'a> {
    targets: &'a [TargetInfo],
    sources: Vec<String>,
}

/// The answer to `frontend.targets`.
pub fn targets(targets: &[TargetInfo]) -> Result<PbResult, serde_json::Error> {
    let json = serde_json::to_vec_pretty(&TargetList {
        targets,
        sources: Vec::new(),
    })?;
    let width = targets
        .iter()
        .map(|t| t.name.len() + 10)
        .max()
        .unwrap_or(10);
    let mut text = format!("{:<width$} DESCRIPTION\n", "TARGET");
    for t in targets {
        let name = if t.default {
            format!("{} (default)", t.name)
        } else {
            t.name.to_string()
        };
        text.push_str(&format!("{name:<width$} {}\n", t.description));
    }
    Ok(answer(json, text, "1.0.0", None))
}

/// The answer to `frontend.subrequests.describe`.
pub fn describe() -> Result<PbResult, serde_json::Error> {
    let requests: Vec<serde_json::Value> = ANSWERED
        .iter()
        .map(|(name, version, description)| {
            serde_json::json!({
                "name": name,
                "version": version,
                "type": "rpc",
                "description": description,
                "opts": [],
                "inputs": [],
                "metadata": metadata_of(name),
                "refs": [],
            })
        })
        .collect();
    let json = serde_json::to_vec_pretty(&requests)?;
    let mut text = String::from("NAME\tVERSION\tDESCRIPTION\n");
    for (name, version, description) in ANSWERED {
        text.push_str(&format!("{name}\t{version}\t{description}\n"));
    }
    Ok(answer(json, text, "1.0.0", None))
}

/// What `--call outline` shows: the target and its build arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outline {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<OutlineArg>,
}

/// One build argument of the outline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutlineArg {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The value the build uses unless told otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// The answer to `frontend.outline`, with the table buildx prints.
pub fn outline(outline: &Outline) -> Result<PbResult, serde_json::Error> {
    let json = serde_json::to_vec_pretty(outline)?;
    let mut text = String::new();
    let name = if outline.name.is_empty() {
        "(default)"
    } else {
        &outline.name
    };
    text.push_str(&format!("TARGET:      {name}\n"));
    if !outline.description.is_empty() {
        text.push_str(&format!("DESCRIPTION: {}\n", outline.description));
    }
    text.push('\n');
    let rows: Vec<[&str; 3]> = std::iter::once(["BUILD ARG", "VALUE", "DESCRIPTION"])
        .chain(
            outline
                .args
                .iter()
                .map(|a| [a.name.as_str(), a.value.as_str(), a.description.as_str()]),
        )
        .collect();
    let widths = [0, 1].map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0));
    for r in &rows {
        text.push_str(
            format!(
                "{:<w0$}   {:<w1$}   {}",
                r[0],
                r[1],
                r[2],
                w0 = widths[0],
                w1 = widths[1]
            )
            .trim_end(),
        );
        text.push('\n');
    }
    Ok(answer(json, text, "1.0.0", None))
}

/// One finding of `--check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckWarning {
    /// A CamelCase rule name, as the Dockerfile frontend's rules have.
    pub rule: &'static str,
    /// What the rule is about, the same for every finding.
    pub description: &'static str,
    /// This finding, naming what the user wrote.
    pub detail: String,
    /// Where in the entrypoint file, when it is there.
    pub ranges: Vec<SourceRange>,
}

/// What `--check` found: warnings, or the error that stopped it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The entrypoint file, when it could be read.
    pub file: Option<SourceFile>,
    pub warnings: Vec<CheckWarning>,
    pub error: Option<(String, Vec<SourceRange>)>,
}

#[derive(Serialize)]
struct LintJson<'a> {
    warnings: Vec<LintWarningJson<'a>>,
    sources: Vec<SourceInfoJson>,
    #[serde(rename = "buildError", skip_serializing_if = "Option::is_none")]
    error: Option<LintErrorJson>,
}

#[derive(Serialize)]
struct LintWarningJson<'a> {
    #[serde(rename = "ruleName")]
    rule: &'a str,
    description: &'a str,
    detail: &'a str,
    location: LocationJson,
}

#[derive(Serialize)]
struct LintErrorJson {
    message: String,
    location: LocationJson,
}

/// `pb.SourceInfo` as Go's encoding/json writes it (bytes as base64).
#[derive(Serialize)]
struct SourceInfoJson {
    filename: String,
    data: String,
    language: String,
}

#[derive(Serialize)]
struct LocationJson {
    #[serde(rename = "sourceIndex")]
    source_index: i32,
    ranges: Vec<RangeJson>,
}

#[derive(Serialize)]
struct RangeJson {
    start: PositionJson,
    end: PositionJson,
}

#[derive(Serialize)]
struct PositionJson {
    line: u32,
    character: u32,
}

fn location(has_file: bool, ranges: &[SourceRange]) -> LocationJson {
    let position = |p: crate::llb::Position| PositionJson {
        line: p.line,
        character: p.character,
    };
    LocationJson {
        // -1: no file to show lines of.
        source_index: if has_file && !ranges.is_empty() {
            0
        } else {
            -1
        },
        ranges: ranges
            .iter()
            .map(|r| RangeJson {
                start: position(r.start),
                end: position(r.end),
            })
            .collect(),
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The answer to `frontend.lint`: status 1 when anything was found, so
/// `--check` fails on warnings and errors and passes when nothing is found.
pub fn lint(report: &CheckReport) -> Result<PbResult, serde_json::Error> {
    let has_file = report.file.is_some();
    let json = LintJson {
        warnings: report
            .warnings
            .iter()
            .map(|w| LintWarningJson {
                rule: w.rule,
                description: w.description,
                detail: &w.detail,
                location: location(has_file, &w.ranges),
            })
            .collect(),
        sources: match (&report.file, &report.error) {
            (Some(f), _) => vec![SourceInfoJson {
                filename: f.filename.clone(),
                data: base64(&f.data),
                language: f.language.clone(),
            }],
            // buildx prints an error's source 0 unchecked: give it an
            // empty one rather than none.
            (None, Some(_)) => vec![SourceInfoJson {
                filename: String::new(),
                data: String::new(),
                language: String::new(),
            }],
            (None, None) => Vec::new(),
        },
        error: report
            .error
            .as_ref()
            .map(|(message, ranges)| LintErrorJson {
                message: message.clone(),
                // buildx prints the error's file: it must point at one.
                location: LocationJson {
                    source_index: 0,
                    ..location(has_file, ranges)
                },
            }),
    };
    let bytes = serde_json::to_vec_pretty(&json)?;
    let mut text = String::new();
    for w in &report.warnings {
        text.push_str(&format!("WARNING: {}\n{}\n", w.rule, w.detail));
    }
    if let Some((message, _)) = &report.error {
        text.push_str(&format!("ERROR: {message}\n"));
    }
    let failed = !report.warnings.is_empty() || report.error.is_some();
    Ok(answer(bytes, text, "1.0.0", Some(u8::from(failed))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(r: &PbResult) -> serde_json::Value {
        serde_json::from_slice(&r.metadata["result.json"]).unwrap_or_default()
    }

    #[test]
    fn targets_are_listed_with_the_default() {
        let info = |name, default| TargetInfo {
            name,
            default,
            description: "what it is",
        };
        let r = targets(&[info("image", true), info("tags", false)]).unwrap_or_default();
        let json = json_of(&r);
        assert_eq!(json["targets"][0]["name"], "image");
        assert_eq!(json["targets"][0]["default"], true);
        assert_eq!(json["targets"][1].get("default"), None);
        let text = String::from_utf8_lossy(&r.metadata["result.txt"]).to_string();
        assert!(text.starts_with("TARGET"));
        assert!(text.contains("image (default)"));
        assert!(r.result.is_none());
    }

    #[test]
    fn describe_lists_every_answered_subrequest() {
        let json = json_of(&describe().unwrap_or_default());
        let names: Vec<&str> = json
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, [TARGETS, OUTLINE, LINT, DESCRIBE]);
        assert_eq!(json[2]["metadata"][2]["name"], "result.statuscode");
    }

    #[test]
    fn outline_has_buildkits_shape_and_a_table() {
        let o = Outline {
            name: "image".into(),
            description: "the image".into(),
            args: vec![OutlineArg {
                name: "TAILSCALE_VERSION".into(),
                description: "Tailscale release".into(),
                value: "v1.98.5".into(),
            }],
        };
        let r = outline(&o).unwrap_or_default();
        assert_eq!(
            json_of(&r),
            serde_json::json!({"name": "image", "description": "the image", "args": [
                {"name": "TAILSCALE_VERSION", "description": "Tailscale release", "value": "v1.98.5"}
            ]})
        );
        let text = String::from_utf8_lossy(&r.metadata["result.txt"]).to_string();
        assert!(
            text.contains("TAILSCALE_VERSION   v1.98.5   Tailscale release"),
            "{text}"
        );
    }

    #[test]
    fn lint_reports_status_sources_and_locations() {
        let file = SourceFile {
            filename: "Dockerfile".into(),
            language: "Dockerfile".into(),
            data: b"# syntax=x\n[images]\ngolang = \"golang:1\"\n".to_vec(),
        };
        let clean = lint(&CheckReport {
            file: Some(file.clone()),
            ..CheckReport::default()
        })
        .unwrap_or_default();
        assert_eq!(clean.metadata["result.statuscode"], b"0");
        let found = lint(&CheckReport {
            file: Some(file),
            warnings: vec![CheckWarning {
                rule: "ImagePinnedByTagOnly",
                description: "d",
                detail: "images.golang ...".into(),
                ranges: vec![SourceRange::line(3)],
            }],
            error: None,
        })
        .unwrap_or_default();
        assert_eq!(found.metadata["result.statuscode"], b"1");
        let json = json_of(&found);
        assert_eq!(json["warnings"][0]["ruleName"], "ImagePinnedByTagOnly");
        assert_eq!(json["warnings"][0]["location"]["sourceIndex"], 0);
        assert_eq!(
            json["warnings"][0]["location"]["ranges"][0]["start"]["line"],
            3
        );
        assert_eq!(json["sources"][0]["filename"], "Dockerfile");
        assert_eq!(
            json["sources"][0]["data"],
            "IyBzeW50YXg9eApbaW1hZ2VzXQpnb2xhbmcgPSAiZ29sYW5nOjEiCg=="
        );
        // An error without a file to show still has a source 0: buildx
        // indexes it unchecked.
        let bare = lint(&CheckReport {
            error: Some(("it failed".into(), Vec::new())),
            ..CheckReport::default()
        })
        .unwrap_or_default();
        let json = json_of(&bare);
        assert_eq!(json["sources"].as_array().map(Vec::len), Some(1));
        assert_eq!(json["buildError"]["location"]["sourceIndex"], 0);
        assert_eq!(bare.metadata["result.statuscode"], b"1");
    }
}
