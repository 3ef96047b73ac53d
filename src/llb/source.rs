//! Source ops: where bytes enter the graph (images, git, http, the client's
//! local files).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::MAX_QUOTED;
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
#[error("invalid image reference {}: {reason}", quoted(.input))]
pub struct ImageRefError {
    pub input: String,
    pub reason: String,
}

/// The longest repository name (domain and path) a reference may have, as
/// in the distribution spec.
const MAX_NAME_LEN: usize = 255;
/// The longest tag.
const MAX_TAG_LEN: usize = 128;
/// How much of a user's text an error message repeats.
/// `text` for an error message: escaped, and cut after [`MAX_QUOTED`]
/// characters, with the whole length.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!(
            "{:?}... ({} characters)",
            &text[..cut],
            text.chars().count()
        ),
    }
}

impl ImageRef {
    /// Parses `[domain/]path[:tag][@digest]` with the grammar of the
    /// distribution spec (`github.com/distribution/reference`) and normalises
    /// it as Docker does: a first component is a registry only if it holds a
    /// `.` or `:` or is `localhost`; otherwise the image is on `docker.io`,
    /// under `library/` when the path is a single component.
    pub fn parse(input: &str) -> Result<Self, ImageRefError> {
        let err = |reason: String| ImageRefError {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(err("empty reference".into()));
        }
        // Nothing outside the grammar's alphabet, so control characters,
        // spaces and shell syntax never reach an op identifier or a log line.
        if let Some((at, c)) = input.chars().enumerate().find(|(_, c)| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '[' | ']'))
        }) {
            return Err(err(format!(
                "character {c:?} at position {} is not allowed (only letters, digits and . _ - / : @ [ ])",
                at + 1
            )));
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(err(
                "a bare 64-digit hex string is an image ID, not a reference".into(),
            ));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                validate_digest(digest).map_err(err)?;
                (rest, Some(digest.to_string()))
            }
            None => (input, None),
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
            validate_tag(tag).map_err(err)?;
        }
        if name.is_empty() {
            return Err(err("missing repository name".into()));
        }
        let mut components: Vec<&str> = name.split('/').collect();
        let first = components.first().copied().unwrap_or_default();
        let has_domain = components.len() > 1
            && (first.contains(['.', ':']) || first == "localhost" || first.starts_with('['));
        let domain = if has_domain {
            validate_domain(first).map_err(err)?;
            components.remove(0)
        } else {
            "docker.io"
        };
        if domain == "docker.io" && components.len() == 1 {
            components.insert(0, "library");
        }
        for c in &components {
            validate_path_component(c).map_err(err)?;
        }
        let name = format!("{domain}/{}", components.join("/"));
        if name.len() > MAX_NAME_LEN {
            return Err(err(format!(
                "the repository name ({}) is {} characters long (at most {MAX_NAME_LEN})",
                if has_domain {
                    "registry and path"
                } else {
                    "with docker.io/ added"
                },
                name.len()
            )));
        }
        Ok(ImageRef { name, tag, digest })
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
            "digest {} is not sha256: followed by 64 lowercase hex digits",
            quoted(digest)
        )),
    }
}

/// `[\w][\w.-]{0,127}`.
fn validate_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag after ':' is empty".into());
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(format!(
            "the tag {} is {} characters long (at most {MAX_TAG_LEN})",
            quoted(tag),
            tag.len()
        ));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if !tag.starts_with(word) || !tag.chars().all(|c| word(c) || matches!(c, '.' | '-')) {
        return Err(format!(
            "the tag {} must be letters, digits, '_', '.' and '-', not starting with '.' or '-'",
            quoted(tag)
        ));
    }
    Ok(())
}

/// `host [':' port]`, the host a domain name, an IPv4 address or a
/// bracketed IPv6 address.
fn validate_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(bracketed) = domain.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return Err(format!(
                "the IPv6 address in domain {} has no closing ']'",
                quoted(domain)
            ));
        };
        let valid = !address.is_empty()
            && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
            && address.parse::<std::net::Ipv6Addr>().is_ok();
        if !valid {
            return Err(format!(
                "{} in domain {} is not an IPv6 address",
                quoted(address),
                quoted(domain)
            ));
        }
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => {
                return Err(format!(
                    "domain {} has {} after its IPv6 address (only ':' and a port may follow)",
                    quoted(domain),
                    quoted(after)
                ));
            }
        };
        (None, port)
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        if host.is_empty() {
            return Err(format!("domain {} has no host name", quoted(domain)));
        }
        for component in host.split('.') {
            let valid = component.starts_with(|c: char| c.is_ascii_alphanumeric())
                && component.ends_with(|c: char| c.is_ascii_alphanumeric())
                && component
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !valid {
                return Err(format!(
                    "domain component {} of {} must be letters, digits and '-', \
                     starting and ending with a letter or digit",
                    quoted(component),
                    quoted(domain)
                ));
            }
        }
    }
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "port {} of domain {} is not a number",
                quoted(port),
                quoted(domain)
            ));
        }
        if !matches!(port.parse::<u32>(), Ok(1..=65535)) {
            let shown = if port.len() <= 10 {
                port.to_string()
            } else {
                quoted(port)
            };
            return Err(format!(
                "port {shown} of domain {} is out of range (1-65535)",
                quoted(domain)
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+ (([_.]|__|[-]+) [a-z0-9]+)*`.
fn validate_path_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err("the repository path has an empty component ('//' or a '/' at an end)".into());
    }
    if component.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "path component {} must be lowercase",
            quoted(component)
        ));
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let separators_ok = component
        .split(alnum)
        .filter(|run| !run.is_empty())
        .all(|run| matches!(run, "." | "_" | "__") || run.chars().all(|c| c == '-'));
    let valid = component.starts_with(alnum)
        && component.ends_with(alnum)
        && component
            .chars()
            .all(|c| alnum(c) || matches!(c, '.' | '_' | '-'))
        && separators_ok;
    if !valid {
        return Err(format!(
            "path component {} must be lowercase letters and digits separated by \
             one '.', one or two '_', or dashes",
            quoted(component)
        ));
    }
    Ok(())
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

/// The session secrets BuildKit reads for an http(s) git fetch: a token
/// (sent as basic auth, `x-access-token:<token>`), or a whole
/// `Authorization` header. BuildKit looks for `<name>.<host>` first.
pub const GIT_AUTH_TOKEN: &str = "GIT_AUTH_TOKEN";
pub const GIT_AUTH_HEADER: &str = "GIT_AUTH_HEADER";

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

    /// Whether `remote` is fetched over ssh (`ssh://`, or scp-like
    /// `user@host:path`), as BuildKit's gitutil tells.
    pub fn is_ssh_git_url(remote: &str) -> bool {
        if let Some((scheme, _)) = remote.split_once("://") {
            return scheme == "ssh";
        }
        remote
            .split_once(':')
            .is_some_and(|(user_host, _)| user_host.contains('@') && !user_host.contains('/'))
    }

    /// A git repository at `reference` (branch, tag or commit). `remote` is
    /// a URL such as `https://github.com/owner/repo.git`.
    pub fn git(remote: &str, reference: &str) -> Self {
        Source::git_subdir(remote, reference, "")
    }

    /// The same, with only `subdir` of the repository (empty: all of it),
    /// as BuildKit's `llb.Git` spells it in the identifier (`#ref:subdir`).
    pub fn git_subdir(remote: &str, reference: &str, subdir: &str) -> Self {
        let without_scheme = remote
            .split_once("://")
            .map_or(remote, |(_, rest)| rest)
            .trim_end_matches('/');
        let id = without_scheme
            .strip_suffix(".git")
            .unwrap_or(without_scheme);
        let mut identifier = format!("git://{id}");
        if !reference.is_empty() || !subdir.is_empty() {
            identifier.push('#');
            identifier.push_str(reference);
            if !subdir.is_empty() {
                identifier.push(':');
                identifier.push_str(subdir);
            }
        }
        Source::new(identifier, [Cap::SourceGit]).attr(
            "git.fullurl",
            remote,
            Some(Cap::SourceGitFullUrl),
        )
    }

    /// The commit the reference must resolve to (none when empty).
    pub fn git_checksum(self, commit: &str) -> Self {
        if commit.is_empty() {
            return self;
        }
        self.attr("git.checksum", commit, Some(Cap::SourceGitChecksum))
    }

    /// The secrets BuildKit authenticates an http(s) fetch with, when the
    /// client has them (`--secret id=GIT_AUTH_TOKEN[.<host>]`, or
    /// `GIT_AUTH_HEADER`), as `llb.Git` names them on every git source.
    /// Only the names are in the graph; a client without them fetches
    /// anonymously, and older daemons ignore the attributes.
    pub fn git_auth_secrets(self) -> Self {
        self.attr("git.authtokensecret", GIT_AUTH_TOKEN, None).attr(
            "git.authheadersecret",
            GIT_AUTH_HEADER,
            None,
        )
    }

    /// An ssh fetch through the client's agent (`--ssh default`), checking
    /// the server's key against `known_hosts` (lines of an ssh known_hosts
    /// file); without them, BuildKit accepts any host key, as `llb.Git`
    /// does when it cannot scan one.
    pub fn git_ssh(self, known_hosts: Option<&str>) -> Self {
        let with_agent = self.attr(
            "git.mountsshsock",
            "default",
            Some(Cap::SourceGitMountSshSock),
        );
        match known_hosts {
            Some(hosts) => with_agent.attr(
                "git.knownsshhosts",
                hosts,
                Some(Cap::SourceGitKnownSshHosts),
            ),
            None => with_agent,
        }
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

    /// The reason `input` is refused for (failing the test if it is not).
    fn reason(input: &str) -> String {
        match ImageRef::parse(input) {
            Ok(r) => panic!("{input:?} was accepted as {r}"),
            Err(e) => {
                let shown = e.to_string();
                assert!(shown.starts_with("invalid image reference \""), "{shown}");
                e.reason
            }
        }
    }

    #[test]
    fn rejects_characters_outside_the_grammar() {
        for (bad, c) in [
            ("reg.example.com\nevil/x:1", "'\\n'"),
            ("alpine\n", "'\\n'"),
            ("reg.example.com\0/x", "'\\0'"),
            ("reg example.com/x", "' '"),
            (" alpine", "' '"),
            ("alpine:1 ", "' '"),
            ("$(id).example.com/x", "'$'"),
            ("reg.example.com/$(id)", "'$'"),
            ("reg.example.com#frag/x", "'#'"),
            ("alpine:1#x", "'#'"),
            ("régistry.example.com/x", "'é'"),
            ("alpine:1.0\u{2028}", "'\\u{2028}'"),
        ] {
            let why = reason(bad);
            assert!(
                why.starts_with(&format!("character {c} at position")),
                "{bad:?}: {why}"
            );
        }
        // The newline does not reach the message unescaped.
        let e = ImageRef::parse("a\nb").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| !e.contains('\n')));
    }

    #[test]
    fn checks_ports() {
        assert_eq!(
            reason("localhost:0/x"),
            "port 0 of domain \"localhost:0\" is out of range (1-65535)"
        );
        assert_eq!(
            reason("reg.example.com:99999/x:1"),
            "port 99999 of domain \"reg.example.com:99999\" is out of range (1-65535)"
        );
        assert_eq!(
            reason("reg.example.com:abc/x"),
            "port \"abc\" of domain \"reg.example.com:abc\" is not a number"
        );
        assert!(reason("reg.example.com:/x").contains("is not a number"));
        assert!(reason("reg.example.com:1:2/x").contains("is not a number"));
        assert!(reason("localhost:99999999999999999999999/x").contains("out of range"));
        assert_eq!(
            r("reg.example.com:65535/x:1").to_string(),
            "reg.example.com:65535/x:1"
        );
        assert_eq!(r("localhost:1/x").name(), "localhost:1/x");
    }

    #[test]
    fn checks_domain_components() {
        assert_eq!(
            reason("-x.example.com/a"),
            "domain component \"-x\" of \"-x.example.com\" must be letters, digits and '-', \
             starting and ending with a letter or digit"
        );
        for bad in [
            "x-.example.com/a",
            "a..b/c",
            ".example.com/a",
            "a_b.com/c",
            "example.com./a",
        ] {
            assert!(reason(bad).starts_with("domain component"), "{bad:?}");
        }
        assert!(reason(":5000/a").contains("has no host name"));
        // Uppercase and IPv4 hosts are fine.
        assert_eq!(r("Reg.Example.COM/a:1").name(), "Reg.Example.COM/a");
        assert_eq!(r("10.0.0.1:5000/a/b").name(), "10.0.0.1:5000/a/b");
        assert_eq!(r("my-reg.example.com/a").name(), "my-reg.example.com/a");
    }

    #[test]
    fn accepts_ipv6_literals_and_refuses_broken_ones() {
        let v6 = r("[::1]:5000/x:1");
        assert_eq!(v6.name(), "[::1]:5000/x");
        assert_eq!(v6.tag(), Some("1"));
        assert_eq!(r("[fe80::1]/x").to_string(), "[fe80::1]/x:latest");
        assert!(ImageRef::parse("[::1").is_err());
        assert!(reason("[::1/x").contains("has no closing ']'"));
        assert!(reason("[::g]/x").contains("is not an IPv6 address"));
        assert!(reason("[]:5000/x").contains("is not an IPv6 address"));
        assert!(reason("[1:2:3]/x").contains("is not an IPv6 address"));
        assert!(reason("[::1]x/y").contains("after its IPv6 address"));
        assert!(reason("[::1]:0/y").contains("out of range"));
    }

    #[test]
    fn checks_path_components() {
        assert_eq!(
            reason("reg.example.com/Team/app"),
            "path component \"Team\" must be lowercase"
        );
        assert!(reason("team/App:1").contains("must be lowercase"));
        for bad in [
            "a..b", "a___b", "a._b", "a-_b", "_a", "a_", "a-", "a.", "x/-a", "a/b:c/d",
        ] {
            assert!(reason(bad).starts_with("path component"), "{bad:?}");
        }
        assert!(reason("a/").contains("empty component"));
        for good in ["a__b", "a--b", "a.b_c-d", "a---b/c.d/e"] {
            assert!(ImageRef::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn accepts_a_full_reference_with_port_tag_and_digest() {
        let full = r(&format!("localhost:5000/a/b:t@{D}"));
        assert_eq!(full.name(), "localhost:5000/a/b");
        assert_eq!(full.tag(), Some("t"));
        assert_eq!(full.digest(), Some(D));
        assert_eq!(full.to_string(), format!("localhost:5000/a/b:t@{D}"));
        assert_eq!(r(&format!("alpine@{D}")).tag(), None);
        assert!(reason("alpine@sha256:ABC").contains("64 lowercase hex"));
        assert!(reason("alpine@sha512:abc").contains("64 lowercase hex"));
    }

    #[test]
    fn bounds_name_and_tag_lengths() {
        let domain = "reg.example.com/";
        let fits = format!("{domain}{}", "a".repeat(MAX_NAME_LEN - domain.len()));
        assert_eq!(r(&fits).name(), fits);
        let long = format!("{domain}{}", "a".repeat(MAX_NAME_LEN + 1 - domain.len()));
        assert_eq!(long.len(), 256);
        let why = reason(&long);
        assert!(why.contains("is 256 characters long"), "{why}");
        // The normalised name counts: docker.io/library/ is added.
        assert!(ImageRef::parse(&"a".repeat(240)).is_err());

        assert!(ImageRef::parse(&format!("alpine:{}", "t".repeat(128))).is_ok());
        let why = reason(&format!("alpine:{}", "t".repeat(129)));
        assert!(
            why.ends_with("is 129 characters long (at most 128)"),
            "{why}"
        );
        assert!(reason("alpine:.x").contains("must be letters"));
        assert!(ImageRef::parse("alpine:_x.Y-1").is_ok());
    }

    #[test]
    fn private_git_sources_name_their_secrets_and_ssh_settings_as_llb_git() {
        let https = Source::git("https://git.example/you/ts.git", "v1").git_auth_secrets();
        let attr = |s: &Source, k: &str| s.op.attrs.get(k).cloned();
        assert_eq!(
            attr(&https, "git.authtokensecret").as_deref(),
            Some("GIT_AUTH_TOKEN")
        );
        assert_eq!(
            attr(&https, "git.authheadersecret").as_deref(),
            Some("GIT_AUTH_HEADER")
        );
        assert!(!https.op.caps.contains(&Cap::SourceGitMountSshSock));
        let ssh = Source::git("ssh://git@git.example/you/ts.git", "v1")
            .git_ssh(Some("git.example ssh-ed25519 AAAA"));
        assert_eq!(attr(&ssh, "git.mountsshsock").as_deref(), Some("default"));
        assert_eq!(
            attr(&ssh, "git.knownsshhosts").as_deref(),
            Some("git.example ssh-ed25519 AAAA")
        );
        assert!(ssh.op.caps.contains(&Cap::SourceGitKnownSshHosts));
        let any_host = Source::git("ssh://git@git.example/ts.git", "v1").git_ssh(None);
        assert_eq!(attr(&any_host, "git.knownsshhosts"), None);
        for (url, ssh) in [
            ("ssh://git@h/x.git", true),
            ("git@h:you/x.git", true),
            ("https://h/x.git", false),
            ("git://h/x.git", false),
            ("https://u@h/x.git", false),
        ] {
            assert_eq!(Source::is_ssh_git_url(url), ssh, "{url}");
        }
    }

    #[test]
    fn error_messages_quote_a_bounded_input() {
        let huge = format!("reg.example.com/{}", "a".repeat(10_000));
        let e = ImageRef::parse(&huge).err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.len() < 400, "{} characters: {e}", e.len());
        assert!(e.contains("(10016 characters)"), "{e}");
        assert_eq!(quoted("a\0b"), "\"a\\0b\"");
        assert!(reason(&"0123456789abcdef".repeat(4)).contains("image ID"));
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
