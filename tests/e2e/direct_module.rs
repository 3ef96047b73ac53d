//! A module the module proxy does not serve, fetched by Go from its
//! repository: `GOPROXY=<proxy>,direct`. golang:*-alpine has no git, and
//! neither has its stand-in until `apk add git`, so this passes only if the
//! module download installs git when the list can reach `direct`. The
//! module is a git repository on the e2e's git daemon (`git://`, which Go
//! may use only for paths in `GOINSECURE`); a user patch adds it to
//! Tailscale's go.mod and go.sum and imports it in tailscaled.

use std::path::Path;
use std::process::Command;

use crate::harness::{self, Build, Daemon, env, out_dir, run, try_run};
use crate::remote_context::serve_repository;

const VERSION: &str = "v0.1.0";

/// The module's repository on the git daemon; its module path
/// (`ADDR/mtts-e2e-direct.git`, the address of the daemon's bridge).
fn serve_module() -> String {
    let base = env("MTTS_E2E_SERVED_GIT_BASE");
    let addr = base.trim_start_matches("git://");
    let path = format!("{addr}/mtts-e2e-direct.git");
    let tree = out_dir("direct-module-src");
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree).unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(tree.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    write("go.mod", &format!("module {path}\n\ngo 1.21\n"));
    write(
        "direct.go",
        "// Package direct is served only by git, never by the module proxy.\n\
         package direct\n\n\
         // Marker is what tailscaled keeps of it.\n\
         var Marker = \"mtts-e2e direct module\"\n",
    );
    serve_repository(&tree, "mtts-e2e-direct.git");
    run(Command::new("git")
        .arg("--git-dir")
        .arg(Path::new(&env("MTTS_E2E_SERVED_GIT_DIR")).join("mtts-e2e-direct.git"))
        .args(["tag", "-f", VERSION, "main"]));
    path
}

/// go.sum's two lines for the module, from the same repository by the
/// machine's own Go (with git).
fn go_sum_lines(path: &str) -> String {
    let dir = out_dir("direct-module-sum");
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("u+w")
        .arg(&dir)
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let host = path.split('/').next().unwrap_or_default();
    let json = run(Command::new("go")
        .current_dir(&dir)
        .args(["mod", "download", "-json", &format!("{path}@{VERSION}")])
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-modcacherw")
        .env("GOPROXY", "direct")
        .env("GOINSECURE", host)
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", dir.join("mod")));
    let field = |name: &str| {
        let key = format!("\"{name}\": \"");
        let start = json
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {json}"))
            + key.len();
        json[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    format!(
        "{path} {VERSION} {}\n{path} {VERSION}/go.mod {}\n",
        field("Sum"),
        field("GoModSum")
    )
}

/// The e2e context plus patches/ that require the module (a diff of
/// go.mod and go.sum against the Tailscale tree) and import it.
fn context_requiring(path: &str) -> std::path::PathBuf {
    let context = out_dir("direct-module-context");
    let _ = std::fs::remove_dir_all(&context);
    harness::copy_dir(&harness::fixture("context"), &context);
    let tree = Path::new(&env("MTTS_E2E_TAILSCALE_TREE")).to_path_buf();
    let edits = out_dir("direct-module-edits");
    let _ = std::fs::remove_dir_all(&edits);
    for side in ["a", "b"] {
        std::fs::create_dir_all(edits.join(side)).unwrap_or_else(|e| panic!("{e}"));
        for f in ["go.mod", "go.sum"] {
            std::fs::copy(tree.join(f), edits.join(side).join(f)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let append = |f: &str, text: &str| {
        let p = edits.join("b").join(f);
        let mut s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        s.push_str(text);
        std::fs::write(&p, s).unwrap_or_else(|e| panic!("{e}"));
    };
    append("go.mod", &format!("\nrequire {path} {VERSION}\n"));
    append("go.sum", &go_sum_lines(path));
    // diff exits 1 when the files differ, which they do.
    let diff = Command::new("diff")
        .current_dir(&edits)
        .args(["-ru", "a", "b"])
        .output()
        .unwrap_or_else(|e| panic!("diff: {e}"));
    assert_eq!(diff.status.code(), Some(1), "{diff:?}");
    std::fs::write(
        context.join("patches/0002-direct-module.diff"),
        &diff.stdout,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        context.join("patches/e2e_direct.go"),
        format!(
            "package main\n\nimport direct \"{path}\"\n\n\
             // Kept by the linker: tailscaled's init reads it.\n\
             var e2eDirect = direct.Marker\n\n\
             func init() {{ _ = len(e2eDirect) }}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    context
}

fn build(daemon: &Daemon, context: &Path, goproxy: &str, insecure: &str, dir: &str) -> Build {
    let dest = out_dir(dir);
    let _ = std::fs::remove_dir_all(&dest);
    daemon.buildx_in(
        context,
        &daemon.real_stub("Dockerfile"),
        &[
            "--platform",
            "linux/amd64",
            "--target",
            "tailscale",
            "--provenance=false",
            "--build-arg",
            &format!("GOPROXY={goproxy}"),
            "--build-arg",
            &format!("GOINSECURE={insecure}"),
            "--output",
            &format!("type=local,dest={}", dest.display()),
        ],
    )
}

#[test]
#[ignore = "needs the e2e daemons and servers (scripts/test)"]
fn a_module_only_in_git_is_fetched_with_git_installed_for_direct() {
    let daemon = Daemon::today();
    let path = serve_module();
    let host = path.split('/').next().unwrap_or_default().to_string();
    // The proxy does not have it: only `direct` can fetch it.
    let (served, _) = try_run(Command::new("busybox").args([
        "wget",
        "-q",
        "-O",
        "-",
        &format!("{}/{path}/@v/list", daemon.goproxy),
    ]));
    assert!(!served, "the module proxy serves {path}");
    let context = context_requiring(&path);

    let proxy_only = build(&daemon, &context, &daemon.goproxy, &host, "direct-none");
    proxy_only.expect_failure(&["go mod download", &path]);
    assert!(
        !proxy_only.log().contains("apk add --no-cache git"),
        "git installed though GOPROXY cannot reach direct"
    );

    let list = format!("{},direct", daemon.goproxy);
    let built = build(&daemon, &context, &list, &host, "direct-module");
    built.assert_ok("a build whose module list ends in direct");
    let log = built.log();
    assert!(
        log.contains(&format!(
            "[tailscale] apk add --no-cache git (GOPROXY={list} can fetch from version control)"
        )),
        "no git step in:\n{log}"
    );
    let binary = out_dir("direct-module").join("tailscale.combined");
    assert!(
        binary.is_file(),
        "no tailscale.combined from the build with the direct module"
    );
}
