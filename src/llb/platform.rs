//! OS/architecture/variant triples, as BuildKit and OCI spell them.

use std::fmt;
use std::str::FromStr;

use crate::proto::pb;

/// A target or build platform such as `linux/arm/v7`.
///
/// Always held in normalised form (see [`Platform::normalized`]) so that two
/// spellings of the same platform compare, sort and marshal identically.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

/// A platform string that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: {reason}")]
pub struct PlatformParseError {
    pub input: String,
    pub reason: &'static str,
}

impl Platform {
    /// A platform from its parts, normalised.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        Platform {
            os: os.to_ascii_lowercase(),
            architecture: architecture.to_ascii_lowercase(),
            variant: variant
                .filter(|v| !v.is_empty())
                .map(str::to_ascii_lowercase),
        }
        .normalized()
    }

    pub fn os(&self) -> &str {
        &self.os
    }

    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// The canonical spelling, following containerd's rules: `aarch64` is
    /// `arm64` (whose `v8` variant is implied and dropped), `x86_64` is
    /// `amd64`, and a bare `arm` means `arm/v7`.
    fn normalized(mut self) -> Self {
        match self.architecture.as_str() {
            "aarch64" | "arm64" => {
                self.architecture = "arm64".into();
                if self.variant.as_deref() == Some("v8") {
                    self.variant = None;
                }
            }
            "x86_64" | "x86-64" | "amd64" => {
                self.architecture = "amd64".into();
                if self.variant.as_deref() == Some("v1") {
                    self.variant = None;
                }
            }
            "armhf" => {
                self.architecture = "arm".into();
                self.variant = Some("v7".into());
            }
            "armel" => {
                self.architecture = "arm".into();
                self.variant = Some("v6".into());
            }
            "arm" => {
                if self.variant.is_none() {
                    self.variant = Some("v7".into());
                } else if let Some(v) = self.variant.as_deref() {
                    // "7" and "v7" are both seen in the wild.
                    if !v.starts_with('v') {
                        self.variant = Some(format!("v{v}"));
                    }
                }
            }
            "i386" | "i486" | "i586" | "i686" => self.architecture = "386".into(),
            _ => {}
        }
        self
    }

    /// The wire form carried on every LLB op.
    pub fn to_pb(&self) -> pb::Platform {
        pb::Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            variant: self.variant.clone().unwrap_or_default(),
            ..Default::default()
        }
    }

    /// Reads the wire form back (for decoding definitions and worker records).
    pub fn from_pb(p: &pb::Platform) -> Self {
        Platform::new(
            &p.os,
            &p.architecture,
            Some(p.variant.as_str()).filter(|v| !v.is_empty()),
        )
    }

    /// The platform this process was compiled for, as a best guess for the
    /// build platform when no BuildKit worker tells us better.
    pub fn host() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "arm" => "arm",
            other => other,
        };
        Platform::new("linux", arch, None)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| PlatformParseError {
            input: super::short(s),
            reason,
        };
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(err("empty platform"));
        }
        let parts: Vec<&str> = trimmed.split('/').collect();
        let valid_part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        };
        if !parts.iter().all(|p| valid_part(p)) {
            return Err(err(
                "expected os/arch[/variant] made of letters, digits, '_', '-' or '.'",
            ));
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(err("expected os/arch[/variant]")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        match s.parse() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_and_prints_the_three_supported_shapes() {
        assert_eq!(p("linux/amd64").to_string(), "linux/amd64");
        assert_eq!(p("linux/arm64").to_string(), "linux/arm64");
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
    }

    #[test]
    fn normalises_like_containerd() {
        assert_eq!(p("linux/arm64/v8"), p("linux/arm64"));
        assert_eq!(p("linux/aarch64"), p("linux/arm64"));
        assert_eq!(p("linux/x86_64"), p("linux/amd64"));
        assert_eq!(p("linux/arm"), p("linux/arm/v7"));
        assert_eq!(p("Linux/ARM/7"), p("linux/arm/v7"));
        assert_ne!(p("linux/arm/v5"), p("linux/arm/v7"));
    }

    #[test]
    fn rejects_malformed_strings_with_the_input_in_the_message() {
        for bad in ["", "linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            let e = bad.parse::<Platform>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn round_trips_through_the_wire_form() {
        let v7 = p("linux/arm/v7");
        let wire = v7.to_pb();
        assert_eq!(wire.os, "linux");
        assert_eq!(wire.architecture, "arm");
        assert_eq!(wire.variant, "v7");
        assert_eq!(Platform::from_pb(&wire), v7);
        assert_eq!(p("linux/amd64").to_pb().variant, "");
    }
}
