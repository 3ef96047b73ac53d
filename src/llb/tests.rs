//! Whole-layer tests: build small graphs, marshal them, decode the bytes with
//! the generated types and compare field by field.

use std::collections::BTreeMap;

use prost::Message;

use super::inspect::{Graph, Vertex};
use super::*;
use crate::proto::pb;

const DIGEST: &str = "sha256:c64defb9ed5a91eacb37f96ccc3d4cd72521c4bd18d5442905b95e2226b0e707";

fn amd64() -> Platform {
    Platform::new("linux", "amd64", None)
}

fn arm7() -> Platform {
    Platform::new("linux", "arm", Some("v7"))
}

fn image(name: &str) -> State {
    match ImageRef::parse(name) {
        Ok(r) => Source::image(&r).platform(&amd64()).state(),
        Err(e) => panic!("{e}"),
    }
}

fn graph(state: &State) -> Graph {
    let def = marshal(state);
    // Through bytes, as BuildKit receives it.
    let decoded = match pb::Definition::decode(def.to_bytes().as_slice()) {
        Ok(d) => d,
        Err(e) => panic!("definition does not decode: {e}"),
    };
    match Graph::decode(&decoded) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

fn head(g: &Graph) -> &Vertex {
    match g.get(&g.head.digest) {
        Some(v) => v,
        None => panic!("head {} missing", g.head.digest),
    }
}

fn caps(v: &Vertex) -> Vec<&str> {
    v.metadata.caps.keys().map(String::as_str).collect()
}

#[test]
fn image_source_encodes_identifier_platform_and_attrs() {
    let r =
        ImageRef::parse(&format!("tonistiigi/xx:1.9.0@{DIGEST}")).unwrap_or_else(|e| panic!("{e}"));
    let st = Source::image(&r)
        .resolve_mode(ResolveMode::PreferLocal)
        .platform(&arm7())
        .named("xx")
        .state();
    let g = graph(&st);
    assert_eq!(g.vertices.len(), 1);
    let v = head(&g);
    let src = v.source().unwrap_or_else(|| panic!("not a source"));
    assert_eq!(
        src.identifier,
        format!("docker-image://docker.io/tonistiigi/xx:1.9.0@{DIGEST}")
    );
    assert_eq!(
        src.attrs,
        BTreeMap::from([("image.resolvemode".to_string(), "local".to_string())])
    );
    assert_eq!(v.op.platform, Some(arm7().to_pb()));
    assert_eq!(v.name(), Some("xx"));
    assert_eq!(caps(v), ["source.image", "source.image.resolvemode"]);
    assert!(v.op.inputs.is_empty());
}

#[test]
fn git_http_and_local_sources_encode_their_attrs() {
    let git = Source::git("https://github.com/tailscale/tailscale.git", "v1.98.5")
        .keep_git_dir(true)
        .state();
    let g = graph(&git);
    let src = head(&g).source().cloned().unwrap_or_default();
    assert_eq!(
        src.identifier,
        "git://github.com/tailscale/tailscale#v1.98.5"
    );
    assert_eq!(
        src.attrs.get("git.keepgitdir").map(String::as_str),
        Some("true")
    );

    let http = Source::http("https://example.invalid/busybox-1.38.0.tar.bz2")
        .checksum(DIGEST)
        .filename("busybox.tar.bz2")
        .permissions(0o644)
        .state();
    let g = graph(&http);
    let v = head(&g);
    let src = v.source().cloned().unwrap_or_default();
    assert_eq!(
        src.identifier,
        "https://example.invalid/busybox-1.38.0.tar.bz2"
    );
    assert_eq!(
        src.attrs,
        BTreeMap::from([
            ("http.checksum".to_string(), DIGEST.to_string()),
            ("http.filename".to_string(), "busybox.tar.bz2".to_string()),
            ("http.perm".to_string(), "0644".to_string()),
        ])
    );
    assert_eq!(
        caps(v),
        ["source.http", "source.http.checksum", "source.http.perm"]
    );

    let local = Source::local("context")
        .session("sess-1")
        .include_patterns(&["patches/"])
        .exclude_patterns(&["*.tmp"])
        .shared_key_hint("context")
        .state();
    let g = graph(&local);
    let src = head(&g).source().cloned().unwrap_or_default();
    assert_eq!(src.identifier, "local://context");
    assert_eq!(
        src.attrs,
        BTreeMap::from([
            (
                "local.excludepatterns".to_string(),
                r#"["*.tmp"]"#.to_string()
            ),
            (
                "local.includepattern".to_string(),
                r#"["patches/"]"#.to_string()
            ),
            ("local.session".to_string(), "sess-1".to_string()),
            ("local.sharedkeyhint".to_string(), "context".to_string()),
        ])
    );
}

#[test]
fn exec_encodes_meta_mounts_and_outputs() {
    let base = image("golang:1.26-alpine")
        .env("PATH", "/usr/local/go/bin:/usr/bin:/bin")
        .env("GOPATH", "/go")
        .cwd("/go");
    let src = image("alpine:3.24");
    let exec = base
        .run(["go", "build", "-o", "/out/x", "."])
        .env("GOARCH", "arm")
        .env("GOARM", "7")
        .cwd("/src")
        .user("1000")
        .network(NetMode::None)
        .mount_scratch("/out")
        .mount(
            "/root/.cache/go-build",
            Mount::cache("go-build", CacheSharing::Shared),
        )
        .mount_ro("/src", &src)
        .mount("/tmp", Mount::Tmpfs)
        .platform(&amd64())
        .named("go build")
        .finish();
    let out = exec
        .output("/out")
        .unwrap_or_else(|| panic!("/out is an output"));
    let g = graph(&out);
    assert_eq!(g.head.index, 1, "/out is the second writable mount after /");
    let v = head(&g);
    let e = v.exec().unwrap_or_else(|| panic!("not an exec"));
    let meta = e.meta.clone().unwrap_or_default();
    assert_eq!(meta.args, ["go", "build", "-o", "/out/x", "."]);
    assert_eq!(
        meta.env,
        [
            "PATH=/usr/local/go/bin:/usr/bin:/bin",
            "GOPATH=/go",
            "GOARCH=arm",
            "GOARM=7"
        ]
    );
    assert_eq!(meta.cwd, "/src");
    assert_eq!(meta.user, "1000");
    assert!(meta.remove_mount_stubs_recursive);
    assert_eq!(e.network, pb::NetMode::None as i32);
    assert_eq!(v.op.platform, Some(amd64().to_pb()));

    // Sorted by destination; inputs index the op's input list.
    let dests: Vec<&str> = e.mounts.iter().map(|m| m.dest.as_str()).collect();
    assert_eq!(
        dests,
        ["/", "/out", "/root/.cache/go-build", "/src", "/tmp"]
    );
    let by = |d: &str| {
        e.mounts
            .iter()
            .find(|m| m.dest == d)
            .cloned()
            .unwrap_or_default()
    };
    let root = by("/");
    assert_eq!((root.input, root.output, root.readonly), (0, 0, false));
    assert_eq!(
        g.input_of(v, 0)
            .and_then(|i| i.source())
            .map(|s| s.identifier.as_str()),
        Some("docker-image://docker.io/library/golang:1.26-alpine")
    );
    let out_mount = by("/out");
    assert_eq!((out_mount.input, out_mount.output), (-1, 1));
    let cache = by("/root/.cache/go-build");
    assert_eq!(cache.mount_type, pb::MountType::Cache as i32);
    assert_eq!(cache.output, -1);
    assert_eq!(
        cache.cache_opt,
        Some(pb::CacheOpt {
            id: "go-build".into(),
            sharing: pb::CacheSharingOpt::Shared as i32
        })
    );
    let ro = by("/src");
    assert_eq!((ro.input, ro.output, ro.readonly), (1, -1, true));
    let tmp = by("/tmp");
    assert_eq!(
        (tmp.mount_type, tmp.input, tmp.output),
        (pb::MountType::Tmpfs as i32, -1, -1)
    );
    assert_eq!(v.op.inputs.len(), 2);
    assert_eq!(
        caps(v),
        [
            "exec.meta.base",
            "exec.meta.network",
            "exec.mount.bind",
            "exec.mount.cache",
            "exec.mount.cache.sharing",
            "exec.mount.tmpfs",
        ]
    );

    // The root output carries the base state's metadata onward.
    let root_state = exec.root();
    assert_eq!(root_state.get_cwd(), Some("/go"));
    assert_eq!(root_state.get_env().get("GOARCH"), None);
    assert!(
        exec.output("/src").is_none(),
        "read-only mounts are not outputs"
    );
}

#[test]
fn exec_without_path_gets_the_default_one() {
    let st = image("alpine").run(["true"]).root();
    let g = graph(&st);
    let env = head(&g)
        .exec()
        .and_then(|e| e.meta.clone())
        .unwrap_or_default()
        .env;
    assert_eq!(env, [format!("PATH={DEFAULT_PATH}")]);
}

#[test]
fn same_state_mounted_twice_is_one_input() {
    let src = image("alpine");
    let st = image("golang")
        .run(["ls"])
        .mount_ro("/a", &src)
        .mount_ro("/b", &src)
        .root();
    let g = graph(&st);
    let e = head(&g).exec().cloned().unwrap_or_default();
    assert_eq!(head(&g).op.inputs.len(), 2);
    let inputs: Vec<i64> = e.mounts.iter().map(|m| m.input).collect();
    assert_eq!(inputs, [0, 1, 1]);
}

#[test]
fn file_op_chains_actions_in_one_op() {
    let bin = image("alpine");
    let st = State::scratch()
        .file(
            FileActions::new()
                .mkdir("/usr/local/bin", 0o755, true)
                .copy(
                    &bin,
                    "/bin/busybox",
                    "/usr/local/bin/tool",
                    CopyOptions {
                        follow_symlinks: true,
                        create_dest_path: true,
                        mode: Some(0o755),
                        owner: Some(Owner { uid: 0, gid: 0 }),
                        ..Default::default()
                    },
                )
                .symlink("/usr/local/bin/tool", "/usr/local/bin/alias")
                .mkfile("/usr/local/bin/run.sh", 0o755, b"#!/bin/sh\n".to_vec())
                .rm("/nothing", true)
                .rm_glob("/tmp/*"),
        )
        .named("assemble")
        .state();
    let g = graph(&st);
    let v = head(&g);
    assert_eq!(v.op.platform, None, "file ops are not platform specific");
    assert_eq!(v.op.inputs.len(), 1, "scratch base adds no input");
    let f = v.file().cloned().unwrap_or_default();
    assert_eq!(f.actions.len(), 6);
    let io: Vec<(i64, i64, i64)> = f
        .actions
        .iter()
        .map(|a| (a.input, a.secondary_input, a.output))
        .collect();
    // First action on scratch (-1); later ones read the previous action's
    // result, numbered after the op's 1 input; only the last is an output.
    assert_eq!(
        io,
        [
            (-1, -1, -1),
            (1, 0, -1),
            (2, -1, -1),
            (3, -1, -1),
            (4, -1, -1),
            (5, -1, 0)
        ]
    );
    use pb::file_action::Action as A;
    match &f.actions[0].action {
        Some(A::Mkdir(m)) => {
            assert_eq!(m.path, "/usr/local/bin");
            assert_eq!(m.mode, 0o755);
            assert!(m.make_parents);
            assert_eq!(m.timestamp, -1);
        }
        other => panic!("expected mkdir, got {other:?}"),
    }
    match &f.actions[1].action {
        Some(A::Copy(c)) => {
            assert_eq!(c.src, "/bin/busybox");
            assert_eq!(c.dest, "/usr/local/bin/tool");
            assert!(c.follow_symlink && c.create_dest_path);
            assert!(!c.allow_wildcard && !c.dir_copy_contents);
            assert_eq!(c.mode, 0o755);
            assert_eq!(
                c.owner,
                Some(pb::ChownOpt {
                    user: Some(pb::UserOpt {
                        user: Some(pb::user_opt::User::ById(0))
                    }),
                    group: Some(pb::UserOpt {
                        user: Some(pb::user_opt::User::ById(0))
                    }),
                })
            );
        }
        other => panic!("expected copy, got {other:?}"),
    }
    match &f.actions[2].action {
        Some(A::Symlink(s)) => {
            assert_eq!(s.oldpath, "/usr/local/bin/tool");
            assert_eq!(s.newpath, "/usr/local/bin/alias");
        }
        other => panic!("expected symlink, got {other:?}"),
    }
    match &f.actions[3].action {
        Some(A::Mkfile(m)) => {
            assert_eq!(m.path, "/usr/local/bin/run.sh");
            assert_eq!(m.mode, 0o755);
            assert_eq!(m.data, b"#!/bin/sh\n");
        }
        other => panic!("expected mkfile, got {other:?}"),
    }
    match (&f.actions[4].action, &f.actions[5].action) {
        (Some(A::Rm(a)), Some(A::Rm(b))) => {
            assert!(a.allow_not_found && !a.allow_wildcard);
            assert!(b.allow_wildcard);
            assert_eq!(b.path, "/tmp/*");
        }
        other => panic!("expected two rm, got {other:?}"),
    }
    assert_eq!(
        caps(v),
        ["file.base", "file.rm.wildcard", "file.symlink.create"]
    );
}

#[test]
fn file_op_on_a_base_reads_it_as_input_zero() {
    let base = image("alpine").cwd("/work");
    let st = base
        .file(FileActions::new().mkfile("rel.txt", 0o644, "x"))
        .state();
    let g = graph(&st);
    let f = head(&g).file().cloned().unwrap_or_default();
    assert_eq!(f.actions[0].input, 0);
    match &f.actions[0].action {
        Some(pb::file_action::Action::Mkfile(m)) => assert_eq!(m.path, "/work/rel.txt"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        st.get_cwd(),
        Some("/work"),
        "metadata flows through file ops"
    );
}

#[test]
fn merge_lists_inputs_in_order() {
    let a = image("alpine");
    let b = image("golang");
    let st = State::merge(&[a, State::scratch(), b])
        .named("final")
        .state();
    let g = graph(&st);
    let v = head(&g);
    match &v.op.op {
        Some(pb::op::Op::Merge(m)) => {
            let idx: Vec<i64> = m.inputs.iter().map(|i| i.input).collect();
            assert_eq!(idx, [0, 1]);
        }
        other => panic!("{other:?}"),
    }
    let names: Vec<&str> = (0..2)
        .filter_map(|i| {
            g.input_of(v, i)
                .and_then(|x| x.source())
                .map(|s| s.identifier.as_str())
        })
        .collect();
    assert_eq!(
        names,
        [
            "docker-image://docker.io/library/alpine:latest",
            "docker-image://docker.io/library/golang:latest"
        ]
    );
    assert_eq!(caps(v), ["mergeop"]);
    assert_eq!(v.op.platform, None);
}

fn sample_graph() -> State {
    let go = image("golang").env("GOPATH", "/go");
    let src = Source::git("https://github.com/tailscale/tailscale.git", "v1.98.5").state();
    let modules = go
        .run(["go", "mod", "download"])
        .mount_ro("/src", &src)
        .named("modules")
        .output("/go/pkg/mod", OutputMount::Empty);
    let builds: Vec<State> = [amd64(), arm7()]
        .iter()
        .map(|p| {
            go.run(["go", "build"])
                .env("GOARCH", p.architecture())
                .mount_ro("/src", &src)
                .mount_ro("/go/pkg/mod", &modules)
                .platform(&amd64())
                .named(format!("build {p}"))
                .output("/out", OutputMount::Empty)
        })
        .collect();
    State::merge(&builds).state()
}

#[test]
fn the_same_graph_marshals_to_identical_bytes() {
    let a = marshal(&sample_graph()).to_bytes();
    let b = marshal(&sample_graph()).to_bytes();
    assert_eq!(a, b);
    // And the metadata map iterates in digest order.
    let def = marshal(&sample_graph()).pb;
    let keys: Vec<&String> = def.metadata.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn a_shared_subgraph_appears_once() {
    let def = marshal(&sample_graph());
    let g = Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
    let count = |pred: &dyn Fn(&Vertex) -> bool| g.vertices.iter().filter(|v| pred(v)).count();
    assert_eq!(count(&|v| v.name() == Some("modules")), 1);
    assert_eq!(count(&|v| v.kind() == "git"), 1);
    assert_eq!(count(&|v| v.kind() == "image"), 1);
    assert_eq!(
        count(&|v| v.name().is_some_and(|n| n.starts_with("build "))),
        2
    );
    // No two entries of the definition are the same op.
    let mut digests: Vec<&str> = g.vertices.iter().map(|v| v.digest.as_str()).collect();
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), g.vertices.len());
    // Structurally equal ops built separately also collapse into one.
    let twice = State::merge(&[
        image("alpine").run(["true"]).root(),
        image("alpine").run(["true"]).root(),
    ])
    .state();
    let g = graph(&twice);
    assert_eq!(g.vertices.iter().filter(|v| v.kind() == "exec").count(), 1);
}

#[test]
fn every_input_names_an_op_in_the_definition() {
    let def = marshal(&sample_graph());
    let present: Vec<String> = def
        .pb
        .def
        .iter()
        .map(|b| super::marshal::digest_of(b))
        .collect();
    let mut checked = 0;
    for bytes in &def.pb.def {
        let op = pb::Op::decode(bytes.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        for input in &op.inputs {
            assert!(present.contains(&input.digest), "dangling {}", input.digest);
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} inputs checked");
    // Every op has metadata, and it is keyed by that op's digest.
    for d in &present {
        assert!(def.pb.metadata.contains_key(d), "no metadata for {d}");
    }
}

#[test]
fn a_dangling_input_is_reported() {
    let mut def = marshal(&sample_graph()).pb;
    // Drop the first op (a source everything depends on).
    def.def.remove(0);
    assert!(matches!(
        Graph::decode(&def),
        Err(inspect::InspectError::DanglingInput { .. })
    ));
}

#[test]
fn terminal_op_points_at_the_state_and_carries_definition_caps() {
    let st = image("alpine").run(["true"]).named("t").root();
    let def = marshal(&st);
    let last = def.pb.def.last().cloned().unwrap_or_default();
    let terminal = pb::Op::decode(last.as_slice()).unwrap_or_else(|e| panic!("{e}"));
    assert!(terminal.op.is_none());
    assert_eq!(terminal.inputs.len(), 1);
    assert_eq!(
        def.head().as_deref(),
        Some(terminal.inputs[0].digest.as_str())
    );
    let md = def
        .pb
        .metadata
        .get(&super::marshal::digest_of(&last))
        .cloned()
        .unwrap_or_default();
    let caps: Vec<&str> = md.caps.keys().map(String::as_str).collect();
    assert_eq!(caps, ["constraints", "meta.description", "platform"]);
    assert!(def.caps.contains(&Cap::ExecMetaBase));
    assert!(def.caps.contains(&Cap::SourceImage));
}

#[test]
fn scratch_marshals_to_an_empty_definition() {
    let def = marshal(&State::scratch());
    assert!(def.pb.def.is_empty());
    assert_eq!(def.head(), None);
}

#[test]
fn ignore_cache_is_recorded_in_metadata() {
    let st = image("alpine").run(["date"]).ignore_cache(true).root();
    let def = marshal(&st);
    let g = Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
    assert!(head(&g).metadata.ignore_cache);
    assert!(def.caps.contains(&Cap::MetaIgnoreCache));
}

#[test]
fn a_foreign_definition_is_kept_byte_for_byte() {
    let foreign = marshal(&sample_graph());
    let st = State::from_definition(&foreign.pb).unwrap_or_else(|e| panic!("{e}"));
    let on_top = image("alpine")
        .run(["ls", "/in"])
        .mount_ro("/in", &st)
        .named("reader")
        .root();
    let def = marshal(&on_top);
    // Every op of the foreign graph (but its terminal) is present verbatim,
    // with its metadata.
    for bytes in &foreign.pb.def[..foreign.pb.def.len() - 1] {
        assert!(def.pb.def.contains(bytes));
        let d = super::marshal::digest_of(bytes);
        assert_eq!(def.pb.metadata.get(&d), foreign.pb.metadata.get(&d));
    }
    let g = Graph::decode(&def.pb).unwrap_or_else(|e| panic!("{e}"));
    let reader = head(&g);
    let mounted = reader
        .exec()
        .and_then(|e| e.mounts.iter().find(|m| m.dest == "/in").cloned());
    let input = mounted
        .map(|m| reader.op.inputs[m.input as usize].clone())
        .unwrap_or_default();
    assert_eq!(Some(input.digest), foreign.head());

    assert!(State::from_definition(&pb::Definition::default()).is_ok_and(|s| s.is_scratch()));
    let mut broken = foreign.pb.clone();
    broken.def.remove(0);
    assert!(State::from_definition(&broken).is_err());
}

#[test]
fn source_maps_point_each_op_at_its_lines_and_keep_its_digest() {
    use std::sync::Arc;
    let file = |name: &str| {
        Arc::new(SourceFile {
            filename: name.to_string(),
            language: "Dockerfile".to_string(),
            data: b"a = 1\nb = 2\n".to_vec(),
        })
    };
    let (recipe, other) = (file("recipe"), file("other"));
    let at = |f: &Arc<SourceFile>, line: u32| SourceLocation {
        file: f.clone(),
        ranges: vec![SourceRange::line(line)],
    };
    let plain = image("alpine:3").run(["true"]).root();
    let base = image("alpine:3");
    let located = base
        .run(["true"])
        .located(vec![at(&recipe, 2)])
        .root()
        .file(FileActions::new().mkdir("/x", 0o755, false))
        .located(vec![at(&recipe, 1), at(&other, 2)])
        .state();
    let def = marshal(&located);
    let source = def.pb.source.clone().unwrap_or_default();
    // Files in the order first met, each once.
    let names: Vec<&str> = source.infos.iter().map(|i| i.filename.as_str()).collect();
    assert_eq!(names, ["recipe", "other"]);
    let g = graph(&located);
    let exec = g.vertices.iter().find(|v| v.kind() == "exec");
    let file_op = g.vertices.iter().find(|v| v.kind() == "file");
    let lines = |v: Option<&Vertex>| -> Vec<(i32, i32)> {
        let digest = v.map(|v| v.digest.clone()).unwrap_or_default();
        source
            .locations
            .get(&digest)
            .map(|l| {
                l.locations
                    .iter()
                    .flat_map(|loc| {
                        loc.ranges.iter().filter_map(move |r| {
                            r.start.as_ref().map(|p| (loc.source_index, p.line))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(lines(exec), [(0, 2)]);
    assert_eq!(lines(file_op), [(0, 1), (1, 2)]);
    // The map is beside the ops, not in them: the same digest as unlocated.
    let plain_exec = graph(&plain)
        .vertices
        .iter()
        .find(|v| v.kind() == "exec")
        .map(|v| v.digest.clone());
    assert_eq!(exec.map(|v| v.digest.clone()), plain_exec);
    // Nothing located, no source at all (as before source maps).
    assert!(marshal(&plain).pb.source.is_none());
}

#[test]
fn ops_are_written_as_buildkits_go_code_writes_them() {
    // Go's marshaller puts the `op` oneof after inputs, platform and
    // constraints; BuildKit v0.18+ re-marshals every op and names it by
    // those bytes, so ours must be the same bytes (checked against
    // BuildKit v0.33.1's pb.Op.Marshal for the whole recipe).
    let state = image("alpine:3").run(["true"]).root();
    let def = marshal(&state);
    let source = &def.pb.def[0];
    assert_eq!(
        source[0], 0x52,
        "a source op starts with its platform (field 10)"
    );
    for bytes in &def.pb.def {
        let op = match pb::Op::decode(bytes.as_slice()) {
            Ok(op) => op,
            Err(e) => panic!("{e}"),
        };
        let mut want = pb::Op {
            op: None,
            ..op.clone()
        }
        .encode_to_vec();
        want.extend(
            pb::Op {
                op: op.op.clone(),
                ..Default::default()
            }
            .encode_to_vec(),
        );
        assert_eq!(bytes, &want);
    }
}
