//! The SBOM of a target's result (`--sbom=true`): what the image really
//! holds, from what the build used. A scanner cannot see it: the two
//! binaries are UPX-packed (Go's build info and busybox's version string
//! sit in compressed bytes) and a scratch image has no package database.
//! The build knows it all: one step per platform reads the Go build info
//! of the unpacked binary, the checksums, busybox's version and applet
//! list and the golang image's apk database ([`facts`]); the frontend
//! reads those files and [`document`] writes the SPDX JSON.
//!
//! Nothing here is in a result's graph: a build without `--sbom` marshals
//! exactly what it did before.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

use super::request::{BuildRequest, Target};
use super::sources::input;
use super::steps::{OUT, Steps, script};
use crate::llb::{ImageRef, NetMode, OutputMount, Platform, State};
use crate::spdx::{self, Checksum, Document, Element, Package, Purpose, Relation};

const FACTS: &str = include_str!("scripts/sbom-facts.sh");

/// Where the facts step mounts what it reads.
const TAILSCALE_DIR: &str = "/sbom/tailscale";
const TAGS_DIR: &str = "/sbom/tags";
const BUSYBOX_DIR: &str = "/sbom/busybox";
const BUSYBOX_TREE: &str = "/sbom/busybox-tree";

/// The files the facts step writes (each one, empty when its part is
/// absent), for the frontend to read.
pub const FACT_FILES: [&str; 6] = [
    "checksums.txt",
    "go-buildinfo.json",
    "go.env",
    "busybox-makefile",
    "busybox.links",
    "apk-installed",
];

/// Paths in the image of what the SBOM lists as files.
const TAILSCALE_PATH: &str = "/usr/local/bin/tailscale.combined";
const BUSYBOX_PATH: &str = "/bin/busybox";

/// A base image a result was built from: the pin as resolved (by digest),
/// or `None` when a named context gave a directory instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsedImage {
    pub input: &'static str,
    pub reference: Option<ImageRef>,
}

/// What the SBOM of one platform's result is made from.
#[derive(Clone, Debug)]
pub struct SbomSource {
    pub platform: Platform,
    /// Holds [`FACT_FILES`]. Solving it runs the build up to the result.
    pub facts: State,
    pub images: Vec<UsedImage>,
    /// The Tailscale source came from a named context, not the recipe's
    /// repository.
    pub tailscale_from_context: bool,
    /// Likewise for busybox.
    pub busybox_from_context: bool,
}

/// The parts of a result the facts step reads, each a state mounted
/// read-only.
pub(super) struct Parts {
    /// `/tailscale.combined`, as the image holds it.
    pub tailscale: Option<State>,
    /// The tags step's output (`go.env`).
    pub tags: Option<State>,
    /// `/busybox` as the image holds it, and the configured tree.
    pub busybox: Option<(State, State)>,
    /// The result ships the CA bundle of `base`.
    pub ca_bundle: bool,
}

/// The facts step for `target`, run on `base` (the Go base when Tailscale
/// is part of the result: it has go and upx; else the busybox toolchain).
pub(super) fn facts(steps: &Steps, base: &State, target: &Platform, parts: Parts) -> State {
    let mut run = script(base, "sbom-facts", FACTS)
        .env("MTTS_OUT", OUT)
        .network(NetMode::None);
    if let Some(binary) = &parts.tailscale {
        run = run
            .env(
                "MTTS_TAILSCALE",
                format!("{TAILSCALE_DIR}/tailscale.combined"),
            )
            .env("MTTS_UPX", if steps.recipe().upx { "1" } else { "0" })
            .mount_ro(TAILSCALE_DIR, binary);
    }
    if let Some(tags) = &parts.tags {
        run = run
            .env("MTTS_TAGS", format!("{TAGS_DIR}/go.env"))
            .mount_ro(TAGS_DIR, tags);
    }
    if let Some((binary, tree)) = &parts.busybox {
        run = run
            .env("MTTS_BUSYBOX", format!("{BUSYBOX_DIR}/busybox"))
            .env("MTTS_BUSYBOX_TREE", BUSYBOX_TREE)
            .mount_ro(BUSYBOX_DIR, binary)
            .mount_ro(BUSYBOX_TREE, tree);
    }
    if parts.ca_bundle {
        run = run.env("MTTS_CA_BUNDLE", super::image::CA_BUNDLE);
    }
    steps
        .op(
            run,
            format!("[sbom {target}] what the result holds"),
            &["tailscale.version", "busybox.version"],
        )
        .output(OUT, OutputMount::Empty)
}

/// A fact file that does not say what it should.
#[derive(Debug, thiserror::Error)]
#[error("the SBOM facts of {platform}: {file}: {message}")]
pub struct FactError {
    pub platform: String,
    pub file: &'static str,
    pub message: String,
}

/// `go version -m -json`: Go's `runtime/debug.BuildInfo`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct BuildInfo {
    #[serde(default)]
    go_version: String,
    #[serde(default)]
    deps: Vec<Module>,
    #[serde(default)]
    settings: Vec<BuildSetting>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
struct Module {
    path: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    sum: String,
    #[serde(default)]
    replace: Option<Box<Module>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BuildSetting {
    key: String,
    #[serde(default)]
    value: String,
}

/// `ROLE SHA256 SHA1` lines.
fn checksums(text: &str) -> BTreeMap<&str, Vec<Checksum>> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (role, sha256, sha1) = (f.next()?, f.next()?, f.next()?);
            Some((role, vec![Checksum::sha256(sha256), Checksum::sha1(sha1)]))
        })
        .collect()
}

/// busybox's version from its Makefile's first lines.
fn busybox_version(makefile: &str) -> Option<String> {
    let var = |name: &str| {
        makefile.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    Some(format!(
        "{}.{}.{}{}",
        var("VERSION")?,
        var("PATCHLEVEL")?,
        var("SUBLEVEL")?,
        var("EXTRAVERSION").unwrap_or_default()
    ))
}

/// The version and architecture of `package` in an apk database
/// (`/lib/apk/db/installed`: blocks of `P:`, `V:`, `A:` lines).
fn apk_package(db: &str, package: &str) -> Option<(String, String)> {
    db.split("\n\n").find_map(|block| {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(k).map(str::to_string))
        };
        (field("P:")? == package).then(|| {
            (
                field("V:").unwrap_or_default(),
                field("A:").unwrap_or_default(),
            )
        })
    })
}

/// The commit the version stamps name (`-X ...gitCommitStamp=<hex>`).
fn commit_stamp(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("gitCommitStamp=")?;
    let commit: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (commit.len() == 40).then_some(commit)
}

/// Go's `h1:` module hash as the SHA256 checksum SPDX can hold (the way
/// syft writes it).
fn h1_checksum(sum: &str) -> Option<Checksum> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sum.strip_prefix("h1:")?)
        .ok()?;
    (bytes.len() == 32).then(|| Checksum::sha256(&hex::encode(bytes)))
}

/// Package URL of a Go module.
fn go_purl(path: &str, version: &str) -> String {
    format!("pkg:golang/{path}@{version}")
}

/// The SPDX document of `source`'s result, from the fact files (by name,
/// as [`FACT_FILES`]).
pub fn document(
    req: &BuildRequest,
    source: &SbomSource,
    files: &BTreeMap<&str, Vec<u8>>,
) -> Result<Vec<u8>, FactError> {
    let platform = source.platform.to_string();
    let text = |file: &'static str| {
        String::from_utf8(files.get(file).cloned().unwrap_or_default()).map_err(|_| FactError {
            platform: platform.clone(),
            file,
            message: "not text".into(),
        })
    };
    let sums_text = text("checksums.txt")?;
    let sums = checksums(&sums_text);
    let title = req
        .recipe
        .labels
        .get("org.opencontainers.image.title")
        .cloned()
        .unwrap_or_else(|| "mikrotik-tailscale".to_string());
    let mut doc = Document::new(
        &format!("{title} {} ({platform})", req.target.name()),
        &req.args.source_date_epoch.to_string(),
        vec![format!("Tool: mtts-frontend-{}", env!("CARGO_PKG_VERSION"))],
    );
    // What the document describes: the image, or the target's one part.
    let image = (req.target == Target::Image).then(|| {
        doc.package(Package {
            name: title.clone(),
            version: Some(req.args.oci_version.clone()),
            purpose: Some(Purpose::Container),
            comment: Some(format!("the {platform} image")),
            ..Package::default()
        })
    });
    let mut top = Vec::new();
    let images = base_images(&mut doc, &source.images);

    // Tailscale: the source's version and commit, then what go build linked.
    let go_env = text("go.env")?;
    let buildinfo = text("go-buildinfo.json")?;
    if req.target != Target::Busybox {
        let version = &req.args.tailscale_version;
        let repository = &req.recipe.tailscale.repository;
        let commit = commit_stamp(&go_env);
        let info: Option<BuildInfo> = if buildinfo.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(&buildinfo).map_err(|e| FactError {
                platform: platform.clone(),
                file: "go-buildinfo.json",
                message: e.to_string(),
            })?)
        };
        let setting = |key: &str| {
            info.as_ref().and_then(|i| {
                i.settings
                    .iter()
                    .find(|s| s.key == key)
                    .map(|s| s.value.clone())
            })
        };
        let mut comment = Vec::new();
        if let Some(tags) = setting("-tags") {
            comment.push(format!("build tags: {tags}"));
        }
        if let Some(info) = &info {
            comment.push(format!("built with {}", info.go_version));
            let target: Vec<String> = ["GOOS", "GOARCH", "GOARM", "CGO_ENABLED"]
                .iter()
                .filter_map(|k| setting(k).map(|v| format!("{k}={v}")))
                .collect();
            comment.push(target.join(" "));
        }
        let tailscale = doc.package(Package {
            name: "tailscale.com".into(),
            version: Some(version.clone()),
            download_location: (!source.tailscale_from_context)
                .then(|| format!("git+{repository}@{version}")),
            purpose: Some(if info.is_some() {
                Purpose::Application
            } else {
                Purpose::Source
            }),
            checksums: sums.get("tailscale").cloned().unwrap_or_default(),
            purl: Some(go_purl("tailscale.com", version)),
            source_info: commit.map(|c| format!("built from commit {c}")),
            comment: (!comment.is_empty()).then(|| comment.join("; ")),
            ..Package::default()
        });
        top.push(tailscale.clone());
        if let Some(golang) = images.get(input::GOLANG) {
            doc.relate(golang, Relation::BuildDependencyOf, &tailscale);
        }
        if let Some(info) = &info {
            let stdlib_version = info.go_version.trim_start_matches("go");
            let stdlib = doc.package(Package {
                name: "stdlib".into(),
                version: Some(info.go_version.clone()),
                purpose: Some(Purpose::Library),
                purl: Some(format!("pkg:golang/stdlib@{stdlib_version}")),
                comment: Some("the Go toolchain and standard library it linked".into()),
                ..Package::default()
            });
            doc.relate(&tailscale, Relation::DependsOn, &stdlib);
            for dep in &info.deps {
                let module = dep.replace.as_deref().unwrap_or(dep);
                let id = doc.package(Package {
                    name: module.path.clone(),
                    version: Some(module.version.clone()),
                    purpose: Some(Purpose::Library),
                    checksums: h1_checksum(&module.sum).into_iter().collect(),
                    purl: Some(go_purl(&module.path, &module.version)),
                    comment: (!module.sum.is_empty()).then(|| format!("go.sum {}", module.sum)),
                    ..Package::default()
                });
                doc.relate(&tailscale, Relation::DependsOn, &id);
            }
            let file = doc.file(spdx::File {
                path: TAILSCALE_PATH.into(),
                checksums: sums.get("tailscale").cloned().unwrap_or_default(),
            });
            doc.relate(&tailscale, Relation::Contains, &file);
            top.push(file);
        }
    }

    // busybox: the release (or the named context's tree) and its applets.
    let makefile = text("busybox-makefile")?;
    if let Some(version) = busybox_version(&makefile) {
        let links = text("busybox.links")?;
        let mut applets: Vec<&str> = links
            .lines()
            .filter_map(|l| l.trim().rsplit('/').next())
            .filter(|a| !a.is_empty())
            .collect();
        applets.sort_unstable();
        applets.dedup();
        let from_release = !source.busybox_from_context;
        let busybox = doc.package(Package {
            name: "busybox".into(),
            version: Some(version.clone()),
            download_location: from_release.then(|| {
                req.recipe
                    .busybox
                    .url
                    .replace("{version}", &req.args.busybox_version)
            }),
            purpose: Some(Purpose::Application),
            // The release tarball's checksum (what downloadLocation gives).
            checksums: if from_release {
                vec![Checksum::sha256(&req.args.busybox_sha256)]
            } else {
                Vec::new()
            },
            cpe: Some(format!("cpe:2.3:a:busybox:busybox:{version}:*:*:*:*:*:*:*")),
            purl: Some(format!("pkg:generic/busybox@{version}")),
            comment: Some(format!("applets: {}", applets.join(" "))),
            ..Package::default()
        });
        top.push(busybox.clone());
        for name in [input::ALPINE, input::XX] {
            if let Some(image) = images.get(name) {
                doc.relate(image, Relation::BuildDependencyOf, &busybox);
            }
        }
        if let Some(sums) = sums.get("busybox") {
            let file = doc.file(spdx::File {
                path: BUSYBOX_PATH.into(),
                checksums: sums.clone(),
            });
            doc.relate(&busybox, Relation::Contains, &file);
            top.push(file);
        }
    }

    // The CA bundle, and the apk package it came from in the golang image.
    if let Some(sums) = sums.get("ca-bundle") {
        let db = text("apk-installed")?;
        let installed = apk_package(&db, "ca-certificates");
        let ca = doc.package(Package {
            name: "ca-certificates".into(),
            version: installed.as_ref().map(|(v, _)| v.clone()),
            purpose: Some(Purpose::Library),
            purl: installed
                .as_ref()
                .map(|(v, arch)| format!("pkg:apk/alpine/ca-certificates@{v}?arch={arch}")),
            comment: Some(match installed {
                Some(_) => "the CA bundle, from the golang image's apk package".into(),
                None => "the CA bundle of the golang image, which has no apk database to name its package".into(),
            }),
            ..Package::default()
        });
        let file = doc.file(spdx::File {
            path: super::image::CA_BUNDLE.into(),
            checksums: sums.clone(),
        });
        doc.relate(&ca, Relation::Contains, &file);
        if let Some(golang) = images.get(input::GOLANG) {
            doc.relate(&ca, Relation::GeneratedFrom, golang);
        }
        top.push(ca);
        top.push(file);
    }

    let root = Document::root();
    match &image {
        Some(image) => {
            doc.relate(&root, Relation::Describes, image);
            for part in &top {
                doc.relate(image, Relation::Contains, part);
            }
        }
        None => {
            for part in &top {
                doc.relate(&root, Relation::Describes, part);
            }
        }
    }
    doc.to_json().map_err(|e| FactError {
        platform,
        file: "the SPDX document",
        message: e.to_string(),
    })
}

/// A package per base image: by digest, or the named context's directory.
fn base_images(doc: &mut Document, images: &[UsedImage]) -> BTreeMap<&'static str, Element> {
    images
        .iter()
        .map(|used| {
            let package = match &used.reference {
                Some(r) => {
                    let digest = r.digest().unwrap_or_default();
                    let short_name = r.name().rsplit('/').next().unwrap_or(r.name());
                    let mut purl = format!(
                        "pkg:oci/{short_name}@{}?repository_url={}",
                        digest.replace(':', "%3A"),
                        r.name()
                    );
                    if let Some(tag) = r.tag() {
                        purl.push_str(&format!("&tag={tag}"));
                    }
                    Package {
                        name: r.name().to_string(),
                        version: r.tag().map(str::to_string),
                        download_location: None,
                        purpose: Some(Purpose::Container),
                        checksums: digest
                            .strip_prefix("sha256:")
                            .map(Checksum::sha256)
                            .into_iter()
                            .collect(),
                        purl: (!digest.is_empty()).then_some(purl),
                        comment: Some(format!("base image {:?}: {r}", used.input)),
                        ..Package::default()
                    }
                }
                None => Package {
                    name: used.input.to_string(),
                    purpose: Some(Purpose::Container),
                    comment: Some(format!(
                        "base image {:?}: a directory given as a named context",
                        used.input
                    )),
                    ..Package::default()
                },
            };
            (used.input, doc.package(package))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llb::{NetMode, ResolveMode};
    use crate::recipe::{DaemonSupport, Recipe, RequestOptions};

    fn request() -> BuildRequest {
        BuildRequest::new(RequestOptions {
            recipe: Recipe::default(),
            platforms: vec!["linux/arm/v7".into()],
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            target: String::new(),
            build_platform: Platform::new("linux", "amd64", None),
            network: NetMode::Sandbox,
            no_cache: None,
            resolve_mode: ResolveMode::Default,
            daemon: DaemonSupport::all(),
            recipe_file: None,
        })
        .map(|(r, _)| r)
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fact files as the facts step writes them for linux/arm/v7.
    pub(crate) fn sample_facts() -> BTreeMap<&'static str, Vec<u8>> {
        let buildinfo = r#"{
            "GoVersion": "go1.26.5",
            "Path": "tailscale.com/cmd/tailscaled",
            "Main": {"Path": "tailscale.com", "Version": "(devel)"},
            "Deps": [
                {"Path": "golang.org/x/net", "Version": "v0.47.0", "Sum": "h1:r7nyYGKkV5Ov+YxzmYBj0Rp1Ch1gyLHrnZd9XvuVlxw="},
                {"Path": "example.com/old", "Version": "v1.0.0", "Sum": "h1:r7nyYGKkV5Ov+YxzmYBj0Rp1Ch1gyLHrnZd9XvuVlxw=",
                 "Replace": {"Path": "example.com/new", "Version": "v1.1.0", "Sum": "h1:r7nyYGKkV5Ov+YxzmYBj0Rp1Ch1gyLHrnZd9XvuVlxw="}}
            ],
            "Settings": [
                {"Key": "-tags", "Value": "ts_include_cli,ts_omit_ssh"},
                {"Key": "CGO_ENABLED", "Value": "0"},
                {"Key": "GOARCH", "Value": "arm"},
                {"Key": "GOOS", "Value": "linux"},
                {"Key": "GOARM", "Value": "7"}
            ]
        }"#;
        let sha = |c: char| c.to_string().repeat(64);
        let sha1 = |c: char| c.to_string().repeat(40);
        BTreeMap::from([
            (
                "checksums.txt",
                format!(
                    "tailscale {} {}\nbusybox {} {}\nca-bundle {} {}\n",
                    sha('a'),
                    sha1('a'),
                    sha('b'),
                    sha1('b'),
                    sha('c'),
                    sha1('c')
                )
                .into_bytes(),
            ),
            ("go-buildinfo.json", buildinfo.as_bytes().to_vec()),
            (
                "go.env",
                b"GOFLAGS=-buildvcs=false '-ldflags=-X tailscale.com/version.gitCommitStamp=0123456789abcdef0123456789abcdef01234567'\n".to_vec(),
            ),
            (
                "busybox-makefile",
                b"VERSION = 1\nPATCHLEVEL = 38\nSUBLEVEL = 0\nEXTRAVERSION =\n".to_vec(),
            ),
            ("busybox.links", b"/bin/ash\n/bin/sh\n/usr/bin/awk\n".to_vec()),
            ("apk-installed", Vec::new()),
        ])
    }

    pub(crate) fn sample_source() -> SbomSource {
        let pin = |s: &str| ImageRef::parse(s).ok();
        SbomSource {
            platform: Platform::new("linux", "arm", Some("v7")),
            facts: State::scratch(),
            images: vec![
                UsedImage {
                    input: input::GOLANG,
                    reference: pin(
                        "golang:1.26.5-alpine@sha256:0178a641fbb4858c5f1b48e34bdaabe0350a330a1b1149aabd498d0699ff5fb2",
                    ),
                },
                UsedImage {
                    input: input::ALPINE,
                    reference: None,
                },
            ],
            tailscale_from_context: false,
            busybox_from_context: false,
        }
    }

    #[test]
    fn the_document_lists_what_the_facts_say() {
        let req = request();
        let doc = document(&req, &sample_source(), &sample_facts()).unwrap_or_default();
        assert_eq!(
            doc,
            document(&req, &sample_source(), &sample_facts()).unwrap_or_default(),
            "the same facts give the same bytes"
        );
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap_or_default();
        let packages = v["packages"].as_array().cloned().unwrap_or_default();
        let find = |name: &str| {
            packages
                .iter()
                .find(|p| p["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("no package {name} in {v:#}"))
        };
        assert_eq!(
            find("mikrotik-tailscale")["primaryPackagePurpose"],
            "CONTAINER"
        );
        let tailscale = find("tailscale.com");
        assert_eq!(
            tailscale["versionInfo"],
            req.args.tailscale_version.as_str()
        );
        assert_eq!(
            tailscale["sourceInfo"],
            "built from commit 0123456789abcdef0123456789abcdef01234567"
        );
        let comment = tailscale["comment"].as_str().unwrap_or_default();
        assert!(
            comment.contains("build tags: ts_include_cli,ts_omit_ssh"),
            "{comment}"
        );
        assert!(comment.contains("GOARCH=arm GOARM=7"), "{comment}");
        assert_eq!(find("stdlib")["versionInfo"], "go1.26.5");
        assert_eq!(find("golang.org/x/net")["versionInfo"], "v0.47.0");
        // A replaced module is listed as what was linked.
        assert_eq!(find("example.com/new")["versionInfo"], "v1.1.0");
        let busybox = find("busybox");
        assert_eq!(busybox["versionInfo"], "1.38.0");
        assert_eq!(
            busybox["checksums"][0]["checksumValue"],
            req.args.busybox_sha256.as_str()
        );
        assert_eq!(busybox["comment"], "applets: ash awk sh");
        assert!(find("ca-certificates")["versionInfo"].is_null());
        let golang = find("docker.io/library/golang");
        assert_eq!(golang["versionInfo"], "1.26.5-alpine");
        assert_eq!(find("alpine")["downloadLocation"], "NOASSERTION");
        let files: Vec<&str> = v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["fileName"].as_str())
            .collect();
        assert_eq!(
            files,
            [
                "./usr/local/bin/tailscale.combined",
                "./bin/busybox",
                "./etc/ssl/certs/ca-certificates.crt"
            ]
        );
        assert_eq!(
            v["creationInfo"]["created"],
            req.args.source_date_epoch.to_string().as_str()
        );
        if let Ok(path) = std::env::var("MTTS_WRITE_SAMPLE_SBOM") {
            let _ = std::fs::write(path, &doc);
        }
    }

    #[test]
    fn facts_that_are_not_what_the_tools_write_are_named() {
        let mut facts = sample_facts();
        facts.insert("go-buildinfo.json", b"{not json".to_vec());
        let err = document(&request(), &sample_source(), &facts)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("linux/arm/v7") && err.contains("go-buildinfo.json"),
            "{err}"
        );
    }

    #[test]
    fn fact_files_are_read_as_the_tools_write_them() {
        let sums = checksums("tailscale AA bb\nbusybox CC dd\n");
        assert_eq!(sums["busybox"][0], Checksum::sha256("cc"));
        assert_eq!(sums["tailscale"][1], Checksum::sha1("bb"));
        let makefile =
            "VERSION = 1\nPATCHLEVEL = 38\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = Unnamed\n";
        assert_eq!(busybox_version(makefile).as_deref(), Some("1.38.0"));
        assert_eq!(busybox_version("no makefile"), None);
        let db = "C:Q1x=\nP:musl\nV:1.2.5-r10\nA:x86_64\n\nC:Q1y=\nP:ca-certificates\nV:20250911-r0\nA:aarch64\nT:Common CA\n\n";
        assert_eq!(
            apk_package(db, "ca-certificates"),
            Some(("20250911-r0".into(), "aarch64".into()))
        );
        assert_eq!(apk_package(db, "upx"), None);
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let env = format!(
            "GOFLAGS=-buildvcs=false -tags=x '-ldflags=-s -w -X tailscale.com/version.gitCommitStamp={commit}'\n"
        );
        assert_eq!(commit_stamp(&env).as_deref(), Some(commit));
        assert_eq!(commit_stamp("GOFLAGS=-tags=x"), None);
        // go.sum of golang.org/x/net v0.0.0-20190620200207-3b0461eec859
        let sum = "h1:r7nyYGKkV5Ov+YxzmYBj0Rp1Ch1gyLHrnZd9XvuVlxw=";
        let got = h1_checksum(sum).map(|c| c.value).unwrap_or_default();
        assert_eq!(got.len(), 64);
        assert!(got.starts_with("afb9f2"), "{got}");
        assert_eq!(h1_checksum("h2:abc"), None);
    }
}
