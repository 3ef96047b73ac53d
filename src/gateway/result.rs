//! Turning solved refs into what the gateway returns: one ref or a
//! platform-keyed map, plus the image configs and `refs.platforms` the
//! image exporter reads.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::llb::{Epoch, Platform};
use crate::proto::gateway::{
    Attestation as PbAttestation, AttestationKind, Attestations, Ref, RefMap, Result as PbResult,
    result,
};

pub const IMAGE_CONFIG_KEY: &str = "containerimage.config";
pub const PLATFORMS_KEY: &str = "refs.platforms";
/// Seconds since 1970: the exporters' `SOURCE_DATE_EPOCH`.
pub const EPOCH_KEY: &str = "source.date.epoch";

/// One platform's solved output.
#[derive(Clone, Debug, PartialEq)]
pub struct SolvedPlatform {
    pub platform: Platform,
    pub ref_id: String,
    /// The image config JSON (image target only).
    pub image_config: Option<Vec<u8>>,
    pub epoch: Option<Epoch>,
    /// In-toto attestations of this platform's result, solved.
    pub attestations: Vec<SolvedAttestation>,
}

/// An in-toto statement's predicate: the file `path` of the solved
/// `ref_id`, of type `predicate_type`. Its subject is the platform's
/// image, as BuildKit fills it in when none is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SolvedAttestation {
    pub ref_id: String,
    pub path: String,
    pub predicate_type: String,
    /// Why it is there (`sbom`), as BuildKit's own scanner says it.
    pub reason: String,
}

/// BuildKit's key for the reason of an attestation.
const ATTESTATION_REASON_KEY: &str = "reason";

/// The attestations of `solved`, keyed by platform as `refs.platforms`
/// names them.
fn attestations(solved: &[SolvedPlatform]) -> BTreeMap<String, Attestations> {
    solved
        .iter()
        .filter(|s| !s.attestations.is_empty())
        .map(|s| {
            let list = s
                .attestations
                .iter()
                .map(|a| PbAttestation {
                    kind: AttestationKind::InToto as i32,
                    metadata: BTreeMap::from([(
                        ATTESTATION_REASON_KEY.to_string(),
                        a.reason.clone().into_bytes(),
                    )])
                    .into_iter()
                    .collect(),
                    r#ref: Some(Ref {
                        id: a.ref_id.clone(),
                        def: None,
                    }),
                    path: a.path.clone(),
                    in_toto_predicate_type: a.predicate_type.clone(),
                    in_toto_subjects: Vec::new(),
                })
                .collect();
            (s.platform.to_string(), Attestations { attestation: list })
        })
        .collect()
}

#[derive(Serialize)]
struct ExportPlatforms {
    #[serde(rename = "Platforms")]
    platforms: Vec<ExportPlatform>,
}

#[derive(Serialize)]
struct ExportPlatform {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Platform")]
    platform: OciPlatform,
}

#[derive(Serialize)]
struct OciPlatform {
    architecture: String,
    os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<String>,
}

fn export_platform(p: &Platform) -> ExportPlatform {
    ExportPlatform {
        id: p.to_string(),
        platform: OciPlatform {
            architecture: p.architecture().to_string(),
            os: p.os().to_string(),
            variant: p.variant().map(String::from),
        },
    }
}

/// The gateway result. A single platform (unless the client asked for a
/// multi-platform result) is one ref with `containerimage.config`; several
/// are a map keyed by platform with `containerimage.config/<platform>` and
/// `refs.platforms`, as BuildKit's Dockerfile frontend returns them.
pub fn assemble(
    solved: &[SolvedPlatform],
    multi_platform: bool,
) -> Result<PbResult, serde_json::Error> {
    let mut metadata: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    if let ([one], false) = (solved, multi_platform) {
        if let Some(cfg) = &one.image_config {
            metadata.insert(IMAGE_CONFIG_KEY.to_string(), cfg.clone());
        }
        if let Some(epoch) = one.epoch {
            metadata.insert(EPOCH_KEY.to_string(), epoch.seconds().to_string().into());
        }
        // Say which platform the one ref is for: a binary cross-compiled on
        // the build platform (`--target tailscale`) is still the target's,
        // and exporters otherwise warn that it does not match the request.
        metadata.insert(
            PLATFORMS_KEY.to_string(),
            serde_json::to_vec(&ExportPlatforms {
                platforms: vec![export_platform(&one.platform)],
            })?,
        );
        return Ok(PbResult {
            result: Some(result::Result::Ref(Ref {
                id: one.ref_id.clone(),
                def: None,
            })),
            metadata,
            attestations: attestations(solved).into_iter().collect(),
        });
    }
    let mut refs = BTreeMap::new();
    let mut platforms = Vec::new();
    for s in solved {
        let key = s.platform.to_string();
        if let Some(cfg) = &s.image_config {
            metadata.insert(format!("{IMAGE_CONFIG_KEY}/{key}"), cfg.clone());
        }
        if let Some(epoch) = s.epoch {
            metadata.insert(
                format!("{EPOCH_KEY}/{key}"),
                epoch.seconds().to_string().into(),
            );
        }
        refs.insert(
            key.clone(),
            Ref {
                id: s.ref_id.clone(),
                def: None,
            },
        );
        platforms.push(export_platform(&s.platform));
    }
    metadata.insert(
        PLATFORMS_KEY.to_string(),
        serde_json::to_vec(&ExportPlatforms { platforms })?,
    );
    Ok(PbResult {
        result: Some(result::Result::Refs(RefMap { refs })),
        metadata,
        attestations: attestations(solved).into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solved(p: &str, id: &str, cfg: Option<&str>) -> SolvedPlatform {
        SolvedPlatform {
            platform: p.parse().unwrap_or_else(|e| panic!("{e}")),
            ref_id: id.to_string(),
            image_config: cfg.map(|c| c.as_bytes().to_vec()),
            epoch: Epoch::from_seconds(1_785_864_766),
            attestations: Vec::new(),
        }
    }

    #[test]
    fn one_platform_is_one_ref_with_its_config() {
        let r = assemble(&[solved("linux/arm64", "r1", Some("{}"))], false).unwrap_or_default();
        assert_eq!(
            r.result,
            Some(result::Result::Ref(Ref {
                id: "r1".into(),
                def: None
            }))
        );
        assert_eq!(
            r.metadata.get(IMAGE_CONFIG_KEY).map(Vec::as_slice),
            Some(&b"{}"[..])
        );
        assert_eq!(r.metadata[EPOCH_KEY], b"1785864766");
        let platforms: serde_json::Value =
            serde_json::from_slice(r.metadata.get(PLATFORMS_KEY).map_or(&[][..], Vec::as_slice))
                .unwrap_or_default();
        assert_eq!(
            platforms,
            serde_json::json!({"Platforms": [
                {"ID": "linux/arm64", "Platform": {"architecture": "arm64", "os": "linux"}}
            ]})
        );
    }

    #[test]
    fn several_platforms_are_a_keyed_map() {
        let r = assemble(
            &[
                solved("linux/amd64", "a", Some("A")),
                solved("linux/arm/v7", "b", Some("B")),
            ],
            false,
        )
        .unwrap_or_default();
        let Some(result::Result::Refs(map)) = r.result else {
            panic!("expected a ref map");
        };
        let keys: Vec<&String> = map.refs.keys().collect();
        assert_eq!(keys, ["linux/amd64", "linux/arm/v7"]);
        assert_eq!(map.refs["linux/arm/v7"].id, "b");
        assert_eq!(r.metadata["containerimage.config/linux/amd64"], b"A");
        assert_eq!(r.metadata["containerimage.config/linux/arm/v7"], b"B");
        assert_eq!(r.metadata["source.date.epoch/linux/arm/v7"], b"1785864766");
        let platforms: serde_json::Value =
            serde_json::from_slice(&r.metadata[PLATFORMS_KEY]).unwrap_or_default();
        assert_eq!(
            platforms,
            serde_json::json!({"Platforms": [
                {"ID": "linux/amd64", "Platform": {"architecture": "amd64", "os": "linux"}},
                {"ID": "linux/arm/v7", "Platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
            ]})
        );
    }

    #[test]
    fn attestations_are_keyed_by_platform_with_their_reason() {
        let mut one = solved("linux/arm/v7", "r", None);
        one.attestations.push(SolvedAttestation {
            ref_id: "s".into(),
            path: "/sbom.spdx.json".into(),
            predicate_type: "https://spdx.dev/Document".into(),
            reason: "sbom".into(),
        });
        for multi in [false, true] {
            let r = assemble(std::slice::from_ref(&one), multi).unwrap_or_default();
            let list = &r.attestations["linux/arm/v7"].attestation;
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].kind, AttestationKind::InToto as i32);
            assert_eq!(list[0].r#ref.as_ref().map(|r| r.id.as_str()), Some("s"));
            assert_eq!(list[0].path, "/sbom.spdx.json");
            assert_eq!(list[0].in_toto_predicate_type, "https://spdx.dev/Document");
            assert_eq!(list[0].metadata["reason"], b"sbom");
        }
        let none = assemble(&[solved("linux/amd64", "a", None)], false).unwrap_or_default();
        assert!(none.attestations.is_empty());
    }

    #[test]
    fn multi_platform_request_gets_a_map_even_for_one() {
        let r = assemble(&[solved("linux/amd64", "a", None)], true).unwrap_or_default();
        assert!(matches!(r.result, Some(result::Result::Refs(_))));
        assert!(
            !r.metadata.keys().any(|k| k.starts_with(IMAGE_CONFIG_KEY)),
            "no config for non-image targets"
        );
        assert!(r.metadata.contains_key(PLATFORMS_KEY));
    }
}
