//! SPDX 2.3 documents as JSON, the format BuildKit's own SBOM scanner
//! attaches to images (`https://spdx.dev/Document`). A plain writer: it
//! knows packages, files and relationships, nothing of what a build holds.
//!
//! Determinism: the caller gives the creation time; the namespace is made
//! from the document's own content, so the same content gives the same
//! bytes, and different content a different namespace, as SPDX asks.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The in-toto predicate type of an SPDX document.
pub const PREDICATE_TYPE: &str = "https://spdx.dev/Document";
const NOASSERTION: &str = "NOASSERTION";
const DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";

/// A checksum algorithm SPDX knows, with the value in lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checksum {
    pub algorithm: &'static str,
    #[serde(rename = "checksumValue")]
    pub value: String,
}

impl Checksum {
    pub fn sha256(hex: &str) -> Checksum {
        Checksum {
            algorithm: "SHA256",
            value: hex.to_ascii_lowercase(),
        }
    }

    pub fn sha1(hex: &str) -> Checksum {
        Checksum {
            algorithm: "SHA1",
            value: hex.to_ascii_lowercase(),
        }
    }
}

/// What a package is, for readers that sort them (`primaryPackagePurpose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    Container,
    Application,
    Library,
    Source,
}

/// One package. `None` fields are written as SPDX's NOASSERTION where the
/// format requires a value, and left out where it does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: Option<String>,
    /// Where it was fetched from (SPDX download location syntax).
    pub download_location: Option<String>,
    pub purpose: Option<Purpose>,
    pub checksums: Vec<Checksum>,
    /// Package URL (`pkg:golang/...`): how scanners match it.
    pub purl: Option<String>,
    /// CPE 2.3 name, for scanners that match by CPE.
    pub cpe: Option<String>,
    pub source_info: Option<String>,
    pub comment: Option<String>,
}

/// One file, by its path in the artifact (`/usr/local/bin/...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    /// SPDX 2.3 requires SHA1 among them.
    pub checksums: Vec<Checksum>,
}

/// A relationship between two elements of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Relation {
    Describes,
    Contains,
    DependsOn,
    BuildDependencyOf,
    GeneratedFrom,
}

/// An element's handle, as [`Document::package`] and [`Document::file`]
/// return it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Element(String);

/// A document under construction.
#[derive(Clone, Debug)]
pub struct Document {
    name: String,
    created: String,
    creators: Vec<String>,
    packages: Vec<(Element, Package)>,
    files: Vec<(Element, File)>,
    relationships: Vec<(Element, Relation, Element)>,
}

impl Document {
    /// `created` is an RFC 3339 UTC time (`2026-08-04T17:32:46Z`);
    /// `creators` as SPDX writes them (`Tool: name-version`).
    pub fn new(name: &str, created: &str, creators: Vec<String>) -> Document {
        Document {
            name: name.to_string(),
            created: created.to_string(),
            creators,
            packages: Vec::new(),
            files: Vec::new(),
            relationships: Vec::new(),
        }
    }

    /// The document itself, to say what it describes.
    pub fn root() -> Element {
        Element(DOCUMENT_ID.to_string())
    }

    /// Adds `package`; its id is made from its name and version, and is
    /// unique in the document.
    pub fn package(&mut self, package: Package) -> Element {
        let stem = format!(
            "Package-{}-{}",
            package.name,
            package.version.as_deref().unwrap_or("")
        );
        let id = self.unique_id(&stem);
        self.packages.push((id.clone(), package));
        id
    }

    pub fn file(&mut self, file: File) -> Element {
        let id = self.unique_id(&format!("File-{}", file.path));
        self.files.push((id.clone(), file));
        id
    }

    pub fn relate(&mut self, element: &Element, relation: Relation, related: &Element) {
        self.relationships
            .push((element.clone(), relation, related.clone()));
    }

    /// `SPDXRef-` and `stem` with every character SPDX ids cannot hold
    /// made `-`, numbered when taken already.
    fn unique_id(&self, stem: &str) -> Element {
        let clean: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let taken = |id: &str| {
            self.packages.iter().any(|(e, _)| e.0 == id)
                || self.files.iter().any(|(e, _)| e.0 == id)
        };
        let mut id = format!("SPDXRef-{clean}");
        let mut n = 2;
        while taken(&id) {
            id = format!("SPDXRef-{clean}-{n}");
            n += 1;
        }
        Element(id)
    }

    /// The document as SPDX 2.3 JSON. The namespace is a URN made from the
    /// hash of everything else, so it is unique per content and stable.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut doc = self.wire(String::new());
        let content = serde_json::to_vec(&doc)?;
        doc.document_namespace = namespace(&Sha256::digest(&content));
        let mut out = serde_json::to_vec_pretty(&doc)?;
        out.push(b'\n');
        Ok(out)
    }

    /// SPDX's verification code of the files `package` CONTAINS: the
    /// SHA1 of their sorted SHA1s; `None` when it contains no file.
    fn verification_code(&self, package: &Element) -> Option<String> {
        let mut sha1s: Vec<&str> = self
            .relationships
            .iter()
            .filter(|(a, r, _)| a == package && *r == Relation::Contains)
            .filter_map(|(_, _, b)| self.files.iter().find(|(id, _)| id == b))
            .filter_map(|(_, f)| {
                f.checksums
                    .iter()
                    .find(|c| c.algorithm == "SHA1")
                    .map(|c| c.value.as_str())
            })
            .collect();
        if sha1s.is_empty() {
            return None;
        }
        sha1s.sort_unstable();
        Some(hex::encode(sha1::Sha1::digest(sha1s.concat().as_bytes())))
    }

    fn wire(&self, document_namespace: String) -> WireDocument<'_> {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| NOASSERTION.to_string());
        WireDocument {
            spdx_version: "SPDX-2.3",
            data_license: "CC0-1.0",
            spdx_id: DOCUMENT_ID,
            name: &self.name,
            document_namespace,
            creation_info: WireCreation {
                created: &self.created,
                creators: &self.creators,
            },
            packages: self
                .packages
                .iter()
                .map(|(id, p)| {
                    let mut refs = Vec::new();
                    if let Some(cpe) = &p.cpe {
                        refs.push(WireRef {
                            category: "SECURITY",
                            kind: "cpe23Type",
                            locator: cpe.clone(),
                        });
                    }
                    if let Some(purl) = &p.purl {
                        refs.push(WireRef {
                            category: "PACKAGE-MANAGER",
                            kind: "purl",
                            locator: purl.clone(),
                        });
                    }
                    // A package that contains files lists them: SPDX then
                    // wants their verification code.
                    let code = self.verification_code(id);
                    WirePackage {
                        spdx_id: &id.0,
                        name: &p.name,
                        version_info: p.version.as_deref(),
                        download_location: or_none(&p.download_location),
                        files_analyzed: code.is_some(),
                        package_verification_code: code.map(|value| WireVerificationCode { value }),
                        checksums: &p.checksums,
                        license_concluded: NOASSERTION,
                        license_declared: NOASSERTION,
                        copyright_text: NOASSERTION,
                        source_info: p.source_info.as_deref(),
                        comment: p.comment.as_deref(),
                        external_refs: refs,
                        primary_package_purpose: p.purpose,
                    }
                })
                .collect(),
            files: self
                .files
                .iter()
                .map(|(id, f)| WireFile {
                    spdx_id: &id.0,
                    // SPDX file names are relative, starting with ./
                    file_name: format!("./{}", f.path.trim_start_matches('/')),
                    checksums: &f.checksums,
                    license_concluded: NOASSERTION,
                    copyright_text: NOASSERTION,
                })
                .collect(),
            relationships: self
                .relationships
                .iter()
                .map(|(a, relation, b)| WireRelationship {
                    element: &a.0,
                    relation: *relation,
                    related: &b.0,
                })
                .collect(),
        }
    }
}

/// `urn:uuid:` with a name-based (version 5 layout) UUID from `hash`.
fn namespace(hash: &[u8]) -> String {
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(hash) {
        *dst = *src;
    }
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireDocument<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: &'a str,
    document_namespace: String,
    creation_info: WireCreation<'a>,
    packages: Vec<WirePackage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<WireFile<'a>>,
    relationships: Vec<WireRelationship<'a>>,
}

#[derive(Serialize)]
struct WireCreation<'a> {
    created: &'a str,
    creators: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePackage<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<WireVerificationCode>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    checksums: &'a [Checksum],
    license_concluded: &'static str,
    license_declared: &'static str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<WireRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<Purpose>,
}

#[derive(Serialize)]
struct WireVerificationCode {
    #[serde(rename = "packageVerificationCodeValue")]
    value: String,
}

#[derive(Serialize)]
struct WireRef {
    #[serde(rename = "referenceCategory")]
    category: &'static str,
    #[serde(rename = "referenceType")]
    kind: &'static str,
    #[serde(rename = "referenceLocator")]
    locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireFile<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: &'a str,
    file_name: String,
    checksums: &'a [Checksum],
    license_concluded: &'static str,
    copyright_text: &'static str,
}

#[derive(Serialize)]
struct WireRelationship<'a> {
    #[serde(rename = "spdxElementId")]
    element: &'a str,
    #[serde(rename = "relationshipType")]
    relation: Relation,
    #[serde(rename = "relatedSpdxElement")]
    related: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let mut doc = Document::new(
            "sample",
            "2026-08-04T17:32:46Z",
            vec!["Tool: test-1".into()],
        );
        let app = doc.package(Package {
            name: "tailscale.com".into(),
            version: Some("v1.2.3".into()),
            purpose: Some(Purpose::Application),
            purl: Some("pkg:golang/tailscale.com@v1.2.3".into()),
            ..Package::default()
        });
        let lib = doc.package(Package {
            name: "golang.org/x/net".into(),
            version: Some("v0.1.0".into()),
            checksums: vec![Checksum::sha256("AB")],
            ..Package::default()
        });
        let file = doc.file(File {
            path: "/usr/local/bin/x".into(),
            checksums: vec![Checksum::sha1("00")],
        });
        doc.relate(&Document::root(), Relation::Describes, &app);
        doc.relate(&app, Relation::DependsOn, &lib);
        doc.relate(&app, Relation::Contains, &file);
        doc
    }

    fn json(doc: &Document) -> serde_json::Value {
        serde_json::from_slice(&doc.to_json().unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn a_document_has_spdx_shape_and_ids() {
        let v = json(&sample());
        assert_eq!(v["spdxVersion"], "SPDX-2.3");
        assert_eq!(v["SPDXID"], "SPDXRef-DOCUMENT");
        assert_eq!(v["creationInfo"]["created"], "2026-08-04T17:32:46Z");
        let p = &v["packages"][1];
        assert_eq!(p["SPDXID"], "SPDXRef-Package-golang.org-x-net-v0.1.0");
        assert_eq!(p["downloadLocation"], "NOASSERTION");
        assert_eq!(p["checksums"][0]["checksumValue"], "ab");
        assert_eq!(
            v["packages"][0]["externalRefs"][0]["referenceLocator"],
            "pkg:golang/tailscale.com@v1.2.3"
        );
        assert_eq!(v["files"][0]["fileName"], "./usr/local/bin/x");
        assert_eq!(v["relationships"][1]["relationshipType"], "DEPENDS_ON");
        // The package that contains a file has its verification code:
        // sha1("00"), the one file's SHA1 as text.
        assert_eq!(v["packages"][0]["filesAnalyzed"], true);
        assert_eq!(
            v["packages"][0]["packageVerificationCode"]["packageVerificationCodeValue"],
            "fb96549631c835eb239cd614cc6b5cb7d295121a"
        );
        assert_eq!(v["packages"][1]["filesAnalyzed"], false);
        assert!(
            v["documentNamespace"]
                .as_str()
                .is_some_and(|n| n.starts_with("urn:uuid:") && n.len() == 45)
        );
    }

    #[test]
    fn the_same_content_gives_the_same_bytes_and_other_content_another_namespace() {
        let a = sample().to_json().unwrap_or_default();
        assert_eq!(a, sample().to_json().unwrap_or_default());
        let mut other = sample();
        other.package(Package {
            name: "more".into(),
            ..Package::default()
        });
        assert_ne!(
            json(&other)["documentNamespace"],
            json(&sample())["documentNamespace"]
        );
    }

    #[test]
    fn ids_stay_unique() {
        let mut doc = Document::new("d", "2026-01-01T00:00:00Z", Vec::new());
        let a = doc.package(Package {
            name: "a/b".into(),
            ..Package::default()
        });
        let b = doc.package(Package {
            name: "a-b".into(),
            ..Package::default()
        });
        assert_ne!(a, b);
        assert_eq!(b.0, "SPDXRef-Package-a-b--2");
    }
}
