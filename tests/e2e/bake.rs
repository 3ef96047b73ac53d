//! The README's bake file (`docs/docker-bake.hcl`) as written, run by real
//! `docker buildx bake`: its `image` and `tailscale` targets, with the
//! `golang` input coming from its `golang` target, and bake's `--call
//! outline` and `--call check`. Only what points the file at this machine's
//! sources is set from outside (`--set`, and its variables from the
//! environment, as a user would), and one platform is built: the three
//! platforms prove nothing more here than in the image tests.

use std::path::Path;
use std::process::Command;

use crate::harness::{Build, Daemon, env, fixture, out_dir, root, run};

/// `docker buildx bake -f docs/docker-bake.hcl` with the served sources and
/// the fixture base images laid over the file's targets.
fn bake(daemon: &Daemon, args: &[&str]) -> Command {
    let stub = daemon.real_stub("Dockerfile");
    let mut cmd = daemon.docker();
    cmd.args(["buildx", "bake", "--progress", "plain", "-f"])
        .arg(root().join("docs/docker-bake.hcl"))
        .env("GOLANG_IMAGE", "mtts-fixture-golang:e2e")
        .env_remove("TAILSCALE_VERSION")
        .env_remove("TAG");
    for target in ["image", "tailscale"] {
        let set = |what: &str, value: &str| format!("{target}.{what}={value}");
        cmd.arg("--set")
            .arg(set("context", &fixture("context").display().to_string()))
            .arg("--set")
            .arg(set("dockerfile", &stub.display().to_string()))
            .arg("--set")
            .arg(set("args.GOPROXY", &daemon.goproxy))
            .arg("--set")
            .arg(set("platform", "linux/amd64"));
        for image in ["alpine", "xx"] {
            cmd.arg("--set").arg(set(
                &format!("contexts.{image}"),
                &format!("docker-image://mtts-fixture-{image}:e2e"),
            ));
        }
    }
    cmd.args(args);
    cmd
}

fn file_in(dir: &Path, name: &str) -> u64 {
    std::fs::metadata(dir.join(name))
        .map(|m| m.len())
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", dir.display()))
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn the_readmes_bake_file_builds_the_image_and_the_binary() {
    let daemon = Daemon::today();
    let dir = out_dir("bake");
    let (image, binary) = (dir.join("image"), dir.join("tailscale"));
    for d in [&image, &binary] {
        let _ = std::fs::remove_dir_all(d);
    }
    // Both targets in one bake, as `docker buildx bake image tailscale`.
    let build = Build::of(
        daemon.name,
        bake(
            &daemon,
            &[
                "--set",
                &format!("image.output=type=local,dest={}", image.display()),
                "--set",
                &format!("tailscale.output=type=local,dest={}", binary.display()),
                "image",
                "tailscale",
            ],
        )
        .arg("--provenance=false"),
    );
    build.assert_ok("docker buildx bake image tailscale (docs/docker-bake.hcl)");
    // The golang input came from the bake target: without it the recipe's
    // own golang pin would be pulled, and no registry is reachable here.
    let combined = file_in(&binary, "tailscale.combined");
    assert!(
        file_in(&image, "usr/local/bin/tailscale.combined") == combined,
        "the image holds the binary the tailscale target gave"
    );
    // The file's TAILSCALE_VERSION: null (the recipe's pin) unless the
    // environment names one; outline shows the value the build would use.
    let pin = env("MTTS_E2E_TAILSCALE_VERSION");
    for (given, expect) in [(None, pin.as_str()), (Some("v1.102.5"), "v1.102.5")] {
        let mut cmd = bake(&daemon, &["--call", "outline", "image"]);
        if let Some(v) = given {
            cmd.env("TAILSCALE_VERSION", v);
        }
        let out = Build::of(daemon.name, &mut cmd);
        out.assert_ok("bake --call outline image");
        let line = out
            .log()
            .lines()
            .find(|l| l.starts_with("TAILSCALE_VERSION"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no TAILSCALE_VERSION in the outline:\n{}", out.log()));
        assert!(
            line.split_whitespace().nth(1) == Some(expect),
            "TAILSCALE_VERSION={given:?}: the outline says {line:?}, not {expect}"
        );
    }
    let check = Build::of(
        daemon.name,
        &mut bake(&daemon, &["--call", "check", "image"]),
    );
    check.assert_ok("bake --call check image");
    assert!(
        check.log().contains("no warnings"),
        "bake --call check image:\n{}",
        check.log()
    );
    let files = run(Command::new("ls").arg(&image));
    eprintln!(
        "e2e: docs/docker-bake.hcl: image ({} entries at /) and tailscale.combined ({combined} bytes) in one bake; outline and check answered",
        files.lines().count()
    );
}
