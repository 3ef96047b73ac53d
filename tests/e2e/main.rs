//! End to end: real BuildKits (docker 28 + buildx 0.29, and docker 26 +
//! buildx 0.13 as the oldest supported) build the image through `# syntax=`
//! with our frontend image, from real inputs: the Tailscale source cloned
//! from a git server, modules from a module proxy, the busybox release
//! tarball over HTTP, and fixture base images with real Go, clang, lld, musl
//! sysroots and UPX. The exported image is checked file by file and its
//! binaries are run (the arm ones under qemu-user: a check of the output
//! only, the build itself never emulates). `scripts/test` sets everything up
//! and runs these tests with `--ignored`; see `harness.rs` for what it
//! passes in the environment.

#[path = "../common/image_config.rs"]
mod image_config;

mod bake;
mod conversation;
mod direct_module;
mod elf;
mod faults;
mod harness;
mod named_contexts;
mod next;
mod private;
mod progress;
mod proxy;
mod remote_context;
// Its digests are for the reproducibility test.
#[allow(dead_code)]
mod oci;
mod quickstart;
mod rebuilds;
mod stand_ins;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use harness::{Daemon, env, out_dir, run, stub, try_run};
use mtts_frontend::recipe::step;
use oci::{Oci, PlatformImage};

/// How each platform's binaries must look, and how to run them here.
struct Target {
    platform: &'static str,
    machine: &'static str,
    bits: u8,
    goarch: &'static str,
    goarm: Option<&'static str>,
    /// Debian's qemu-user binary for a foreign machine.
    qemu: Option<&'static str>,
}

const TARGETS: [Target; 3] = [
    Target {
        platform: "linux/amd64",
        machine: "x86-64",
        bits: 64,
        goarch: "amd64",
        goarm: None,
        qemu: None,
    },
    Target {
        platform: "linux/arm/v7",
        machine: "arm",
        bits: 32,
        goarch: "arm",
        goarm: Some("7"),
        qemu: Some("qemu-arm-static"),
    },
    Target {
        platform: "linux/arm64",
        machine: "aarch64",
        bits: 64,
        goarch: "arm64",
        goarm: None,
        qemu: Some("qemu-aarch64-static"),
    },
];

fn target(platform: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.platform == platform)
        .unwrap_or_else(|| panic!("unexpected platform {platform}"))
}

fn slug(platform: &str) -> String {
    platform.replace('/', "-")
}

const OCI_VERSION: &str = "v1.98.5-mt.e2e";

/// The 3-platform image from the default recipe, built once for every test
/// that looks at it, and the tags the featuretags step resolved.
struct MainImage {
    oci: Oci,
    log: String,
    tags: String,
}

fn main_image() -> &'static MainImage {
    static IMAGE: OnceLock<Result<MainImage, String>> = OnceLock::new();
    let built = IMAGE.get_or_init(|| {
        let daemon = Daemon::today();
        let archive = out_dir("").join("image.oci.tar");
        let _ = std::fs::remove_file(&archive);
        let started = Instant::now();
        let platforms = mtts_frontend::recipe::SUPPORTED_PLATFORMS.join(",");
        let build = daemon.buildx(
            &daemon.real_stub("Dockerfile"),
            &[
                "--platform",
                &platforms,
                "--provenance=false",
                "--build-arg",
                &format!("OCI_VERSION={OCI_VERSION}"),
                "--label",
                "org.example.e2e=yes",
                "--output",
                &format!("type=oci,dest={}", archive.display()),
            ],
        );
        if !build.output.status.success() {
            return Err(format!(
                "the 3-platform build failed on {}:\n{}",
                daemon.name,
                harness::failure_summary(&build.log())
            ));
        }
        eprintln!(
            "e2e: 3-platform build took {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let (tags_build, tags) = daemon.tags(&daemon.real_stub("Dockerfile"), "tags");
        if !tags_build.output.status.success() {
            return Err(harness::failure_summary(&tags_build.log()));
        }
        Ok(MainImage {
            oci: Oci::open(&archive),
            log: build.log(),
            tags: tags.trim().to_string(),
        })
    });
    match built {
        Ok(image) => image,
        Err(e) => panic!("{e}"),
    }
}

/// One history entry per layer, named by the step that made it, saying
/// which frontend built it; each layer holds what its name says.
fn assert_history_names_the_steps(image: &PlatformImage) {
    let p = image.platform.as_str();
    let history = image.config["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = history
        .iter()
        .map(|h| h["created_by"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            step::LINKS_STEP.to_string(),
            format!("[busybox {p}] /bin/busybox"),
            step::CERTS_STEP.to_string(),
            format!("[tailscale {p}] /usr/local/bin"),
        ],
        "{p}: history"
    );
    assert_eq!(
        history.len(),
        image.layers.len(),
        "{p}: one entry per layer"
    );
    for h in &history {
        assert_eq!(
            h["comment"],
            format!("mtts-frontend {}", env!("CARGO_PKG_VERSION")),
            "{p}"
        );
    }
    // Every file, link and directory carries the recipe's epoch, the
    // Tailscale tag's commit time, and so do the config and history.
    let epoch = harness::recipe_commit_time();
    assert_eq!(image.config["created"], epoch.0, "{p}: created");
    for h in &history {
        assert_eq!(h["created"], epoch.0, "{p}: history created");
    }
    for (i, layer) in image.layers.iter().enumerate() {
        let off: Vec<(&String, u64)> = layer
            .iter()
            .filter(|(_, e)| e.mtime != epoch.1)
            .map(|(path, e)| (path, e.mtime))
            .collect();
        assert!(
            off.is_empty(),
            "{p}: layer {i}: not at {}: {off:?}",
            epoch.0
        );
    }
    for (layer, path) in image.layers.iter().zip([
        "bin/sh",
        "bin/busybox",
        "etc/ssl/certs/ca-certificates.crt",
        "usr/local/bin/tailscale.combined",
    ]) {
        assert!(layer.contains_key(path), "{p}: {path} not in its layer");
    }
}

/// The platform images, checked to be exactly the three we asked for.
fn images() -> Vec<PlatformImage> {
    let images = main_image().oci.images();
    let names: Vec<&str> = images.iter().map(|i| i.platform.as_str()).collect();
    assert_eq!(names, ["linux/amd64", "linux/arm/v7", "linux/arm64"]);
    images
}

/// Each platform's root filesystem, extracted to run its programs.
fn extracted(image: &PlatformImage) -> PathBuf {
    let dir = out_dir("rootfs").join(slug(&image.platform));
    image.extract(&dir);
    dir
}

/// Runs one of the image's programs on this machine: natively, or under
/// qemu-user for a foreign machine. `argv0` is what the program sees as
/// its name.
fn run_target(t: &Target, rootfs: &Path, program: &str, argv0: &str, args: &[&str]) -> Command {
    let path = rootfs.join(program.trim_start_matches('/'));
    let mut cmd = match t.qemu {
        None => {
            use std::os::unix::process::CommandExt;
            let mut c = Command::new(&path);
            c.arg0(argv0);
            c
        }
        Some(qemu) => {
            let mut c = Command::new(qemu);
            c.arg("-0").arg(argv0).arg(&path);
            c
        }
    };
    cmd.args(args);
    cmd
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn real_image_for_three_platforms() {
    let main = main_image();
    // Shared work ran once for all three platforms. BuildKit repeats a
    // step's header when other output interleaves: count step numbers.
    for step in [
        step::MOD_DOWNLOAD_STEP,
        step::FEATURETAGS_STEP,
        step::CONFIGURE_STEP,
        step::LINKS_STEP,
    ] {
        let steps: BTreeSet<&str> = main
            .log
            .lines()
            .filter(|l| l.starts_with('#') && l.ends_with(step))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(steps.len(), 1, "{step} ran as steps {steps:?}");
    }
    // The real downloads ran (or were cached by their real checksums).
    let version = env("MTTS_E2E_TAILSCALE_VERSION");
    assert!(
        main.log.contains(&format!(
            "[tailscale] git {} {version}",
            Daemon::today().git_url
        )),
        "the Tailscale git source op is in the build"
    );
    let busybox = harness::builtin().busybox.version;
    assert!(
        main.log
            .contains(&format!("[busybox] download busybox-{busybox}.tar.bz2"))
    );

    let mut sizes = String::new();
    for image in images() {
        let p = image.platform.as_str();
        let t = target(p);
        let config = &image.config;
        assert_eq!(config["os"], "linux", "{p}");
        assert_eq!(
            config["architecture"],
            p.split('/').nth(1).unwrap_or(""),
            "{p}"
        );
        assert_eq!(config["variant"].as_str(), p.split('/').nth(2), "{p}");
        let c = &config["config"];
        image_config::assert_runs_tailscaled(c, p);
        assert_eq!(c["Labels"]["org.opencontainers.image.version"], OCI_VERSION);
        assert_eq!(c["Labels"]["org.example.e2e"], "yes");
        assert_history_names_the_steps(&image);

        let with_binary = image
            .layers
            .iter()
            .filter(|l| l.contains_key("usr/local/bin/tailscale.combined"))
            .count();
        assert_eq!(
            with_binary, 1,
            "{p}: tailscale.combined must be in exactly one layer"
        );
        for link in ["usr/local/bin/tailscale", "usr/local/bin/tailscaled"] {
            assert_eq!(
                image.file(link).link.as_deref(),
                Some("/usr/local/bin/tailscale.combined"),
                "{p} {link}"
            );
        }
        let entry = image.file("usr/local/bin/entrypoint.sh");
        assert_eq!(entry.mode & 0o777, 0o755, "{p} entrypoint mode");
        assert!(
            entry
                .text()
                .contains("exec /usr/local/bin/tailscaled \"$@\"")
        );
        let bundle = image.file("etc/ssl/certs/ca-certificates.crt").text();
        assert!(
            bundle.matches("BEGIN CERTIFICATE").count() > 50,
            "{p}: a real CA bundle"
        );
        assert_eq!(image.file("bin/sh").link.as_deref(), Some("/bin/busybox"));

        for (path, what) in [
            ("usr/local/bin/tailscale.combined", "tailscale.combined"),
            ("bin/busybox", "busybox"),
        ] {
            let bytes = image.file(path).data;
            let elf = elf::parse(&bytes).unwrap_or_else(|| panic!("{p}: {what} is not ELF"));
            assert_eq!(elf.machine, t.machine, "{p}: {what} machine");
            assert_eq!(elf.bits, t.bits, "{p}: {what} class");
            assert!(elf.is_static, "{p}: {what} must be static: {elf:?}");
            assert!(elf.upx_packed, "{p}: {what} must be UPX-packed");
            if t.machine == "arm" {
                assert!(elf.arm_eabi5, "{p}: {what} must be ARM EABI5");
            }
        }
        if t.machine == "arm" {
            let busybox = elf::parse(&image.file("bin/busybox").data);
            assert!(
                busybox.is_some_and(|e| e.arm_hard_float),
                "{p}: busybox must be built for the hard-float ABI"
            );
        }
        let ts = image.file("usr/local/bin/tailscale.combined").data.len();
        let bb = image.file("bin/busybox").data.len();
        sizes.push_str(&format!(
            "{p:<13} tailscale.combined {:>9} B  busybox {:>7} B  rootfs {:>9} B  compressed image {:>9} B\n",
            ts,
            bb,
            image.rootfs_size(),
            image.compressed_size
        ));
    }
    eprintln!("e2e: sizes\n{sizes}");
    std::fs::write(out_dir("").join("sizes.txt"), &sizes).unwrap_or_else(|e| panic!("{e}"));
}

/// `go version -m` of the image's tailscale.combined, unpacked by the
/// fixture golang image's upx into `target/e2e/unpacked{suffix}/PLATFORM/`.
fn build_info(image: &PlatformImage, suffix: &str) -> String {
    let p = image.platform.as_str();
    let t = target(p);
    let dir = out_dir(&format!("unpacked{suffix}/{}", slug(p)));
    let unpacked = harness::upx_unpack(&image.file("usr/local/bin/tailscale.combined").data, &dir);
    let bytes = std::fs::read(&unpacked).unwrap_or_default();
    let elf = elf::parse(&bytes).unwrap_or_else(|| panic!("{p}: unpacked is not ELF"));
    assert!(!elf.upx_packed || bytes.len() > 10_000_000, "{p}: unpacked");
    if t.machine == "arm" {
        // Go sets no float-ABI flag; GOARM=7 (checked below) is its
        // hardware floating point.
        assert!(elf.arm_eabi5, "{p}: tailscale must be ARM EABI5");
    }
    run(Command::new("go").args(["version", "-m"]).arg(&unpacked))
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn go_build_info_shows_target_and_resolved_tags() {
    let main = main_image();
    assert!(main.tags.starts_with("ts_include_cli,"), "{}", main.tags);
    let tags: Vec<&str> = main.tags.split(',').collect();
    for kept in ["ts_omit_netstack", "ts_omit_peerapiserver", "ts_omit_dns"] {
        assert!(!tags.contains(&kept), "{kept} in {tags:?}");
    }
    for omitted in [
        "ts_omit_clientupdate",
        "ts_omit_cachenetmap",
        "ts_omit_logtail",
        "ts_omit_ssh",
    ] {
        assert!(tags.contains(&omitted), "{omitted} missing from {tags:?}");
    }
    for image in images() {
        let p = image.platform.as_str();
        let t = target(p);
        let info = build_info(&image, "");
        let has = |line: &str| info.lines().any(|l| l.trim() == line);
        assert!(has("path\ttailscale.com/cmd/tailscaled"), "{p}:\n{info}");
        assert!(
            info.lines()
                .any(|l| l.trim().starts_with("mod\ttailscale.com\t")),
            "{p}:\n{info}"
        );
        assert!(has(&format!("build\tGOARCH={}", t.goarch)), "{p}:\n{info}");
        assert!(has("build\tGOOS=linux"), "{p}:\n{info}");
        if let Some(goarm) = t.goarm {
            assert!(has(&format!("build\tGOARM={goarm}")), "{p}:\n{info}");
        }
        assert!(has("build\tCGO_ENABLED=0"), "{p}:\n{info}");
        assert!(has("build\t-trimpath=true"), "{p}:\n{info}");
        assert!(
            has(&format!("build\t-tags={}", main.tags)),
            "{p}: the binary was built with exactly the resolved tags {}:\n{info}",
            main.tags
        );
    }
}

/// What `tailscale version` printed (on `platform`): `bare` (the version
/// without its v) first, then the stamps build_dist.sh gives, from the
/// commit the tag resolved to.
fn assert_version_stamps(platform: &str, stdout: &str, bare: &str, commit: &str) {
    assert_eq!(
        stdout.lines().next(),
        Some(bare),
        "{platform}: tailscale version prints {bare}:\n{stdout}"
    );
    for line in [
        format!("  tailscale commit: {commit}"),
        format!("  long version: {bare}-t{}", &commit[..9]),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{platform}: {line:?} in tailscale version:\n{stdout}"
        );
    }
}

/// The busybox target of `context` with the stub `dockerfile`, for
/// linux/amd64, into `dest` (emptied first).
fn busybox_target(
    daemon: &Daemon,
    context: &Path,
    dockerfile: &Path,
    dest: &Path,
) -> harness::Build {
    let _ = std::fs::remove_dir_all(dest);
    daemon.buildx_in(
        context,
        dockerfile,
        &[
            "--platform",
            "linux/amd64",
            "--target",
            "busybox",
            "--output",
            &format!("type=local,dest={}", dest.display()),
        ],
    )
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn binaries_run_and_tell_the_truth() {
    let version = env("MTTS_E2E_TAILSCALE_VERSION");
    let bare = version.trim_start_matches('v');
    for image in images() {
        let p = image.platform.as_str();
        let t = target(p);
        let rootfs = extracted(&image);

        let mut cmd = run_target(
            t,
            &rootfs,
            "/usr/local/bin/tailscale.combined",
            "tailscale",
            &["version"],
        );
        cmd.env("MTTS_E2E_MARKERS", "1");
        let out = cmd.output().unwrap_or_else(|e| panic!("{p}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{p}: tailscale version:\n{stdout}{stderr}"
        );
        assert_version_stamps(p, &stdout, bare, &env("MTTS_E2E_TAILSCALE_COMMIT"));
        // The context's patches/ were compiled in: both overlays, and the
        // diff that edits one of them.
        for marker in [
            "mtts-e2e: overlay patches/e2e_marker.go (patched by patches/0001-e2e.diff)",
            "mtts-e2e: overlay patches/cmd/tailscaled/e2e_mirrored.go",
        ] {
            assert!(stderr.contains(marker), "{p}: {marker:?} not in:\n{stderr}");
        }
        assert!(
            !stderr.contains("DOOMED"),
            "{p}: patches/0002-delete-doomed.patch deletes e2e_doomed.go:\n{stderr}"
        );

        let list = run(&mut run_target(
            t,
            &rootfs,
            "/bin/busybox",
            "busybox",
            &["--list"],
        ));
        let applets: BTreeSet<String> = list.lines().map(str::to_string).collect();
        let links = image.applet_links();
        assert_eq!(applets, links, "{p}: busybox --list vs the applet links");
        assert!(applets.len() > 50, "{p}: {} applets", applets.len());
        let echo = run(&mut run_target(
            t,
            &rootfs,
            "/bin/busybox",
            "sh",
            &["-c", "echo $((6 * 7)) | tr 4 x"],
        ));
        assert_eq!(echo.trim(), "x2", "{p}: busybox sh -c");
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn amd64_image_runs_tailscaled_in_the_daemon() {
    let _ = main_image();
    let daemon = Daemon::today();
    let tag = "mtts-e2e-image:amd64";
    daemon.load(&daemon.real_stub("Dockerfile"), tag);
    let name = "mtts-e2e-tailscaled";
    let _ = daemon.docker().args(["rm", "-f", name]).output();
    // As on RouterOS: kernel TUN. Without /dev/net/tun here, userspace
    // networking, appended to the image's own CMD.
    let tun = Path::new("/dev/net/tun").exists();
    let mut create = daemon.docker();
    create.args(["run", "-d", "--name", name]);
    if tun {
        create.args(["--device", "/dev/net/tun", "--cap-add", "NET_ADMIN"]);
    }
    create.arg(tag);
    if !tun {
        eprintln!("e2e: no /dev/net/tun here: tailscaled runs with --tun=userspace-networking");
        create.args([
            "--no-logs-no-support",
            "--state=/var/lib/tailscale/tailscaled.state",
            "--socket=/var/run/tailscale/tailscaled.sock",
            "--statedir=/var/lib/tailscale",
            "--tun=userspace-networking",
        ]);
    }
    run(&mut create);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (_, out) = try_run(daemon.docker().args(["exec", name, "tailscale", "status"]));
        if out.contains("Logged out") || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let (_, logs) = try_run(daemon.docker().args(["logs", name]));
    let _ = daemon.docker().args(["rm", "-f", name]).output();
    assert!(
        status.contains("Logged out"),
        "tailscale status over the socket should say it is logged out; it said:\n{status}\ntailscaled's log:\n{logs}"
    );
    assert!(!logs.contains("panic:"), "tailscaled's log:\n{logs}");
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn tailscale_context_builds_a_fork_from_a_directory() {
    let _ = main_image();
    let daemon = Daemon::today();
    let dest = out_dir("fork-binary");
    let _ = std::fs::remove_dir_all(&dest);
    let tree = env("MTTS_E2E_TAILSCALE_TREE");
    daemon
        .buildx(
            &daemon.real_stub("Dockerfile"),
            &[
                "--platform",
                "linux/arm64",
                "--target",
                "tailscale",
                "--build-context",
                &format!("tailscale={tree}"),
                "--output",
                &format!("type=local,dest={}", dest.display()),
            ],
        )
        .assert_ok("the fork build");
    let files: Vec<String> = std::fs::read_dir(&dest)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    assert_eq!(files, ["tailscale.combined"]);
    let bytes = std::fs::read(dest.join("tailscale.combined")).unwrap_or_default();
    let elf = elf::parse(&bytes).unwrap_or_else(|| panic!("not ELF"));
    assert_eq!(elf.machine, "aarch64");
    assert!(elf.upx_packed);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn oldest_daemon_builds_a_real_platform_with_the_fallback_graph() {
    let daemon = Daemon::oldest();
    let archive = out_dir("").join("image-docker26.oci.tar");
    let _ = std::fs::remove_file(&archive);
    let build = daemon.buildx(
        &daemon.real_stub("Dockerfile"),
        &[
            "--platform",
            "linux/amd64",
            "--provenance=false",
            "--output",
            &format!("type=oci,dest={}", archive.display()),
        ],
    );
    build.assert_ok("the docker 26 build");
    // BuildKit v0.13 has no file-op symlinks: an exec made them.
    let log = build.log();
    assert!(
        log.contains("[tailscale linux/amd64] stage /usr/local/bin"),
        "the fallback graph was used:\n{log}"
    );
    let oci = Oci::open(&archive);
    let built = oci.images();
    assert_eq!(built.len(), 1);
    let image = &built[0];
    image_config::assert_runs_tailscaled(&image.config["config"], "docker 26");
    assert_history_names_the_steps(image);
    for link in ["usr/local/bin/tailscale", "usr/local/bin/tailscaled"] {
        assert_eq!(
            image.file(link).link.as_deref(),
            Some("/usr/local/bin/tailscale.combined"),
            "{link}"
        );
    }
    let with_binary = image
        .layers
        .iter()
        .filter(|l| l.contains_key("usr/local/bin/tailscale.combined"))
        .count();
    assert_eq!(with_binary, 1, "the binary in exactly one layer");
    // The same uncompressed layers as today's daemon made, though there an
    // exec made the links and here a file op: only file times could have
    // told them apart, and those are the epoch.
    let today = images()
        .into_iter()
        .find(|i| i.platform == "linux/amd64")
        .unwrap_or_else(|| panic!("no linux/amd64 image from docker 28"));
    assert_eq!(
        image.diff_ids(),
        today.diff_ids(),
        "diff ids of linux/amd64: docker 26 vs docker 28"
    );
    let rootfs = out_dir("rootfs").join("docker26-linux-amd64");
    image.extract(&rootfs);
    let t = target("linux/amd64");
    let out = run(&mut run_target(
        t,
        &rootfs,
        "/usr/local/bin/tailscale.combined",
        "tailscale",
        &["version"],
    ));
    let version = env("MTTS_E2E_TAILSCALE_VERSION");
    assert_eq!(out.lines().next(), Some(version.trim_start_matches('v')));
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn unsupported_platform_names_the_supported_ones() {
    let daemon = Daemon::today();
    daemon
        .buildx(
            &daemon.real_stub("Dockerfile"),
            &["--network", "none", "--platform", "linux/arm/v5"],
        )
        .expect_failure(&["linux/arm/v5", "linux/amd64, linux/arm64, linux/arm/v7"]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn malformed_build_args_name_the_argument() {
    let daemon = Daemon::today();
    let stub = daemon.real_stub("Dockerfile");
    daemon
        .buildx(
            &stub,
            &[
                "--network",
                "none",
                "--build-arg",
                "TAILSCALE_VERSION=main;id",
            ],
        )
        .expect_failure(&["TAILSCALE_VERSION", "\"main;id\""]);
    daemon
        .buildx(
            &stub,
            &["--network", "none", "--build-arg", "GOPROXY=$(id)"],
        )
        .expect_failure(&["GOPROXY", "$(id)"]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn unknown_recipe_key_names_key_and_line() {
    let path = stub(
        "Dockerfile.badkey",
        "[tailscale]\nversion = \"v1.98.5\"\nfeaturs = []\n",
    );
    Daemon::today()
        .buildx(&path, &["--network", "none"])
        .expect_failure(&["line 4", "featurs"]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn unknown_feature_fails_in_the_tags_step_naming_it() {
    let daemon = Daemon::today();
    let mut features = harness::builtin().tailscale.features;
    features.insert(0, "nosuchfeature".to_string());
    let features = format!("features = {}", harness::toml_list(&features));
    let path = stub(
        "Dockerfile.badfeature",
        &daemon.real_recipe_with(&[("tailscale", &features)]),
    );
    daemon
        .buildx(&path, &["--target", "tags"])
        .expect_failure(&[
            step::FEATURETAGS_STEP,
            "unknown Tailscale feature(s)",
            "nosuchfeature",
        ]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn lists_targets_for_buildx() {
    let daemon = Daemon::today();
    let out = daemon.buildx(
        &daemon.real_stub("Dockerfile"),
        &["--network", "none", "--call", "targets"],
    );
    let log = out.log();
    assert!(out.output.status.success(), "{log}");
    for t in ["image (default)", "tailscale", "busybox", "tags"] {
        assert!(log.contains(t), "{t} not listed:\n{log}");
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn unused_build_args_contexts_and_flags_are_warned_about_and_no_cache_filter_keeps_the_rest() {
    let _ = main_image();
    let daemon = Daemon::today();
    let dest = out_dir("tags-warned");
    let out = daemon.buildx(
        &daemon.real_stub("Dockerfile"),
        &[
            "--target",
            "tags",
            "--build-arg",
            "TYPO_VERSION=1",
            "--build-context",
            "nonsense=docker-image://mtts-fixture-xx:e2e",
            "--add-host",
            "db.example:10.0.0.1",
            "--ulimit",
            "nofile=1024:1024",
            "--no-cache-filter",
            "busybox,bussybox",
            "--output",
            &format!("type=local,dest={}", dest.display()),
        ],
    );
    out.assert_ok("the tags build");
    let log = out.log();
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
    // --no-cache-filter drops only its groups' cache: the tags target has
    // no busybox step, so it all comes from the main image's build.
    let steps = crate::progress::steps(&log);
    let tags = steps
        .iter()
        .find(|s| s.name == step::FEATURETAGS_STEP)
        .unwrap_or_else(|| panic!("no tags step in:\n{log}"));
    assert!(
        tags.cached,
        "--no-cache-filter busybox re-ran the tags:\n{log}"
    );
    assert!(
        log.contains("--no-cache-filter bussybox: no such step group"),
        "{log}"
    );
    for flag in ["--add-host", "--ulimit"] {
        assert!(
            log.contains(&format!(
                "{flag} is ignored: mtts-frontend does not apply it"
            )),
            "{log}"
        );
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn recipe_pins_are_checked_before_anything_runs() {
    let daemon = Daemon::today();
    let body = daemon.real_recipe();
    // A version bump that forgot its checksum fails at once, by name.
    let sha = harness::builtin().busybox.sha256;
    let nosha = daemon.real_recipe_with(&[("busybox", "version = \"1.37.0\"")]);
    let path = stub("Dockerfile.nosha", &nosha);
    daemon
        .buildx(&path, &["--network", "none", "--target", "busybox"])
        .expect_failure(&["busybox.version", "busybox.sha256"]);
    // An uppercase checksum is the same checksum: BuildKit's http source
    // verifies the real tarball with it.
    let upper = format!("sha256 = \"{}\"", sha.to_uppercase());
    let path = stub(
        "Dockerfile.uppersha",
        &daemon.real_recipe_with(&[("busybox", &upper)]),
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .contains(&sha.to_uppercase())
    );
    let dest = out_dir("busybox-rootfs");
    busybox_target(&daemon, &harness::fixture("context"), &path, &dest)
        .assert_ok("the busybox target with an uppercase sha256");
    assert!(dest.join("bin/busybox").exists());
    // A credential in the repository URL is refused and never shown.
    let path = stub(
        "Dockerfile.secret",
        &body.replace(
            &daemon.git_url,
            "https://me:s3cret@example.com/tailscale.git",
        ),
    );
    let out = daemon.buildx(&path, &["--network", "none", "--target", "tags"]);
    out.expect_failure(&["tailscale.repository", "password"]);
    assert!(!out.log().contains("s3cret"), "{}", out.log());
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_disabled_filter_and_a_filter_patch_contradict() {
    let _ = main_image();
    let daemon = Daemon::today();
    let context = out_dir("context-with-filter");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(context.join("patches")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        harness::root().join("patches/stderr_verbosity_filter.go"),
        context.join("patches/stderr_verbosity_filter.go"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = stub(
        "Dockerfile.nofilter",
        &daemon.real_recipe_with(&[("tailscale", "verbosity_filter = false")]),
    );
    daemon
        .buildx_in(&context, &path, &["--target", "tags"])
        .expect_failure(&[
            step::APPLY_PATCHES_STEP,
            "verbosity_filter = false",
            "patches/stderr_verbosity_filter.go",
        ]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_context_without_an_applet_list_gets_the_built_in_one() {
    let _ = main_image();
    let daemon = Daemon::today();
    let context = out_dir("context-without-applets");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).unwrap_or_else(|e| panic!("{e}"));
    let dest = out_dir("busybox-built-in-list");
    let out = busybox_target(&daemon, &context, &daemon.real_stub("Dockerfile"), &dest);
    out.assert_ok("the busybox target from a context without an applet list");
    // The built-in list is the repository's: its applets are linked (an
    // empty list would give a busybox with none).
    assert!(dest.join("bin/busybox").exists());
    assert!(
        std::fs::symlink_metadata(dest.join("bin/sh")).is_ok(),
        "no /bin/sh link in {}",
        dest.display()
    );
}

/// The main context's `.dockerignore` is honoured, as by the Dockerfile
/// frontend: an applet list it excludes never reaches the build, which
/// then takes the built-in list.
#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn the_contexts_dockerignore_is_honoured() {
    let _ = main_image();
    let daemon = Daemon::today();
    let context = out_dir("context-dockerignore");
    let _ = std::fs::remove_dir_all(&context);
    harness::copy_dir(&harness::fixture("context"), &context);
    harness::add_applet(&context, "FACTOR", "excluded by .dockerignore");
    std::fs::write(
        context.join(".dockerignore"),
        "# the applet list stays out\n/busybox-applets.config\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dest = out_dir("busybox-dockerignore");
    let out = busybox_target(&daemon, &context, &daemon.real_stub("Dockerfile"), &dest);
    out.assert_ok("the busybox target from a context whose .dockerignore excludes the applet list");
    assert!(
        std::fs::symlink_metadata(dest.join("bin/sh")).is_ok(),
        "the built-in list's applets are linked: no /bin/sh in {}",
        dest.display()
    );
    assert!(
        std::fs::symlink_metadata(dest.join("usr/bin/factor")).is_err(),
        "FACTOR, only in the excluded list, is not built"
    );
    assert!(
        out.log().contains("[internal] load .dockerignore"),
        "{}",
        out.log()
    );
}
