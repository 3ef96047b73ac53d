//! The recipe: the TOML body of the stub Dockerfile.
//!
//! The `# syntax=` line is a TOML comment, so the whole file parses as TOML.
//! Every key is optional; an empty body means the built-in defaults. These
//! are the values a person or Renovate bumps.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::validate;
use crate::llb::ImageRef;

/// Tailscale's feature allowlist, carried over from the original build. Each
/// name is a `featuretags` feature; everything not listed is omitted.
pub const DEFAULT_FEATURES: &[&str] = &[
    "advertiseexitnode", // run as an exit node for the tailnet
    "advertiseroutes",   // advertise LAN subnets
    "useexitnode",       // send the router's own traffic through an exit node
    "useroutes",         // accept other nodes' subnet routes
    "dns",               // MagicDNS resolver and resolv.conf management
    "portmapper",        // NAT-PMP/PCP/UPnP to get through upstream NAT
    "listenrawdisco",    // raw-socket disco: better NAT traversal
    "health",            // what `tailscale status` reports on
    "iptables",          // routing and NAT rules on Linux
    // Without it the local API cannot tell a request came over its unix
    // socket, and every CLI call is refused.
    "unixsocketidentity",
    // Without it `tailscale up` cannot wait for login: no auth URL is shown.
    "ipnbus",
    // Counter-intuitive but required with a kernel TUN: only netstack
    // answers MagicDNS on 100.100.100.100; without it DNS silently dies
    // (and the exit-node inject path panicked). ~0.5 MB of flash.
    "netstack",
    "gro", // generic receive offload on the netstack path
    // Serves the exit node's DNS-over-HTTPS proxy to its clients. featuretags
    // would pull it in for advertiseexitnode anyway; listed to say why.
    "peerapiserver",
];

pub const DEFAULT_TAILSCALE_VERSION: &str = "v1.98.5";
pub const DEFAULT_TAILSCALE_REPOSITORY: &str = "https://github.com/tailscale/tailscale.git";
pub const DEFAULT_BUSYBOX_VERSION: &str = "1.38.0";
pub const DEFAULT_BUSYBOX_SHA256: &str =
    "34f9ea6ff8636f2c9241153b9114eefa9e65674a45318ae1ef95bb5f31c53bb2";
pub const DEFAULT_BUSYBOX_URL: &str = "https://busybox.net/downloads/busybox-{version}.tar.bz2";
pub const DEFAULT_GOLANG_IMAGE: &str =
    "golang:1.26.5-alpine@sha256:0178a641fbb4858c5f1b48e34bdaabe0350a330a1b1149aabd498d0699ff5fb2";
pub const DEFAULT_ALPINE_IMAGE: &str =
    "alpine:3.24.1@sha256:28bd5fe8b56d1bd048e5babf5b10710ebe0bae67db86916198a6eec434943f8b";
pub const DEFAULT_XX_IMAGE: &str =
    "tonistiigi/xx:1.9.0@sha256:c64defb9ed5a91eacb37f96ccc3d4cd72521c4bd18d5442905b95e2226b0e707";

/// The whole recipe, with defaults filled in and every value checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipe {
    pub tailscale: TailscaleConfig,
    pub busybox: BusyboxConfig,
    pub images: BaseImageRefs,
    /// Compress both binaries with UPX (LZMA). Off makes faster, bigger builds.
    pub upx: bool,
    /// OCI labels of the final image (`org.opencontainers.image.*` short names).
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailscaleConfig {
    pub version: String,
    pub repository: String,
    pub features: Vec<String>,
    /// Drop `[vN]` log lines on stderr (logtail is compiled out).
    pub verbosity_filter: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusyboxConfig {
    pub version: String,
    pub sha256: String,
    /// Download URL; `{version}` is replaced with the version.
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImageRefs {
    pub golang: ImageRef,
    pub alpine: ImageRef,
    pub xx: ImageRef,
}

/// A recipe that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    #[error("{file}: line {line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {key}: {message}")]
    Value {
        file: String,
        key: String,
        message: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    #[serde(default)]
    tailscale: RawTailscale,
    #[serde(default)]
    busybox: RawBusybox,
    #[serde(default)]
    images: RawImages,
    upx: Option<bool>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTailscale {
    version: Option<String>,
    repository: Option<String>,
    features: Option<Vec<String>>,
    verbosity_filter: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBusybox {
    version: Option<String>,
    sha256: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawImages {
    golang: Option<String>,
    alpine: Option<String>,
    xx: Option<String>,
}

impl Default for Recipe {
    fn default() -> Self {
        // The defaults are constants checked by a unit test, so parsing the
        // empty recipe cannot fail.
        match Recipe::parse("", "<built-in>") {
            Ok(r) => r,
            Err(e) => unreachable!("built-in recipe is invalid: {e}"),
        }
    }
}

impl Recipe {
    /// Parses the stub Dockerfile `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, RecipeError> {
        let raw: RawRecipe = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            RecipeError::Syntax {
                file: file.to_string(),
                line,
                message: e.message().trim().to_string(),
            }
        })?;
        let value_err = |key: &str, message: String| RecipeError::Value {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };

        let version = raw
            .tailscale
            .version
            .unwrap_or_else(|| DEFAULT_TAILSCALE_VERSION.to_string());
        let version =
            validate::tailscale_version(&version).map_err(|m| value_err("tailscale.version", m))?;
        let repository = raw
            .tailscale
            .repository
            .unwrap_or_else(|| DEFAULT_TAILSCALE_REPOSITORY.to_string());
        validate::git_url(&repository).map_err(|m| value_err("tailscale.repository", m))?;
        let features = match raw.tailscale.features {
            Some(f) => f,
            None => DEFAULT_FEATURES.iter().map(|s| s.to_string()).collect(),
        };
        for f in &features {
            validate::feature_name(f).map_err(|m| value_err("tailscale.features", m))?;
        }

        let bb_version = raw
            .busybox
            .version
            .unwrap_or_else(|| DEFAULT_BUSYBOX_VERSION.to_string());
        validate::busybox_version(&bb_version).map_err(|m| value_err("busybox.version", m))?;
        let sha256 = raw
            .busybox
            .sha256
            .unwrap_or_else(|| DEFAULT_BUSYBOX_SHA256.to_string());
        validate::sha256_hex(&sha256).map_err(|m| value_err("busybox.sha256", m))?;
        let url = raw
            .busybox
            .url
            .unwrap_or_else(|| DEFAULT_BUSYBOX_URL.to_string());
        validate::http_url(&url).map_err(|m| value_err("busybox.url", m))?;

        let image = |key: &str, value: Option<String>, default: &str| {
            let text = value.unwrap_or_else(|| default.to_string());
            ImageRef::parse(&text).map_err(|e| value_err(key, e.to_string()))
        };
        let images = BaseImageRefs {
            golang: image("images.golang", raw.images.golang, DEFAULT_GOLANG_IMAGE)?,
            alpine: image("images.alpine", raw.images.alpine, DEFAULT_ALPINE_IMAGE)?,
            xx: image("images.xx", raw.images.xx, DEFAULT_XX_IMAGE)?,
        };

        let mut labels = default_labels();
        for (k, v) in raw.labels {
            validate::label(&k, &v).map_err(|m| value_err(&format!("labels.{k}"), m))?;
            labels.insert(k, v);
        }

        Ok(Recipe {
            tailscale: TailscaleConfig {
                version,
                repository,
                features,
                verbosity_filter: raw.tailscale.verbosity_filter.unwrap_or(true),
            },
            busybox: BusyboxConfig {
                version: bb_version,
                sha256,
                url,
            },
            images,
            upx: raw.upx.unwrap_or(true),
            labels,
        })
    }
}

/// Short label names map to `org.opencontainers.image.<name>`.
fn default_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("title".to_string(), "mikrotik-tailscale".to_string()),
        (
            "description".to_string(),
            "Minimal Tailscale image for MikroTik RouterOS Container".to_string(),
        ),
        (
            "source".to_string(),
            "https://github.com/Lumpiasty/mikrotik-tailscale".to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Recipe, RecipeError> {
        Recipe::parse(text, "Dockerfile")
    }

    #[test]
    fn empty_body_and_syntax_line_mean_the_defaults() {
        let r = parse("# syntax=ghcr.io/org/mtts-frontend:1\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r, Recipe::default());
        assert_eq!(r.tailscale.version, "v1.98.5");
        assert_eq!(r.busybox.version, "1.38.0");
        assert_eq!(r.tailscale.features.len(), 14);
        assert!(r.upx);
        for img in [&r.images.golang, &r.images.alpine, &r.images.xx] {
            assert!(img.digest().is_some(), "{img} is not pinned");
            assert!(img.tag().is_some(), "{img} has no tag for people");
        }
    }

    #[test]
    fn values_override_defaults() {
        let r = parse(
            r#"# syntax=x
upx = false
[tailscale]
version = "1.100.0"
features = ["dns", "netstack"]
[busybox]
version = "1.37.0"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[images]
golang = "golang:1.27-alpine"
[labels]
title = "my-ts"
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.tailscale.version, "v1.100.0");
        assert_eq!(r.tailscale.features, ["dns", "netstack"]);
        assert_eq!(r.busybox.version, "1.37.0");
        assert!(!r.upx);
        assert_eq!(
            r.images.golang.to_string(),
            "docker.io/library/golang:1.27-alpine"
        );
        assert_eq!(r.labels.get("title").map(String::as_str), Some("my-ts"));
        assert!(r.labels.contains_key("source"));
    }

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let e = parse("# syntax=x\n\n[tailscale]\nverison = \"v1.2.3\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("Dockerfile: line 4:"), "{msg}");
        assert!(msg.contains("verison"), "{msg}");
        let e = parse("colour = 1\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("colour"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases = [
            ("[tailscale]\nversion = \"latest\"", "tailscale.version"),
            (
                "[tailscale]\nfeatures = [\"dns; rm -rf /\"]",
                "tailscale.features",
            ),
            ("[busybox]\nsha256 = \"abc\"", "busybox.sha256"),
            ("[images]\nxx = \"Not A Ref\"", "images.xx"),
            ("[busybox]\nurl = \"ftp://x\"", "busybox.url"),
        ];
        for (text, key) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text:?} gave {e}");
        }
    }

    #[test]
    fn type_errors_have_a_line() {
        let e = parse("\nupx = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
