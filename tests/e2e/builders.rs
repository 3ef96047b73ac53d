//! Any builder works: a standalone BuildKit (`buildkitd`, no docker in front
//! of it, the newest release that builds here) builds the image
//!
//! - for buildx through the `remote` driver, with `# syntax=` naming the
//!   frontend image in a registry, as a remote or CI builder is used;
//! - for `buildctl build`, fed `mtts-frontend llb --local ...` with the
//!   build context and the base images as local directories, as the README
//!   describes.
//!
//! Both give the same layers as docker 28's BuildKit made in the e2e tests
//! (`target/e2e/image.oci.tar`, so `scripts/test` runs this after them).
//! `tests/e2e/fixtures/buildkitd.sh` builds and starts the daemon and the
//! registry; `scripts/test` publishes the frontend and fixture images there
//! and describes it all in the environment (`MTTS_E2E_BUILDKITD_*`,
//! `MTTS_E2E_REGISTRY`, `MTTS_E2E_BUILDCTL`, `MTTS_E2E_ROOT_*`).

#[path = "../common/image_config.rs"]
mod image_config;

#[allow(dead_code)]
mod harness;
#[allow(dead_code)]
mod oci;
#[allow(dead_code)]
mod progress;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::{Daemon, env, fixture, out_dir, run, stub, stub_for, try_run};
use mtts_frontend::recipe::IMAGE_INPUTS;
use oci::{Oci, PlatformImage};

const BUILDER: &str = "mtts-standalone";

struct Standalone {
    addr: String,
    version: String,
    buildctl: String,
    registry: String,
}

fn standalone() -> Standalone {
    Standalone {
        addr: env("MTTS_E2E_BUILDKITD_ADDR"),
        version: env("MTTS_E2E_BUILDKITD_VERSION"),
        buildctl: env("MTTS_E2E_BUILDCTL"),
        registry: env("MTTS_E2E_REGISTRY"),
    }
}

/// docker 28's linux/amd64 image from the e2e tests.
fn docker28_amd64() -> PlatformImage {
    let archive = harness::root().join("target/e2e/image.oci.tar");
    assert!(
        archive.exists(),
        "{}: the e2e tests' image is missing; scripts/test runs them first",
        archive.display()
    );
    Oci::open(&archive)
        .images()
        .into_iter()
        .find(|i| i.platform == "linux/amd64")
        .unwrap_or_else(|| panic!("no linux/amd64 image in {}", archive.display()))
}

/// buildx with its own builder store, so the test's `remote` builder is
/// nobody else's.
fn buildx(daemon: &Daemon, config: &Path) -> Command {
    let mut cmd = daemon.docker();
    cmd.env("BUILDX_CONFIG", config).arg("buildx");
    cmd
}

#[test]
#[ignore = "needs the standalone BuildKit and the e2e image: run scripts/test"]
fn buildx_remote_driver_builds_through_syntax_on_standalone_buildkit() {
    let daemon = Daemon::today();
    let s = standalone();
    let config = out_dir("builders/buildx");
    let _ = std::fs::remove_dir_all(&config);
    std::fs::create_dir_all(&config).unwrap_or_else(|e| panic!("{e}"));
    run(buildx(&daemon, &config).args(["create", "--name", BUILDER, "--driver", "remote", &s.addr]));
    let inspect = run(buildx(&daemon, &config).args(["inspect", "--bootstrap", BUILDER]));
    assert!(
        inspect.contains(&format!("BuildKit version: {}", s.version)),
        "the remote builder is the standalone BuildKit {}:\n{inspect}",
        s.version
    );

    // The stub names the frontend image in the registry; the daemon pulls it.
    let frontend = format!("{}/{}", s.registry, env("MTTS_E2E_FRONTEND"));
    let dockerfile = stub_for(&frontend, "Dockerfile.standalone", &daemon.real_recipe());
    let archive = out_dir("builders").join("remote.oci.tar");
    let _ = std::fs::remove_file(&archive);
    let mut cmd = buildx(&daemon, &config);
    cmd.args(["build", "--builder", BUILDER, "--progress", "plain"])
        .arg("-f")
        .arg(&dockerfile);
    cmd.args(daemon.input_args(&format!("{}/", s.registry)));
    cmd.args([
        "--platform",
        "linux/amd64",
        "--provenance=false",
        "--output",
        &format!("type=oci,dest={}", archive.display()),
    ])
    .arg(fixture("context"));
    let (ok, log) = try_run(&mut cmd);
    assert!(
        ok,
        "the build on the standalone BuildKit failed:\n{}",
        harness::failure_summary(&log)
    );
    assert!(
        log.contains(&format!(
            "resolve image config for docker-image://{frontend}"
        )),
        "the frontend image came from the registry:\n{log}"
    );

    let built = Oci::open(&archive).images();
    assert_eq!(built.len(), 1, "one platform");
    let image = &built[0];
    assert_eq!(image.platform, "linux/amd64");
    image_config::assert_runs_tailscaled(&image.config["config"], "standalone BuildKit");
    assert_eq!(
        image.diff_ids(),
        docker28_amd64().diff_ids(),
        "the standalone BuildKit {} made the same layers as docker 28's",
        s.version
    );
    run(buildx(&daemon, &config).args(["rm", BUILDER]));
}

/// `mtts-frontend llb` for linux/amd64 with `--local` inputs, as a file.
fn llb_definition(daemon: &Daemon, locals: &[&str]) -> PathBuf {
    let recipe = stub("Dockerfile.buildctl", &daemon.real_recipe());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtts-frontend"));
    cmd.args(["llb", "--platform", "linux/amd64", "--recipe"])
        .arg(&recipe)
        .args(["--build-arg", &format!("GOPROXY={}", daemon.goproxy)]);
    for name in locals {
        cmd.args(["--local", name]);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("running mtts-frontend llb: {e}"));
    assert!(
        output.status.success(),
        "mtts-frontend llb failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = out_dir("builders").join("image.llb");
    std::fs::write(&path, &output.stdout).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[test]
#[ignore = "needs the standalone BuildKit and the e2e image: run scripts/test"]
fn buildctl_builds_the_llb_command_output_with_local_inputs() {
    let daemon = Daemon::today();
    let s = standalone();
    let definition = llb_definition(&daemon, &IMAGE_INPUTS);
    let dest = out_dir("builders").join("buildctl-rootfs");
    let _ = std::fs::remove_dir_all(&dest);
    let stdin = std::fs::File::open(&definition).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(&s.buildctl);
    cmd.args(["--addr", &s.addr, "build", "--progress", "plain"])
        .arg("--local")
        .arg(format!("context={}", fixture("context").display()));
    for name in IMAGE_INPUTS {
        cmd.arg("--local").arg(format!(
            "{name}={}",
            env(&format!("MTTS_E2E_ROOT_{}", name.to_uppercase()))
        ));
    }
    cmd.arg("--output")
        .arg(format!("type=local,dest={}", dest.display()))
        .stdin(stdin);
    let (ok, log) = try_run(&mut cmd);
    assert!(
        ok,
        "buildctl build failed:\n{}",
        harness::failure_summary(&log)
    );
    assert!(
        log.contains("[context golang] local golang"),
        "golang came from the local directory:\n{log}"
    );

    // The same files, bytes and links as docker 28's image.
    let image = docker28_amd64().merged();
    for path in [
        "usr/local/bin/tailscale.combined",
        "usr/local/bin/entrypoint.sh",
        "bin/busybox",
        "etc/ssl/certs/ca-certificates.crt",
    ] {
        let built = std::fs::read(dest.join(path))
            .unwrap_or_else(|e| panic!("{path} in the buildctl output: {e}"));
        let want = image
            .get(path)
            .unwrap_or_else(|| panic!("{path} in docker 28's image"));
        assert!(
            built == want.data,
            "{path}: buildctl's differs from docker 28's"
        );
    }
    for (path, entry) in &image {
        let Some(target) = &entry.link else { continue };
        let built = std::fs::read_link(dest.join(path))
            .unwrap_or_else(|e| panic!("{path}: not a link in the buildctl output: {e}"));
        assert_eq!(built, Path::new(target), "{path}");
    }
}
