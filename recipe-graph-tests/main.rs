//! The shape of the whole mikrotik-tailscale graph, for one and three
//! platforms, asserted on the marshalled definition as BuildKit receives it.

#[path = "../tests/common/image_config.rs"]
mod image_config;

use std::collections::{BTreeMap, BTreeSet};

use mtts_frontend::llb::inspect::{Graph, Vertex};
use mtts_frontend::offline;
use mtts_frontend::offline::Options as GraphArgs;
use mtts_frontend::proto::pb;
use mtts_frontend::recipe::PlatformResult;

const ALL: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];
const BUILD_PLATFORM: &str = "linux/amd64";

fn args(platforms: &[&str], build_args: &[&str]) -> GraphArgs {
    GraphArgs {
        platforms: platforms.iter().map(|s| s.to_string()).collect(),
        build_args: build_args.iter().map(|s| s.to_string()).collect(),
        labels: Vec::new(),
        target: None,
        recipe: None,
        build_platform: Some(BUILD_PLATFORM.to_string()),
        locals: Vec::new(),
    }
}

fn graph_of(a: &GraphArgs) -> Graph {
    let def = offline::definition(a).unwrap_or_else(|e| panic!("{e:#}"));
    Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"))
}

fn results_of(a: &GraphArgs) -> Vec<PlatformResult> {
    offline::results(a).unwrap_or_else(|e| panic!("{e:#}"))
}

fn error_of(a: &GraphArgs) -> String {
    match offline::definition(a) {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

fn named<'a>(g: &'a Graph, name: &str) -> Vec<&'a Vertex> {
    g.vertices
        .iter()
        .filter(|v| v.name() == Some(name))
        .collect()
}

fn one<'a>(g: &'a Graph, name: &str) -> &'a Vertex {
    let found = named(g, name);
    assert_eq!(found.len(), 1, "expected exactly one vertex named {name:?}");
    found[0]
}

fn env_of(v: &Vertex) -> BTreeMap<String, String> {
    v.exec()
        .and_then(|e| e.meta.as_ref())
        .map(|m| {
            m.env
                .iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The vertex mounted at `dest` in exec `v`.
fn mounted<'a>(g: &'a Graph, v: &Vertex, dest: &str) -> Option<&'a Vertex> {
    let e = v.exec()?;
    let m = e.mounts.iter().find(|m| m.dest == dest)?;
    usize::try_from(m.input).ok().and_then(|i| g.input_of(v, i))
}

fn digests_with_prefix(g: &Graph, prefix: &str) -> BTreeSet<String> {
    g.vertices
        .iter()
        .filter(|v| v.name().is_some_and(|n| n.starts_with(prefix)))
        .map(|v| v.digest.clone())
        .collect()
}

#[test]
fn every_exec_runs_on_the_build_platform() {
    for platforms in [&ALL[..1], &ALL[..]] {
        let g = graph_of(&args(platforms, &[]));
        let execs: Vec<&Vertex> = g.vertices.iter().filter(|v| v.kind() == "exec").collect();
        assert!(execs.len() >= 10);
        for v in execs {
            assert_eq!(
                v.platform().map(|p| p.to_string()).as_deref(),
                Some(BUILD_PLATFORM),
                "{} would run emulated",
                v.describe()
            );
        }
    }
}

/// Apple Silicon laptops and arm64 CI runners build with
/// BUILDPLATFORM=linux/arm64: every exec runs there and every base image is
/// that platform's, each target is compiled with exactly the settings an
/// amd64 host gives it, and nothing in the graph assumes an amd64 machine.
#[test]
fn an_arm64_build_host_runs_every_step_itself_with_the_same_settings() {
    const ARM64: &str = "linux/arm64";
    let on_arm64 = |platforms: &[&str]| {
        let mut a = args(platforms, &[]);
        a.build_platform = Some(ARM64.to_string());
        graph_of(&a)
    };
    let g = on_arm64(&ALL);
    let from_amd64 = graph_of(&args(&ALL, &[]));
    let mut execs = 0;
    for v in &g.vertices {
        if matches!(v.kind(), "exec" | "image") {
            execs += usize::from(v.kind() == "exec");
            assert_eq!(
                v.platform().map(|p| p.to_string()).as_deref(),
                Some(ARM64),
                "{} is not the arm64 host's",
                v.describe()
            );
        }
    }
    assert!(execs >= 10);
    let exec_of = |g: &Graph, name: &str| one(g, name).exec().cloned().unwrap_or_default();
    for p in ALL {
        for step in [
            format!("[tailscale {p}] go build"),
            format!("[tailscale {p}] upx --lzma --best"),
            format!("[busybox {p}] xx-apk add musl-dev gcc linux-headers"),
            format!("[busybox {p}] make"),
            format!("[busybox {p}] upx --lzma --best"),
        ] {
            let (here, there) = (exec_of(&g, &step), exec_of(&from_amd64, &step));
            assert_eq!(here.meta, there.meta, "{step}: not what an amd64 host runs");
            assert_eq!(here.mounts.len(), there.mounts.len(), "{step}");
        }
    }
    // With arm targets only, no step names amd64 or x86_64 anywhere.
    let g = on_arm64(&ALL[1..]);
    for v in &g.vertices {
        let text = format!("{:?} {:?}", v.op, v.metadata);
        assert!(
            !text.contains("amd64") && !text.contains("x86_64"),
            "{} assumes an amd64 machine: {text}",
            v.describe()
        );
    }
}

#[test]
fn shared_steps_are_one_vertex_for_three_platforms() {
    let g = graph_of(&args(&ALL, &[]));
    for name in [
        "[tailscale] go mod download",
        "[tailscale] featuretags --min",
        "[tailscale] apply patches/",
        "[busybox] make allnoconfig + applet list",
        "[busybox] applet links from busybox.links",
        "[image] ca-certificates.crt",
    ] {
        one(&g, name);
    }
    assert_eq!(g.vertices.iter().filter(|v| v.kind() == "git").count(), 1);
    assert_eq!(g.vertices.iter().filter(|v| v.kind() == "http").count(), 1);
    for p in ALL {
        one(&g, &format!("[tailscale {p}] go build"));
        one(&g, &format!("[busybox {p}] make"));
    }
}

#[test]
fn each_compile_targets_its_platform_with_the_shared_tags() {
    let g = graph_of(&args(&ALL, &[]));
    let tags = one(&g, "[tailscale] featuretags --min");
    let modules = one(&g, "[tailscale] go mod download");
    for (p, arch, goarm) in [
        ("linux/amd64", "amd64", None),
        ("linux/arm64", "arm64", None),
        ("linux/arm/v7", "arm", Some("7")),
    ] {
        let v = one(&g, &format!("[tailscale {p}] go build"));
        let env = env_of(v);
        assert_eq!(env.get("GOOS").map(String::as_str), Some("linux"));
        assert_eq!(env.get("GOARCH").map(String::as_str), Some(arch));
        assert_eq!(env.get("GOARM").map(String::as_str), goarm);
        assert_eq!(env.get("CGO_ENABLED").map(String::as_str), Some("0"));
        assert_eq!(
            mounted(&g, v, "/tags").map(|t| &t.digest),
            Some(&tags.digest)
        );
        assert_eq!(
            mounted(&g, v, "/go/pkg/mod").map(|t| &t.digest),
            Some(&modules.digest)
        );
        let args = v
            .exec()
            .and_then(|e| e.meta.clone())
            .unwrap_or_default()
            .args;
        for flag in ["-gcflags=all=-l", "-trimpath", "./cmd/tailscaled"] {
            assert!(args.iter().any(|a| a == flag), "{flag} missing in {args:?}");
        }
        // Tags and version stamps come from the tags step's go.env.
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("-ldflags") || a.starts_with("-tags"))
        );
        assert_eq!(
            env.get("GOENV").map(String::as_str),
            Some("/tags/go.env"),
            "{env:?}"
        );
        assert_eq!(env.get("GOFLAGS"), None, "GOFLAGS would hide go.env's");
        let e = v.exec().cloned().unwrap_or_default();
        assert_eq!(
            e.network,
            pb::NetMode::None as i32,
            "compiles never need a network"
        );
    }
}

/// Each platform's dependencies are compiled apart, from the list step's
/// output and the modules only (never the source), with the real build's
/// compile flags, into a layer the real build reads.
#[test]
fn dependencies_are_compiled_apart_from_the_source() {
    use mtts_frontend::recipe::step::{deps_build_step, deps_list_step};
    let g = graph_of(&args(&ALL, &[]));
    let src = one(&g, "[tailscale] apply patches/");
    let modules = one(&g, "[tailscale] go mod download");
    let flags_of = |v: &Vertex| -> Vec<String> {
        let args = v
            .exec()
            .and_then(|e| e.meta.clone())
            .unwrap_or_default()
            .args;
        args.into_iter()
            .filter(|a| a.starts_with("-gcflags") || a == "-trimpath")
            .collect()
    };
    for p in ALL {
        let list = one(&g, &deps_list_step(p));
        let deps = one(&g, &deps_build_step(p));
        let build = one(&g, &format!("[tailscale {p}] go build"));
        assert_eq!(
            mounted(&g, list, "/src").map(|v| &v.digest),
            Some(&src.digest)
        );
        assert_eq!(
            mounted(&g, deps, "/deps").map(|v| &v.digest),
            Some(&list.digest)
        );
        assert_eq!(
            mounted(&g, deps, "/go/pkg/mod").map(|v| &v.digest),
            Some(&modules.digest)
        );
        let e = deps.exec().cloned().unwrap_or_default();
        assert!(
            e.mounts
                .iter()
                .all(|m| m.dest != "/src" && m.dest != "/tags"),
            "{p}: the dependencies' compile reads the source or the tags step"
        );
        assert_eq!(e.network, pb::NetMode::None as i32);
        let env = env_of(deps);
        assert_eq!(env.get("GOPROXY").map(String::as_str), Some("off"));
        assert_eq!(env.get("GOCACHE").map(String::as_str), Some("/out"));
        assert_eq!(env_of(list).get("GOARCH"), env_of(build).get("GOARCH"));
        assert_eq!(env.get("GOARCH"), env_of(build).get("GOARCH"));
        assert_eq!(env.get("GOARM"), env_of(build).get("GOARM"));
        // The same compile flags, or the build would find nothing.
        let compile_flags = env.get("MTTS_COMPILE_FLAGS").cloned().unwrap_or_default();
        assert_eq!(
            compile_flags
                .split(' ')
                .map(str::to_string)
                .collect::<Vec<_>>(),
            flags_of(build),
            "{p}"
        );
        assert_eq!(
            mounted(&g, build, "/deps-gocache").map(|v| &v.digest),
            Some(&deps.digest),
            "{p}: the build reads the compiled dependencies"
        );
    }
}

#[test]
fn the_tags_step_checks_the_allowlist_with_featuretags() {
    let g = graph_of(&args(&ALL[..1], &[]));
    let v = one(&g, "[tailscale] featuretags --min");
    let env = env_of(v);
    let features = env.get("MTTS_FEATURES").cloned().unwrap_or_default();
    let list: Vec<&str> = features.split(',').collect();
    assert_eq!(&list[..2], ["osrouter", "cli"]);
    for f in [
        "netstack",
        "gro",
        "peerapiserver",
        "unixsocketidentity",
        "ipnbus",
        "dns",
    ] {
        assert!(list.contains(&f), "{f} missing from {features}");
    }
    for f in ["clientupdate", "cachenetmap", "logtail", "ssh"] {
        assert!(!list.contains(&f), "{f} must stay omitted");
    }
    let argv = v
        .exec()
        .and_then(|e| e.meta.clone())
        .unwrap_or_default()
        .args;
    // The script is the environment's, so a failure quotes a short line.
    assert_eq!(
        argv,
        ["/bin/sh", "-euc", "eval \"$MTTS_SCRIPT\"", "resolve-tags"]
    );
    let script = env_of(v).get("MTTS_SCRIPT").cloned().unwrap_or_default();
    assert!(script.contains("featuretags --list"));
    assert!(script.contains("featuretags --min --add=\"$MTTS_FEATURES\""));
    assert!(
        !script.contains("netstack"),
        "user values never enter the script text"
    );
    // The version stamps, as upstream's build_dist.sh makes them.
    assert_eq!(env.get("MTTS_VERSION").map(String::as_str), Some("1.102.2"));
    assert!(script.contains("$stamp.longStamp=$MTTS_VERSION-t$short"));
    assert!(script.contains("$stamp.gitCommitStamp=$commit"));
    let git = g
        .vertices
        .iter()
        .find(|v| v.kind() == "git")
        .and_then(|v| v.source())
        .map(|s| s.attrs.clone())
        .unwrap_or_default();
    assert_eq!(
        git.get("git.keepgitdir").map(String::as_str),
        Some("true"),
        "the commit is read from .git"
    );
}

#[test]
fn every_image_source_is_pinned_by_digest() {
    let g = graph_of(&args(&ALL, &[]));
    let images: Vec<&Vertex> = g.vertices.iter().filter(|v| v.kind() == "image").collect();
    assert_eq!(images.len(), 3);
    for v in images {
        let id = &v.source().cloned().unwrap_or_default().identifier;
        let (_, digest) = id
            .split_once('@')
            .unwrap_or_else(|| panic!("{id} is not pinned"));
        assert!(digest.starts_with("sha256:") && digest.len() == 71, "{id}");
    }
}

#[test]
fn the_busybox_tarball_has_a_checksum() {
    let g = graph_of(&args(&ALL, &[]));
    let v = g
        .vertices
        .iter()
        .find(|v| v.kind() == "http")
        .unwrap_or_else(|| panic!("no http source"));
    let src = v.source().cloned().unwrap_or_default();
    assert_eq!(
        src.identifier,
        "https://busybox.net/downloads/busybox-1.38.0.tar.bz2"
    );
    assert_eq!(
        src.attrs.get("http.checksum").map(String::as_str),
        Some("sha256:34f9ea6ff8636f2c9241153b9114eefa9e65674a45318ae1ef95bb5f31c53bb2")
    );
}

/// The vertices the final image of `platform` is made of, from its head.
fn ancestry<'a>(g: &'a Graph, head: &'a Vertex) -> Vec<&'a Vertex> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![head];
    let mut out = Vec::new();
    while let Some(v) = stack.pop() {
        if !seen.insert(v.digest.clone()) {
            continue;
        }
        out.push(v);
        for i in 0..v.op.inputs.len() {
            if let Some(x) = g.input_of(v, i) {
                stack.push(x);
            }
        }
    }
    out
}

/// The recipe's `tailscale.commit_time`, the default epoch.
const COMMIT_TIME: &str = "2026-08-04T17:32:46Z";
const COMMIT_SECONDS: i64 = 1_785_864_766;

/// The step that made `layer`, after checking that `layer` is exactly that
/// step's output copied onto scratch with every time set to `seconds`.
fn made_by<'a>(g: &'a Graph, layer: &Vertex, seconds: i64) -> &'a Vertex {
    let f = layer.file().cloned().unwrap_or_default();
    let [action] = f.actions.as_slice() else {
        panic!("{:?}: not one copy", layer.name());
    };
    assert_eq!(action.input, -1, "{:?}: onto scratch", layer.name());
    let Some(pb::file_action::Action::Copy(c)) = &action.action else {
        panic!("{:?}: not a copy", layer.name());
    };
    assert_eq!((c.src.as_str(), c.dest.as_str()), ("/", "/"));
    assert!(c.dir_copy_contents && !c.follow_symlink);
    assert_eq!(c.timestamp, seconds * 1_000_000_000, "{:?}", layer.name());
    let maker = g
        .input_of(layer, 0)
        .unwrap_or_else(|| panic!("{:?}: no input", layer.name()));
    let said = maker.name().map(|n| format!("{n}: times set to "));
    assert!(
        said.is_some_and(|prefix| layer.name().is_some_and(|n| n.starts_with(&prefix))),
        "{:?} names the step that made it",
        layer.name()
    );
    maker
}

/// The layers of `p`'s image, bottom up: the inputs of its merge.
fn layers_of<'a>(g: &'a Graph, p: &str) -> Vec<&'a Vertex> {
    let merge = one(g, &format!("[image {p}] assemble"));
    (0..merge.op.inputs.len())
        .filter_map(|i| g.input_of(merge, i))
        .collect()
}

fn copies_of(v: &Vertex, needle: &str) -> usize {
    v.file()
        .map(|f| {
            f.actions
                .iter()
                .filter(|a| matches!(&a.action, Some(pb::file_action::Action::Copy(c)) if c.dest.contains(needle)))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_binary_is_in_exactly_one_layer_with_its_links_and_entrypoint() {
    let g = graph_of(&args(&ALL, &[]));
    for p in ALL {
        let merge = one(&g, &format!("[image {p}] assemble"));
        let layers: Vec<&Vertex> = layers_of(&g, p)
            .into_iter()
            .map(|l| made_by(&g, l, COMMIT_SECONDS))
            .collect();
        assert_eq!(
            layers.len(),
            4,
            "applet links, busybox, certificates, /usr/local/bin"
        );
        let with_binary: Vec<&&Vertex> = layers
            .iter()
            .filter(|l| copies_of(l, "tailscale.combined") > 0)
            .collect();
        assert_eq!(with_binary.len(), 1);
        let layer = with_binary[0];
        assert_eq!(
            layer.name(),
            Some(format!("[tailscale {p}] /usr/local/bin").as_str())
        );
        assert_eq!(
            layer.op.inputs.len(),
            1,
            "built on scratch from the binary alone"
        );
        let f = layer.file().cloned().unwrap_or_default();
        use pb::file_action::Action as A;
        let symlinks: Vec<(String, String)> = f
            .actions
            .iter()
            .filter_map(|a| match &a.action {
                Some(A::Symlink(s)) => Some((s.newpath.clone(), s.oldpath.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            symlinks,
            [
                (
                    "/usr/local/bin/tailscale".to_string(),
                    "/usr/local/bin/tailscale.combined".to_string()
                ),
                (
                    "/usr/local/bin/tailscaled".to_string(),
                    "/usr/local/bin/tailscale.combined".to_string()
                ),
            ]
        );
        let entry = f.actions.iter().find_map(|a| match &a.action {
            Some(A::Mkfile(m)) if m.path == "/usr/local/bin/entrypoint.sh" => Some(m.clone()),
            _ => None,
        });
        let entry = entry.unwrap_or_else(|| panic!("no entrypoint.sh"));
        assert_eq!(entry.mode, 0o755);
        let text = String::from_utf8_lossy(&entry.data);
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.contains("/proc/sys/net/ipv4/ip_forward"));
        assert!(text.contains("/proc/sys/net/ipv6/conf/all/forwarding"));
        assert!(text.contains("exec /usr/local/bin/tailscaled \"$@\""));
        // No other file op anywhere in the image copies the binary.
        let copying: usize = ancestry(&g, merge)
            .iter()
            .map(|v| copies_of(v, "tailscale.combined"))
            .sum();
        assert_eq!(copying, 1);
    }
}

#[test]
fn image_config_per_platform() {
    let results = results_of(&args(&ALL, &["OCI_VERSION=v1.98.5-mt.3"]));
    assert_eq!(results.len(), 3);
    for (r, (arch, variant)) in
        results
            .iter()
            .zip([("amd64", None), ("arm64", None), ("arm", Some("v7"))])
    {
        let cfg = r
            .image_config
            .clone()
            .unwrap_or_else(|| panic!("no config"));
        let json: serde_json::Value = serde_json::from_slice(
            &mtts_frontend::recipe::image::config_json(&cfg).unwrap_or_default(),
        )
        .unwrap_or_default();
        assert_eq!(json["os"], "linux");
        assert_eq!(json["architecture"], arch);
        assert_eq!(json.get("variant").and_then(|v| v.as_str()), variant);
        let c = &json["config"];
        image_config::assert_runs_tailscaled(c, r.platform.to_string().as_str());
        let labels = &c["Labels"];
        assert_eq!(labels["org.opencontainers.image.version"], "v1.98.5-mt.3");
        assert_eq!(
            labels["org.opencontainers.image.title"],
            "mikrotik-tailscale"
        );
        assert!(labels["org.opencontainers.image.description"].is_string());
        assert!(labels["org.opencontainers.image.source"].is_string());
        let steps: Vec<&str> = json["history"]
            .as_array()
            .map(|h| h.iter().filter_map(|e| e["created_by"].as_str()).collect())
            .unwrap_or_default();
        let p = r.platform.to_string();
        assert_eq!(
            steps,
            [
                "[busybox] applet links from busybox.links".to_string(),
                format!("[busybox {p}] /bin/busybox"),
                "[image] ca-certificates.crt".to_string(),
                format!("[tailscale {p}] /usr/local/bin"),
            ]
        );
        // Created at the epoch, the tag's commit time by default.
        assert_eq!(json["created"], COMMIT_TIME);
        for h in json["history"].as_array().into_iter().flatten() {
            assert_eq!(h["created"], COMMIT_TIME);
        }
        // Every entry names a vertex of the graph.
        let g = graph_of(&args(&ALL, &[]));
        for step in steps {
            one(&g, step);
        }
    }
}

#[test]
fn every_layer_carries_the_epoch_and_source_date_epoch_sets_it() {
    let g = graph_of(&args(&ALL, &[]));
    let busybox_env = |g: &Graph, p: &str| {
        let make = one(g, &format!("[busybox {p}] make"));
        env_of(make).get("SOURCE_DATE_EPOCH").cloned()
    };
    for p in ALL {
        for layer in layers_of(&g, p) {
            made_by(&g, layer, COMMIT_SECONDS);
        }
        // kconfig writes it into busybox's version banner.
        assert_eq!(busybox_env(&g, p), Some(COMMIT_SECONDS.to_string()));
    }
    let given = graph_of(&args(&ALL, &["SOURCE_DATE_EPOCH=1700000000"]));
    for p in ALL {
        for layer in layers_of(&given, p) {
            let name = layer.name().unwrap_or_default();
            assert!(
                name.ends_with(": times set to 2023-11-14T22:13:20Z"),
                "{name}"
            );
            made_by(&given, layer, 1_700_000_000);
        }
        assert_eq!(busybox_env(&given, p), Some("1700000000".to_string()));
    }
    let results = results_of(&args(&["linux/arm64"], &["SOURCE_DATE_EPOCH=1700000000"]));
    let cfg = results[0].image_config.clone().unwrap_or_default();
    let json = serde_json::to_value(&cfg).unwrap_or_default();
    assert_eq!(json["created"], "2023-11-14T22:13:20Z");
    // Set and empty is unset, as for the Dockerfile frontend.
    let empty = graph_of(&args(&ALL, &["SOURCE_DATE_EPOCH="]));
    assert_eq!(empty.vertices.len(), g.vertices.len());
    for layer in layers_of(&empty, "linux/amd64") {
        made_by(&empty, layer, COMMIT_SECONDS);
    }
}

#[test]
fn source_date_epoch_must_be_whole_seconds() {
    for (value, why) in [
        (
            "yesterday",
            "is not a whole number of seconds since 1970-01-01 UTC",
        ),
        (
            "1.5",
            "is not a whole number of seconds since 1970-01-01 UTC",
        ),
        (
            "-1",
            "is outside 1970-01-01T00:00:00Z..2262-04-11T23:47:16Z",
        ),
    ] {
        let e = error_of(&args(&ALL, &[&format!("SOURCE_DATE_EPOCH={value}")]));
        assert!(
            e.contains(&format!(
                "build argument SOURCE_DATE_EPOCH: {value:?} {why}"
            )),
            "{e}"
        );
    }
}

#[test]
fn oci_version_changes_only_the_image_config() {
    let a =
        offline::definition(&args(&ALL, &["OCI_VERSION=one"])).unwrap_or_else(|e| panic!("{e:#}"));
    let b =
        offline::definition(&args(&ALL, &["OCI_VERSION=two"])).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(a.to_bytes(), b.to_bytes(), "not a single op may change");
    let ca = results_of(&args(&ALL[..1], &["OCI_VERSION=one"]));
    let cb = results_of(&args(&ALL[..1], &["OCI_VERSION=two"]));
    assert_ne!(ca[0].image_config, cb[0].image_config);
}

#[test]
fn versions_invalidate_only_their_own_half() {
    let base = graph_of(&args(&ALL, &[]));
    let ts = graph_of(&args(&ALL, &["TAILSCALE_VERSION=v1.100.0"]));
    let bb = graph_of(&args(
        &ALL,
        &[
            "BUSYBOX_VERSION=1.37.0",
            "BUSYBOX_SHA256=3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4",
        ],
    ));
    let busybox = digests_with_prefix(&base, "[busybox");
    let tailscale = digests_with_prefix(&base, "[tailscale");
    assert!(busybox.len() >= 12 && tailscale.len() >= 12);
    assert_eq!(
        digests_with_prefix(&ts, "[busybox"),
        busybox,
        "busybox redone for a Tailscale bump"
    );
    assert_ne!(digests_with_prefix(&ts, "[tailscale"), tailscale);
    assert_eq!(
        digests_with_prefix(&bb, "[tailscale"),
        tailscale,
        "Tailscale redone for a busybox bump"
    );
    assert_ne!(digests_with_prefix(&bb, "[busybox"), busybox);
}

#[test]
fn goproxy_reaches_only_the_module_download() {
    let proxy = "http://172.17.0.1:8790/goproxy|https://proxy.example,direct";
    let base = graph_of(&args(&ALL, &[]));
    let g = graph_of(&args(&ALL, &[&format!("GOPROXY={proxy}")]));
    let download = one(&g, "[tailscale] go mod download");
    assert_eq!(
        env_of(download).get("GOPROXY").map(String::as_str),
        Some(proxy)
    );
    assert_eq!(
        env_of(one(&base, "[tailscale] go mod download")).get("GOPROXY"),
        None,
        "without the argument the golang image's default stays"
    );
    for v in &g.vertices {
        if v.exec().is_some() && v.name() != Some("[tailscale] go mod download") {
            let env = env_of(v);
            assert!(
                env.get("GOPROXY").is_none_or(|p| p == "off"),
                "{:?} got GOPROXY {:?}",
                v.name(),
                env.get("GOPROXY")
            );
        }
    }
    // Only the download itself changes, and what depends on its output.
    let busybox = digests_with_prefix(&base, "[busybox");
    assert_eq!(digests_with_prefix(&g, "[busybox"), busybox);
    let e = error_of(&args(&ALL, &["GOPROXY=proxy.example"]));
    assert!(e.contains("GOPROXY") && e.contains("proxy.example"), "{e}");
}

/// Go fetches a module from its repository with git when the GOPROXY list
/// can come to `direct`; golang:*-alpine has no git, so the download gets
/// it then, and only then, and nothing else does.
#[test]
fn the_module_download_gets_git_when_goproxy_can_reach_direct() {
    let download = "[tailscale] go mod download";
    let git_steps = |g: &Graph| -> Vec<String> {
        g.vertices
            .iter()
            .filter_map(|v| v.name())
            .filter(|n| n.contains("apk add --no-cache git"))
            .map(str::to_string)
            .collect()
    };
    let mirror_only = graph_of(&args(&ALL, &["GOPROXY=https://proxy.example"]));
    assert_eq!(git_steps(&mirror_only), Vec::<String>::new());
    let after_off = graph_of(&args(&ALL, &["GOPROXY=https://proxy.example,off,direct"]));
    assert_eq!(git_steps(&after_off), Vec::<String>::new());
    let dl_root = |g: &Graph| {
        mounted(g, one(g, download), "/")
            .and_then(|v| v.name())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        dl_root(&mirror_only).starts_with("[golang] apk add"),
        "{}",
        dl_root(&mirror_only)
    );
    for (build_args, list) in [
        (&[][..], "https://proxy.golang.org,direct"),
        (
            &[
                "GOPROXY=https://proxy.example,direct",
                "GOINSECURE=git.corp.example",
            ][..],
            "https://proxy.example,direct",
        ),
    ] {
        let g = graph_of(&args(&ALL, build_args));
        let git = format!(
            "[tailscale] apk add --no-cache git (GOPROXY={list} can fetch from version control)"
        );
        assert_eq!(git_steps(&g), vec![git.clone()], "{build_args:?}");
        assert_eq!(dl_root(&g), git, "{build_args:?}");
        let git_vertex = one(&g, &git);
        let users: Vec<_> = g
            .vertices
            .iter()
            .filter(|v| v.exec().is_some())
            .filter(|v| mounted(&g, v, "/").is_some_and(|r| r.digest == git_vertex.digest))
            .filter_map(|v| v.name())
            .collect();
        assert_eq!(users, vec![download], "{build_args:?}");
    }
    let g = graph_of(&args(
        &ALL,
        &["GOPROXY=direct", "GOINSECURE=git.corp.example"],
    ));
    for v in g.vertices.iter().filter(|v| v.exec().is_some()) {
        let insecure = env_of(v).get("GOINSECURE").cloned();
        if v.name() == Some(download) {
            assert_eq!(insecure.as_deref(), Some("git.corp.example"));
        } else {
            assert_eq!(insecure, None, "{:?}", v.name());
        }
    }
    let e = error_of(&args(&ALL, &["GOINSECURE=http://git.corp.example"]));
    assert!(
        e.contains("GOINSECURE") && e.contains("http://git.corp.example"),
        "{e}"
    );
}

#[test]
fn clear_errors_at_graph_time() {
    let e = error_of(&args(&["linux/arm/v5"], &[]));
    assert!(
        e.contains("linux/arm/v5") && e.contains("linux/amd64, linux/arm64, linux/arm/v7"),
        "{e}"
    );
    let e = error_of(&args(&ALL, &["TAILSCALE_VERSION=latest"]));
    assert!(
        e.contains("TAILSCALE_VERSION") && e.contains("\"latest\""),
        "{e}"
    );

    let dir = std::env::temp_dir().join(format!("mtts-recipe-graph-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let recipe_error = |body: &str| {
        let path = dir.join("Dockerfile");
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
        let mut a = args(&ALL, &[]);
        a.recipe = Some(path);
        error_of(&a)
    };
    let e = recipe_error("# syntax=x\n[tailscale]\nversion = \"v1.98.5\"\nfeaturez = []\n");
    assert!(e.contains("line 4") && e.contains("featurez"), "{e}");
    let e = recipe_error("# syntax=x\n[tailscale]\nfeatures = [\"dns\", \"Net Stack\"]\n");
    assert!(
        e.contains("tailscale.features") && e.contains("Net Stack"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn targets_pick_their_part_of_the_graph() {
    let mut a = args(&ALL, &[]);
    a.target = Some("tags".into());
    let results = results_of(&a);
    assert!(results.iter().all(|r| r.image_config.is_none()));
    let g = graph_of(&a);
    assert!(named(&g, "[tailscale linux/amd64] go build").is_empty());
    one(&g, "[tailscale] featuretags --min");

    a.target = Some("tailscale".into());
    let g = graph_of(&a);
    one(&g, "[tailscale linux/arm64] upx --lzma --best");
    assert!(
        !g.vertices
            .iter()
            .any(|v| v.name().is_some_and(|n| n.starts_with("[busybox")))
    );

    a.target = Some("busybox".into());
    let g = graph_of(&a);
    one(&g, "[busybox linux/arm/v7] rootfs");
    assert!(
        !g.vertices
            .iter()
            .any(|v| v.name().is_some_and(|n| n.starts_with("[tailscale linux")))
    );
}

/// `llb --local NAME` for `buildctl build --local NAME=DIR`: the input is
/// the session's local of that name, and a directory in place of golang
/// runs with the golang image's environment (Go on PATH), as the published
/// image would give it.
#[test]
fn locals_replace_inputs_for_buildctl() {
    let mut a = args(&["linux/arm64"], &[]);
    a.locals = vec!["golang".into(), "tailscale".into()];
    let g = graph_of(&a);
    let identifiers: Vec<String> = g
        .vertices
        .iter()
        .filter_map(|v| v.source())
        .map(|s| s.identifier.clone())
        .collect();
    assert!(identifiers.contains(&"local://golang".to_string()));
    assert!(identifiers.contains(&"local://tailscale".to_string()));
    assert!(
        !identifiers
            .iter()
            .any(|i| i.contains("golang:") || i.starts_with("git://")),
        "neither the golang pin nor the git source remains: {identifiers:?}"
    );
    let build = one(&g, "[tailscale linux/arm64] go build");
    let env = env_of(build);
    assert!(
        env.get("PATH")
            .is_some_and(|p| p.split(':').any(|d| d == "/usr/local/go/bin")),
        "{env:?}"
    );
    assert_eq!(env.get("GOPATH").map(String::as_str), Some("/go"));
    // The recipe's other inputs stay as pinned.
    assert!(
        identifiers
            .iter()
            .any(|i| i.starts_with("docker-image://") && i.contains("alpine"))
    );

    a.locals = vec!["golang".into(), "gollang".into()];
    let e = error_of(&a);
    assert!(
        e.contains("--local \"gollang\"") && e.contains("golang, alpine, xx, tailscale, busybox"),
        "{e}"
    );
}

#[test]
fn the_llb_command_is_deterministic() {
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mtts-frontend"))
            .args(["llb", "--build-platform", BUILD_PLATFORM])
            .args(ALL.iter().flat_map(|p| ["--platform", p]))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let a = run();
    assert!(a.len() > 1000);
    assert_eq!(a, run());
}

#[test]
fn graph_snapshot_for_three_platforms() {
    let text = graph_of(&args(&ALL, &[])).to_text();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recipe-graph-tests/snapshots/graph-3-platforms.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == text,
        "the graph changed; review and update with UPDATE_SNAPSHOTS=1 cargo test --test recipe-graph\n--- new graph ---\n{text}"
    );
}

#[test]
fn without_merge_op_the_binary_is_still_in_one_layer() {
    let mut req = offline::request(&args(&ALL, &[])).unwrap_or_else(|e| panic!("{e:#}"));
    req.daemon.merge_op = false;
    let results = offline::results_for(&req).unwrap_or_else(|e| panic!("{e:#}"));
    let g = Graph::decode(&offline::combine(&results).pb).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.vertices.iter().filter(|v| v.kind() == "merge").count(), 0);
    for p in ALL {
        let last = one(&g, &format!("[image {p}] assemble (4/4)"));
        // The last copy lays /usr/local/bin over links + busybox +
        // certificates, keeping the epoch as every copied entry's time.
        let f = last.file().cloned().unwrap_or_default();
        assert_eq!(f.actions.len(), 1);
        let Some(pb::file_action::Action::Copy(c)) = &f.actions[0].action else {
            panic!("not a copy");
        };
        assert_eq!(c.timestamp, COMMIT_SECONDS * 1_000_000_000);
        let bin_dir = g
            .input_of(last, 1)
            .unwrap_or_else(|| panic!("no source input"));
        assert_eq!(
            made_by(&g, bin_dir, COMMIT_SECONDS).name(),
            Some(format!("[tailscale {p}] /usr/local/bin").as_str())
        );
        let below = g
            .input_of(last, 0)
            .unwrap_or_else(|| panic!("no base input"));
        assert_eq!(
            below.name(),
            Some(format!("[image {p}] assemble (3/4)").as_str())
        );
        let copying: usize = ancestry(&g, last)
            .iter()
            .map(|v| copies_of(v, "tailscale.combined"))
            .sum();
        assert_eq!(copying, 1);
    }
}

#[test]
fn the_stub_dockerfile_is_the_default_recipe() {
    use mtts_frontend::recipe::Recipe;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.starts_with("# syntax="));
    let parsed = Recipe::parse(&text, "Dockerfile").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        parsed,
        Recipe::default(),
        "the stub and the built-in defaults drifted apart"
    );
}

#[test]
fn renovate_regexes_match_every_pin() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("renovate.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("renovate.json: {e}"));
    let managers = json["customManagers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let matches_in = |file: &str, manager: &serde_json::Value| -> Vec<(String, String)> {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        let mut found = Vec::new();
        for pattern in manager["matchStrings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let re = regex::Regex::new(pattern.as_str().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"));
            for c in re.captures_iter(&text) {
                let get = |n: &str| {
                    c.name(n)
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default()
                };
                found.push((
                    get("depName"),
                    format!("{}{}", get("currentValue"), get("currentDigest")),
                ));
            }
        }
        found
    };
    // The pins Renovate sees are exactly the built-in recipe's: it is the
    // same file.
    let recipe = mtts_frontend::recipe::Recipe::default();
    let mut stub: Vec<(String, String)> = matches_in("Dockerfile", &managers[0]);
    stub.extend(matches_in("Dockerfile", &managers[1]));
    let image = |name: &str, r: &mtts_frontend::llb::ImageRef| {
        (
            name.to_string(),
            format!(
                "{}{}",
                r.tag().unwrap_or_default(),
                r.digest().unwrap_or_default()
            ),
        )
    };
    assert_eq!(
        stub,
        [
            (
                "tailscale/tailscale".to_string(),
                recipe.tailscale.version.clone()
            ),
            (
                "alpine_edge/busybox".to_string(),
                recipe.busybox.version.clone()
            ),
            image("golang", &recipe.images.golang),
            image("alpine", &recipe.images.alpine),
            image("tonistiigi/xx", &recipe.images.xx),
        ]
    );
    // The bake file's golang is the recipe's, in the file and in the README
    // that shows it whole.
    for file in ["docs/docker-bake.hcl", "README.md"] {
        assert_eq!(
            matches_in(file, &managers[1]),
            [image("golang", &recipe.images.golang)],
            "{file}"
        );
    }
    assert_eq!(
        managers.len(),
        2,
        "no pins outside the Dockerfile and the bake file"
    );
}

#[test]
fn the_readme_shows_the_bake_file_the_e2e_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let hcl = std::fs::read_to_string(root.join("docs/docker-bake.hcl")).unwrap_or_default();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    assert!(hcl.contains("target \"image\"") && hcl.contains("target \"tailscale\""));
    assert!(
        readme.contains(&format!("```hcl\n{hcl}```\n")),
        "README.md must show docs/docker-bake.hcl whole, as it is"
    );
}

#[test]
fn before_buildkit_0_19_an_exec_makes_the_links_in_the_same_snapshot() {
    let mut req = offline::request(&args(&ALL, &[])).unwrap_or_else(|e| panic!("{e:#}"));
    req.daemon.file_symlink = false;
    let results = offline::results_for(&req).unwrap_or_else(|e| panic!("{e:#}"));
    let def = offline::combine(&results);
    assert!(!def.caps.iter().any(|c| c.id() == "file.symlink.create"));
    let g = Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
    for p in ALL {
        let merge = one(&g, &format!("[image {p}] assemble"));
        let layer = g
            .input_of(merge, 3)
            .unwrap_or_else(|| panic!("no fourth layer"));
        let layer = made_by(&g, layer, COMMIT_SECONDS);
        assert_eq!(
            layer.name(),
            Some(format!("[tailscale {p}] /usr/local/bin").as_str())
        );
        let e = layer.exec().cloned().unwrap_or_default();
        let out = e
            .mounts
            .iter()
            .find(|m| m.dest == "/out")
            .cloned()
            .unwrap_or_default();
        assert_eq!(out.input, -1, "the layer is a scratch mount: one snapshot");
        let env = env_of(layer);
        let script = env.get("MTTS_SCRIPT").cloned().unwrap_or_default();
        assert!(script.contains(r#"ln -s "$MTTS_BINARY" "$MTTS_OUT$bin_dir/tailscaled""#));
        assert_eq!(
            env.get("MTTS_BINARY").map(String::as_str),
            Some("/usr/local/bin/tailscale.combined")
        );
        assert_eq!(env.get("MTTS_OUT").map(String::as_str), Some("/out"));
        let staged = mounted(&g, layer, "/staged").unwrap_or_else(|| panic!("nothing staged"));
        assert_eq!(copies_of(staged, "tailscale.combined"), 1);
    }
}

#[test]
fn both_frontend_images_carry_the_same_labels() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = std::fs::read_to_string(root.join("frontend/labels.env")).unwrap_or_default();
    let dockerfile = std::fs::read_to_string(root.join("frontend/Dockerfile")).unwrap_or_default();
    let mut labels = 0;
    for line in env.lines().filter(|l| l.starts_with("MTTS_LABEL_")) {
        let value = line
            .split_once('=')
            .map(|(_, v)| v.trim_matches('\''))
            .unwrap_or_default();
        let (key, val) = value.split_once('=').unwrap_or_default();
        assert!(
            dockerfile.contains(&format!("LABEL {key}=\"{val}\"")),
            "frontend/Dockerfile lacks {key}={val}"
        );
        labels += 1;
    }
    assert_eq!(labels, 2);
    assert!(env.contains("moby.buildkit.frontend.inputs"));
    assert!(env.contains("moby.buildkit.frontend.contexts"));
    // buildx asks for it before sending a git URL with ?ref=, ?subdir=...
    assert!(env.contains("moby.buildkit.frontend.gitquerystring"));
    assert!(env.contains("moby.buildkit.frontend.network.none=true"));
}

/// Every parser of user input returns an error, never panics, on junk:
/// a deterministic sweep of generated strings over an alphabet of the
/// characters that matter to these grammars.
#[test]
fn parsers_never_panic_on_junk() {
    use mtts_frontend::gateway::options::{ContextSpec, FrontendOptions};
    use mtts_frontend::llb::{ImageRef, Platform};
    use mtts_frontend::recipe::{BuildArgs, Recipe, Target, request};
    const ALPHABET: &[u8] = b"a1/:@.=-_ #[]\"'\n\tvxZ\xc3\xa9{}";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let recipe = Recipe::default();
    let mut errors = 0usize;
    for _ in 0..5000 {
        let len = (next() % 24) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        let s = String::from_utf8_lossy(&bytes).to_string();
        errors += usize::from(s.parse::<Platform>().is_err());
        errors += usize::from(ImageRef::parse(&s).is_err());
        errors += usize::from(Recipe::parse(&s, "junk").is_err());
        errors += usize::from(Target::parse(&s).is_err());
        errors += usize::from(request::parse_platforms(&[s.as_str()]).is_err());
        errors += usize::from(ContextSpec::parse("x", &s).is_err());
        let args = BTreeMap::from([("TAILSCALE_VERSION".to_string(), s.clone())]);
        errors += usize::from(BuildArgs::resolve(&recipe, &args).is_err());
        let opts = BTreeMap::from([
            ("force-network-mode".to_string(), s.clone()),
            (format!("context:{s}"), s.clone()),
            ("platform".to_string(), s.clone()),
        ]);
        errors += usize::from(FrontendOptions::parse(&opts).is_err());
    }
    // The sweep reaches the error paths, not just the happy ones.
    assert!(errors > 20_000, "only {errors} errors");
}

#[test]
fn proxies_reach_the_steps_that_download_and_no_other() {
    let plain = graph_of(&args(&ALL, &[]));
    let proxy_args = args(
        &ALL,
        &["HTTP_PROXY=http://proxy.corp:3128", "no_proxy=.corp"],
    );
    let proxied = graph_of(&proxy_args);
    let proxy_of = |v: &Vertex| {
        v.exec()
            .and_then(|e| e.meta.as_ref())
            .and_then(|m| m.proxy_env.clone())
    };
    assert!(
        plain.vertices.iter().all(|v| proxy_of(v).is_none()),
        "no proxy arguments, no proxy in the graph"
    );
    let mut downloading = Vec::new();
    for v in &proxied.vertices {
        let Some(exec) = v.exec() else { continue };
        let name = v.name().unwrap_or_default();
        if exec.network == pb::NetMode::None as i32 {
            assert_eq!(proxy_of(v), None, "{name} has no network, so no proxy");
            continue;
        }
        let proxy = proxy_of(v).unwrap_or_else(|| panic!("{name} downloads without the proxy"));
        assert_eq!(proxy.http_proxy, "http://proxy.corp:3128");
        assert_eq!(proxy.no_proxy, ".corp");
        assert_eq!(proxy.https_proxy, "", "only what was given");
        // The proxy is all that changes: no variable of the step's own.
        let mut bare = exec.clone();
        if let Some(meta) = bare.meta.as_mut() {
            meta.proxy_env = None;
        }
        assert_eq!(Some(&bare), one(&plain, name).exec(), "{name}");
        downloading.push(name.to_string());
    }
    downloading.sort();
    let expected = [
        "[busybox linux/amd64] xx-apk add ",
        "[busybox linux/arm/v7] xx-apk add ",
        "[busybox linux/arm64] xx-apk add ",
        "[busybox] apk add ",
        "[golang] apk add ",
        // (Go's default GOPROXY ends in direct: git for the download)
        "[tailscale] apk add --no-cache git ",
        "[tailscale] go mod download",
    ];
    assert_eq!(downloading.len(), expected.len(), "{downloading:?}");
    for (name, start) in downloading.iter().zip(expected) {
        assert!(name.starts_with(start), "{downloading:?}");
    }
    let def = offline::definition(&proxy_args).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(def.caps.iter().any(|c| c.id() == "exec.meta.proxyenv"));
}

/// The source map's places of op `digest`: (file name, first lines).
fn places(def: &pb::Definition, digest: &str) -> Vec<(String, Vec<i32>)> {
    let Some(source) = &def.source else {
        return Vec::new();
    };
    source
        .locations
        .get(digest)
        .map(|l| {
            l.locations
                .iter()
                .map(|loc| {
                    let file = usize::try_from(loc.source_index)
                        .ok()
                        .and_then(|i| source.infos.get(i))
                        .map(|f| f.filename.clone())
                        .unwrap_or_default();
                    let lines = loc
                        .ranges
                        .iter()
                        .filter_map(|r| r.start.as_ref().map(|p| p.line))
                        .collect();
                    (file, lines)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_op_points_at_the_recipe_key_that_made_it() {
    use mtts_frontend::recipe::BUILTIN_FILE_NAME;
    let dir = std::env::temp_dir().join(format!("mtts-source-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let stub = dir.join("Dockerfile");
    // The stub sets the busybox version (line 4); everything else comes
    // from the built-in recipe.
    std::fs::write(&stub, "# syntax=x\n\n[busybox]\nversion = \"1.38.0\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut a = args(&ALL, &[]);
    a.recipe = Some(stub.clone());
    let def = offline::definition(&a).unwrap_or_else(|e| panic!("{e:#}"));
    let _ = std::fs::remove_dir_all(&dir);
    let g = Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
    let builtin_line = |key: &str| {
        let (table, name) = key.split_once('.').unwrap_or(("", key));
        let text = mtts_frontend::recipe::config::BUILTIN;
        let mut in_table = table.is_empty();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('[') {
                in_table = line == format!("[{table}]");
            } else if in_table && line.starts_with(&format!("{name} =")) {
                return i32::try_from(i + 1).unwrap_or_default();
            }
        }
        panic!("{key} is not in the built-in recipe");
    };
    let stub_name = stub.display().to_string();

    // Every op the recipe makes points somewhere: all but the build
    // context's local sources (no recipe key makes them), the terminal and
    // the llb command's own collection of the platforms' results.
    for v in &g.vertices {
        let collector = v.name().is_some_and(|n| n.starts_with("[all platforms]"));
        if v.kind() == "local" || v.op.op.is_none() || collector {
            continue;
        }
        assert!(
            !places(&def.pb, &v.digest).is_empty(),
            "{} ({}) has no place in the recipe",
            v.name().unwrap_or("?"),
            v.kind()
        );
    }
    // The stub's key at the stub's line; the others at the built-in's.
    let configure = one(&g, "[busybox] make allnoconfig + applet list");
    assert_eq!(
        places(&def.pb, &configure.digest),
        [(stub_name.clone(), vec![4])]
    );
    let git = g
        .vertices
        .iter()
        .find(|v| v.kind() == "git")
        .unwrap_or_else(|| panic!("no git source"));
    assert_eq!(
        places(&def.pb, &git.digest),
        [(
            BUILTIN_FILE_NAME.to_string(),
            vec![
                builtin_line("tailscale.repository"),
                builtin_line("tailscale.version")
            ]
        )]
    );
    let download = g
        .vertices
        .iter()
        .find(|v| v.kind() == "http")
        .unwrap_or_else(|| panic!("no http source"));
    assert_eq!(
        places(&def.pb, &download.digest),
        [
            (stub_name, vec![4]),
            (
                BUILTIN_FILE_NAME.to_string(),
                vec![builtin_line("busybox.url"), builtin_line("busybox.sha256")]
            )
        ]
    );
    let golang = g
        .vertices
        .iter()
        .find(|v| v.kind() == "image" && v.name().is_some_and(|n| n.starts_with("[golang]")))
        .unwrap_or_else(|| panic!("no golang image"));
    assert_eq!(
        places(&def.pb, &golang.digest),
        [(
            BUILTIN_FILE_NAME.to_string(),
            vec![builtin_line("images.golang")]
        )]
    );
    // One file each, given whole, as buildx shows it.
    let infos = def
        .pb
        .source
        .as_ref()
        .map(|s| s.infos.clone())
        .unwrap_or_default();
    assert_eq!(infos.len(), 2);
    assert!(
        infos
            .iter()
            .all(|i| i.language == "Dockerfile" && !i.data.is_empty())
    );
}

#[test]
fn a_private_fork_is_fetched_with_the_clients_credentials() {
    let dir = std::env::temp_dir().join(format!("mtts-private-fork-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let git_of = |body: &str| {
        let stub = dir.join("Dockerfile");
        std::fs::write(&stub, format!("# syntax=x\n[tailscale]\n{body}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut a = args(&["linux/amd64"], &[]);
        a.recipe = Some(stub);
        let g = graph_of(&a);
        let git = g
            .vertices
            .iter()
            .find(|v| v.kind() == "git")
            .cloned()
            .unwrap_or_else(|| panic!("no git source"));
        let attrs = git.source().map(|s| s.attrs.clone()).unwrap_or_default();
        (git.name().unwrap_or_default().to_string(), attrs)
    };
    // The built-in repository: public, no hint; the secrets are named (as
    // llb.Git names them on every git source), never their values.
    let (name, attrs) = git_of("");
    assert!(!name.contains("private"), "{name}");
    assert_eq!(
        attrs.get("git.authtokensecret").map(String::as_str),
        Some("GIT_AUTH_TOKEN")
    );
    assert!(!attrs.contains_key("git.mountsshsock"));
    // An ssh fork: the agent socket and the recipe's known_hosts.
    let (name, attrs) = git_of(
        "repository = \"ssh://git@git.example/you/tailscale.git\"\nknown_hosts = \"git.example ssh-ed25519 AAAAC3Nza\"\n",
    );
    assert!(
        name.ends_with("(tailscale.repository; a private one needs --ssh default)"),
        "{name}"
    );
    assert_eq!(
        attrs.get("git.mountsshsock").map(String::as_str),
        Some("default")
    );
    assert_eq!(
        attrs.get("git.knownsshhosts").map(String::as_str),
        Some("git.example ssh-ed25519 AAAAC3Nza")
    );
    // An https fork: the token secret's flag.
    let (name, _) = git_of("repository = \"https://git.example/you/tailscale.git\"\n");
    assert!(
        name.ends_with("(tailscale.repository; a private one needs --secret id=GIT_AUTH_TOKEN)"),
        "{name}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
