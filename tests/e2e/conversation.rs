//! What buildx users expect from any `# syntax=` frontend, asked through
//! real buildx: `--call outline` (table and JSON), `--check`, and errors
//! that show the recipe line the way the Dockerfile frontend shows a bad
//! instruction.

use std::process::Command;

use crate::harness::{Daemon, out_dir, stub};
use mtts_frontend::recipe::step;

/// Lines of an excerpt buildx printed: `  4 | >>> version = ...`.
fn marked_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(" | >>> "))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The log of the Dockerfile frontend failing on `dockerfile` (in
/// `out_dir(dir)`), which must mark exactly the line `marked`, in the shape
/// [`assert_excerpt_shape`] checks.
fn dockerfile_frontend_failure(
    daemon: &Daemon,
    dir: &str,
    dockerfile: &str,
    marked: &str,
) -> String {
    let dir = out_dir(dir);
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd: Command = daemon.docker();
    cmd.args([
        "buildx",
        "build",
        "--progress",
        "plain",
        "--network",
        "none",
    ])
    .arg(&dir);
    let (ok, log) = crate::harness::try_run(&mut cmd);
    assert!(!ok, "{log}");
    assert_eq!(marked_lines(&log), [marked], "{log}");
    assert_excerpt_shape(&log);
    log
}

/// `docker buildx history inspect` of the newest failed build whose
/// Dockerfile was `dockerfile` (other tests build beside this one, so the
/// newest record is not always it; buildx writes no metadata file for a
/// failed build to name its ref).
fn history_record(daemon: &Daemon, dockerfile: &str) -> String {
    let text = |cmd: &mut Command| crate::harness::try_run(cmd).1;
    let list = text(
        daemon
            .docker()
            .args(["buildx", "history", "ls", "--format", "json"]),
    );
    for line in list.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let Some(reference) = record["ref"].as_str() else {
            continue;
        };
        if record["status"] != "Error" {
            continue;
        }
        let id = reference.rsplit('/').next().unwrap_or(reference);
        let shown = text(daemon.docker().args(["buildx", "history", "inspect", id]));
        if shown
            .lines()
            .any(|l| l.starts_with("Dockerfile:") && l.trim_end().ends_with(dockerfile))
        {
            return shown;
        }
    }
    panic!("no build of {dockerfile} in buildx history:\n{list}");
}

/// An excerpt as buildx prints one: the file and line, a rule, the marked
/// line, a rule.
fn assert_excerpt_shape(log: &str) {
    assert!(
        log.lines().filter(|l| *l == "--------------------").count() >= 2,
        "{log}"
    );
}

/// `text` with every line that starts with `prefix` replaced by `line`.
fn replace_lines(text: &str, prefix: &str, line: &str) -> String {
    text.lines()
        .map(|l| {
            let l = if l.starts_with(prefix) { line } else { l };
            format!("{l}\n")
        })
        .collect()
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn outline_shows_the_build_arguments_with_their_defaults() {
    let daemon = Daemon::today();
    let stub = daemon.real_stub("Dockerfile");
    let table = daemon.buildx(&stub, &["--call", "outline"]);
    let log = table.log();
    assert!(table.output.status.success(), "{log}");
    for needle in [
        "TARGET:",
        "image",
        "BUILD ARG",
        "TAILSCALE_VERSION",
        "BUSYBOX_SHA256",
        "OCI_VERSION",
    ] {
        assert!(log.contains(needle), "{needle} not in the outline:\n{log}");
    }
    let version = crate::harness::env("MTTS_E2E_TAILSCALE_VERSION");
    assert!(
        log.lines()
            .any(|l| l.starts_with("TAILSCALE_VERSION") && l.contains(&version)),
        "the pinned version in the table:\n{log}"
    );

    // What a release script reads: the pinned version, as JSON.
    let json = daemon.buildx(&stub, &["--call", "outline,format=json"]);
    assert!(json.output.status.success(), "{}", json.log());
    let stdout = String::from_utf8_lossy(&json.output.stdout).to_string();
    let outline: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    let pinned = outline["args"]
        .as_array()
        .and_then(|args| args.iter().find(|a| a["name"] == "TAILSCALE_VERSION"))
        .and_then(|a| a["value"].as_str())
        .unwrap_or_default()
        .to_string();
    assert_eq!(pinned, version, "{stdout}");
    assert_eq!(outline["name"], "image", "{stdout}");
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn check_passes_the_default_recipe_and_marks_what_it_finds() {
    let daemon = Daemon::today();
    // The repository's own recipe: clean, so --check exits 0.
    let clean = daemon.buildx(
        &stub("Dockerfile.check", &crate::harness::default_recipe()),
        &["--check"],
    );
    let log = clean.log();
    assert!(clean.output.status.success(), "{log}");
    assert!(log.contains("Check complete, no warnings found."), "{log}");

    // A tag-only pin and a typo'd build argument: warnings, exit 1.
    let body = replace_lines(
        &crate::harness::default_recipe(),
        "golang = ",
        "golang = \"golang:1.26-alpine\"",
    );
    assert!(body.contains("golang = \"golang:1.26-alpine\""));
    let warned = daemon.buildx(
        &stub("Dockerfile.check-warn", &body),
        &["--check", "--build-arg", "TAILSCALE_VERSON=v1.2.3"],
    );
    let log = warned.log();
    assert_eq!(warned.output.status.code(), Some(1), "{log}");
    assert!(log.contains("2 warnings have been found!"), "{log}");
    assert!(log.contains("WARNING: ImagePinnedByTagOnly"), "{log}");
    assert!(log.contains("WARNING: UnusedBuildArg"), "{log}");
    assert!(
        marked_lines(&log)
            .iter()
            .any(|l| l.contains(">>> golang = \"golang:1.26-alpine\"")),
        "the pin's line is marked:\n{log}"
    );

    // A value that cannot be built: an error with its line, exit non-zero.
    let broken = daemon.buildx(
        &stub(
            "Dockerfile.check-error",
            "[tailscale]\nversion = \"latest\"\n",
        ),
        &["--check"],
    );
    let log = broken.log();
    assert!(!broken.output.status.success(), "{log}");
    assert!(log.contains("tailscale.version"), "{log}");
    assert_eq!(
        marked_lines(&log),
        ["3 | >>> version = \"latest\""],
        "{log}"
    );
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn recipe_errors_show_their_line_as_dockerfile_errors_do() {
    let daemon = Daemon::today();
    // Ours: a bad value in a real build.
    let ours = daemon.buildx(
        &stub(
            "Dockerfile.badvalue",
            "[tailscale]\nversion = \"v1.98.5\"\n\n[busybox]\nsha256 = \"abc\"\n",
        ),
        &["--network", "none"],
    );
    let ours_log = ours.log();
    assert!(!ours.output.status.success(), "{ours_log}");
    assert!(ours_log.contains("busybox.sha256"), "{ours_log}");
    assert_eq!(
        marked_lines(&ours_log),
        ["6 | >>> sha256 = \"abc\""],
        "{ours_log}"
    );

    // The Dockerfile frontend's own shape, for a bad instruction.
    let theirs_log = dockerfile_frontend_failure(
        &daemon,
        "dockerfile-frontend",
        "FROM scratch\nFORM scratch\n",
        "2 | >>> FORM scratch",
    );
    assert_excerpt_shape(&ours_log);
    assert!(ours_log.contains("Dockerfile.badvalue:6"), "{ours_log}");
    assert!(theirs_log.contains("Dockerfile:2"), "{theirs_log}");
    eprintln!("e2e: ours:\n{ours_log}\ne2e: the Dockerfile frontend's:\n{theirs_log}");
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_golang_image_too_old_for_the_source_fails_before_anything_compiles() {
    let daemon = Daemon::today();
    let tree = out_dir("newer-go-tree");
    let _ = std::fs::remove_dir_all(&tree);
    let from = crate::harness::env("MTTS_E2E_TAILSCALE_TREE");
    crate::harness::run(Command::new("cp").arg("-a").arg(&from).arg(&tree));
    let go_mod = tree.join("go.mod");
    let text = std::fs::read_to_string(&go_mod).unwrap_or_else(|e| panic!("{e}"));
    let edited = replace_lines(&text, "go ", "go 1.99.0");
    assert!(
        edited.contains("\ngo 1.99.0\n"),
        "no go line in {from}/go.mod"
    );
    std::fs::write(&go_mod, edited).unwrap_or_else(|e| panic!("{e}"));

    let build = daemon.buildx(
        &daemon.real_stub("Dockerfile"),
        &[
            "--target",
            "tags",
            "--build-context",
            &format!("tailscale={}", tree.display()),
            "--output",
            "type=cacheonly",
        ],
    );
    build.expect_failure(&[
        step::GO_VERSION_STEP,
        "go.mod needs go 1.99.0, but the golang image has go 1.",
        "replace the golang named context (--build-context golang=...) with a Go 1.99.0 (or newer) image",
    ]);
    let ran: Vec<String> = crate::progress::steps(&build.log())
        .into_iter()
        .filter(|s| !s.cached)
        .map(|s| s.name)
        .collect();
    for later in [step::MOD_DOWNLOAD_STEP, step::FEATURETAGS_STEP] {
        assert!(
            !ran.iter().any(|n| n == later),
            "{later} ran after the check failed: {ran:?}"
        );
    }
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_failed_step_shows_the_recipe_line_that_made_it_as_a_failed_run_does() {
    let daemon = Daemon::today();
    // Ours: the tags step fails on a feature the Tailscale version does
    // not know; the step comes from tailscale.features, so buildx shows
    // that line of the stub (the source map), and nothing of the built-in
    // recipe.
    let mut features = crate::harness::builtin().tailscale.features;
    features.insert(0, "nosuchfeature".to_string());
    let features = format!("features = {}", crate::harness::toml_list(&features));
    let body = daemon.real_recipe_with(&[("tailscale", &features)]);
    let line = body
        .lines()
        .position(|l| l.starts_with("features = "))
        .map_or(0, |i| i + 2);
    let ours = daemon.buildx(&stub("Dockerfile.failedstep", &body), &["--target", "tags"]);
    let ours_log = ours.log();
    assert!(!ours.output.status.success(), "{ours_log}");
    assert!(ours_log.contains(step::FEATURETAGS_STEP), "{ours_log}");
    let marked = marked_lines(&ours_log);
    assert_eq!(marked.len(), 1, "{ours_log}");
    assert!(
        marked[0].starts_with(&format!("{line} | >>> features = [\"nosuchfeature\"")),
        "{marked:?}:\n{ours_log}"
    );
    assert!(
        ours_log.contains(&format!("Dockerfile.failedstep:{line}")),
        "{ours_log}"
    );

    // The Dockerfile frontend's shape for a failed RUN.
    let theirs_log = dockerfile_frontend_failure(
        &daemon,
        "dockerfile-frontend-run",
        "FROM mtts-fixture-golang:e2e\nRUN false\n",
        "2 | >>> RUN false",
    );
    assert_excerpt_shape(&ours_log);

    // buildx keeps it: the build's record shows the same place.
    let record = history_record(&daemon, "Dockerfile.failedstep");
    assert!(
        record.contains("features = [\"nosuchfeature\""),
        "the record shows the recipe line:\n{record}"
    );
    eprintln!(
        "e2e: ours:\n{ours_log}\ne2e: the Dockerfile frontend's:\n{theirs_log}\ne2e: history:\n{record}"
    );
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn every_recipe_mistake_is_reported_at_once_each_line_marked() {
    let daemon = Daemon::today();
    let out = daemon.buildx(
        &stub(
            "Dockerfile.mistakes",
            "[tailscale]\nversion = \"latest\"\n\n[busybox]\nsha256 = \"abc\"\nurl = \"ftp://x\"\n",
        ),
        &["--network", "none"],
    );
    let log = out.log();
    assert!(!out.output.status.success(), "{log}");
    assert!(log.contains("3 problems in the recipe:"), "{log}");
    for key in ["tailscale.version", "busybox.sha256", "busybox.url"] {
        assert!(log.contains(key), "{key}:\n{log}");
    }
    assert_eq!(
        marked_lines(&log),
        [
            "3 | >>> version = \"latest\"",
            "6 | >>> sha256 = \"abc\"",
            "7 | >>> url = \"ftp://x\""
        ],
        "{log}"
    );
}
