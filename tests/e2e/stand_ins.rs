//! The stand-in base images behave as the real ones where our steps could
//! tell: Alpine's busybox userland in golang and alpine, musl as alpine's C
//! library (its gcc builds musl programs), no git in golang until `apk add
//! git`, and xx's helpers doing what tonistiigi/xx v1.9.0's do for each of
//! the three platforms. The expected files and texts are those the real
//! xx-info, xx-apk and xx-cc write (read from their source; the stand-ins
//! were also run side by side with the real scripts in the alpine stand-in
//! and left the same files). Run in containers of each daemon's images.

use std::collections::BTreeMap;

use crate::harness::{Daemon, out_dir, run, try_run};

/// What a shell script printed as `key=value` lines (a key may repeat: the
/// last one counts).
fn lines(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The xx stand-in's /usr/bin, copied out of its image (FROM scratch: a
/// container is created, never started).
fn xx_files(daemon: &Daemon) -> std::path::PathBuf {
    let dir = out_dir("stand-ins-xx");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let name = "mtts-e2e-stand-ins-xx";
    let _ = daemon.docker().args(["rm", "-f", name]).output();
    run(daemon
        .docker()
        .args(["create", "--name", name, "mtts-fixture-xx:e2e", "none"]));
    run(daemon.docker().args([
        "cp",
        &format!("{name}:/usr/bin/."),
        &dir.display().to_string(),
    ]));
    run(daemon.docker().args(["rm", "-f", name]));
    dir
}

/// `script` in a new container of `image` (as root, no network), with the
/// xx helpers in /usr/bin when `xx` is given, as the recipe's copy does.
fn in_container(
    daemon: &Daemon,
    image: &str,
    xx: Option<&std::path::Path>,
    script: &str,
) -> (bool, String) {
    let mut cmd = daemon.docker();
    cmd.args(["run", "--rm", "--network", "none"]);
    let mut body = String::from("set -e\n");
    if let Some(dir) = xx {
        cmd.arg("-v").arg(format!("{}:/xx:ro", dir.display()));
        body.push_str("cp -a /xx/. /usr/bin/\n");
    }
    body.push_str(script);
    cmd.args([image, "/bin/sh", "-c", &body]);
    try_run(&mut cmd)
}

const TRIPLES: [(&str, &str, &str); 3] = [
    ("linux/amd64", "x86_64-alpine-linux-musl", "x86_64"),
    ("linux/arm64", "aarch64-alpine-linux-musl", "aarch64"),
    ("linux/arm/v7", "armv7-alpine-linux-musleabihf", "armv7"),
];

#[test]
#[ignore = "needs the e2e daemons and fixture images (scripts/test)"]
fn xx_helpers_do_what_xx_1_9_does_for_each_platform() {
    let daemon = Daemon::today();
    let xx = xx_files(&daemon);
    for (platform, triple, apk_arch) in TRIPLES {
        let native = platform == "linux/amd64";
        let script = format!(
            r#"export TARGETPLATFORM={platform}
t=$(xx-info triple)
echo "triple=$t"
echo "sysroot=$(xx-info sysroot)"
xx-apk add --no-cache musl-dev gcc linux-headers >/tmp/apk.out
echo "apk=$(grep '^+ apk' /tmp/apk.out)"
xx-clang --setup-target-triple
echo "print-sysroot=$(xx-clang --print-sysroot)"
echo "cfg=$(cat /usr/bin/$t.cfg)"
echo "cfg-link=$(readlink /usr/bin/$t.cfg)"
echo "default-cfg=$(cat /etc/llvm/xx-default.cfg 2>/dev/null || echo none)"
echo "local-clang=$(readlink /usr/local/bin/clang)"
echo "local-clang++=$(readlink /usr/local/bin/clang++)"
echo "wrapper=$(tr '\n' '|' </usr/bin/$t-clang)"
for tool in ar nm ranlib strip readelf addr2line; do echo "tool-$tool=$(readlink /usr/bin/$t-$tool)"; done
if [ -L /usr/bin/$t-pkg-config ]; then echo "pkg-config=link $(readlink /usr/bin/$t-pkg-config)"
else echo "pkg-config=$(tr '\n' '|' </usr/bin/$t-pkg-config)"; fi
if [ -d /$t ]; then
  echo "sysroot-arch=$(cat /$t/etc/apk/arch)"
  cmp -s /etc/apk/repositories /$t/etc/apk/repositories && echo "sysroot-repositories=copied"
  [ -f /$t/.xx-setup ] && echo "sysroot-setup=done"
  [ -f /$t/usr/lib/libc.a ] && echo "sysroot-libc=yes"
else
  echo "sysroot-dir=none"
fi
[ -f /usr/include/linux/version.h ] && echo "root-linux-headers=yes"
printf '#include <stdio.h>\n#include <linux/version.h>\nint main(void) {{ puts("ok"); return 0; }}\n' >/tmp/h.c
$t-clang -static -Os -o /tmp/h /tmp/h.c
echo "machine=$(llvm-readelf -h /tmp/h | sed -n 's/ *Machine: *//p')"
"#
        );
        let (ok, out) = in_container(&daemon, "mtts-fixture-alpine:e2e", Some(&xx), &script);
        assert!(ok, "{platform}: {out}");
        let got = lines(&out);
        let want = |k: &str| got.get(k).map(String::as_str).unwrap_or("<missing>");
        assert_eq!(want("triple"), triple, "{out}");
        // xx: / for the native target, /TRIPLE/ for a cross one on Alpine.
        let sysroot = if native {
            "/".to_string()
        } else {
            format!("/{triple}/")
        };
        assert_eq!(want("sysroot"), sysroot, "{platform}");
        assert_eq!(want("print-sysroot"), sysroot, "{platform}");
        let root = if native {
            "/".to_string()
        } else {
            format!("/{triple}")
        };
        assert_eq!(
            want("apk"),
            format!("+ apk  --root {root} add --no-cache musl-dev gcc linux-headers"),
            "{platform}"
        );
        // xx-cc's config: no --sysroot for the native target, and no
        // -rtlib (clang's default, libgcc, is what the sysroot has).
        let cfg = if native {
            format!("--target={triple} -fuse-ld=lld")
        } else {
            format!("--target={triple} -fuse-ld=lld --sysroot=/{triple}/")
        };
        assert_eq!(want("cfg"), cfg, "{platform}");
        assert!(
            want("cfg-link").starts_with("/usr/lib/llvm-")
                && want("cfg-link").ends_with(&format!("/bin/{triple}.cfg")),
            "{platform}: the .cfg is written beside the real clang and linked from /usr/bin: {}",
            want("cfg-link")
        );
        // Only the machine's own target writes the default config.
        let default_cfg = if native { "-fuse-ld=lld" } else { "none" };
        assert_eq!(want("default-cfg"), default_cfg, "{platform}");
        assert_eq!(want("local-clang"), "/usr/bin/xx-clang", "{platform}");
        assert_eq!(want("local-clang++"), "/usr/bin/xx-clang++", "{platform}");
        assert_eq!(
            want("wrapper"),
            format!("#!/usr/bin/env sh|clang --config /usr/bin/{triple}.cfg \"$@\"|"),
            "{platform}"
        );
        for tool in ["ar", "nm", "ranlib", "strip", "readelf", "addr2line"] {
            assert_eq!(
                want(&format!("tool-{tool}")),
                format!("llvm-{tool}"),
                "{platform}"
            );
        }
        if native {
            assert_eq!(want("pkg-config"), "link pkg-config");
            assert_eq!(
                want("sysroot-dir"),
                "none",
                "the native target installs into /"
            );
            assert_eq!(
                want("root-linux-headers"),
                "yes",
                "xx-apk put linux-headers into /"
            );
        } else {
            assert_eq!(
                want("pkg-config"),
                format!(
                    "#!/usr/bin/env sh|export PKG_CONFIG_SYSROOT_DIR=/{triple}|export PKG_CONFIG_LIBDIR=/{triple}/usr/lib/pkgconfig/|exec pkg-config \"$@\"|"
                ),
                "{platform}"
            );
            assert_eq!(want("sysroot-arch"), apk_arch, "{platform}");
            assert_eq!(want("sysroot-repositories"), "copied", "{platform}");
            assert_eq!(want("sysroot-setup"), "done", "{platform}");
            assert_eq!(want("sysroot-libc"), "yes", "{platform}");
            assert_eq!(
                got.get("root-linux-headers"),
                None,
                "{platform}: / untouched"
            );
        }
        let machine = match apk_arch {
            "x86_64" => "Advanced Micro Devices X86-64",
            "aarch64" => "AArch64",
            _ => "ARM",
        };
        assert_eq!(want("machine"), machine, "{platform}");
    }
    // As the real xx-apk: a cross sysroot copies /etc/apk/repositories,
    // so without it the setup fails (cp's error) before apk runs.
    let (ok, out) = in_container(
        &daemon,
        "mtts-fixture-alpine:e2e",
        Some(&xx),
        "rm /etc/apk/repositories\nTARGETPLATFORM=linux/arm64 xx-apk add musl-dev 2>&1\n",
    );
    assert!(!ok, "xx-apk without /etc/apk/repositories: {out}");
    assert!(out.contains("/etc/apk/repositories"), "{out}");
    assert!(!out.contains("+ apk"), "apk ran: {out}");
}

#[test]
#[ignore = "needs the e2e daemons and fixture images (scripts/test)"]
fn the_stand_ins_have_alpines_userland_and_c_library() {
    let daemon = Daemon::today();
    let userland = r#"echo "sh=$(readlink -f /bin/sh)"
for t in sed awk grep find tar patch cp xargs sort head sha256sum; do echo "tool-$t=$(readlink -f "$(command -v $t)")"; done
command -v bash >/dev/null && echo "bash=yes" || echo "bash=no"
"#;
    for image in ["mtts-fixture-golang:e2e", "mtts-fixture-alpine:e2e"] {
        let (ok, out) = in_container(&daemon, image, None, userland);
        assert!(ok, "{image}: {out}");
        let got = lines(&out);
        assert_eq!(
            got.get("sh").map(String::as_str),
            Some("/usr/bin/busybox"),
            "{image}: {out}"
        );
        for t in [
            "sed",
            "awk",
            "grep",
            "find",
            "tar",
            "patch",
            "cp",
            "xargs",
            "sort",
            "head",
            "sha256sum",
        ] {
            assert_eq!(
                got.get(&format!("tool-{t}")).map(String::as_str),
                Some("/usr/bin/busybox"),
                "{image}: {t} is not busybox's: {out}"
            );
        }
        assert_eq!(got.get("bash").map(String::as_str), Some("no"), "{image}");
    }
    // Alpine's gcc (the busybox host tools' compiler) builds for musl.
    let (ok, out) = in_container(
        &daemon,
        "mtts-fixture-alpine:e2e",
        None,
        r#"printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >/tmp/h.c
gcc -o /tmp/h /tmp/h.c
echo "run=$(/tmp/h)"
echo "interpreter=$(llvm-readelf -l /tmp/h | sed -n 's/.*interpreter: \(.*\)]/\1/p')"
"#,
    );
    assert!(ok, "{out}");
    let got = lines(&out);
    assert_eq!(got.get("run").map(String::as_str), Some("ok"), "{out}");
    assert_eq!(
        got.get("interpreter").map(String::as_str),
        Some("/lib/ld-musl-x86_64.so.1"),
        "{out}"
    );
    // golang:*-alpine has no git; `apk add git` gives a working one.
    let (ok, out) = in_container(
        &daemon,
        "mtts-fixture-golang:e2e",
        None,
        "command -v git >/dev/null && echo before=yes || echo before=no\n\
         apk add --no-cache git >/dev/null\n\
         echo \"after=$(git --version)\"\n",
    );
    assert!(ok, "{out}");
    let got = lines(&out);
    assert_eq!(got.get("before").map(String::as_str), Some("no"), "{out}");
    assert!(
        got.get("after")
            .is_some_and(|v| v.starts_with("git version")),
        "{out}"
    );
}
