//! How each supported target platform is spelled to the tools that
//! cross-compile for it. Values go to the tools as environment variables or
//! argv elements, never through a shell.

use crate::llb::Platform;

/// `GOOS`/`GOARCH`/`GOARM` for `go build`.
pub fn go_env(target: &Platform) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("GOOS", target.os().to_string()),
        ("GOARCH", target.architecture().to_string()),
    ];
    if target.architecture() == "arm" {
        // linux/arm/v7 is the only arm we support: hard-float ARMv7.
        let level = target.variant().unwrap_or("v7").trim_start_matches('v');
        env.push(("GOARM", level.to_string()));
    }
    env
}

/// busybox's `ARCH=` for the target (it would otherwise read the build
/// machine's `uname -m`).
pub fn busybox_arch(target: &Platform) -> &'static str {
    match target.architecture() {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        _ => "arm",
    }
}

/// The variables tonistiigi/xx reads to know what it cross-compiles for.
pub fn xx_env(target: &Platform) -> Vec<(&'static str, String)> {
    vec![
        ("TARGETPLATFORM", target.to_string()),
        ("TARGETOS", target.os().to_string()),
        ("TARGETARCH", target.architecture().to_string()),
        ("TARGETVARIANT", target.variant().unwrap_or("").to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn go_env_per_platform() {
        let names = |p: &Platform| -> Vec<String> {
            go_env(p)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        };
        assert_eq!(names(&p("linux/amd64")), ["GOOS=linux", "GOARCH=amd64"]);
        assert_eq!(names(&p("linux/arm64")), ["GOOS=linux", "GOARCH=arm64"]);
        assert_eq!(
            names(&p("linux/arm/v7")),
            ["GOOS=linux", "GOARCH=arm", "GOARM=7"]
        );
    }

    #[test]
    fn busybox_arch_per_platform() {
        assert_eq!(busybox_arch(&p("linux/amd64")), "x86_64");
        assert_eq!(busybox_arch(&p("linux/arm64")), "aarch64");
        assert_eq!(busybox_arch(&p("linux/arm/v7")), "arm");
    }

    #[test]
    fn xx_env_has_the_variant() {
        let env = xx_env(&p("linux/arm/v7"));
        assert!(env.contains(&("TARGETPLATFORM", "linux/arm/v7".to_string())));
        assert!(env.contains(&("TARGETVARIANT", "v7".to_string())));
    }
}
