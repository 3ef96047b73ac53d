//! Named contexts of the kinds buildx sends a frontend, through real
//! buildx: an OCI layout (`oci-layout://`, which buildx registers in the
//! session under an id of its own, tag kept), a bake `target:` (forwarded
//! per platform as `input:NAME::os/arch`, with its image config in
//! `input-metadata:`), git URLs in both spellings, and an https file,
//! refused for what the recipe needs a tree of. The base images' contexts
//! must bring their image config: the golang stand-in has Go only on the
//! PATH its config sets.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Build, Daemon, env, fixture, out_dir, run};
use mtts_frontend::recipe::IMAGE_INPUTS;

/// `docker buildx build` of the tags target of the real stub, with the
/// fixture base images as named contexts except those in `given`.
fn tags_with(daemon: &Daemon, given: &[(&str, String)], dir: &str) -> (Build, PathBuf) {
    let dest = out_dir(dir);
    let _ = std::fs::remove_dir_all(&dest);
    let mut cmd = daemon.docker();
    cmd.args(["buildx", "build", "--progress", "plain", "-f"])
        .arg(daemon.real_stub("Dockerfile"))
        .args(["--target", "tags"])
        .args(["--build-arg", &format!("GOPROXY={}", daemon.goproxy)])
        .args(["--output", &format!("type=local,dest={}", dest.display())]);
    for image in IMAGE_INPUTS {
        if !given.iter().any(|(name, _)| *name == image) {
            cmd.args([
                "--build-context",
                &format!("{image}=docker-image://mtts-fixture-{image}:e2e"),
            ]);
        }
    }
    for (name, value) in given {
        cmd.args(["--build-context", &format!("{name}={value}")]);
    }
    cmd.arg(fixture("context"));
    (Build::of(daemon.name, &mut cmd), dest)
}

fn assert_tags_built(build: &Build, dest: &Path, what: &str) {
    build.assert_ok(what);
    let tags = std::fs::read_to_string(dest.join("tags.txt")).unwrap_or_default();
    assert!(
        tags.starts_with("ts_include_cli,"),
        "{what}: tags.txt is {tags:?}"
    );
}

/// The fixture golang image saved by docker as an OCI layout in `dir`;
/// the digest its index.json names.
fn golang_oci_layout(daemon: &Daemon, dir: &Path) -> String {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let tar = dir.with_extension("tar");
    run(daemon
        .docker()
        .args(["save", "-o"])
        .arg(&tar)
        .arg("mtts-fixture-golang:e2e"));
    run(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(dir));
    let _ = std::fs::remove_file(&tar);
    let index = std::fs::read_to_string(dir.join("index.json")).unwrap_or_else(|e| panic!("{e}"));
    let index: serde_json::Value = serde_json::from_str(&index).unwrap_or_default();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no manifest in {}", dir.display()))
        .to_string()
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_golang_image_from_an_oci_layout_runs_with_its_config() {
    let daemon = Daemon::today();
    let layout = out_dir("named/golang-oci");
    let digest = golang_oci_layout(&daemon, &layout);
    // With a tag too, as users write it: buildx keeps it beside its id.
    let (build, dest) = tags_with(
        &daemon,
        &[(
            "golang",
            format!("oci-layout://{}:e2e@{digest}", layout.display()),
        )],
        "named/oci-tags",
    );
    assert_tags_built(&build, &dest, "golang from an OCI layout");
    let log = build.log();
    assert!(
        log.contains("[context golang] OCI load from client"),
        "the golang context came from the layout:\n{log}"
    );
    eprintln!("e2e: golang from an OCI layout ({digest}): Go found on its PATH");
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_bake_target_feeds_a_named_context_per_platform_with_its_config() {
    let daemon = Daemon::today();
    let dir = out_dir("named/bake");
    let dest = dir.join("tags");
    let _ = std::fs::remove_dir_all(&dest);
    // `golang` is a bake target of two platforms (so buildx sends
    // golang::linux/amd64 and golang::linux/arm64, each with its image
    // config): the build platform's one serves the tags step. The tags
    // target uses no other input (--check would warn of unused ones).
    let hcl = format!(
        r#"target "golang" {{
  dockerfile-inline = "FROM --platform=$BUILDPLATFORM mtts-fixture-golang:e2e"
  platforms = ["linux/amd64", "linux/arm64"]
}}
target "tags" {{
  context = "{context}"
  dockerfile = "{dockerfile}"
  target = "tags"
  platforms = ["linux/amd64"]
  contexts = {{ golang = "target:golang" }}
  args = {{ GOPROXY = "{goproxy}" }}
  output = ["type=local,dest={dest}"]
}}
"#,
        context = fixture("context").display(),
        dockerfile = daemon.real_stub("Dockerfile").display(),
        goproxy = daemon.goproxy,
        dest = dest.display(),
    );
    let file = dir.join("docker-bake.hcl");
    std::fs::write(&file, hcl).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = daemon.docker();
    cmd.args(["buildx", "bake", "--progress", "plain", "-f"])
        .arg(&file)
        .arg("tags");
    let build = Build::of(daemon.name, &mut cmd);
    assert_tags_built(&build, &dest, "golang from a bake target");
    // bake's subrequests reach the frontend too.
    for (call, says) in [("outline", "TAILSCALE_VERSION"), ("check", "no warnings")] {
        let mut cmd = daemon.docker();
        cmd.args([
            "buildx",
            "bake",
            "--progress",
            "plain",
            "--call",
            call,
            "-f",
        ])
        .arg(&file)
        .arg("tags");
        let out = Build::of(daemon.name, &mut cmd);
        out.assert_ok(&format!("bake --call {call}"));
        assert!(
            out.log().contains(says),
            "bake --call {call}:\n{}",
            out.log()
        );
    }
    eprintln!(
        "e2e: bake target: golang::linux/amd64 with its config fed the tags step; outline and check answered"
    );
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn git_named_contexts_take_both_spellings_and_an_https_file_is_refused_clearly() {
    let daemon = Daemon::today();
    let version = env("MTTS_E2E_TAILSCALE_VERSION");
    for (what, url) in [
        ("#ref", format!("{}#{version}", daemon.git_url)),
        ("?ref=", format!("{}?ref={version}", daemon.git_url)),
    ] {
        let (build, dest) = tags_with(
            &daemon,
            &[("tailscale", url)],
            &format!(
                "named/git-{}",
                what.trim_matches(|c: char| !c.is_alphanumeric())
            ),
        );
        assert_tags_built(
            &build,
            &dest,
            &format!("tailscale from a git context ({what})"),
        );
        assert!(
            build.log().contains("[context tailscale]"),
            "{what}: the source came from the named context:\n{}",
            build.log()
        );
    }
    // One file over https is no source tree.
    let url = daemon.busybox_url.replace("{version}", "1.38.0");
    let (refused, _) = tags_with(&daemon, &[("tailscale", url)], "named/http");
    refused.expect_failure(&["named context tailscale", "a single file"]);
}
