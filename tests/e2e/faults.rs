//! Faults and odd inputs a user can give, through real buildx: each fails
//! (or warns) naming what the user wrote, the recipe key or the step, and
//! never leaks a secret or points at the wrong line.

use std::os::unix::ffi::OsStrExt;

use crate::harness::{Build, Daemon, WHY, out_dir, stub};
use mtts_frontend::recipe::step;

/// The line buildx marks in an excerpt of the stub (`>>> `), if any.
fn marked_line(log: &str) -> Option<&str> {
    log.lines().find(|l| l.contains(">>> "))
}

/// buildx's last line: what the user reads first.
fn last_line(build: &Build) -> String {
    build
        .log()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_busybox_url_with_a_password_is_refused_and_never_shown() {
    let _ = WHY;
    let daemon = Daemon::today();
    let body = daemon.real_recipe().replace(
        &daemon.busybox_url,
        "https://me:s3cret@busybox.example/busybox-{version}.tar.bz2",
    );
    let out = daemon.buildx(
        &stub("Dockerfile.bbsecret", &body),
        &["--network", "none", "--target", "busybox"],
    );
    out.expect_failure(&["busybox.url", "password"]);
    assert!(!out.log().contains("s3cret"), "{}", out.log());
    // GOPROXY is the other user value that reaches the graph as a URL.
    let out = daemon.buildx(
        &daemon.real_stub("Dockerfile"),
        &[
            "--network",
            "none",
            "--build-arg",
            "GOPROXY=https://me:s3cret@proxy.example/go",
        ],
    );
    out.expect_failure(&["GOPROXY", "password"]);
    assert!(!out.log().contains("s3cret"), "{}", out.log());
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_wrong_busybox_download_names_url_key_and_both_checksums() {
    let daemon = Daemon::today();
    let builtin = crate::harness::builtin();
    let (version, sha) = (&builtin.busybox.version, &builtin.busybox.sha256);
    // A URL the server answers with 404, with a checksum no build has
    // had: BuildKit finds a download by its checksum alone, so with the
    // real one it would take the cached tarball and fetch nothing.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let unheard = format!("{:064x}", nonce);
    let missing = daemon.busybox_url.replace("{version}", "{version}-missing");
    let body = daemon
        .real_recipe_with(&[("busybox", &format!("sha256 = \"{unheard}\""))])
        .replace(&daemon.busybox_url, &missing);
    let out = daemon.buildx(
        &stub("Dockerfile.bb404", &body),
        &["--platform", "linux/amd64", "--target", "busybox"],
    );
    let url = missing.replace("{version}", version);
    // BuildKit says only "digest mismatch <what came back>: <what was
    // expected>"; the step's name says where from and which keys.
    let step = format!(
        "[busybox] download busybox-{version}.tar.bz2 from {url} (busybox.url; checked against busybox.sha256)"
    );
    out.expect_failure(&[&format!("{step}\n"), "ERROR: digest mismatch sha256:"]);
    assert!(
        out.log().contains(&format!(": sha256:{unheard}")),
        "{}",
        out.log()
    );
    // The right URL with a wrong checksum: both digests are named.
    let wrong = "0".repeat(64);
    let out = daemon.buildx(
        &stub(
            "Dockerfile.bbsha",
            &daemon.real_recipe_with(&[("busybox", &format!("sha256 = \"{wrong}\""))]),
        ),
        &["--platform", "linux/amd64", "--target", "busybox"],
    );
    out.expect_failure(&[
        "(busybox.url; checked against busybox.sha256)",
        &format!("digest mismatch sha256:{sha}: sha256:{wrong}"),
    ]);
    // A checksum from the build arguments is named as such.
    let out = daemon.buildx(
        &stub("Dockerfile.bb404arg", &body),
        &[
            "--platform",
            "linux/amd64",
            "--target",
            "busybox",
            "--build-arg",
            &format!("BUSYBOX_VERSION={version}"),
            "--build-arg",
            &format!("BUSYBOX_SHA256={wrong}"),
        ],
    );
    out.expect_failure(&["(busybox.url; checked against BUSYBOX_SHA256)"]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn an_empty_tailscale_context_fails_naming_it_and_the_step_last() {
    let daemon = Daemon::today();
    let empty = out_dir("empty-tailscale-context");
    let _ = std::fs::remove_dir_all(&empty);
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
    let out = daemon.buildx(
        &daemon.real_stub("Dockerfile"),
        &[
            "--target",
            "tags",
            "--build-context",
            &format!("tailscale={}", empty.display()),
        ],
    );
    out.expect_failure(&[
        step::APPLY_PATCHES_STEP,
        "the Tailscale source has no go.mod",
    ]);
    assert!(!out.log().contains("cp: cannot create"), "{}", out.log());
    // buildx ends with the failed step's name and output, then BuildKit's
    // line quoting the process: the script's name, not its text.
    let last = last_line(&out);
    assert!(
        last.contains("apply-patches") && last.len() < 200,
        "the last line is {} bytes: {last}",
        last.len()
    );
    let log = out.log();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    assert!(
        tail.iter()
            .any(|l| l.contains("> [tailscale] apply patches/:"))
            && tail
                .iter()
                .any(|l| l.contains("the Tailscale source has no go.mod")),
        "{tail:#?}"
    );
    assert!(!log.contains("MTTS_PATCHES"), "no script text is quoted");
    // The excerpt is the step's own source map: the built-in recipe's
    // tailscale.version (the stub does not set it), never the `# syntax=`
    // line.
    let marked = marked_line(&log).unwrap_or_default();
    assert!(
        marked.contains("version = ") && !marked.contains("syntax"),
        "{log}"
    );
    assert!(
        log.contains(mtts_frontend::recipe::BUILTIN_FILE_NAME),
        "{log}"
    );
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_huge_feature_list_is_refused_by_its_key() {
    let daemon = Daemon::today();
    let names: Vec<String> = (0..3000).map(|i| format!("\"feature{i}\"")).collect();
    let body = format!("[tailscale]\nfeatures = [{}]\n", names.join(", "));
    daemon
        .buildx(
            &stub("Dockerfile.manyfeatures", &body),
            &["--network", "none", "--target", "tags"],
        )
        .expect_failure(&["tailscale.features", "3000 names; at most 256"]);
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn recipe_keys_written_as_labels_and_wrong_types_are_named() {
    let daemon = Daemon::today();
    let below = stub(
        "Dockerfile.upxlabel",
        "[labels]\ntitle = \"router\"\nupx = \"false\"\n",
    );
    let out = daemon.buildx(&below, &["--check"]);
    out.expect_failure(&["RecipeKeyAsLabel", "labels.upx is a label"]);
    assert!(
        marked_line(&out.log()).is_some_and(|l| l.contains("upx = \"false\"")),
        "{}",
        out.log()
    );
    for (name, body, says) in [
        (
            "Dockerfile.tables",
            "[[tailscale]]\nversion = \"v1.2.3\"\n",
            "tailscale takes one table, written [tailscale], not an array of tables",
        ),
        (
            "Dockerfile.dottedlabel",
            "[labels]\norg.example.x = \"v\"\n",
            "labels.org takes a quoted string",
        ),
        (
            "Dockerfile.bareutc",
            "[tailscale]\ncommit_time = 2026-08-04T17:32:46Z\n",
            "tailscale.commit_time takes a quoted UTC time",
        ),
    ] {
        daemon
            .buildx(&stub(name, body), &["--network", "none"])
            .expect_failure(&[says]);
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn errors_without_a_recipe_line_mark_no_line() {
    let daemon = Daemon::today();
    let stub = daemon.real_stub("Dockerfile");
    for (args, says) in [
        (
            vec!["--build-arg", "TAILSCALE_VERSION=main"],
            "TAILSCALE_VERSION",
        ),
        (vec!["--label", "bad key=v"], "label"),
        (vec!["--platform", "linux/riscv64"], "linux/riscv64"),
        (vec!["--target", "builder"], "\"builder\""),
    ] {
        let mut all = vec!["--network", "none"];
        all.extend(args);
        let out = daemon.buildx(&stub, &all);
        out.expect_failure(&[says]);
        assert_eq!(marked_line(&out.log()), None, "{}", out.log());
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_build_argument_that_is_not_utf8_is_refused_by_name() {
    // BuildKit v0.13 (docker 26) hands the bytes on, and they arrive as
    // U+FFFD; newer BuildKits refuse the request themselves.
    for (daemon, says) in [
        (
            Daemon::oldest(),
            ["build argument OCI_VERSION", "not valid UTF-8"],
        ),
        (Daemon::today(), ["failed to solve", "invalid UTF-8"]),
    ] {
        let mut cmd = daemon.docker();
        cmd.args([
            "buildx",
            "build",
            "--progress",
            "plain",
            "--network",
            "none",
        ])
        .arg("-f")
        .arg(daemon.real_stub("Dockerfile"))
        .args(daemon.input_args(""))
        .arg("--build-arg")
        .arg(std::ffi::OsStr::from_bytes(b"OCI_VERSION=v1\xff\xfe"))
        .arg(crate::harness::fixture("context"));
        Build::of(daemon.name, &mut cmd).expect_failure(&says);
    }
}
