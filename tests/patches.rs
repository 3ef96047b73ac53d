//! The embedded `apply-patches` script, run as the recipe runs it (`sh -euc`,
//! the paths in the environment) on scratch trees: name order across
//! `.diff` and `.patch`, deletions, refused renames, hostile directory
//! names, the verbosity-filter rule, and hunks that need fuzz. Each case
//! runs under the system's shell and GNU tools and, where a busybox is
//! installed (`scripts/test` installs Debian's busybox-static), entirely
//! under busybox, as in the golang:alpine image: its `sh` (ash) runs the
//! script with only busybox's applets on the PATH (`patch`, `cp`, `find`,
//! `sort`, `grep`, `awk`, ...).

use std::path::PathBuf;
use std::process::Command;

const SCRIPT: &str = include_str!("../src/recipe/scripts/apply-patches.sh");
/// Stands for the frontend's built-in filter file.
const BUILTIN_FILTER: &str = "package main\n\n// the built-in filter\n";

/// What runs the script: the system's shell and tools, or busybox alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PatchTool {
    System,
    Busybox,
}

fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn tools() -> Vec<PatchTool> {
    let mut tools = vec![PatchTool::System];
    if busybox().is_some() {
        tools.push(PatchTool::Busybox);
    } else {
        eprintln!("no busybox here: only the system's patch is tried");
    }
    tools
}

struct Trees {
    root: PathBuf,
    tool: PatchTool,
}

impl Trees {
    fn new(name: &str, tool: PatchTool) -> Trees {
        let root = std::env::temp_dir().join(format!(
            "mtts-patches-{}-{name}-{tool:?}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src/cmd/tailscaled")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("src/go.mod"), "module tailscale.com\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(root.join("patches")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(root.join("bin")).unwrap_or_else(|e| panic!("{e}"));
        if let (PatchTool::Busybox, Some(bb)) = (tool, busybox()) {
            // Every applet, as Alpine's /bin and /usr/bin have them.
            let list = Command::new(&bb)
                .arg("--list")
                .output()
                .unwrap_or_else(|e| panic!("{}: {e}", bb.display()));
            for applet in String::from_utf8_lossy(&list.stdout).lines() {
                std::os::unix::fs::symlink(&bb, root.join("bin").join(applet))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        Trees { root, tool }
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }

    /// Runs the script; (success, output).
    fn apply(&self, verbosity_filter: bool) -> (bool, String) {
        let bin = self.root.join("bin");
        let (shell, path) = match self.tool {
            PatchTool::System => (
                PathBuf::from("sh"),
                std::env::var("PATH").unwrap_or_default(),
            ),
            // busybox's ash, and nothing but its applets to call.
            PatchTool::Busybox => (bin.join("sh"), bin.display().to_string()),
        };
        let mut cmd = Command::new(shell);
        cmd.args(["-euc", SCRIPT, "apply-patches"])
            .env("PATH", path)
            .env("MTTS_PATCHES", self.root.join("patches"))
            .env("MTTS_SRC", self.root.join("src"))
            .env_remove("MTTS_FILTER_FILE");
        if verbosity_filter {
            self.write("builtin/stderr_verbosity_filter.go", BUILTIN_FILTER);
            cmd.env(
                "MTTS_FILTER_FILE",
                self.root.join("builtin/stderr_verbosity_filter.go"),
            );
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("sh: {e}"));
        (
            out.status.success(),
            format!(
                "[{:?} patch] {}{}",
                self.tool,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for Trees {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A one-line change of `file` from `from` to `to`.
fn diff(file: &str, from: &str, to: &str) -> String {
    format!("--- a/{file}\n+++ b/{file}\n@@ -1 +1 @@\n-{from}\n+{to}\n")
}

#[test]
fn diffs_and_patches_apply_in_one_name_order() {
    for tool in tools() {
        let t = Trees::new("order", tool);
        t.write("src/VERSION", "1\n");
        // Each needs the one before it in name order, whatever its suffix.
        t.write("patches/10-one.patch", &diff("VERSION", "1", "2"));
        t.write("patches/20-two.diff", &diff("VERSION", "2", "3"));
        t.write("patches/30-three.patch", &diff("VERSION", "3", "4"));
        let (ok, log) = t.apply(true);
        assert!(ok, "{log}");
        assert_eq!(t.read("src/VERSION").as_deref(), Some("4\n"), "{log}");
    }
}

#[test]
fn a_diff_to_dev_null_deletes_the_file() {
    for tool in tools() {
        let t = Trees::new("delete", tool);
        t.write("src/doomed.txt", "bye\n");
        t.write(
            "patches/01-delete.diff",
            "diff --git a/doomed.txt b/doomed.txt\ndeleted file mode 100644\n--- a/doomed.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n",
        );
        let (ok, log) = t.apply(true);
        assert!(ok, "{log}");
        assert!(!t.root.join("src/doomed.txt").exists(), "{log}");
    }
}

#[test]
fn git_renames_are_refused_naming_the_file() {
    for tool in tools() {
        let t = Trees::new("rename", tool);
        t.write("src/old.go", "package main\n");
        t.write(
            "patches/02-move.diff",
            "diff --git a/old.go b/new.go\nsimilarity index 100%\nrename from old.go\nrename to new.go\n",
        );
        let (ok, log) = t.apply(true);
        assert!(!ok, "{log}");
        assert!(
            log.contains("patches/02-move.diff") && log.contains("rename"),
            "{log}"
        );
    }
}

#[test]
fn hostile_names_stay_paths() {
    for tool in tools() {
        let t = Trees::new("names", tool);
        t.write("patches/-rf/x.go", "package x\n");
        t.write("patches/--help.go", "package main\n");
        let (ok, log) = t.apply(true);
        assert!(ok, "{log}");
        assert_eq!(t.read("src/-rf/x.go").as_deref(), Some("package x\n"));
        assert_eq!(
            t.read("src/cmd/tailscaled/--help.go").as_deref(),
            Some("package main\n")
        );
    }
}

#[test]
fn a_filter_file_contradicting_the_recipe_fails() {
    for tool in tools() {
        let t = Trees::new("filter", tool);
        t.write("patches/stderr_verbosity_filter.go", "package main\n");
        let (ok, log) = t.apply(false);
        assert!(!ok, "{log}");
        assert!(
            log.contains("verbosity_filter = false")
                && log.contains("patches/stderr_verbosity_filter.go"),
            "{log}"
        );
        // With the filter on, the context's copy replaces the built-in one...
        let (ok, log) = t.apply(true);
        assert!(ok, "{log}");
        assert_eq!(
            t.read("src/cmd/tailscaled/stderr_verbosity_filter.go")
                .as_deref(),
            Some("package main\n")
        );
        // ...which is there without one.
        std::fs::remove_file(t.root.join("patches/stderr_verbosity_filter.go"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (ok, log) = t.apply(true);
        assert!(ok, "{log}");
        assert_eq!(
            t.read("src/cmd/tailscaled/stderr_verbosity_filter.go")
                .as_deref(),
            Some(BUILTIN_FILTER)
        );
    }
}

#[test]
fn no_patches_directory_is_fine() {
    for tool in tools() {
        let t = Trees::new("none", tool);
        let _ = std::fs::remove_dir_all(t.root.join("patches"));
        let (ok, log) = t.apply(false);
        assert!(ok && log.contains("nothing to apply"), "{log}");
    }
}

#[test]
fn a_tree_that_is_not_tailscale_is_named_before_anything_is_copied() {
    for tool in tools() {
        let t = Trees::new("empty", tool);
        std::fs::remove_dir_all(t.root.join("src")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(t.root.join("src")).unwrap_or_else(|e| panic!("{e}"));
        let (ok, log) = t.apply(true);
        assert!(!ok, "{log}");
        assert!(
            log.contains("has no go.mod") && log.contains("not a Tailscale tree"),
            "{log}"
        );
        assert!(!log.contains("cp:"), "{log}");
    }
}

/// A hunk whose context no longer matches the tree exactly: GNU patch
/// alone would apply it with fuzz, busybox's patch refuses it. The script
/// refuses it under both, naming the diff and what to do.
#[test]
fn a_diff_that_needs_fuzz_is_refused_naming_it() {
    let tree = "package main\n\nfunc a() {}\n\nfunc b() {\n\tprintln(\"b\")\n}\n";
    // Written against a tree whose first line was a comment, not `package main`.
    let stale = "--- a/main.go\n+++ b/main.go\n@@ -1,7 +1,7 @@\n // Package main\n \n func a() {}\n \n func b() {\n-\tprintln(\"b\")\n+\tprintln(\"B\")\n }\n";
    for tool in tools() {
        let t = Trees::new("fuzz", tool);
        t.write("src/main.go", tree);
        t.write("patches/05-stale.diff", stale);
        if tool == PatchTool::System {
            // It does need fuzz: plain GNU patch takes it.
            let scratch = t.root.join("gnu");
            std::fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(scratch.join("main.go"), tree).unwrap_or_else(|e| panic!("{e}"));
            let out = Command::new("patch")
                .args(["-p1", "-i"])
                .arg(t.root.join("patches/05-stale.diff"))
                .current_dir(&scratch)
                .output()
                .unwrap_or_else(|e| panic!("patch: {e}"));
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && said.contains("fuzz"), "{said}");
        }
        let (ok, log) = t.apply(true);
        assert!(!ok, "{log}");
        assert!(
            log.contains("patches/05-stale.diff") && log.contains("needs refreshing"),
            "{log}"
        );
        assert_eq!(t.read("src/main.go").as_deref(), Some(tree), "{log}");
    }
}
