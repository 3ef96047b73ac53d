//! Source ops: where bytes enter the graph (images, git, http, the client's
//! local files).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::caps::Cap;
use super::state::{Node, Op, OpMeta, OpOptions, State};
use crate::proto::pb;

/// A source op: an identifier such as `docker-image://...` plus attributes.
#[derive(Clone, Debug)]
pub(crate) struct SourceOp {
    pub(crate) identifier: String,
    pub(crate) attrs: BTreeMap<String, String>,
    pub(crate) caps: BTreeSet<Cap>,
}

impl SourceOp {
    pub(crate) fn caps(&self) -> BTreeSet<Cap> {
        self.caps.clone()
    }

    pub(crate) fn to_pb(&self) -> pb::SourceOp {
        pb::SourceOp {
            identifier: self.identifier.clone(),
            attrs: self.attrs.clone(),
        }
    }
}

/// A container image reference, normalised the way Docker does
/// (`golang:1.26-alpine` is `docker.io/library/golang:1.26-alpine`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// `registry/path`, without tag or digest.
    name: String,
    tag: Option<String>,
    digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {input:?}: {reason}")]
pub struct ImageRefError {
    pub input: String,
    pub reason: String,
}

impl ImageRef {
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let err = |reason: &str| ImageRefError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("empty reference"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                validate_digest(digest).map_err(|reason| err(&reason))?;
                (rest, Some(digest.to_string()))
            }
            None => (s, None),
        };
        // A ':' after the last '/' separates the tag (one before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(rest[at + 1..].to_string()))
            }
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                && !tag.starts_with(['.', '-']);
            if !ok {
                return Err(err("the tag must be 1-128 of [A-Za-z0-9_.-]"));
            }
        }
        if name.is_empty() {
            return Err(err("missing repository name"));
        }
        let mut components: Vec<&str> = name.split('/').collect();
        let has_domain = components.len() > 1
            && (components[0].contains(['.', ':']) || components[0] == "localhost");
        let domain = if has_domain {
            components.remove(0).to_string()
        } else {
            "docker.io".to_string()
        };
        if domain == "docker.io" && components.len() == 1 {
            components.insert(0, "library");
        }
        for c in &components {
            let ok = !c.is_empty()
                && c.chars().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
                })
                && c.starts_with(|ch: char| ch.is_ascii_alphanumeric());
            if !ok {
                return Err(err(
                    "repository path components must be lowercase letters, digits, '.', '_' or '-'",
                ));
            }
        }
        Ok(ImageRef {
            name: format!("{domain}/{}", components.join("/")),
            tag,
            digest,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same reference pinned to `digest` (keeping the tag for readers).
    pub fn with_digest(&self, digest: &str) -> Result<Self, ImageRefError> {
        validate_digest(digest).map_err(|reason| ImageRefError {
            input: format!("{self}@{digest}"),
            reason,
        })?;
        Ok(ImageRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match (&self.tag, &self.digest) {
            (Some(tag), digest) => {
                write!(f, ":{tag}")?;
                if let Some(d) = digest {
                    write!(f, "@{d}")?;
                }
            }
            (None, Some(d)) => write!(f, "@{d}")?,
            (None, None) => f.write_str(":latest")?,
        }
        Ok(())
    }
}

/// Checks `sha256:<64 lowercase hex>`.
pub fn validate_digest(digest: &str) -> Result<(), String> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) => {
            Ok(())
        }
        _ => Err(format!(
            "digest {digest:?} is not sha256: followed by 64 lowercase hex digits"
        )),
    }
}

/// How BuildKit should find an image: its default, always from the registry,
/// or preferring what is already in the local store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResolveMode {
    #[default]
    Default,
    ForcePull,
    PreferLocal,
}

impl ResolveMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveMode::Default => "default",
            ResolveMode::ForcePull => "pull",
            ResolveMode::PreferLocal => "local",
        }
    }

    /// Parses the `image-resolve-mode` frontend option.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "default" => Some(ResolveMode::Default),
            "pull" => Some(ResolveMode::ForcePull),
            "local" => Some(ResolveMode::PreferLocal),
            _ => None,
        }
    }
}

/// Builder for any source op.
#[derive(Clone, Debug)]
pub struct Source {
    op: SourceOp,
    meta: OpMeta,
}

impl OpOptions for Source {
    fn op_meta(&mut self) -> &mut OpMeta {
        &mut self.meta
    }
}

impl Source {
    fn new(identifier: String, caps: impl IntoIterator<Item = Cap>) -> Self {
        Source {
            op: SourceOp {
                identifier,
                attrs: BTreeMap::new(),
                caps: caps.into_iter().collect(),
            },
            meta: OpMeta::default(),
        }
    }

    fn attr(mut self, key: &str, value: impl Into<String>, cap: Option<Cap>) -> Self {
        self.op.attrs.insert(key.to_string(), value.into());
        self.op.caps.extend(cap);
        self
    }

    /// A container image's root filesystem.
    pub fn image(reference: &ImageRef) -> Self {
        Source::new(format!("docker-image://{reference}"), [Cap::SourceImage])
    }

    /// How to look the image up (only emitted when not the default).
    pub fn resolve_mode(self, mode: ResolveMode) -> Self {
        if mode == ResolveMode::Default {
            return self;
        }
        self.attr(
            "image.resolvemode",
            mode.as_str(),
            Some(Cap::SourceImageResolveMode),
        )
    }

    /// A git repository at `reference` (branch, tag or commit). `remote` is
    /// a URL such as `https://github.com/owner/repo.git`.
    pub fn git(remote: &str, reference: &str) -> Self {
        let without_scheme = remote
            .split_once("://")
            .map_or(remote, |(_, rest)| rest)
            .trim_end_matches('/');
        let id = without_scheme
            .strip_suffix(".git")
            .unwrap_or(without_scheme);
        let mut identifier = format!("git://{id}");
        if !reference.is_empty() {
            identifier.push('#');
            identifier.push_str(reference);
        }
        Source::new(identifier, [Cap::SourceGit]).attr(
            "git.fullurl",
            remote,
            Some(Cap::SourceGitFullUrl),
        )
    }

    /// Keep the `.git` directory in the checkout.
    pub fn keep_git_dir(self, keep: bool) -> Self {
        if !keep {
            return self;
        }
        self.attr("git.keepgitdir", "true", Some(Cap::SourceGitKeepDir))
    }

    /// A single file downloaded over HTTP(S).
    pub fn http(url: &str) -> Self {
        Source::new(url.to_string(), [Cap::SourceHttp])
    }

    /// The `sha256:...` the download must match.
    pub fn checksum(self, digest: &str) -> Self {
        self.attr("http.checksum", digest, Some(Cap::SourceHttpChecksum))
    }

    /// The name the downloaded file gets.
    pub fn filename(self, name: &str) -> Self {
        self.attr("http.filename", name, None)
    }

    /// The downloaded file's permission bits.
    pub fn permissions(self, mode: u32) -> Self {
        self.attr("http.perm", format!("0{mode:o}"), Some(Cap::SourceHttpPerm))
    }

    /// Files from the client's session (the build context and friends).
    pub fn local(name: &str) -> Self {
        Source::new(format!("local://{name}"), [Cap::SourceLocal])
    }

    /// The client session that holds the files.
    pub fn session(self, id: &str) -> Self {
        self.attr("local.session", id, Some(Cap::SourceLocalSessionId))
    }

    /// Only transfer paths matching these patterns.
    pub fn include_patterns(self, patterns: &[&str]) -> Self {
        if patterns.is_empty() {
            return self;
        }
        self.attr(
            "local.includepattern",
            json_string_list(patterns),
            Some(Cap::SourceLocalIncludePatterns),
        )
    }

    /// Never transfer paths matching these patterns.
    pub fn exclude_patterns(self, patterns: &[&str]) -> Self {
        if patterns.is_empty() {
            return self;
        }
        self.attr(
            "local.excludepatterns",
            json_string_list(patterns),
            Some(Cap::SourceLocalExcludePatterns),
        )
    }

    /// Lets BuildKit reuse a previous transfer of the same files.
    pub fn shared_key_hint(self, key: &str) -> Self {
        self.attr(
            "local.sharedkeyhint",
            key,
            Some(Cap::SourceLocalSharedKeyHint),
        )
    }

    /// Any other source identifier with its attributes, verbatim (for named
    /// contexts the user spelled out, e.g. `oci-layout://`).
    pub fn raw(identifier: &str, attrs: &BTreeMap<String, String>) -> Self {
        let mut caps = BTreeSet::new();
        if let Some((scheme, _)) = identifier.split_once("://") {
            caps.insert(match scheme {
                "docker-image" => Cap::SourceImage,
                "git" => Cap::SourceGit,
                "local" => Cap::SourceLocal,
                "oci-layout" => Cap::SourceOciLayout,
                _ => Cap::SourceHttp,
            });
        }
        let mut s = Source::new(identifier.to_string(), caps);
        s.op.attrs = attrs.clone();
        s
    }

    /// The source's filesystem.
    pub fn state(self) -> State {
        let meta = self.meta;
        // Execs built on an image default to the platform it was resolved for.
        let platform = meta.platform.clone();
        let mut state = State::from_node(Node {
            op: Op::Source(self.op),
            meta,
        });
        state.platform = platform;
        state
    }
}

fn json_string_list(items: &[&str]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ImageRef {
        match ImageRef::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    const D: &str = "sha256:c64defb9ed5a91eacb37f96ccc3d4cd72521c4bd18d5442905b95e2226b0e707";

    #[test]
    fn normalises_docker_hub_names() {
        assert_eq!(
            r("golang:1.26-alpine").to_string(),
            "docker.io/library/golang:1.26-alpine"
        );
        assert_eq!(
            r("tonistiigi/xx").to_string(),
            "docker.io/tonistiigi/xx:latest"
        );
        assert_eq!(
            r(&format!("tonistiigi/xx:1.9.0@{D}")).to_string(),
            format!("docker.io/tonistiigi/xx:1.9.0@{D}")
        );
        assert_eq!(
            r("localhost:5000/a/b:1").to_string(),
            "localhost:5000/a/b:1"
        );
        assert_eq!(
            r("mtts-fixture-golang").name(),
            "docker.io/library/mtts-fixture-golang"
        );
    }

    #[test]
    fn keeps_digest_and_tag_apart() {
        let pinned = r(&format!("alpine:3.24.1@{D}"));
        assert_eq!(pinned.tag(), Some("3.24.1"));
        assert_eq!(pinned.digest(), Some(D));
        assert_eq!(
            r("alpine").with_digest(D).map(|x| x.to_string()),
            Ok(format!("docker.io/library/alpine@{D}"))
        );
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Alpine",
            "alpine:",
            "alpine@sha256:abc",
            "a//b",
            "alpine:-x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn git_identifier_drops_scheme_and_dot_git() {
        let s = Source::git("https://github.com/tailscale/tailscale.git", "v1.98.5");
        assert_eq!(
            s.op.identifier,
            "git://github.com/tailscale/tailscale#v1.98.5"
        );
        assert_eq!(
            s.op.attrs.get("git.fullurl").map(String::as_str),
            Some("https://github.com/tailscale/tailscale.git")
        );
        assert!(!s.op.attrs.contains_key("git.keepgitdir"));
    }

    #[test]
    fn local_patterns_are_json_lists() {
        let s = Source::local("context").include_patterns(&["patches/", "busybox-applets.config"]);
        assert_eq!(
            s.op.attrs.get("local.includepattern").map(String::as_str),
            Some(r#"["patches/","busybox-applets.config"]"#)
        );
        assert!(s.op.caps.contains(&Cap::SourceLocalIncludePatterns));
    }
}
