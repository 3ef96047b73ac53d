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

mod builder_store;
#[allow(dead_code)]
mod harness;
#[allow(dead_code)]
mod oci;
#[allow(dead_code)]
mod progress;

use std::path::{Path, PathBuf};
use std::process::Command;

use builder_store::{buildx_with_store, remote_builder};
use harness::{Daemon, env, fixture, out_dir, run, stub, stub_for, try_run};
use mtts_frontend::recipe::{IMAGE_INPUTS, step};
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

/// `docker buildx build` on `builder` of the stub named `stub`, whose
/// `# syntax=` names the frontend image in the registry, with the base
/// images as named contexts from there too; the caller adds the rest.
fn registry_build(daemon: &Daemon, config: &Path, builder: &str, stub: &str) -> Command {
    let s = standalone();
    let frontend = format!("{}/{}", s.registry, env("MTTS_E2E_FRONTEND"));
    let dockerfile = stub_for(&frontend, stub, &daemon.real_recipe());
    let mut cmd = buildx_with_store(daemon, config);
    cmd.args(["build", "--builder", builder, "--progress", "plain"])
        .arg("-f")
        .arg(&dockerfile);
    cmd.args(daemon.input_args(&format!("{}/", s.registry)));
    cmd
}

#[test]
#[ignore = "needs the standalone BuildKit and the e2e image: run scripts/test"]
fn buildx_remote_driver_builds_through_syntax_on_standalone_buildkit() {
    let daemon = Daemon::today();
    let s = standalone();
    let config = remote_builder(&daemon, "builders/buildx", BUILDER, &s.addr);
    let inspect =
        run(buildx_with_store(&daemon, &config).args(["inspect", "--bootstrap", BUILDER]));
    assert!(
        inspect.contains(&format!("BuildKit version: {}", s.version)),
        "the remote builder is the standalone BuildKit {}:\n{inspect}",
        s.version
    );

    // The stub names the frontend image in the registry; the daemon pulls it.
    let frontend = format!("{}/{}", s.registry, env("MTTS_E2E_FRONTEND"));
    let archive = out_dir("builders").join("remote.oci.tar");
    let _ = std::fs::remove_file(&archive);
    let mut cmd = registry_build(&daemon, &config, BUILDER, "Dockerfile.standalone");
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
    run(buildx_with_store(&daemon, &config).args(["rm", BUILDER]));
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

/// The stub build of linux/amd64 on builder `name`, pushed as `image`,
/// with `extra` flags; its steps and the pushed manifest's digest.
fn build_and_push(
    daemon: &Daemon,
    config: &Path,
    name: &str,
    image: &str,
    extra: &[String],
) -> (Vec<progress::Step>, String, String) {
    build_and_push_from(daemon, config, name, &fixture("context"), image, extra)
}

/// As `build_and_push`, of the build context `context`.
fn build_and_push_from(
    daemon: &Daemon,
    config: &Path,
    name: &str,
    context: &Path,
    image: &str,
    extra: &[String],
) -> (Vec<progress::Step>, String, String) {
    let tag = image.rsplit_once(':').map_or(image, |(_, t)| t);
    let metadata = out_dir("builders/logs").join(format!("{name}-{tag}.metadata.json"));
    let _ = std::fs::remove_file(&metadata);
    let mut cmd = registry_build(daemon, config, name, "Dockerfile.cache");
    cmd.arg("--metadata-file").arg(&metadata);
    cmd.args(["--platform", "linux/amd64", "--provenance=false"])
        .args(extra)
        .args(["--output", &format!("type=image,name={image},push=true")])
        .arg(context);
    let log = run_logged(&mut cmd, &format!("{name}-{tag}"));
    let text = std::fs::read_to_string(&metadata).unwrap_or_else(|e| panic!("{e}"));
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let digest = meta["containerimage.digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no containerimage.digest in {text}"))
        .to_string();
    (progress::steps(&log), digest, log)
}

/// Runs the build `cmd`, keeps its log as `builders/logs/NAME.log` (for a
/// failure's post-mortem), and returns it; a failed build fails the test.
fn run_logged(cmd: &mut Command, name: &str) -> String {
    let (ok, log) = try_run(cmd);
    let _ = std::fs::write(out_dir("builders/logs").join(format!("{name}.log")), &log);
    assert!(
        ok,
        "the {name} build failed:\n{}",
        harness::failure_summary(&log)
    );
    log
}

/// The empty buildkitd `name` of `buildkitd.sh fresh-start`, stopped and
/// deleted when dropped (also on failure).
struct Fresh(String);

impl Fresh {
    fn start(name: &str) -> (Fresh, String) {
        let script = harness::root().join("tests/e2e/fixtures/buildkitd.sh");
        let addr = run(Command::new(&script).args(["fresh-start", name]));
        (Fresh(name.to_string()), addr.trim().to_string())
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let script = harness::root().join("tests/e2e/fixtures/buildkitd.sh");
        let _ = Command::new(script).args(["fresh-stop", &self.0]).output();
    }
}

/// The layers of the linux/amd64 image `reference` in the registry.
fn amd64_layers(daemon: &Daemon, config: &Path, reference: &str) -> Vec<String> {
    let raw =
        run(buildx_with_store(daemon, config).args(["imagetools", "inspect", "--raw", reference]));
    let doc: serde_json::Value =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    if let Some(manifests) = doc["manifests"].as_array() {
        let amd64 = manifests
            .iter()
            .find(|m| m["platform"]["architecture"] == "amd64")
            .and_then(|m| m["digest"].as_str())
            .unwrap_or_else(|| panic!("no linux/amd64 in {reference}: {raw}"));
        let name = reference.rsplit_once(':').map_or(reference, |(n, _)| n);
        return amd64_layers(daemon, config, &format!("{name}@{amd64}"));
    }
    doc["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["digest"].as_str().map(str::to_string))
        .collect()
}

#[test]
#[ignore = "needs the standalone BuildKit and the e2e image: run scripts/test"]
fn a_new_builder_takes_every_step_from_the_exported_cache() {
    let daemon = Daemon::today();
    let s = standalone();
    // The warm builder exports its cache to the registry and to a
    // directory (every step: mode=max), and, in a second build, inline in
    // the pushed image (the image's own steps; it changes the image config).
    let config = remote_builder(
        &daemon,
        "builders/buildx-mtts-cache-export",
        "mtts-cache-export",
        &s.addr,
    );
    let local = out_dir("builders").join("cache-local");
    let _ = std::fs::remove_dir_all(&local);
    let registry_cache = format!("{}/mtts-e2e-cache:max", s.registry);
    let exported_image = format!("{}/mtts-e2e-image:exported", s.registry);
    let inline_image = format!("{}/mtts-e2e-image:inline", s.registry);
    let (_, exported, _) = build_and_push(
        &daemon,
        &config,
        "mtts-cache-export",
        &exported_image,
        &[
            "--cache-to".into(),
            format!("type=registry,ref={registry_cache},mode=max"),
            "--cache-to".into(),
            format!("type=local,dest={},mode=max", local.display()),
        ],
    );
    build_and_push(
        &daemon,
        &config,
        "mtts-cache-export",
        &inline_image,
        &["--cache-to".into(), "type=inline".into()],
    );
    let layers = amd64_layers(&daemon, &config, &exported_image);
    run(buildx_with_store(&daemon, &config).args(["rm", "mtts-cache-export"]));

    // Each kind into an empty builder, as a new CI runner has: nothing
    // runs, and the image is the same: digest for digest from the
    // registry and local caches, layer for layer from the inline one
    // (whose image config also carries the cache).
    for (kind, from) in [
        ("registry", format!("type=registry,ref={registry_cache}")),
        ("local", format!("type=local,src={}", local.display())),
        ("inline", format!("type=registry,ref={inline_image}")),
    ] {
        let name = format!("mtts-cache-{kind}");
        let (_fresh, addr) = Fresh::start(&format!("cache-{kind}"));
        let config = remote_builder(&daemon, &format!("builders/buildx-{name}"), &name, &addr);
        let image = format!("{}/mtts-e2e-image:from-{kind}", s.registry);
        let (steps, digest, log) = build_and_push(
            &daemon,
            &config,
            &name,
            &image,
            &["--cache-from".into(), from],
        );
        assert!(
            log.contains("importing cache manifest from"),
            "{kind}: the cache was imported:\n{log}"
        );
        let ran = progress::ran(&steps, &[]);
        assert!(
            ran.is_empty(),
            "{kind}: an empty builder with the exported cache ran {ran:?}:\n{log}"
        );
        if kind == "inline" {
            assert_eq!(
                amd64_layers(&daemon, &config, &image),
                layers,
                "{kind}: the image from the cache has the exported layers"
            );
        } else {
            assert_eq!(
                digest, exported,
                "{kind}: the image from the cache is the exported one"
            );
        }
        eprintln!("e2e: {kind} cache: every step CACHED, image {digest}");
        run(buildx_with_store(&daemon, &config).args(["rm", &name]));
    }
    let _ = std::fs::remove_dir_all(&local);

    // The CI case: runner after runner, each new, with only the registry
    // cache the one before exported, each building an edit of patches/.
    // Tailscale's own packages compile again every time. The dependencies
    // compiled apart are found by the content of their list (which the
    // edits leave as they were), and BuildKit exports that content key
    // only from a build that looked it up, i.e. one whose source changed:
    // so the first runner (after the warm builder's build of an unchanged
    // source) may compile them, and the second finds them in the cache and
    // copies them into its empty Go build cache.
    let mut cache_from = registry_cache.clone();
    for (run_no, edit) in [(1, "first"), (2, "second")] {
        let context = out_dir("builders").join(format!("ci-patched-context-{run_no}"));
        let _ = std::fs::remove_dir_all(&context);
        harness::copy_dir(&fixture("context"), &context);
        std::fs::write(
            context.join("patches/e2e_ci.go"),
            format!(
                "package main\n\n// The {edit} edit of the CI-case test (tests/e2e/builders.rs).\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let name = format!("mtts-cache-ci{run_no}");
        let exported = format!("{}/mtts-e2e-cache:ci{run_no}", s.registry);
        let (_fresh, addr) = Fresh::start(&format!("cache-ci{run_no}"));
        let config = remote_builder(&daemon, &format!("builders/buildx-{name}"), &name, &addr);
        let (steps, _, log) = build_and_push_from(
            &daemon,
            &config,
            &name,
            &context,
            &format!("{}/mtts-e2e-image:ci-patched-{run_no}", s.registry),
            &[
                "--cache-from".into(),
                format!("type=registry,ref={cache_from}"),
                "--cache-to".into(),
                format!("type=registry,ref={exported},mode=max"),
            ],
        );
        cache_from = exported;
        // (A step whose result comes from the registry cache shows its
        // layer pulls and DONE, not CACHED: only a step that executed
        // printed lines.)
        let executed = |name: &str| steps.iter().any(|s| s.name == name && s.printed);
        let dependencies = step::deps_build_step("linux/amd64");
        assert!(
            executed("[tailscale linux/amd64] go build"),
            "runner {run_no}: go build executed:\n{log}"
        );
        let seeded = log
            .lines()
            .find_map(|l| l.split("Go's build cache: ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_default();
        assert!(
            seeded > 0,
            "runner {run_no}: the empty Go build cache got the compiled dependencies:\n{log}"
        );
        let from_cache = !executed(&dependencies);
        eprintln!(
            "e2e: new runner {run_no} after a patches/ edit: the dependencies {}, {seeded} files into Go's build cache",
            if from_cache {
                "from the registry cache"
            } else {
                "compiled"
            }
        );
        if run_no == 2 {
            assert!(
                from_cache,
                "the second new runner took {dependencies:?} from the registry cache:\n{log}"
            );
        }
        run(buildx_with_store(&daemon, &config).args(["rm", &name]));
    }
}

/// docker 28's cache of the 3-platform build the e2e tests made, every
/// step (mode=max), in a directory: what a CI runner's cache holds after a
/// build on another machine. Nothing runs (the e2e tests left every step in
/// docker 28's cache); the export takes seconds once the layers are
/// compressed.
fn docker28_three_platform_cache() -> PathBuf {
    let daemon = Daemon::today();
    let dest = out_dir("builders").join("cache-docker28");
    let _ = std::fs::remove_dir_all(&dest);
    let platforms = mtts_frontend::recipe::SUPPORTED_PLATFORMS.join(",");
    let started = std::time::Instant::now();
    daemon
        .buildx(
            &daemon.real_stub("Dockerfile"),
            &[
                "--platform",
                &platforms,
                "--cache-to",
                &format!("type=local,dest={},mode=max", dest.display()),
                "--output",
                "type=cacheonly",
            ],
        )
        .assert_ok("exporting docker 28's cache of the 3-platform build");
    eprintln!(
        "e2e: docker 28's 3-platform cache exported in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    dest
}

#[test]
#[ignore = "needs the standalone BuildKit and the e2e image: run scripts/test"]
fn buildx_docker_container_driver_pushes_three_platforms() {
    let daemon = Daemon::today();
    let s = standalone();
    let name = "mtts-container";
    // setup-buildx-action's builder: BuildKit in a container of docker 28,
    // from our own BuildKit image (moby/buildkit is out of reach here), on
    // the host's network so it reaches the registry and the sources. No
    // registry configuration: the README's command, BuildKit talks plain
    // HTTP to a registry on 127.0.0.1 by itself.
    let config = out_dir("builders/buildx-container");
    let _ = std::fs::remove_dir_all(&config);
    std::fs::create_dir_all(&config).unwrap_or_else(|e| panic!("{e}"));
    run(buildx_with_store(&daemon, &config)
        .args(["create", "--name", name, "--driver", "docker-container"])
        .args([
            "--driver-opt",
            &format!("image={}/mtts-fixture-buildkit:e2e", s.registry),
            "--driver-opt",
            "network=host",
        ]));
    let inspect = run(buildx_with_store(&daemon, &config).args(["inspect", "--bootstrap", name]));
    assert!(
        inspect.contains("docker-container") && inspect.contains(&s.version),
        "a docker-container builder with BuildKit {}:\n{inspect}",
        s.version
    );

    let image = format!("{}/mtts-e2e-image:container", s.registry);
    let platforms = mtts_frontend::recipe::SUPPORTED_PLATFORMS.join(",");
    let cache = docker28_three_platform_cache();
    let mut cmd = registry_build(&daemon, &config, name, "Dockerfile.container");
    // As a CI job would, with a cache from elsewhere: on a new machine it
    // spares the builder three compiles the other tests made already.
    cmd.args([
        "--platform",
        &platforms,
        "--provenance=false",
        "--cache-from",
        &format!("type=local,src={}", cache.display()),
        "--push",
        "-t",
        &image,
    ])
    .arg(fixture("context"));
    let (ok, log) = try_run(&mut cmd);
    let _ = std::fs::write(out_dir("builders/logs").join("container.log"), &log);
    let _ = std::fs::remove_dir_all(&cache);
    // The builder's state stays for the next run (a CI runner's cache
    // volume); the container goes, so the next run takes the current image.
    let _ = buildx_with_store(&daemon, &config)
        .args(["rm", "--keep-state", name])
        .output();
    assert!(
        ok,
        "the docker-container build failed:\n{}",
        harness::failure_summary(&log)
    );
    assert!(
        log.contains("importing cache manifest from"),
        "the docker-container builder imported docker 28's cache:\n{log}"
    );
    eprintln!(
        "e2e: docker-container builder ran {:?}",
        progress::ran(&progress::steps(&log), &[])
    );

    // What the registry holds: one manifest per platform.
    let (manifests, _) = index_manifests(&daemon, &config, &image);
    let mut listed: Vec<&str> = manifests.iter().map(|(p, _)| p.as_str()).collect();
    listed.sort_unstable();
    let mut want = mtts_frontend::recipe::SUPPORTED_PLATFORMS.to_vec();
    want.sort_unstable();
    assert_eq!(listed, want, "imagetools inspect {image}: {manifests:?}");

    // linux/amd64: the same layers as docker 28's.
    let configs = run(buildx_with_store(&daemon, &config).args([
        "imagetools",
        "inspect",
        &image,
        "--format",
        "{{json .Image}}",
    ]));
    let configs: serde_json::Value =
        serde_json::from_str(&configs).unwrap_or_else(|e| panic!("{e}: {configs}"));
    let amd64 = &configs["linux/amd64"];
    image_config::assert_runs_tailscaled(&amd64["config"], "the docker-container builder");
    let diff_ids: Vec<String> = amd64["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect();
    assert_eq!(
        diff_ids,
        docker28_amd64().diff_ids(),
        "the docker-container builder made the same layers as docker 28's"
    );
    eprintln!(
        "e2e: docker-container builder (BuildKit {}): {manifests:?}",
        s.version
    );
}

/// `go version -m` of docker 28's tailscale.combined for `platform`,
/// unpacked: each linked module and its version (a replacement's, when
/// one replaced it).
fn linked_modules(platform: &str) -> Vec<(String, String)> {
    let archive = harness::root().join("target/e2e/image.oci.tar");
    let image = Oci::open(&archive)
        .images()
        .into_iter()
        .find(|i| i.platform == platform)
        .unwrap_or_else(|| panic!("no {platform} in {}", archive.display()));
    let dir = out_dir(&format!("builders/sbom/{}", platform.replace('/', "-")));
    let unpacked = harness::upx_unpack(&image.file("usr/local/bin/tailscale.combined").data, &dir);
    let info = run(Command::new("go").args(["version", "-m"]).arg(&unpacked));
    let mut modules: Vec<(String, String)> = Vec::new();
    for line in info.lines() {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        match fields.as_slice() {
            [_, "dep", path, version, ..] => modules.push((path.to_string(), version.to_string())),
            [_, "=>", path, version, ..] => {
                if let Some(last) = modules.last_mut() {
                    *last = (path.to_string(), version.to_string());
                }
            }
            _ => {}
        }
    }
    assert!(!modules.is_empty(), "{platform}: no modules in\n{info}");
    modules
}

/// `(key, digest)` pairs of an index's manifests, sorted.
type Manifests = Vec<(String, String)>;

/// The platform manifests (by platform) and the attestation manifests (by
/// the manifest they attest) of the index `reference`.
fn index_manifests(daemon: &Daemon, config: &Path, reference: &str) -> (Manifests, Manifests) {
    let raw =
        run(buildx_with_store(daemon, config).args(["imagetools", "inspect", "--raw", reference]));
    let index: serde_json::Value =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    let mut images = Vec::new();
    let mut attestations = Vec::new();
    for m in index["manifests"].as_array().into_iter().flatten() {
        let digest = m["digest"].as_str().unwrap_or_default().to_string();
        let annotations = &m["annotations"];
        if annotations["vnd.docker.reference.type"] == "attestation-manifest" {
            let of = annotations["vnd.docker.reference.digest"]
                .as_str()
                .unwrap_or_default();
            attestations.push((of.to_string(), digest));
        } else {
            let p = &m["platform"];
            let mut platform = format!(
                "{}/{}",
                p["os"].as_str().unwrap_or_default(),
                p["architecture"].as_str().unwrap_or_default()
            );
            if let Some(v) = p["variant"].as_str() {
                platform = format!("{platform}/{v}");
            }
            images.push((platform, digest));
        }
    }
    images.sort();
    attestations.sort();
    (images, attestations)
}

#[test]
#[ignore = "needs the standalone BuildKit and the e2e image: run scripts/test"]
fn the_sbom_lists_what_each_platform_really_holds() {
    let daemon = Daemon::today();
    let s = standalone();
    let name = "mtts-sbom";
    let config = remote_builder(&daemon, &format!("builders/buildx-{name}"), name, &s.addr);
    let platforms = mtts_frontend::recipe::SUPPORTED_PLATFORMS;
    let cache = docker28_three_platform_cache();
    // The 3-platform build pushed with --sbom, again with a scanner named,
    // and without: every step comes from docker 28's cache but the SBOM's.
    let push = |tag: &str, sbom: &[&str]| {
        let image = format!("{}/mtts-e2e-image:{tag}", s.registry);
        let mut cmd = registry_build(&daemon, &config, name, "Dockerfile.sbom");
        cmd.args(["--platform", &platforms.join(","), "--provenance=false"])
            .args(sbom)
            .args([
                "--cache-from",
                &format!("type=local,src={}", cache.display()),
            ])
            .args(["--push", "-t", &image])
            .arg(fixture("context"));
        (image, run_logged(&mut cmd, &format!("sbom-{tag}")))
    };
    let (with_sbom, log) = push("sbom", &["--sbom=true"]);
    assert!(
        !log.contains("generating sbom using"),
        "the frontend made the SBOM, BuildKit's scanner did not run:\n{log}"
    );
    for p in platforms {
        assert!(
            log.contains(&format!("[sbom {p}] what the result holds")),
            "{p}: the SBOM facts step:\n{log}"
        );
    }
    // What a scanner reads: imagetools shows an SPDX document per platform.
    let sboms = |image: &str| {
        let shown = run(buildx_with_store(&daemon, &config).args([
            "imagetools",
            "inspect",
            image,
            "--format",
            "{{json .SBOM}}",
        ]));
        serde_json::from_str::<serde_json::Value>(&shown).unwrap_or_else(|e| panic!("{e}: {shown}"))
    };
    let shown = sboms(&with_sbom);
    let (images, attestations) = index_manifests(&daemon, &config, &with_sbom);
    assert_eq!(images.len(), platforms.len(), "{images:?}");
    assert_eq!(attestations.len(), platforms.len(), "one SBOM per platform");

    // The same build again, to the same tag (the in-toto statements name
    // it as their subject), naming a scanner: the same SBOM bytes, so the
    // same attestation manifests.
    let (again, log_again) = push(
        "sbom",
        &["--attest", "type=sbom,generator=example.com/scanner:1"],
    );
    assert!(
        log_again.contains("generator=example.com/scanner:1 is not run"),
        "a named scanner is said not to run:\n{log_again}"
    );
    assert_eq!(
        index_manifests(&daemon, &config, &again),
        (images.clone(), attestations),
        "two builds, the same SBOMs"
    );
    assert_eq!(sboms(&again), shown);

    // Without --sbom: the same platform images, no attestation.
    let (without, _) = push("no-sbom", &[]);
    let _ = std::fs::remove_dir_all(&cache);
    let (images_without, attestations_without) = index_manifests(&daemon, &config, &without);
    assert_eq!(images, images_without, "--sbom changes no platform image");
    assert!(attestations_without.is_empty(), "{attestations_without:?}");

    let validator = env("MTTS_E2E_SPDX_VALIDATOR");
    let recipe = harness::builtin();
    for p in platforms {
        let doc = &shown[*p]["SPDX"];
        assert!(doc.is_object(), "{p}: no SPDX document in {shown:#}");
        // The SPDX project's own validator (spdx-tools from PyPI). Its URL
        // pattern wants a host name with a top-level domain, which the
        // sources served here on bridge addresses lack (the SPDX spec takes
        // any URL): it checks the document with the download locations a
        // build from the real sources writes, in place of the served ones
        // (which are checked to be exactly those).
        let served = [
            (
                format!("git+{}@{}", daemon.git_url, recipe.tailscale.version),
                format!(
                    "git+{}@{}",
                    recipe.tailscale.repository, recipe.tailscale.version
                ),
            ),
            (
                daemon
                    .busybox_url
                    .replace("{version}", &recipe.busybox.version),
                recipe
                    .busybox
                    .url
                    .replace("{version}", &recipe.busybox.version),
            ),
        ];
        let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
        for (here, real) in &served {
            assert!(
                text.contains(&format!("\"downloadLocation\": \"{here}\"")),
                "{p}: {here} in the SBOM"
            );
            text = text.replace(here, real);
        }
        let file = out_dir("builders/sbom").join(format!("{}.spdx.json", p.replace('/', "-")));
        std::fs::write(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        let (valid, report) = try_run(Command::new(&validator).arg("-i").arg(&file));
        assert!(
            valid,
            "{p}: {} is not valid SPDX:\n{report}",
            file.display()
        );

        let packages = doc["packages"].as_array().cloned().unwrap_or_default();
        let version_of = |name: &str| {
            packages
                .iter()
                .find(|pkg| pkg["name"] == name)
                .and_then(|pkg| pkg["versionInfo"].as_str())
                .map(str::to_string)
        };
        assert_eq!(
            version_of("tailscale.com").as_deref(),
            Some(recipe.tailscale.version.as_str()),
            "{p}"
        );
        assert_eq!(
            version_of("busybox").as_deref(),
            Some(recipe.busybox.version.as_str()),
            "{p}"
        );
        // Every module the binary links, at the version go version -m
        // reads from the unpacked binary.
        let modules = linked_modules(p);
        assert!(
            modules.iter().any(|(m, _)| m == "golang.org/x/net"),
            "{p}: {modules:?}"
        );
        for (module, version) in &modules {
            assert_eq!(
                version_of(module).as_deref(),
                Some(version.as_str()),
                "{p}: {module} in the SBOM"
            );
        }
        eprintln!(
            "e2e: {p}: SBOM valid SPDX, {} packages ({} Go modules), tailscale.com {}, busybox {}",
            packages.len(),
            modules.len(),
            recipe.tailscale.version,
            recipe.busybox.version
        );
    }
    run(buildx_with_store(&daemon, &config).args(["rm", name]));
}
