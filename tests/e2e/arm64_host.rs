//! An arm64 build host, as Apple Silicon laptops and arm64 CI runners are:
//! a buildkitd whose worker platform is linux/arm64 (its execs run
//! arm64 binaries, here under QEMU user emulation registered in
//! binfmt_misc), with arm64 fixture images made from Debian's arm64
//! packages, builds the busybox target for linux/amd64 through `# syntax=`
//! and buildx's remote driver. The build platform is the worker's, so every
//! step runs on arm64 and cross-compiles for amd64; the result runs here,
//! natively. `scripts/test --arm64-host` sets it up (slow: clang and make
//! run emulated); it is not part of the default run.

#[path = "../common/image_config.rs"]
#[allow(dead_code)]
mod image_config;

mod builder_store;
#[allow(dead_code)]
mod elf;
#[allow(dead_code)]
mod harness;
#[allow(dead_code)]
mod oci;
#[allow(dead_code)]
mod progress;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use builder_store::{buildx_with_store, remote_builder};
use harness::{Build, Daemon, env, fixture, out_dir, run, stub_for};

const BUILDER: &str = "mtts-arm64-host";
const HOST: &str = "linux/arm64";

/// The applet links of a busybox root filesystem: every symlink under DIR
/// whose target's file name is `busybox`.
fn applet_links(dir: &Path) -> BTreeSet<String> {
    let mut links = BTreeSet::new();
    for sub in ["bin", "sbin", "usr/bin", "usr/sbin"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_busybox = std::fs::read_link(entry.path())
                .is_ok_and(|t| t.file_name().is_some_and(|n| n == "busybox"));
            if is_busybox {
                links.insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    links
}

#[test]
#[ignore = "needs the arm64 buildkitd and QEMU in binfmt_misc: run scripts/test --arm64-host"]
fn an_arm64_build_host_builds_busybox_for_amd64() {
    let daemon = Daemon::today();
    let registry = env("MTTS_E2E_REGISTRY");
    let addr = env("MTTS_E2E_ARM64_BUILDKITD_ADDR");
    let config = remote_builder(&daemon, "arm64-host/buildx", BUILDER, &addr);
    let buildx = || buildx_with_store(&daemon, &config);
    let inspect = run(buildx().args(["inspect", "--bootstrap", BUILDER]));
    // The configured platform comes first: the worker's default, which a
    // frontend takes as the build platform (BuildKit appends what else the
    // machine can run: amd64 natively, here).
    let first = inspect
        .lines()
        .find_map(|l| l.trim().strip_prefix("Platforms:"))
        .and_then(|list| list.split(',').next())
        .map(str::trim)
        .unwrap_or_default();
    assert_eq!(first, HOST, "the builder's first platform:\n{inspect}");

    let frontend = format!("{registry}/{}", env("MTTS_E2E_FRONTEND"));
    let stub = stub_for(&frontend, "Dockerfile.arm64-host", &daemon.real_recipe());
    let dest = out_dir("arm64-host/busybox");
    let _ = std::fs::remove_dir_all(&dest);
    let started = std::time::Instant::now();
    let mut cmd = buildx();
    cmd.args(["build", "--builder", BUILDER, "--progress", "plain", "-f"])
        .arg(&stub)
        .args(["--target", "busybox", "--platform", "linux/amd64"])
        .args(["--provenance", "mode=max"]);
    for image in ["alpine", "xx"] {
        cmd.args([
            "--build-context",
            &format!("{image}=docker-image://{registry}/mtts-fixture-{image}:e2e-arm64"),
        ]);
    }
    cmd.args(["--output", &format!("type=local,dest={}", dest.display())])
        .arg(fixture("context"));
    let build = Build::of("the arm64 buildkitd", &mut cmd);
    build.assert_ok("the busybox target for linux/amd64 on an arm64 host");
    let took = started.elapsed().as_secs();

    // BuildKit's own record of the graph it ran: every exec our frontend
    // made is an arm64 one. (Its `builderPlatform` is the buildkitd
    // binary's own platform, amd64 here, not the worker's.)
    let provenance = std::fs::read_to_string(dest.join("provenance.json"))
        .unwrap_or_else(|e| panic!("provenance.json in {}: {e}", dest.display()));
    let provenance: serde_json::Value =
        serde_json::from_str(&provenance).unwrap_or_else(|e| panic!("{e}"));
    // (SLSA v1, BuildKit's default now, or v0.2.)
    let predicate = &provenance["predicate"];
    let internal = &predicate["buildDefinition"]["internalParameters"];
    let steps = internal["buildConfig"]["llbDefinition"]
        .as_array()
        .or(predicate["buildConfig"]["llbDefinition"].as_array())
        .cloned()
        .unwrap_or_default();
    let execs: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|s| s["op"]["Op"]["exec"].is_object() || s["op"]["exec"].is_object())
        .collect();
    assert!(execs.len() >= 5, "the execs in the provenance: {steps:#?}");
    for exec in &execs {
        let platform = &exec["op"]["platform"];
        assert_eq!(
            (&platform["OS"], &platform["Architecture"]),
            (&serde_json::json!("linux"), &serde_json::json!("arm64")),
            "an exec not on the arm64 host: {exec:#}"
        );
    }

    // What came out is amd64's busybox, and it runs here, natively.
    let busybox = dest.join("bin/busybox");
    let bytes = std::fs::read(&busybox).unwrap_or_else(|e| panic!("{}: {e}", busybox.display()));
    let header = elf::parse(&bytes).unwrap_or_else(|| panic!("{}: not ELF", busybox.display()));
    assert_eq!(header.machine, "x86-64");
    assert!(header.is_static && header.upx_packed, "{header:?}");
    let list = run(Command::new(&busybox).arg("--list"));
    let applets: BTreeSet<String> = list.lines().map(str::to_string).collect();
    assert!(applets.len() > 50, "{} applets", applets.len());
    assert_eq!(
        applets,
        applet_links(&dest),
        "busybox --list vs the applet links"
    );
    let echo = run(Command::new(&busybox).args(["sh", "-c", "echo $((6 * 7)) | tr 4 x"]));
    assert_eq!(echo.trim(), "x2");
    eprintln!(
        "e2e: arm64 host: busybox for linux/amd64 ({} bytes, {} applets), {} execs on {HOST} (QEMU), in {took} s",
        bytes.len(),
        applets.len(),
        execs.len()
    );
}
