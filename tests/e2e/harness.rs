//! The daemons, the served inputs and buildx calls of the end-to-end tests.
//! `scripts/test` starts everything and describes it in the environment:
//!
//! - `MTTS_E2E_FRONTEND`: the frontend image, in both daemons;
//! - `MTTS_E2E_DOCKER`, `MTTS_E2E_DOCKER_HOST`, `MTTS_E2E_DOCKER_CONFIG`:
//!   today's docker (28.5 + buildx 0.29); the same with `MTTS_E2E_OLD_` for
//!   the oldest supported one (26.1 + buildx 0.13);
//! - `MTTS_E2E_GIT_URL`, `MTTS_E2E_GOPROXY`, `MTTS_E2E_BUSYBOX_URL` (and
//!   `MTTS_E2E_OLD_...`): the Tailscale git repository, the module proxy and
//!   the busybox tarball, served on each daemon's bridge
//!   (`tests/e2e/fixtures/sources.sh`);
//! - `MTTS_E2E_TAILSCALE_TREE`, `MTTS_E2E_TAILSCALE_VERSION`: the same
//!   Tailscale source as a plain directory, and its version.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const WHY: &str = "needs the BuildKit daemons and served sources: run scripts/test";

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where tests leave what they made.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = root().join("target/e2e").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: {WHY}"),
    }
}

pub fn fixture(p: &str) -> PathBuf {
    root().join("tests/e2e/fixtures").join(p)
}

/// One docker daemon with its buildx and the inputs served on its bridge.
pub struct Daemon {
    pub name: &'static str,
    docker: String,
    host: String,
    config: String,
    pub git_url: String,
    pub goproxy: String,
    pub busybox_url: String,
    /// Recipe keys laid over the built-in recipe before a test's own:
    /// `(table, line)`, as in [`Daemon::real_recipe_with`].
    overlay: Vec<(String, String)>,
    /// The golang stand-in given as the `golang` named context.
    golang: String,
}

/// The recipe that proves the next Tailscale bump before it lands.
pub const NEXT_TAILSCALE_RECIPE: &str = "tests/e2e/fixtures/next-tailscale.toml";

impl Daemon {
    fn from_env(name: &'static str, prefix: &str) -> Daemon {
        let var = |v: &str| env(&format!("{prefix}{v}"));
        Daemon {
            name,
            docker: var("DOCKER"),
            host: var("DOCKER_HOST"),
            config: var("DOCKER_CONFIG"),
            git_url: var("GIT_URL"),
            goproxy: var("GOPROXY"),
            busybox_url: var("BUSYBOX_URL"),
            overlay: Vec::new(),
            golang: "mtts-fixture-golang:e2e".to_string(),
        }
    }

    /// docker 28 building the next Tailscale: the keys of
    /// [`NEXT_TAILSCALE_RECIPE`] over the built-in recipe, and the golang
    /// stand-in of its Go (`MTTS_E2E_NEXT_GOLANG`, which `scripts/test`
    /// takes from `build-images.sh --golang-for`).
    pub fn next_tailscale() -> Daemon {
        let mut daemon = Daemon::from_env("docker 28 next-tailscale", "MTTS_E2E_");
        daemon.overlay = recipe_lines(&root().join(NEXT_TAILSCALE_RECIPE));
        daemon.golang = env("MTTS_E2E_NEXT_GOLANG");
        daemon
    }

    /// The same daemon with `image` as the golang named context.
    pub fn with_golang(mut self, image: &str) -> Daemon {
        self.golang = image.to_string();
        self
    }

    /// The recipe this daemon builds with no other keys: the built-in one,
    /// or the next Tailscale's.
    pub fn recipe(&self) -> mtts_frontend::recipe::Recipe {
        let mut text = String::new();
        let mut table = "";
        for (t, line) in &self.overlay {
            if t != table && !t.is_empty() {
                text.push_str(&format!("[{t}]\n"));
                table = t;
            }
            text.push_str(&format!("{line}\n"));
        }
        mtts_frontend::recipe::Recipe::parse(&text, self.name)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    /// docker 28.5 + buildx 0.29: today's.
    pub fn today() -> Daemon {
        Daemon::from_env("docker 28", "MTTS_E2E_")
    }

    /// docker 28.5 in docker's own default configuration (the classic
    /// image store, BuildKit's cache GC): a user's fresh engine.
    pub fn default_config() -> Daemon {
        Daemon::from_env("docker 28 (default configuration)", "MTTS_E2E_DEFAULT_")
    }

    /// docker 26.1 + buildx 0.13 (BuildKit v0.13): the oldest supported.
    pub fn oldest() -> Daemon {
        Daemon::from_env("docker 26", "MTTS_E2E_OLD_")
    }

    pub fn docker(&self) -> Command {
        let mut cmd = Command::new(&self.docker);
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("BUILDX_BUILDER");
        cmd
    }

    /// A stub with [`Daemon::real_recipe`].
    pub fn real_stub(&self, name: &str) -> PathBuf {
        stub(
            &format!("{name}.{}", self.name.replace(' ', "")),
            &self.real_recipe(),
        )
    }

    /// `docker buildx build` of the e2e context with the fixture base
    /// images as named contexts and the module proxy as GOPROXY.
    pub fn buildx(&self, dockerfile: &Path, extra: &[&str]) -> Build {
        self.buildx_in(&fixture("context"), dockerfile, extra)
    }

    /// The fixture base images as named contexts (from the registry
    /// `prefix`, e.g. `127.0.0.1:5310/`, or the daemon's own images with
    /// ""), and the module proxy as GOPROXY.
    pub fn input_args(&self, prefix: &str) -> Vec<String> {
        let mut args = Vec::new();
        for image in mtts_frontend::recipe::IMAGE_INPUTS {
            let reference = match image {
                "golang" => self.golang.clone(),
                _ => format!("mtts-fixture-{image}:e2e"),
            };
            args.push("--build-context".to_string());
            args.push(format!("{image}=docker-image://{prefix}{reference}"));
        }
        args.extend([
            "--build-arg".to_string(),
            format!("GOPROXY={}", self.goproxy),
        ]);
        args
    }

    /// The `tags` target of `dockerfile` exported to `out_dir(dir)`: the
    /// build, and the tags.txt it wrote (empty when it wrote none).
    pub fn tags(&self, dockerfile: &Path, dir: &str) -> (Build, String) {
        let dest = out_dir(dir);
        let build = self.buildx(
            dockerfile,
            &[
                "--target",
                "tags",
                "--output",
                &format!("type=local,dest={}", dest.display()),
            ],
        );
        let tags = std::fs::read_to_string(dest.join("tags.txt")).unwrap_or_default();
        (build, tags)
    }

    /// The same with another build context.
    pub fn buildx_in(&self, context: &Path, dockerfile: &Path, extra: &[&str]) -> Build {
        let mut cmd = self.docker();
        cmd.args(["buildx", "build", "--progress", "plain"])
            .arg("-f")
            .arg(dockerfile);
        cmd.args(self.input_args("")).args(extra).arg(context);
        Build::of(self.name, &mut cmd)
    }
}

impl Daemon {
    /// Builds the amd64 image from `dockerfile` into the daemon as `tag`.
    pub fn load(&self, dockerfile: &Path, tag: &str) {
        self.buildx(
            dockerfile,
            &[
                "--platform",
                "linux/amd64",
                "--provenance=false",
                "--load",
                "-t",
                tag,
            ],
        )
        .assert_ok(&format!("loading {tag}"));
    }

    /// The recipe of every real build: the sources this daemon can reach
    /// (the git server, the busybox tarball) laid over the built-in recipe
    /// (the repository's Dockerfile), which gives every other value.
    pub fn real_recipe(&self) -> String {
        self.real_recipe_with(&[])
    }

    /// [`Daemon::real_recipe`] with more keys: `(table, line)`, the root
    /// table as "" (e.g. `("tailscale", "verbosity_filter = false")`).
    pub fn real_recipe_with(&self, extra: &[(&str, &str)]) -> String {
        let repository = format!("repository = \"{}\"", self.git_url);
        let url = format!("url = \"{}\"", self.busybox_url);
        let mut tables: Vec<(&str, Vec<&str>)> = vec![
            ("", vec![]),
            ("tailscale", vec![&repository]),
            ("busybox", vec![&url]),
        ];
        let overlay = self
            .overlay
            .iter()
            .map(|(table, line)| (table.as_str(), line.as_str()));
        // A later line with the same key replaces the earlier one.
        let key = |line: &str| {
            line.split('=')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        for (table, line) in overlay.chain(extra.iter().copied()) {
            match tables.iter_mut().find(|(name, _)| *name == table) {
                Some((_, lines)) => {
                    lines.retain(|l| key(l) != key(line));
                    lines.push(line);
                }
                None => tables.push((table, vec![line])),
            }
        }
        let mut text = String::new();
        for (table, lines) in tables {
            if !table.is_empty() {
                text.push_str(&format!("[{table}]\n"));
            }
            for line in lines {
                text.push_str(&format!("{line}\n"));
            }
        }
        text
    }
}

/// The built-in recipe, as the frontend reads it: the pins a test compares
/// with or changes.
pub fn builtin() -> mtts_frontend::recipe::Recipe {
    mtts_frontend::recipe::Recipe::default()
}

/// The keys of a recipe file as `(table, line)` pairs ("" for the root
/// table), for [`Daemon::real_recipe_with`].
pub fn recipe_lines(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The root table's keys first: in TOML they must precede every table.
    let (mut lines, mut tables) = (Vec::new(), Vec::new());
    for (key, value) in table {
        match value {
            toml::Value::Table(keys) => {
                for (k, v) in keys {
                    tables.push((key.clone(), format!("{k} = {v}")));
                }
            }
            other => lines.push((String::new(), format!("{key} = {other}"))),
        }
    }
    lines.extend(tables);
    lines
}

/// A TOML array of strings, for a recipe line.
pub fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Copies the directory `from` (a build context) to `to`, so a test can
/// edit its own copy.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// The recipe's `tailscale.commit_time`, as the frontend writes it and in
/// seconds (by `date`, not by our own parser): the default epoch of every
/// image.
pub fn recipe_commit_time() -> (String, u64) {
    let written = builtin().tailscale.commit_time.to_string();
    let out = Command::new("date")
        .args(["-u", "-d", &written, "+%s"])
        .output()
        .unwrap_or_else(|e| panic!("date: {e}"));
    let seconds = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("date -d {written}: {e}"));
    (written, seconds)
}

/// The repository's own recipe: the root Dockerfile without its
/// `# syntax=` line.
pub fn default_recipe() -> String {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap_or_default();
    text.lines().skip(1).map(|l| format!("{l}\n")).collect()
}

/// Appends `applet` (which the list must not have yet) to the applet list
/// of the build context `context`, after a `# comment` line.
pub fn add_applet(context: &Path, applet: &str, comment: &str) {
    let list = context.join("busybox-applets.config");
    let mut applets = std::fs::read_to_string(&list).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !applets.lines().any(|l| l.trim() == applet),
        "{}: the applet list already has {applet}",
        list.display()
    );
    applets.push_str(&format!("\n# {comment}\n{applet}\n"));
    std::fs::write(&list, applets).unwrap_or_else(|e| panic!("{}: {e}", list.display()));
}

/// A stub Dockerfile naming the frontend image under test, with `body` as
/// the recipe.
pub fn stub(name: &str, body: &str) -> PathBuf {
    stub_for(&env("MTTS_E2E_FRONTEND"), name, body)
}

/// A stub Dockerfile naming `frontend` (`# syntax=`), with `body` as the
/// recipe.
pub fn stub_for(frontend: &str, name: &str, body: &str) -> PathBuf {
    let path = out_dir("stubs").join(name);
    // Tests run in parallel and share stubs: write aside, then rename, so
    // no build ever reads a half-written file.
    let tmp = out_dir("stubs").join(format!("{name}.{:?}.tmp", std::thread::current().id()));
    std::fs::write(&tmp, format!("# syntax={frontend}\n{body}")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// What a buildx call printed.
pub struct Build {
    daemon: &'static str,
    pub output: Output,
}

impl Build {
    /// Runs `cmd`, a buildx call of `daemon`'s.
    pub fn of(daemon: &'static str, cmd: &mut Command) -> Build {
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {daemon} buildx: {e}"));
        Build { daemon, output }
    }

    pub fn log(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// Fails the test unless the build succeeded; the message names the
    /// failed step and shows the tail of its log.
    pub fn assert_ok(&self, what: &str) -> &Self {
        if !self.output.status.success() {
            panic!(
                "{what} failed on {}:\n{}",
                self.daemon,
                failure_summary(&self.log())
            );
        }
        self
    }

    pub fn expect_failure(&self, needles: &[&str]) {
        let log = self.log();
        assert!(
            !self.output.status.success(),
            "the build should have failed:\n{log}"
        );
        for n in needles {
            assert!(log.contains(n), "{n:?} not in the error output:\n{log}");
        }
    }
}

/// For a failed plain-progress build: each failed step's name and the last
/// lines of its output, then the last lines of the whole log.
pub fn failure_summary(log: &str) -> String {
    let mut out = String::new();
    let failed: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once(' ')?;
            (n.starts_with('#') && rest.starts_with("ERROR")).then_some(n)
        })
        .collect();
    for n in failed {
        let name = log
            .lines()
            .find_map(|l| {
                l.strip_prefix(n)
                    .and_then(|r| r.strip_prefix(' '))
                    .filter(|r| r.starts_with('['))
            })
            .unwrap_or("(unnamed step)");
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with(&format!("{n} ")))
            .collect();
        let tail = &lines[lines.len().saturating_sub(40)..];
        out.push_str(&format!(
            "==== failed step {n} {name}; its last lines:\n{}\n",
            tail.join("\n")
        ));
    }
    let all: Vec<&str> = log.lines().collect();
    out.push_str(&format!(
        "==== the build's last lines:\n{}",
        all[all.len().saturating_sub(25)..].join("\n")
    ));
    out
}

/// Runs a host command and returns its stdout; fails naming it.
/// `packed` (a UPX-packed binary) unpacked by the fixture golang image's
/// upx (bookworm has none) in `dir`; returns the unpacked file's path.
pub fn upx_unpack(packed: &[u8], dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let input = dir.join("packed");
    let unpacked = dir.join("unpacked");
    std::fs::write(&input, packed).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&unpacked);
    run(Daemon::today()
        .docker()
        .args(["run", "--rm", "--network", "none", "-v"])
        .arg(format!("{}:/w", dir.display()))
        .args([
            "mtts-fixture-golang:e2e",
            "upx",
            "-q",
            "-d",
            "-o",
            "/w/unpacked",
            "/w/packed",
        ]));
    unpacked
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs a host command and returns (success, stdout + stderr).
pub fn try_run(cmd: &mut Command) -> (bool, String) {
    match cmd.output() {
        Ok(out) => (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        ),
        Err(e) => (false, format!("running {cmd:?}: {e}")),
    }
}
