//! Stages 2-7: the Tailscale source, the Go toolchain, modules, build tags,
//! the cross-compiled and compressed binary, and `/usr/local/bin`.

use super::arch;
use super::{BuildError, Ctx};
use crate::llb::{CacheSharing, CopyOptions, FileActions, Mount, NetMode, Source, State};

const SRC: &str = "/src";
const MODCACHE: &str = "/go/pkg/mod";
const GOCACHE: &str = "/root/.cache/go-build";
const TAGS_DIR: &str = "/tags";
const OUT: &str = "/out";
pub(super) const BINARY: &str = "tailscale.combined";
const BIN_DIR: &str = "/usr/local/bin";

/// The injected stderr filter (see `patches/`), built into the frontend so
/// a repository with only a stub Dockerfile still gets it.
const VERBOSITY_FILTER: &str = include_str!("../../patches/stderr_verbosity_filter.go");
const APPLY_PATCHES: &str = include_str!("scripts/apply-patches.sh");
const RESOLVE_TAGS: &str = include_str!("scripts/resolve-tags.sh");
const GO_BUILD: &str = include_str!("scripts/go-build.sh");
pub(super) const ENTRYPOINT: &str = include_str!("scripts/entrypoint.sh");
const LINK_BINARY: &str = include_str!("scripts/link-binary.sh");

/// Go settings for every step after the module download: modules come only
/// from the read-only layer, never the network, and cgo stays off so the
/// binary is static.
fn offline_go_env() -> [(&'static str, &'static str); 5] {
    [
        ("CGO_ENABLED", "0"),
        ("GOMODCACHE", MODCACHE),
        ("GOCACHE", GOCACHE),
        ("GOPROXY", "off"),
        ("GOFLAGS", "-mod=readonly"),
    ]
}

/// Go's build cache survives between builds; Go locks it itself, so all
/// platforms may share it at once.
fn go_build_cache() -> Mount {
    Mount::cache("mtts-go-build", CacheSharing::Shared)
}

/// Stage 3: the Go toolchain on the build platform, plus upx to compress the
/// binary and the CA bundle the final image ships.
pub(super) fn go_base(ctx: &Ctx, golang: &State) -> State {
    let mut apk = vec!["apk", "add", "--no-cache", "ca-certificates"];
    if ctx.recipe().upx {
        apk.push("upx");
    }
    let name = format!("[golang] {}", apk.join(" "));
    ctx.op(golang.run(apk).network(ctx.network(true)), name)
        .root()
}

/// Stage 2: the source at the requested version (or the user's `tailscale`
/// context), with the verbosity filter and the context's `patches/` laid
/// over it. Done once: nothing here depends on the target.
pub(super) fn source(
    ctx: &Ctx,
    golang: &State,
    context: &State,
    named: Option<&State>,
) -> Result<State, BuildError> {
    let t = &ctx.recipe().tailscale;
    let version = &ctx.req.args.tailscale_version;
    let pristine = match named {
        Some(tree) => tree.clone(),
        // No .git: the version is stamped explicitly at build time.
        None => ctx
            .op(
                Source::git(&t.repository, version),
                format!("[tailscale] git {} {version}", t.repository),
            )
            .state(),
    };
    let filtered = if t.verbosity_filter {
        // logtail is compiled out, so nothing filters [vN] lines any more;
        // this file (tagged ts_omit_logtail) restores the quiet default.
        ctx.op(
            pristine.file(FileActions::new().mkfile(
                "/cmd/tailscaled/stderr_verbosity_filter.go",
                0o644,
                VERBOSITY_FILTER,
            )),
            "[tailscale] add stderr verbosity filter",
        )
        .state()
    } else {
        pristine
    };
    Ok(ctx
        .op(
            golang
                .run(["/bin/sh", "-euc", APPLY_PATCHES, "apply-patches"])
                .env("MTTS_PATCHES", "/context/patches")
                .env("MTTS_SRC", SRC)
                .env("MTTS_VERBOSITY_FILTER", t.verbosity_filter.to_string())
                .mount(SRC, Mount::writable(&filtered))
                .mount_ro("/context", context)
                .network(NetMode::None),
            "[tailscale] apply patches/",
        )
        .output(SRC)?)
}

/// Stage 4: every module the build needs, downloaded once into a layer that
/// each platform's compile mounts read-only. Only go.mod and go.sum feed it,
/// so patches do not invalidate the download.
pub(super) fn modules(ctx: &Ctx, go: &State, src: &State) -> Result<State, BuildError> {
    let copy = CopyOptions::default();
    let manifests = ctx
        .op(
            State::scratch().file(
                FileActions::new()
                    .copy(src, "/go.mod", "/go.mod", copy.clone())
                    .copy(src, "/go.sum", "/go.sum", copy),
            ),
            "[tailscale] go.mod go.sum",
        )
        .state();
    let mut download = go.run(["go", "mod", "download"]);
    if let Some(proxy) = &ctx.req.args.goproxy {
        // Only this step reaches the network, so only it needs the mirror;
        // every later step runs with GOPROXY=off.
        download = download.env("GOPROXY", proxy);
    }
    Ok(ctx
        .op(
            download
                .env("GOMODCACHE", MODCACHE)
                .cwd(SRC)
                // Writable: go may record missing go.sum lines; discarded.
                .mount(SRC, Mount::writable(&manifests))
                .mount_scratch(MODCACHE)
                .network(ctx.network(true)),
            "[tailscale] go mod download",
        )
        .output(MODCACHE)?)
}

/// Stage 5: the Go build tags, resolved once for every platform by
/// Tailscale's own featuretags (`--min`: everything omitted but what is
/// asked for and what that needs).
pub(super) fn tags(
    ctx: &Ctx,
    go: &State,
    src: &State,
    modules: &State,
) -> Result<State, BuildError> {
    // osrouter: configure the OS network stack (the router's kernel TUN);
    // cli: embed the CLI, so one binary serves as tailscale and tailscaled.
    let mut features: Vec<&str> = vec!["osrouter", "cli"];
    for f in &ctx.recipe().tailscale.features {
        if !features.contains(&f.as_str()) {
            features.push(f);
        }
    }
    Ok(ctx
        .op(
            go.run(["/bin/sh", "-euc", RESOLVE_TAGS, "resolve-tags"])
                .envs(offline_go_env())
                .env("MTTS_FEATURES", features.join(","))
                .cwd(SRC)
                .mount_ro(SRC, src)
                .mount_ro(MODCACHE, modules)
                .mount(GOCACHE, go_build_cache())
                .mount_scratch(TAGS_DIR)
                .network(NetMode::None),
            "[tailscale] featuretags --min",
        )
        .output(TAGS_DIR)?)
}

/// Stage 6: cross-compile daemon and CLI into one binary for the target,
/// on the build platform, then compress it. The result holds
/// `/tailscale.combined`.
pub(super) fn binary(
    ctx: &Ctx,
    go: &State,
    src: &State,
    modules: &State,
    tags: &State,
    target: &crate::llb::Platform,
) -> Result<State, BuildError> {
    // Stamped the way build_dist.sh does, so `tailscale version` is right.
    let version = ctx.req.args.tailscale_version.trim_start_matches('v');
    let ldflags = format!(
        "-s -w -X tailscale.com/version.longStamp={version} -X tailscale.com/version.shortStamp={version}"
    );
    let target_env = arch::go_env(target);
    let compiled = ctx
        .op(
            go.run([
                "/bin/sh",
                "-euc",
                GO_BUILD,
                "go-build",
                // No inlining: a noticeably smaller binary for a daemon that
                // is not CPU-bound.
                "-gcflags=all=-l",
                "-ldflags",
                &ldflags,
                "-trimpath",
                "-o",
                &format!("{OUT}/{BINARY}"),
                "./cmd/tailscaled",
            ])
            .envs(offline_go_env())
            .envs(target_env.iter().map(|(k, v)| (*k, v.as_str())))
            .cwd(SRC)
            .mount_ro(SRC, src)
            .mount_ro(MODCACHE, modules)
            .mount_ro(TAGS_DIR, tags)
            .mount(GOCACHE, go_build_cache())
            .mount_scratch(OUT)
            .network(NetMode::None),
            format!("[tailscale {target}] go build"),
        )
        .output(OUT)?;
    if !ctx.recipe().upx {
        return Ok(compiled);
    }
    // upx runs natively and packs any target's ELF.
    Ok(ctx
        .op(
            go.run(["upx", "--lzma", "--best", &format!("{OUT}/{BINARY}")])
                .mount(OUT, Mount::writable(&compiled))
                .network(NetMode::None),
            format!("[tailscale {target}] upx --lzma --best"),
        )
        .output(OUT)?)
}

/// Stage 7: `/usr/local/bin` as one snapshot, so the image carries the
/// binary in exactly one layer. Adding the symlinks in a later layer would
/// make RouterOS's overlay copy the whole ~3.5 MB binary up again.
pub(super) fn usr_local_bin(
    ctx: &Ctx,
    go: &State,
    binary: &State,
    target: &crate::llb::Platform,
) -> Result<State, BuildError> {
    let combined = format!("{BIN_DIR}/{BINARY}");
    let name = format!("[tailscale {target}] /usr/local/bin");
    let files = FileActions::new()
        .mkdir(BIN_DIR, 0o755, true)
        .copy(
            binary,
            &format!("/{BINARY}"),
            &combined,
            CopyOptions {
                mode: Some(0o755),
                ..CopyOptions::default()
            },
        )
        .mkfile(&format!("{BIN_DIR}/entrypoint.sh"), 0o755, ENTRYPOINT);
    if ctx.req.daemon.file_symlink {
        // One binary, dispatching on argv[0].
        let files = files
            .symlink(&combined, &format!("{BIN_DIR}/tailscale"))
            .symlink(&combined, &format!("{BIN_DIR}/tailscaled"));
        return Ok(ctx.op(State::scratch().file(files), name).state());
    }
    // Daemons before BuildKit v0.19 cannot make symlinks in a file op: lay
    // the files out, then link them in an exec whose output is the whole
    // tree, still one snapshot.
    let staged = ctx
        .op(
            State::scratch().file(files),
            format!("[tailscale {target}] stage /usr/local/bin"),
        )
        .state();
    Ok(ctx
        .op(
            go.run(["/bin/sh", "-euc", LINK_BINARY, "link-binary"])
                .mount_ro("/staged", &staged)
                .mount_scratch("/out")
                .network(NetMode::None),
            name,
        )
        .output("/out")?)
}
