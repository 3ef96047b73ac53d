//! The Dockerfile's `builder` stage: the Tailscale source with `patches/`
//! laid over it, the Go toolchain, the modules and the build tags, all made
//! once for every platform; then, per target platform, the cross-compiled
//! and compressed binary and the `/usr/local/bin` layer that carries it.

use super::arch;
use super::sbom::UsedImage;
use super::sources::{self, Inputs, SourceError, input};
use super::steps::{CONTEXT, OUT, Steps, script};
use super::validate;
use crate::llb::{
    CacheSharing, CopyOptions, FileActions, Mount, NetMode, OutputMount, Platform, Source, State,
};

// Paths the scripts share with this file; the scripts get them as
// environment, never as literals of their own.
const SRC: &str = "/src";
const MODCACHE: &str = "/go/pkg/mod";
const GOCACHE: &str = "/root/.cache/go-build";
const TAGS_DIR: &str = "/tags";
const BINARY: &str = "tailscale.combined";
const BIN_DIR: &str = "/usr/local/bin";
const FILTER_DIR: &str = "/mtts";
const FILTER_FILE: &str = "stderr_verbosity_filter.go";
/// The dependency list and its module, and their compiled packages.
const DEPS_DIR: &str = "/deps";
const DEPS_CACHE: &str = "/deps-gocache";
/// The build context's directory of user patches.
const PATCHES: &str = "patches";

/// The injected stderr filter (see `patches/`), built into the frontend so
/// a repository with only a stub Dockerfile still gets it.
/// Progress names of the steps that the tests, the bench and the docs name.
pub const APPLY_PATCHES_STEP: &str = "[tailscale] apply patches/";
pub const GO_VERSION_STEP: &str = "[tailscale] go.mod: check the Go version";
pub const MOD_DOWNLOAD_STEP: &str = "[tailscale] go mod download";
pub const FEATURETAGS_STEP: &str = "[tailscale] featuretags --min";

/// The recipe key most of the stage's steps come from.
const TAILSCALE_VERSION: &str = "tailscale.version";

const VERBOSITY_FILTER: &str = include_str!("../../patches/stderr_verbosity_filter.go");
/// Image content: the container's entrypoint.
const ENTRYPOINT: &str = include_str!("../../image/entrypoint.sh");
const APPLY_PATCHES: &str = include_str!("scripts/apply-patches.sh");
const RESOLVE_TAGS: &str = include_str!("scripts/resolve-tags.sh");
const LINK_BINARY: &str = include_str!("scripts/link-binary.sh");
const GO_VERSION_CHECK: &str = include_str!("scripts/go-version-check.sh");
const DEPS_LIST: &str = include_str!("scripts/deps-list.sh");
const DEPS_BUILD: &str = include_str!("scripts/deps-build.sh");

/// The compile flags that enter each package's place in Go's build cache:
/// the dependencies compiled apart must be built with the same ones for the
/// real build to find them. No inlining: a noticeably smaller binary for a
/// daemon that is not CPU-bound.
const COMPILE_FLAGS: [&str; 2] = ["-gcflags=all=-l", "-trimpath"];

const SEED_GO_CACHE: &str = include_str!("scripts/seed-go-cache.sh");

/// Go settings for every step after the module download: modules come only
/// from the read-only layer, never the network, and cgo stays off so the
/// binary is static.
const OFFLINE_GO_ENV: [(&str, &str); 4] = [
    ("CGO_ENABLED", "0"),
    ("GOMODCACHE", MODCACHE),
    ("GOCACHE", GOCACHE),
    ("GOPROXY", "off"),
];

/// Go's build cache survives between builds; Go locks it itself, so all
/// platforms may share it at once.
fn go_build_cache() -> Mount {
    Mount::cache("mtts-go-build", CacheSharing::Shared)
}

/// Progress names of the steps that list and compile the dependencies of
/// `target` (`linux/amd64`) apart.
pub fn deps_list_step(target: &str) -> String {
    format!("[tailscale {target}] go list the dependencies")
}
pub fn deps_build_step(target: &str) -> String {
    format!("[tailscale {target}] go build the dependencies")
}

/// Progress name of the step that makes the image's `/usr/local/bin`.
pub(super) fn usr_local_bin_step(target: &Platform) -> String {
    format!("[tailscale {target}] /usr/local/bin")
}

/// The platform-independent half of the stage, made once.
pub(super) struct Tailscale<'a> {
    steps: &'a Steps<'a>,
    /// golang + upx + CA bundle, on the build platform.
    go: State,
    /// The patched source tree.
    src: State,
    /// The module download cache, read-only for every compile.
    modules: State,
    /// `tags.txt` (for people) and `go.env` (for `go build`).
    tags: State,
    /// What the SBOM says it was built from.
    pub(super) golang: UsedImage,
    pub(super) source_from_context: bool,
}

impl<'a> Tailscale<'a> {
    /// `FROM golang AS builder`, up to the per-platform compile.
    pub(super) async fn new<I: Inputs>(
        steps: &'a Steps<'a>,
        inputs: &I,
    ) -> Result<Self, SourceError> {
        let golang = steps
            .base_image(inputs, input::GOLANG, &steps.recipe().images.golang)
            .await?;
        let named_tree = sources::source_tree(inputs, input::TAILSCALE)?;
        // What the Go guard tells the user to change.
        let newer_go = if golang.from_named_context {
            "replace the golang named context (--build-context golang=...) with"
        } else {
            "bump images.golang in the recipe to"
        };
        let used = UsedImage {
            input: input::GOLANG,
            reference: golang.reference.clone(),
        };
        let source_from_context = named_tree.is_some();
        let golang = golang.state;
        let go = go_base(steps, &golang);
        // Only patches/ of the context: editing the applet list must not
        // re-run the patch step.
        let patches = inputs.build_context(PATCHES)?;
        let src = source(steps, &golang, &patches, named_tree);
        let modules = modules(steps, &go, &src, newer_go);
        let tags = tags(steps, &go, &src, &modules);
        Ok(Tailscale {
            steps,
            go,
            src,
            modules,
            tags,
            golang: used,
            source_from_context,
        })
    }

    /// The Go toolchain image, whose CA bundle the final image ships.
    pub(super) fn go_base(&self) -> &State {
        &self.go
    }

    /// The resolved build tags (the `tags` target).
    pub(super) fn tags(&self) -> State {
        self.tags.clone()
    }

    /// Daemon and CLI in one binary for `target`, cross-compiled on the
    /// build platform, then compressed. Holds `/tailscale.combined`.
    pub(super) fn binary(&self, target: &Platform) -> State {
        let steps = self.steps;
        let go_env = arch::go_env(target);
        let go_env = || go_env.iter().map(|(k, v)| (*k, v.as_str()));
        let dependencies = self.dependencies(target);
        let mut build = vec!["go", "build", "-mod=readonly"];
        build.extend(COMPILE_FLAGS);
        let output = format!("{OUT}/{BINARY}");
        build.extend(["-o", &output, "./cmd/tailscaled"]);
        // The script (steps::script's form) takes the build as arguments.
        let mut argv = vec!["/bin/sh", "-euc", "eval \"$MTTS_SCRIPT\"", "seed-go-cache"];
        argv.extend(build);
        let compiled = steps.op(
            self.go
                .run(argv)
                .envs(OFFLINE_GO_ENV)
                // The tags and the version stamps (-ldflags) arrive as
                // GOFLAGS in a go env file, so the compile is a plain argv.
                .env("GOENV", format!("{TAGS_DIR}/go.env"))
                .envs(go_env())
                .env("MTTS_SCRIPT", SEED_GO_CACHE)
                .env("MTTS_DEPS_CACHE", DEPS_CACHE)
                .cwd(SRC)
                .mount_ro(SRC, &self.src)
                .mount_ro(MODCACHE, &self.modules)
                .mount_ro(TAGS_DIR, &self.tags)
                .mount_ro(DEPS_CACHE, &dependencies)
                .mount(GOCACHE, go_build_cache())
                .network(NetMode::None),
            format!("[tailscale {target}] go build"),
            &[TAILSCALE_VERSION, "tailscale.features"],
        );
        let compiled = compiled.output(OUT, OutputMount::Empty);
        if !steps.recipe().upx {
            return compiled;
        }
        // upx runs natively and packs any target's ELF.
        steps
            .op(
                self.go
                    .run(["upx", "--lzma", "--best", &format!("{OUT}/{BINARY}")])
                    .network(NetMode::None),
                format!("[tailscale {target}] upx --lzma --best"),
                &["upx"],
            )
            .output(OUT, OutputMount::over(&compiled))
    }

    /// The packages of other modules and of the standard library that
    /// tailscaled needs on `target`, compiled apart into a Go build cache
    /// that is a layer: a cache backend exports it (Go's build cache is a
    /// cache mount, which none does), so a CI runner with only a registry
    /// cache compiles just Tailscale's own packages. The compile's inputs
    /// are the list and its module (not the source), so BuildKit finds it
    /// by content after a Tailscale bump or a patches/ edit that leaves the
    /// dependencies as they were.
    fn dependencies(&self, target: &Platform) -> State {
        let steps = self.steps;
        let go_env = arch::go_env(target);
        let go_env = || go_env.iter().map(|(k, v)| (*k, v.as_str()));
        let list = steps
            .op(
                script(&self.go, "deps-list", DEPS_LIST)
                    .envs(OFFLINE_GO_ENV)
                    .env("GOFLAGS", "-mod=readonly -buildvcs=false")
                    .envs(go_env())
                    .env("MTTS_TAGS_FILE", format!("{TAGS_DIR}/tags.txt"))
                    .env("MTTS_OUT", OUT)
                    .cwd(SRC)
                    .mount_ro(SRC, &self.src)
                    .mount_ro(MODCACHE, &self.modules)
                    .mount_ro(TAGS_DIR, &self.tags)
                    .network(NetMode::None),
                deps_list_step(&target.to_string()),
                &[TAILSCALE_VERSION, "tailscale.features"],
            )
            .output(OUT, OutputMount::Empty);
        steps
            .op(
                script(&self.go, "deps-build", DEPS_BUILD)
                    .envs(OFFLINE_GO_ENV)
                    .env("GOCACHE", OUT)
                    .env("GOFLAGS", "-mod=mod")
                    .env("GOSUMDB", "off")
                    .envs(go_env())
                    .env("MTTS_COMPILE_FLAGS", COMPILE_FLAGS.join(" "))
                    .cwd(DEPS_DIR)
                    // Writable: go records the go.sum lines; discarded.
                    .mount(DEPS_DIR, Mount::writable(&list))
                    .mount_ro(MODCACHE, &self.modules)
                    .network(NetMode::None),
                deps_build_step(&target.to_string()),
                &["images.golang", "tailscale.features"],
            )
            .output(OUT, OutputMount::Empty)
    }

    /// `/usr/local/bin` for `target` as one snapshot, so the image carries
    /// the binary in exactly one layer. Adding the symlinks in a later
    /// layer would make RouterOS's overlay copy the whole ~3.5 MB binary up
    /// again. Its times are the build's epoch.
    pub(super) fn usr_local_bin(&self, target: &Platform) -> State {
        let name = usr_local_bin_step(target);
        self.steps.layer(
            &self.lay_out_usr_local_bin(target, &name),
            &name,
            &[TAILSCALE_VERSION],
        )
    }

    fn lay_out_usr_local_bin(&self, target: &Platform, name: &str) -> State {
        let steps = self.steps;
        let binary = self.binary(target);
        let combined = format!("{BIN_DIR}/{BINARY}");
        let files = FileActions::new()
            .mkdir(BIN_DIR, 0o755, true)
            .copy(
                &binary,
                &format!("/{BINARY}"),
                &combined,
                CopyOptions {
                    mode: Some(0o755),
                    ..CopyOptions::default()
                },
            )
            .mkfile(&format!("{BIN_DIR}/entrypoint.sh"), 0o755, ENTRYPOINT);
        if steps.req.daemon.file_symlink {
            // One binary, dispatching on argv[0].
            let files = files
                .symlink(&combined, &format!("{BIN_DIR}/tailscale"))
                .symlink(&combined, &format!("{BIN_DIR}/tailscaled"));
            return steps
                .op(State::scratch().file(files), name, &[TAILSCALE_VERSION])
                .state();
        }
        // Daemons before BuildKit v0.19 cannot make symlinks in a file op:
        // lay the files out, then link them in an exec whose output is the
        // whole tree, still one snapshot.
        let staged = steps
            .op(
                State::scratch().file(files),
                format!("[tailscale {target}] stage /usr/local/bin"),
                &[TAILSCALE_VERSION],
            )
            .state();
        steps
            .op(
                script(&self.go, "link-binary", LINK_BINARY)
                    .env("MTTS_STAGED", "/staged")
                    .env("MTTS_OUT", OUT)
                    .env("MTTS_BINARY", &combined)
                    .mount_ro("/staged", &staged)
                    .network(NetMode::None),
                name,
                &[TAILSCALE_VERSION],
            )
            .output(OUT, OutputMount::Empty)
    }
}

/// The Alpine packages the golang image gets: the CA bundle the final image
/// ships, and upx (when the recipe compresses) for the binary.
pub fn golang_packages(upx: bool) -> Vec<&'static str> {
    let mut packages = vec!["ca-certificates"];
    if upx {
        packages.push("upx");
    }
    packages
}

/// The Go toolchain on the build platform, plus upx to compress the binary
/// and the CA bundle the final image ships.
fn go_base(steps: &Steps, golang: &State) -> State {
    let mut apk = vec!["apk", "add", "--no-cache"];
    apk.extend(golang_packages(steps.recipe().upx));
    let name = format!("[golang] {}", apk.join(" "));
    steps
        .op(steps.downloading(golang.run(apk)), name, &["images.golang"])
        .root()
}

/// The source at the requested version (or the user's `tailscale`
/// context), with the verbosity filter and the context's `patches/` laid
/// over it by one exec.
fn source(steps: &Steps, golang: &State, patches: &State, named: Option<State>) -> State {
    let t = &steps.recipe().tailscale;
    let version = &steps.req.args.tailscale_version;
    let pristine = named.unwrap_or_else(|| {
        // .git stays: the tags step reads the commit the tag resolved to
        // for the version stamps. A private fork is fetched with the
        // client's credentials, as the Dockerfile frontend's git sources.
        let mut git = Source::git(&t.repository, version)
            .keep_git_dir(true)
            .git_auth_secrets();
        if Source::is_ssh_git_url(&t.repository) {
            git = git.git_ssh(t.known_hosts.as_deref());
        }
        steps
            .op(
                git,
                format!(
                    "[tailscale] git {} {version}{}",
                    t.repository,
                    fork_hint(&t.repository)
                ),
                &["tailscale.repository", TAILSCALE_VERSION],
            )
            .state()
    });
    // The built-in filter waits in the patch step's root filesystem, not on
    // the tree: a file op over a client's tree would re-run on every build
    // (its key follows the session), one over scratch is never reported
    // CACHED (BuildKit reports input-less ops as run).
    let mut patcher = golang.clone();
    let mut filter_env = None;
    if t.verbosity_filter {
        // logtail is compiled out, so nothing filters [vN] lines any more;
        // this file (tagged ts_omit_logtail) restores the quiet default.
        patcher = steps
            .op(
                golang.file(FileActions::new().mkdir(FILTER_DIR, 0o755, true).mkfile(
                    &format!("{FILTER_DIR}/{FILTER_FILE}"),
                    0o644,
                    VERBOSITY_FILTER,
                )),
                "[tailscale] built-in stderr verbosity filter",
                &["tailscale.verbosity_filter"],
            )
            .state();
        filter_env = Some(format!("{FILTER_DIR}/{FILTER_FILE}"));
    }
    let mut apply = script(&patcher, "apply-patches", APPLY_PATCHES)
        .env("MTTS_PATCHES", format!("{CONTEXT}/{PATCHES}"))
        .env("MTTS_SRC", SRC);
    if let Some(file) = filter_env {
        apply = apply.env("MTTS_FILTER_FILE", file);
    }
    steps
        .op(
            apply.mount_ro(CONTEXT, patches).network(NetMode::None),
            APPLY_PATCHES_STEP,
            &[TAILSCALE_VERSION, "tailscale.verbosity_filter"],
        )
        .output(SRC, OutputMount::over(&pristine))
}

/// What a fork's clone step says it needs when the repository is
/// private: BuildKit's own error (`Permission denied (publickey)`, an
/// authentication prompt) names neither the recipe key nor the flag.
/// Nothing for the built-in repository, which is public.
fn fork_hint(repository: &str) -> String {
    if *repository == super::config::Recipe::default().tailscale.repository {
        return String::new();
    }
    if Source::is_ssh_git_url(repository) {
        " (tailscale.repository; a private one needs --ssh default)".to_string()
    } else if repository.starts_with("http") {
        " (tailscale.repository; a private one needs --secret id=GIT_AUTH_TOKEN)".to_string()
    } else {
        String::new()
    }
}

/// Every module the build needs, downloaded once into a layer that each
/// platform's compile mounts read-only. Only go.mod and go.sum feed it, so
/// patches do not invalidate the download; they come through the Go
/// version check, so a golang image too old for this Tailscale fails first.
fn modules(steps: &Steps, go: &State, src: &State, newer_go: &str) -> State {
    let manifests = steps
        .op(
            script(go, "go-version-check", GO_VERSION_CHECK)
                .env("MTTS_SRC", SRC)
                .env("MTTS_OUT", OUT)
                .env("MTTS_GOLANG", newer_go)
                .mount_ro(SRC, src)
                .network(NetMode::None),
            GO_VERSION_STEP,
            &["images.golang", TAILSCALE_VERSION],
        )
        .output(OUT, OutputMount::Empty);
    let args = &steps.req.args;
    let mut download = with_git_if_direct(steps, go).run(["go", "mod", "download"]);
    if let Some(proxy) = &args.goproxy {
        // Only this step reaches the network, so only it needs the mirror;
        // every later step runs with GOPROXY=off.
        download = download.env("GOPROXY", proxy);
    }
    if let Some(insecure) = &args.goinsecure {
        download = download.env("GOINSECURE", insecure);
    }
    steps
        .op(
            steps.downloading(
                download
                    .env("GOMODCACHE", MODCACHE)
                    .cwd(SRC)
                    // Writable: go may record missing go.sum lines; discarded.
                    .mount(SRC, Mount::writable(&manifests)),
            ),
            MOD_DOWNLOAD_STEP,
            &[TAILSCALE_VERSION],
        )
        .output(MODCACHE, OutputMount::Empty)
}

/// Where the module download runs: `go`, plus git when the `GOPROXY` list
/// (the build argument, else the golang image's, else Go's default, which
/// ends in `direct`) can send Go to a module's repository, which Go fetches
/// with git; golang:*-alpine has none. Only this step gets it.
fn with_git_if_direct(steps: &Steps, go: &State) -> State {
    let list = match &steps.req.args.goproxy {
        Some(list) => list.as_str(),
        None => go.get_env().get("GOPROXY").unwrap_or(GO_DEFAULT_GOPROXY),
    };
    if !validate::goproxy_reaches_direct(list) {
        return go.clone();
    }
    let apk = ["apk", "add", "--no-cache", "git"];
    let name = format!(
        "[tailscale] {} (GOPROXY={list} can fetch from version control)",
        apk.join(" ")
    );
    steps
        .op(steps.downloading(go.run(apk)), name, &["images.golang"])
        .root()
}

/// Go's own default `GOPROXY` (its `go.env`).
const GO_DEFAULT_GOPROXY: &str = "https://proxy.golang.org,direct";

/// The Go build tags, resolved once for every platform by Tailscale's own
/// featuretags (`--min`: everything omitted but what is asked for and what
/// that needs).
fn tags(steps: &Steps, go: &State, src: &State, modules: &State) -> State {
    // osrouter: configure the OS network stack (the router's kernel TUN);
    // cli: embed the CLI, so one binary serves as tailscale and tailscaled.
    let mut features: Vec<&str> = vec!["osrouter", "cli"];
    for f in &steps.recipe().tailscale.features {
        if !features.contains(&f.as_str()) {
            features.push(f);
        }
    }
    steps
        .op(
            script(go, "resolve-tags", RESOLVE_TAGS)
                .envs(OFFLINE_GO_ENV)
                // The git source keeps .git for the version stamps.
                .env("GOFLAGS", "-mod=readonly -buildvcs=false")
                .env("MTTS_FEATURES", features.join(","))
                .env(
                    "MTTS_VERSION",
                    steps.req.args.tailscale_version.trim_start_matches('v'),
                )
                .env("MTTS_TAGS_DIR", TAGS_DIR)
                .cwd(SRC)
                .mount_ro(SRC, src)
                .mount_ro(MODCACHE, modules)
                .mount(GOCACHE, go_build_cache())
                .network(NetMode::None),
            FEATURETAGS_STEP,
            &["tailscale.features"],
        )
        .output(TAGS_DIR, OutputMount::Empty)
}
