//! A remote main context, as `docker buildx build URL` and remote bake
//! definitions give one: a git repository, a tarball and a bare Dockerfile
//! over HTTP, each served by the e2e's own git daemon and httpd. The
//! repository and the tarball hold the stub and an applet list with an
//! applet the built-in list lacks, so the busybox built shows which
//! context it came from.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{self, Build, Daemon, env, out_dir, run};

/// The applet only the remote contexts' list has.
const REMOTE_APPLET: &str = "FACTOR";

/// `docker buildx build URL`: no `-f`, the Dockerfile is the remote's.
fn buildx_url(daemon: &Daemon, url: &str, extra: &[&str]) -> Build {
    let mut cmd = daemon.docker();
    cmd.args(["buildx", "build", "--progress", "plain"])
        .args(daemon.input_args(""))
        .args(extra)
        .arg(url);
    Build::of(daemon.name, &mut cmd)
}

/// The build context of these tests: the e2e context, the stub as its
/// Dockerfile, and [`REMOTE_APPLET`] in its applet list.
fn remote_tree(daemon: &Daemon, dir: &str) -> PathBuf {
    let tree = out_dir(dir);
    let _ = std::fs::remove_dir_all(&tree);
    harness::copy_dir(&harness::fixture("context"), &tree);
    harness::add_applet(&tree, REMOTE_APPLET, "only in the remote contexts");
    std::fs::copy(daemon.real_stub("Dockerfile"), tree.join("Dockerfile"))
        .unwrap_or_else(|e| panic!("{e}"));
    tree
}

/// `tree` committed (with fixed dates: the same tree gives the same
/// commit, and a warm cache) as branch main of `name` under the git
/// daemon's base path; its URL.
pub fn serve_repository(tree: &Path, name: &str) -> String {
    let bare = PathBuf::from(env("MTTS_E2E_SERVED_GIT_DIR")).join(name);
    let git = |args: &[&str]| {
        run(Command::new("git")
            .arg("-C")
            .arg(tree)
            .args(args)
            .env("GIT_AUTHOR_NAME", "mtts e2e")
            .env("GIT_AUTHOR_EMAIL", "e2e@mtts.invalid")
            .env("GIT_COMMITTER_NAME", "mtts e2e")
            .env("GIT_COMMITTER_EMAIL", "e2e@mtts.invalid")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"))
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A", "."]);
    git(&["commit", "-q", "-m", "the e2e context"]);
    let _ = std::fs::remove_dir_all(&bare);
    run(Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&bare));
    git(&["push", "-q", "--force", &bare.display().to_string(), "main"]);
    format!("{}/{name}", env("MTTS_E2E_SERVED_GIT_BASE"))
}

/// `file` served by the httpd as `name`; its URL.
fn serve_file(file: &Path, name: &str) -> String {
    let dest = PathBuf::from(env("MTTS_E2E_SERVED_WWW_DIR")).join(name);
    std::fs::copy(file, &dest).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    format!("{}/{name}", env("MTTS_E2E_SERVED_HTTP_BASE"))
}

/// The busybox target of the remote context `url` for linux/amd64: the
/// build and where its files went.
fn busybox_of(daemon: &Daemon, url: &str, dir: &str, extra: &[&str]) -> (Build, PathBuf) {
    let dest = out_dir(dir);
    let _ = std::fs::remove_dir_all(&dest);
    let output = format!("type=local,dest={}", dest.display());
    let mut args = vec![
        "--platform",
        "linux/amd64",
        "--target",
        "busybox",
        "--output",
        &output,
    ];
    args.extend(extra);
    (buildx_url(daemon, url, &args), dest)
}

fn assert_remote_applet_built(build: &Build, dest: &Path, what: &str) {
    build.assert_ok(what);
    let applet = REMOTE_APPLET.to_lowercase();
    assert!(
        std::fs::symlink_metadata(dest.join("usr/bin").join(&applet)).is_ok(),
        "{what}: no usr/bin/{applet}, so the applet list was not the remote's"
    );
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_git_repository_is_a_main_context() {
    let daemon = Daemon::today();
    let url = serve_repository(
        &remote_tree(&daemon, "remote-git-tree"),
        "mtts-e2e-context.git",
    );
    let (build, dest) = busybox_of(&daemon, &format!("{url}#main"), "remote-git", &[]);
    assert_remote_applet_built(&build, &dest, "the busybox target of a git context");
    assert!(
        build.log().contains("[internal] load git source"),
        "{}",
        build.log()
    );
    // BUILDKIT_CONTEXT_KEEP_GIT_DIR is taken (the source keeps .git), and
    // no warning is made of it.
    let (kept, dest) = busybox_of(
        &daemon,
        &url,
        "remote-git-kept",
        &["--build-arg", "BUILDKIT_CONTEXT_KEEP_GIT_DIR=1"],
    );
    assert_remote_applet_built(&kept, &dest, "the same, keeping the .git directory");
    assert!(
        !kept
            .log()
            .contains("build argument BUILDKIT_CONTEXT_KEEP_GIT_DIR"),
        "{}",
        kept.log()
    );
    // `-f /absolute/path` with a URL: the Dockerfile is that local file
    // (here one with a misspelt key), the context still the repository's.
    let local = harness::stub("Dockerfile.remote-badkey", "[tailscale]\nfeaturs = []\n");
    let mut cmd = daemon.docker();
    cmd.args(["buildx", "build", "--progress", "plain", "--target", "tags"])
        .arg("-f")
        .arg(&local)
        .arg(&url);
    Build::of(daemon.name, &mut cmd).expect_failure(&["line 3", "featurs"]);
    // A branch the repository lacks: the error names it.
    buildx_url(
        &daemon,
        &format!("{url}#no-such-branch"),
        &["--target", "tags"],
    )
    .expect_failure(&["no-such-branch"]);

    // The query spelling with a subdirectory (buildx asks the frontend
    // for moby.buildkit.frontend.gitquerystring first): the context in
    // router/ of another repository, whose root has no Dockerfile, so the
    // build finds the stub only in the subdirectory. The tags target: the
    // same source and patches as the other builds, so nothing compiles.
    let nested = out_dir("remote-git-nested");
    let _ = std::fs::remove_dir_all(&nested);
    harness::copy_dir(
        &remote_tree(&daemon, "remote-git-tree"),
        &nested.join("router"),
    );
    let nested_url = serve_repository(&nested, "mtts-e2e-nested.git");
    buildx_url(
        &daemon,
        &format!("{nested_url}?ref=main&subdir=router"),
        &["--target", "tags"],
    )
    .assert_ok("a git context as ?ref=main&subdir=router");
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_tarball_or_a_dockerfile_over_http_is_a_main_context() {
    let daemon = Daemon::today();
    let tree = remote_tree(&daemon, "remote-http-tree");
    let tarball = out_dir("remote-context").join("context.tar.gz");
    // Sorted, dated and gzip'd without a name or time: the same bytes each
    // run.
    run(Command::new("sh").arg("-c").arg(format!(
        "tar --sort=name --mtime=@1767225600 --owner=0 --group=0 --numeric-owner \
         -C '{}' -cf - Dockerfile patches busybox-applets.config | gzip -n > '{}'",
        tree.display(),
        tarball.display()
    )));
    let url = serve_file(&tarball, "mtts-e2e-context.tar.gz");
    let (build, dest) = busybox_of(&daemon, &url, "remote-tarball", &[]);
    assert_remote_applet_built(&build, &dest, "the busybox target of a tarball context");
    assert!(
        build.log().contains("[internal] load remote build context"),
        "{}",
        build.log()
    );

    // A download that is no archive is the Dockerfile, and the context is
    // empty: the built-in applet list.
    let url = serve_file(&tree.join("Dockerfile"), "mtts-e2e-Dockerfile");
    let (build, dest) = busybox_of(&daemon, &url, "remote-dockerfile", &[]);
    build.assert_ok("the busybox target of a Dockerfile over http");
    assert!(
        std::fs::symlink_metadata(dest.join("bin/sh")).is_ok(),
        "the built-in list's applets are linked"
    );
    assert!(
        std::fs::symlink_metadata(dest.join("usr/bin/factor")).is_err(),
        "no applet list came with a bare Dockerfile"
    );
}
