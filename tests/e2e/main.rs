//! End to end: a real BuildKit (docker 26 + buildx) builds the multi-arch
//! image through `# syntax=` with our frontend image, from hermetic fixture
//! images and source trees, and the exported OCI image is checked file by
//! file. `scripts/test` starts the daemon, builds the fixture images and the
//! frontend image, and runs these tests with `--ignored`; it passes the
//! frontend image in `MTTS_E2E_FRONTEND`.

#[path = "../common/image_config.rs"]
mod image_config;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const WHY: &str = "needs a BuildKit daemon: run scripts/test";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn frontend() -> String {
    match std::env::var("MTTS_E2E_FRONTEND") {
        Ok(image) if !image.is_empty() => image,
        _ => panic!("MTTS_E2E_FRONTEND is not set: {WHY}"),
    }
}

/// A stub Dockerfile naming our frontend image, with `body` as the recipe.
fn stub(name: &str, body: &str) -> PathBuf {
    let dir = root().join("target/e2e/stubs");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(name);
    std::fs::write(&path, format!("# syntax={}\n{body}", frontend()))
        .unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The repository's own stub Dockerfile (the default recipe), pointed at
/// the frontend image under test.
fn default_stub() -> PathBuf {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap_or_default();
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    stub("Dockerfile", &body)
}

fn fixture(p: &str) -> String {
    root()
        .join("tests/e2e/fixtures")
        .join(p)
        .display()
        .to_string()
}

/// `docker buildx build` with the fixtures as named contexts.
fn buildx(dockerfile: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new("docker");
    cmd.args([
        "buildx",
        "build",
        "--network",
        "none",
        "--progress",
        "plain",
    ])
    .arg("-f")
    .arg(dockerfile)
    .args([
        "--build-context",
        "golang=docker-image://mtts-fixture-golang:e2e",
    ])
    .args([
        "--build-context",
        "alpine=docker-image://mtts-fixture-alpine:e2e",
    ])
    .args(["--build-context", "xx=docker-image://mtts-fixture-xx:e2e"])
    .arg("--build-context")
    .arg(format!("tailscale={}", fixture("tailscale")))
    .arg("--build-context")
    .arg(format!("busybox={}", fixture("busybox")))
    .args(extra)
    .arg(fixture("context"));
    cmd.output()
        .unwrap_or_else(|e| panic!("running docker buildx: {e}"))
}

fn log_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn expect_failure(out: Output, needles: &[&str]) {
    let log = log_of(&out);
    assert!(
        !out.status.success(),
        "the build should have failed:\n{log}"
    );
    for n in needles {
        assert!(log.contains(n), "{n:?} not in the error output:\n{log}");
    }
}

/// An OCI layout archive read into memory.
struct Oci {
    blobs: BTreeMap<String, Vec<u8>>,
    index: Value,
}

impl Oci {
    fn open(path: &Path) -> Oci {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut archive = tar::Archive::new(file);
        let mut blobs = BTreeMap::new();
        let mut index = Value::Null;
        for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
            let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
            let name = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .unwrap_or_else(|e| panic!("{e}"));
            if name == "index.json" {
                index = serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{e}"));
            } else if let Some(hex) = name.strip_prefix("blobs/sha256/") {
                blobs.insert(format!("sha256:{hex}"), data);
            }
        }
        assert!(blobs.len() > 5, "no blobs in {}", path.display());
        Oci { blobs, index }
    }

    fn blob(&self, digest: &str) -> &[u8] {
        self.blobs
            .get(digest)
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("blob {digest} missing"))
    }

    fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(self.blob(digest)).unwrap_or_else(|e| panic!("{digest}: {e}"))
    }

    /// The platform manifests (attestation manifests left out).
    fn platform_manifests(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut queue: Vec<Value> = self.index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        while let Some(desc) = queue.pop() {
            let digest = desc["digest"].as_str().unwrap_or_default().to_string();
            let doc = self.json(&digest);
            if doc["manifests"].is_array() {
                queue.extend(doc["manifests"].as_array().cloned().unwrap_or_default());
                continue;
            }
            let p = &desc["platform"];
            let os = p["os"].as_str().unwrap_or_default();
            if os == "unknown" {
                continue;
            }
            let mut name = format!("{os}/{}", p["architecture"].as_str().unwrap_or_default());
            if let Some(v) = p["variant"].as_str() {
                name = format!("{name}/{v}");
            }
            out.push((name, doc));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// One file in a layer.
#[derive(Clone, Debug)]
struct Entry {
    mode: u32,
    link: Option<String>,
    data: Vec<u8>,
}

fn layer_entries(blob: &[u8]) -> BTreeMap<String, Entry> {
    let gz = flate2::read::GzDecoder::new(blob);
    let mut archive = tar::Archive::new(gz);
    let mut out = BTreeMap::new();
    for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let path = entry
            .path()
            .map(|p| p.display().to_string().trim_start_matches("./").to_string())
            .unwrap_or_default();
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.display().to_string());
        let mode = entry.header().mode().unwrap_or(0);
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .unwrap_or_else(|e| panic!("{e}"));
        out.insert(
            path.trim_end_matches('/').to_string(),
            Entry { mode, link, data },
        );
    }
    out
}

fn text(e: &Entry) -> String {
    String::from_utf8_lossy(&e.data).to_string()
}

fn line<'a>(record: &'a str, key: &str) -> &'a str {
    record
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= line in:\n{record}"))
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn builds_the_multi_arch_image_through_syntax() {
    let out_dir = root().join("target/e2e");
    std::fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("{e}"));
    let archive = out_dir.join("image.oci.tar");
    let _ = std::fs::remove_file(&archive);
    let out = buildx(
        &default_stub(),
        &[
            "--platform",
            "linux/amd64,linux/arm64,linux/arm/v7",
            "--provenance=false",
            "--build-arg",
            "OCI_VERSION=v1.98.5-mt.e2e",
            "--label",
            "org.example.e2e=yes",
            "--output",
            &format!("type=oci,dest={}", archive.display()),
        ],
    );
    let log = log_of(&out);
    assert!(out.status.success(), "build failed:\n{log}");
    // Shared work ran once for all three platforms.
    for step in [
        "[tailscale] go mod download",
        "[tailscale] featuretags --min",
        "[busybox] make allnoconfig + applet list",
    ] {
        // BuildKit repeats a step's header when other output interleaves:
        // count distinct step numbers, not lines.
        let runs: std::collections::BTreeSet<&str> = log
            .lines()
            .filter(|l| l.starts_with('#') && l.ends_with(step))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(runs.len(), 1, "{step} ran as steps {runs:?}:\n{log}");
    }

    let oci = Oci::open(&archive);
    let manifests = oci.platform_manifests();
    let names: Vec<&str> = manifests.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["linux/amd64", "linux/arm/v7", "linux/arm64"]);

    for (platform, manifest) in &manifests {
        let (arch, variant, goarch, goarm, bb_arch, triple) = match platform.as_str() {
            "linux/amd64" => (
                "amd64",
                None,
                "amd64",
                "",
                "x86_64",
                "x86_64-alpine-linux-musl",
            ),
            "linux/arm64" => (
                "arm64",
                None,
                "arm64",
                "",
                "aarch64",
                "aarch64-alpine-linux-musl",
            ),
            _ => (
                "arm",
                Some("v7"),
                "arm",
                "7",
                "arm",
                "armv7-alpine-linux-musleabihf",
            ),
        };
        let config = oci.json(manifest["config"]["digest"].as_str().unwrap_or_default());
        assert_eq!(config["os"], "linux", "{platform}");
        assert_eq!(config["architecture"], arch, "{platform}");
        assert_eq!(config["variant"].as_str(), variant, "{platform}");
        let c = &config["config"];
        image_config::assert_runs_tailscaled(c, platform);
        assert_eq!(
            c["Labels"]["org.opencontainers.image.version"],
            "v1.98.5-mt.e2e"
        );
        assert_eq!(
            c["Labels"]["org.opencontainers.image.title"],
            "mikrotik-tailscale"
        );

        // Every layer, and the merged filesystem.
        let layers: Vec<BTreeMap<String, Entry>> = manifest["layers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|l| layer_entries(oci.blob(l["digest"].as_str().unwrap_or_default())))
            .collect();
        let with_binary = layers
            .iter()
            .filter(|l| l.contains_key("usr/local/bin/tailscale.combined"))
            .count();
        assert_eq!(
            with_binary, 1,
            "{platform}: tailscale.combined must be in exactly one layer"
        );
        let mut fs: BTreeMap<String, Entry> = BTreeMap::new();
        for l in &layers {
            fs.extend(l.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let get = |p: &str| {
            fs.get(p)
                .cloned()
                .unwrap_or_else(|| panic!("{platform}: no {p}"))
        };

        for link in ["usr/local/bin/tailscale", "usr/local/bin/tailscaled"] {
            assert_eq!(
                get(link).link.as_deref(),
                Some("/usr/local/bin/tailscale.combined"),
                "{platform} {link}"
            );
        }
        let entry = get("usr/local/bin/entrypoint.sh");
        assert_eq!(entry.mode & 0o777, 0o755, "{platform} entrypoint mode");
        let script = text(&entry);
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(
            script.contains("/proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding")
        );
        assert!(script.contains("exec /usr/local/bin/tailscaled \"$@\""));
        assert!(get("etc/ssl/certs/ca-certificates.crt").data.len() > 10);
        assert_eq!(get("bin/sh").link.as_deref(), Some("/bin/busybox"));
        for applet in [
            "bin/ls",
            "bin/ash",
            "sbin/ip",
            "usr/bin/wget",
            "bin/ping",
            "usr/bin/nslookup",
            "bin/vi",
        ] {
            assert_eq!(
                get(applet).link.as_deref(),
                Some("/bin/busybox"),
                "{platform} {applet}"
            );
        }

        // What the fixture tools recorded about how they were called.
        let ts = text(&get("usr/local/bin/tailscale.combined"));
        assert!(ts.starts_with("MTTS-FAKE-TAILSCALE\n"), "{platform}");
        assert_eq!(line(&ts, "GOOS"), "linux");
        assert_eq!(line(&ts, "GOARCH"), goarch, "{platform}");
        assert_eq!(line(&ts, "GOARM"), goarm, "{platform}");
        assert_eq!(line(&ts, "CGO_ENABLED"), "0");
        assert_eq!(
            line(&ts, "GOPATH"),
            "/go",
            "the image config's ENV reached the exec"
        );
        let tags: Vec<&str> = line(&ts, "tags").split(',').collect();
        assert!(tags.contains(&"ts_include_cli"), "{tags:?}");
        for omitted in [
            "ts_omit_netstack",
            "ts_omit_peerapiserver",
            "ts_omit_dns",
            "ts_omit_unixsocketidentity",
        ] {
            assert!(!tags.contains(&omitted), "{omitted} in {tags:?}");
        }
        for kept_out in [
            "ts_omit_clientupdate",
            "ts_omit_cachenetmap",
            "ts_omit_logtail",
            "ts_omit_ssh",
        ] {
            assert!(tags.contains(&kept_out), "{kept_out} missing from {tags:?}");
        }
        assert!(line(&ts, "ldflags").contains("tailscale.com/version.shortStamp=1.98.5"));
        assert_eq!(
            line(&ts, "files"),
            "e2e_marker.go,e2e_mirrored.go,stderr_verbosity_filter.go,tailscaled.go",
            "built-in filter, overlays and diff all landed"
        );
        assert!(ts.contains("note=tailscaled.go: diff patches/0001-e2e.diff"));
        assert_eq!(line(&ts, "upx"), "--lzma --best");

        let bb = text(&get("bin/busybox"));
        assert!(bb.starts_with("MTTS-FAKE-BUSYBOX\n"), "{platform}");
        assert_eq!(line(&bb, "ARCH"), bb_arch, "{platform}");
        assert_eq!(line(&bb, "CROSS_COMPILE"), format!("{triple}-"));
        assert_eq!(line(&bb, "CC"), format!("{triple}-clang"));
        assert_eq!(line(&bb, "HOSTCC"), "gcc");
        assert_eq!(line(&bb, "TARGETPLATFORM"), platform.as_str());
        assert_eq!(line(&bb, "stripped"), "yes");
        assert_eq!(line(&bb, "upx"), "--lzma --best");
        assert!(
            bb.contains("config: CONFIG_FEATURE_EDITING_HISTORY=200"),
            "int defaults restored"
        );
        assert!(!bb.contains("config: CONFIG_FEATURE_SH_STANDALONE=y"));
    }
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn target_tailscale_exports_just_the_binary() {
    let dest = root().join("target/e2e/tailscale-binary");
    let _ = std::fs::remove_dir_all(&dest);
    let out = buildx(
        &default_stub(),
        &[
            "--platform",
            "linux/arm64",
            "--target",
            "tailscale",
            "--output",
            &format!("type=local,dest={}", dest.display()),
        ],
    );
    assert!(out.status.success(), "{}", log_of(&out));
    let files: Vec<String> = std::fs::read_dir(&dest)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    assert_eq!(files, ["tailscale.combined"]);
    let binary = std::fs::read_to_string(dest.join("tailscale.combined")).unwrap_or_default();
    assert_eq!(line(&binary, "GOARCH"), "arm64");
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn unsupported_platform_names_the_supported_ones() {
    expect_failure(
        buildx(&default_stub(), &["--platform", "linux/arm/v5"]),
        &["linux/arm/v5", "linux/amd64, linux/arm64, linux/arm/v7"],
    );
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn malformed_tailscale_version_names_the_argument() {
    expect_failure(
        buildx(
            &default_stub(),
            &["--build-arg", "TAILSCALE_VERSION=main;id"],
        ),
        &["TAILSCALE_VERSION", "\"main;id\""],
    );
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn unknown_recipe_key_names_key_and_line() {
    let path = stub(
        "Dockerfile.badkey",
        "[tailscale]\nversion = \"v1.98.5\"\nfeaturs = []\n",
    );
    expect_failure(buildx(&path, &[]), &["line 4", "featurs"]);
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn unknown_feature_fails_in_the_tags_step_naming_it() {
    let path = stub(
        "Dockerfile.badfeature",
        "[tailscale]\nfeatures = [\"dns\", \"netstack\", \"nosuchfeature\"]\n",
    );
    expect_failure(
        buildx(&path, &["--target", "tags"]),
        &[
            "[tailscale] featuretags --min",
            "unknown Tailscale feature(s)",
            "nosuchfeature",
        ],
    );
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn lists_targets_for_buildx() {
    // buildx 0.13 calls the frontend.targets subrequest `--print targets`
    // (behind BUILDX_EXPERIMENTAL); newer ones call it `--call targets`.
    let out = Command::new("docker")
        .env("BUILDX_EXPERIMENTAL", "1")
        .args([
            "buildx",
            "build",
            "--network",
            "none",
            "--print",
            "targets",
            "-f",
        ])
        .arg(default_stub())
        .arg(fixture("context"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let log = log_of(&out);
    assert!(out.status.success(), "{log}");
    for t in ["image (default)", "tailscale", "busybox", "tags"] {
        assert!(log.contains(t), "{t} not listed:\n{log}");
    }
}

#[test]
#[ignore = "needs a BuildKit daemon: run scripts/test"]
fn unused_build_args_and_contexts_are_warned_about() {
    let dest = root().join("target/e2e/tags");
    let out = buildx(
        &default_stub(),
        &[
            "--target",
            "tags",
            "--build-arg",
            "TYPO_VERSION=1",
            "--build-context",
            "nonsense=docker-image://mtts-fixture-xx:e2e",
            "--output",
            &format!("type=local,dest={}", dest.display()),
        ],
    );
    let log = log_of(&out);
    assert!(out.status.success(), "{log}");
    // buildx shows warnings in the step's output, its closing summary, or
    // both, depending on timing: look for the message itself.
    assert!(
        log.contains("build argument TYPO_VERSION is not used by this build"),
        "{log}"
    );
    assert!(
        log.contains("named context \"nonsense\" is not used"),
        "{log}"
    );
    let tags = std::fs::read_to_string(dest.join("tags.txt")).unwrap_or_default();
    assert!(tags.starts_with("ts_include_cli,"), "{tags}");
}
