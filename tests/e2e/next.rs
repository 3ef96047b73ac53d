//! The next Tailscale bump, proven before it lands: the keys of
//! `tests/e2e/fixtures/next-tailscale.toml` (a Tailscale whose go.mod needs
//! a newer Go, and that Go's golang pin) over the built-in recipe, built for
//! linux/amd64 on docker 28 with the golang stand-in of that pin, and
//! checked as the pinned version is: the Go guard, the build info, the
//! features featuretags resolved from our allowlist, `tailscale version`
//! with its commit stamp. `tests/e2e/tailnet.rs` runs it on a tailnet.
//! And a golang pin newer than the machine's Go gets a stand-in of exactly
//! that Go, from Go's own toolchain module.

use std::process::Command;

use crate::harness::{Daemon, env, out_dir, root, run};
use crate::oci::Oci;
use crate::{assert_version_stamps, build_info, run_target, target};

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn next_tailscale_builds_on_its_go_and_tells_the_truth() {
    let daemon = Daemon::next_tailscale();
    let recipe = daemon.recipe();
    let version = recipe.tailscale.version.clone();
    let bare = version.trim_start_matches('v');
    let golang_tag = recipe.images.golang.tag().unwrap_or_default().to_string();
    let go = golang_tag.split('-').next().unwrap_or_default();
    assert_ne!(
        version,
        crate::harness::builtin().tailscale.version,
        "next-tailscale.toml names the next version, not the pinned one"
    );

    let archive = out_dir("next").join("image.oci.tar");
    let _ = std::fs::remove_file(&archive);
    let stub = daemon.real_stub("Dockerfile");
    let started = std::time::Instant::now();
    let build = daemon.buildx(
        &stub,
        &[
            "--platform",
            "linux/amd64",
            "--provenance=false",
            "--output",
            &format!("type=oci,dest={}", archive.display()),
        ],
    );
    build.assert_ok(&format!("the Tailscale {version} build"));
    eprintln!(
        "e2e: Tailscale {version} (Go {go}) for linux/amd64 built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // (Debian's Go serves every pin of its minor: the stand-in's Go may be
    // newer than the pin's.)
    let guard = format!("go.mod needs go {go}; the golang image has go ");
    let log = build.log();
    let steps = crate::progress::steps(&log);
    let check = steps
        .iter()
        .find(|s| s.name == mtts_frontend::recipe::step::GO_VERSION_STEP)
        .unwrap_or_else(|| panic!("no Go guard step in:\n{log}"));
    assert!(
        check.cached
            || check
                .output
                .iter()
                .any(|(_, text)| text.starts_with(&guard)),
        "the Go guard passed on the stand-in's Go: {guard:?} not in:\n{log}"
    );

    // What featuretags made of our allowlist on this version: what we do
    // not list is omitted, what we list (and what it depends on) is in.
    let (build, tags) = daemon.tags(&stub, "next/tags");
    build.assert_ok("the next Tailscale's tags");
    let tags = tags.trim().to_string();
    let list: Vec<&str> = tags.split(',').collect();
    for omitted in ["ts_omit_clientupdate", "ts_omit_logtail", "ts_omit_ssh"] {
        assert!(list.contains(&omitted), "{omitted} missing from {tags}");
    }
    for feature in &recipe.tailscale.features {
        let tag = format!("ts_omit_{feature}");
        assert!(!list.contains(&tag.as_str()), "{tag} in {tags}");
    }

    let images = Oci::open(&archive).images();
    assert_eq!(images.len(), 1, "one platform");
    let image = &images[0];
    let info = build_info(image, "-next");
    let stand_in = run(daemon.docker().args([
        "run",
        "--rm",
        "--network",
        "none",
        &env("MTTS_E2E_NEXT_GOLANG"),
        "go",
        "env",
        "GOVERSION",
    ]));
    let first = info.lines().next().unwrap_or_default();
    assert!(
        first.ends_with(&format!(": {}", stand_in.trim())),
        "compiled by the golang stand-in's Go ({}):\n{info}",
        stand_in.trim()
    );
    assert!(
        info.lines()
            .any(|l| l.trim() == format!("build\t-tags={tags}")),
        "built with exactly the resolved tags {tags}:\n{info}"
    );

    let rootfs = out_dir("rootfs-next/linux-amd64");
    image.extract(&rootfs);
    let out = run(&mut run_target(
        target("linux/amd64"),
        &rootfs,
        "/usr/local/bin/tailscale.combined",
        "tailscale",
        &["version"],
    ));
    assert_version_stamps(
        "linux/amd64",
        &out,
        bare,
        &env("MTTS_E2E_NEXT_TAILSCALE_COMMIT"),
    );
    let size = |path: &str| image.file(path).data.len();
    eprintln!(
        "e2e: Tailscale {version} linux/amd64: tailscale.combined {} bytes, busybox {} bytes",
        size("usr/local/bin/tailscale.combined"),
        size("bin/busybox")
    );
}

/// Go 1.27 exists here only as Go's own toolchain module on the Go module
/// proxy (go1.27.3): a recipe pinning `golang:1.27.3-alpine` gets a golang
/// stand-in with exactly that Go (`build-images.sh --golang-for`), on which
/// the recipe's Go steps run (featuretags, compiled and run by it).
#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_golang_pin_newer_than_the_machines_go_gets_a_stand_in_of_that_go() {
    let recipe = out_dir("next").join("golang-1.27.3.toml");
    std::fs::write(&recipe, "[images]\ngolang = \"golang:1.27.3-alpine\"\n")
        .unwrap_or_else(|e| panic!("{}: {e}", recipe.display()));
    let daemon = Daemon::today();
    let docker = std::path::PathBuf::from(env("MTTS_E2E_DOCKER"));
    let path = format!(
        "{}:{}",
        docker.parent().unwrap_or(&docker).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let images = run(
        Command::new(root().join("tests/e2e/fixtures/build-images.sh"))
            .arg("--golang-for")
            .arg(&recipe)
            .env("PATH", path)
            .env("DOCKER_HOST", env("MTTS_E2E_DOCKER_HOST"))
            .env("DOCKER_CONFIG", env("MTTS_E2E_DOCKER_CONFIG")),
    );
    let golang = images.lines().last().unwrap_or_default().to_string();
    assert_eq!(golang, "mtts-fixture-golang:e2e-go1.27.3", "{images}");
    let version =
        run(daemon
            .docker()
            .args(["run", "--rm", "--network", "none", &golang, "go", "version"]));
    assert_eq!(version.trim(), "go version go1.27.3 linux/amd64");

    let daemon = daemon.with_golang(&golang);
    let (build, tags) = daemon.tags(&daemon.real_stub("Dockerfile"), "next/tags-go1.27.3");
    build.assert_ok("the tags on Go 1.27.3");
    assert!(
        tags.contains("ts_omit_clientupdate"),
        "featuretags ran on Go 1.27.3: {tags}"
    );
}
