//! Checks for every value that comes from a user. Values are never spliced
//! into a shell command, but they still must be what they claim to be, and a
//! bad one must fail before anything runs, naming what is wrong.

/// A value that is not what it claims to be; the message names the value
/// (cut to a bounded length) and says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<Invalid> for String {
    fn from(e: Invalid) -> String {
        e.0
    }
}

fn is_dotted_numbers(s: &str, parts: usize) -> bool {
    let fields: Vec<&str> = s.split('.').collect();
    fields.len() == parts
        && fields
            .iter()
            .all(|f| !f.is_empty() && f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()))
}

/// `v1.98.5` or `1.98.5` (optionally with a `-pre.1` style suffix);
/// returns the git tag form with the leading `v`.
pub fn tailscale_version(s: &str) -> Result<String, Invalid> {
    let bare = s.strip_prefix('v').unwrap_or(s);
    let (core, suffix) = match bare.split_once('-') {
        Some((c, sfx)) => (c, Some(sfx)),
        None => (bare, None),
    };
    let suffix_ok = suffix.is_none_or(|x| {
        !x.is_empty()
            && x.len() <= 64
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    });
    if is_dotted_numbers(core, 3) && suffix_ok {
        Ok(format!("v{bare}"))
    } else {
        Err(Invalid(format!(
            "{:?} is not a Tailscale release version like v1.98.5",
            short(s)
        )))
    }
}

/// `1.38.0`.
pub fn busybox_version(s: &str) -> Result<(), Invalid> {
    if is_dotted_numbers(s, 3) {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{:?} is not a busybox version like 1.38.0",
            short(s)
        )))
    }
}

/// 64 hex digits (either case; stored lowercase by the caller if needed).
pub fn sha256_hex(s: &str) -> Result<(), Invalid> {
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{:?} is not a sha256 (64 hex digits)",
            short(s)
        )))
    }
}

/// A featuretags feature name: lowercase letters and digits.
pub fn feature_name(s: &str) -> Result<(), Invalid> {
    if !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(Invalid(format!(
            "{:?} is not a Tailscale feature name (lowercase letters and digits, as `featuretags --list` prints them)",
            short(s)
        )))
    }
}

fn url_with_scheme(s: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        s.strip_prefix(scheme)
            .and_then(|r| r.strip_prefix("://"))
            .is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && rest.chars().all(|c| c.is_ascii_graphic())
            })
    })
}

/// A git remote: `https://`, `http://`, `ssh://` or `git://`, a host that is
/// a name or an IP literal, a path, and nothing git would read as more: no
/// `#fragment` (the ref comes from `tailscale.version`), no `?query`, no
/// password (it would be kept in the build graph and shown in progress).
/// Messages never repeat a password.
pub fn git_url(s: &str) -> Result<(), Invalid> {
    let bad = |why: &str| {
        Err(Invalid(format!(
            "{:?} is not a usable git URL: {why}",
            short(&redact(s))
        )))
    };
    let Some((scheme, rest)) = s.split_once("://") else {
        return bad("it needs a scheme (https://, ssh:// or git://)");
    };
    if !matches!(scheme, "https" | "http" | "ssh" | "git") {
        return bad("the scheme must be https, http, ssh or git");
    }
    if !s.chars().all(|c| c.is_ascii_graphic()) {
        return bad("it may hold only printable ASCII without spaces");
    }
    if s.contains('#') {
        return bad("drop the #fragment: the ref is tailscale.version");
    }
    if s.contains('?') {
        return bad("drop the ?query");
    }
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, p),
        None => (rest, ""),
    };
    let host_port = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            if userinfo.contains(':') {
                return bad(
                    "it holds a password; use a URL without credentials, or a named context --build-context tailscale=...",
                );
            }
            host
        }
        None => authority,
    };
    host_and_port(host_port).map_err(|why| {
        Invalid(format!(
            "{:?} is not a usable git URL: {why}",
            short(&redact(s))
        ))
    })?;
    if path.trim_matches('/').is_empty() {
        return bad("it names no repository path");
    }
    Ok(())
}

/// `s` with the password of a `user:password@` part replaced by `***`.
pub fn redact(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => s.to_string(),
    }
}

/// A host name, an IPv4 address or a bracketed IPv6 literal, with an
/// optional port.
fn host_and_port(s: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return Err("an IPv6 host needs its closing ']'".to_string());
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("[{v6}] is not an IPv6 address"));
        }
        match after {
            "" => ("", None),
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return Err("only a :port may follow an IPv6 host".to_string()),
            },
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("port {port:?} is not a number from 1 to 65535"));
    }
    if s.starts_with('[') {
        return Ok(());
    }
    if host.is_empty() {
        return Err("it names no host".to_string());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(format!(
            "host {:?} is not a host name (letters, digits and '-' between dots, never at a label's start or end)",
            short(host)
        ));
    }
    Ok(())
}

/// An http(s) download URL. A password in it is refused, as in a git
/// URL: the URL is kept in the build graph, its progress name and a
/// `mode=max` provenance attestation.
pub fn http_url(s: &str) -> Result<(), Invalid> {
    if holds_password(s) {
        return Err(Invalid(format!(
            "{:?} holds a password, which would be kept in the build graph and its attestations; serve the file without credentials, or give the tree as a named context (--build-context busybox=...)",
            short(&redact(s))
        )));
    }
    if url_with_scheme(s, &["https", "http"]) {
        Ok(())
    } else {
        Err(Invalid(format!("{:?} is not an http(s) URL", short(s))))
    }
}

/// Whether a URL has a `user:password@` part.
pub fn holds_password(s: &str) -> bool {
    redact(s) != s
}

/// Whether Go, going down a valid `GOPROXY` list, can come to `direct`
/// (fetch from the module's version control): an `off` before it stops it.
pub fn goproxy_reaches_direct(list: &str) -> bool {
    for entry in list.split([',', '|']) {
        match entry {
            "direct" => return true,
            "off" => return false,
            _ => {}
        }
    }
    false
}

/// A list of module path patterns as Go's `GOINSECURE`, `GOPRIVATE` and
/// `GONOSUMDB` take them: comma-separated globs of module path prefixes
/// (`git.corp.example`, `*.corp.example/team`), no URLs.
pub fn go_path_patterns(s: &str) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > 1024 {
        return Err(Invalid(format!(
            "{:?} is not a list of module path patterns (1 to 1024 bytes)",
            short(s)
        )));
    }
    for pattern in s.split(',') {
        let ok = !pattern.is_empty()
            && !pattern.starts_with('/')
            && pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~/*?[]^!".contains(c));
        if !ok {
            return Err(Invalid(format!(
                "{:?} in {:?} is not a module path pattern (like git.corp.example or *.corp.example/team: no scheme, port or user)",
                short(pattern),
                short(s)
            )));
        }
    }
    Ok(())
}

/// Go's `GOPROXY`: proxy URLs, `direct` and `off`, separated by `,` (try
/// the next on "not found") or `|` (try the next on any error).
pub fn goproxy(s: &str) -> Result<(), Invalid> {
    if s.is_empty() || s.len() > 1024 {
        return Err(Invalid(format!(
            "{:?} is not a GOPROXY list (1 to 1024 bytes)",
            short(s)
        )));
    }
    if s.split([',', '|']).any(holds_password) {
        return Err(Invalid(format!(
            "{:?} holds a password, which would be kept in the build graph and its attestations; give the proxy's credentials to Go another way (a .netrc), or use a proxy that needs none",
            short(
                &s.split([',', '|'])
                    .map(redact)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        )));
    }
    for entry in s.split([',', '|']) {
        let local_dir = entry
            .strip_prefix("file:///")
            .is_some_and(|path| !path.is_empty() && path.chars().all(|c| c.is_ascii_graphic()));
        let ok = matches!(entry, "direct" | "off")
            || local_dir
            || url_with_scheme(entry, &["https", "http"]);
        if !ok {
            return Err(Invalid(format!(
                "{:?} in {:?} is not a proxy URL (https://, http://, file://), `direct` or `off`",
                short(entry),
                short(s)
            )));
        }
    }
    Ok(())
}

/// What an error message quotes of a user's value (the LLB layer's cut).
pub use crate::llb::short;

/// Free text that ends up in the image config: printable, one line, bounded.
pub fn text_value(what: &str, s: &str) -> Result<(), Invalid> {
    if s.len() > 1024 {
        return Err(Invalid(format!("{what} is longer than 1024 bytes")));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Invalid(format!(
            "{what} {:?} contains control characters",
            short(s)
        )));
    }
    // U+FFFD is what bytes that were not UTF-8 became on the way here.
    if s.contains(char::REPLACEMENT_CHARACTER) {
        return Err(Invalid(format!(
            "{what} {:?} is not valid UTF-8 (U+FFFD stands for bytes that were not): give it as UTF-8",
            short(s)
        )));
    }
    Ok(())
}

/// An image label key and value.
pub fn label(key: &str, value: &str) -> Result<(), Invalid> {
    let key_ok = !key.is_empty()
        && key.len() <= 256
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
    if !key_ok {
        return Err(Invalid(format!(
            "label key {:?} must be letters, digits, '.', '-', '_' or '/' (at most 256)",
            short(key)
        )));
    }
    text_value(&format!("label {key}"), value)
}

/// ssh known_hosts lines (`host keytype base64key`), as BuildKit writes
/// them to a file for its ssh client: printable text, bounded.
pub fn known_hosts(s: &str) -> Result<(), Invalid> {
    const MAX: usize = 64 * 1024;
    if s.len() > MAX {
        return Err(Invalid(format!("{} bytes; at most {MAX}", s.len())));
    }
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return Err(Invalid(
            "empty: give known_hosts lines, or leave the key out".into(),
        ));
    }
    for line in lines {
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Invalid(format!(
                "{:?} holds control characters",
                short(line)
            )));
        }
        if !line.trim_start().starts_with('#') && line.split_whitespace().count() < 3 {
            return Err(Invalid(format!(
                "{:?} is not a known_hosts line (host, key type, key; as ssh-keyscan prints)",
                short(line)
            )));
        }
    }
    Ok(())
}

/// Whether a recipe file may be shown back in excerpts and source maps:
/// not when any line holds a password (build logs and provenance are kept
/// and shared).
pub fn shareable(text: &str) -> bool {
    !text.lines().any(|l| redact(l) != l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls() {
        for good in [
            "https://github.com/tailscale/tailscale.git",
            "git://172.17.0.1/tailscale.git",
            "ssh://git@example.com:2222/x/y.git",
            "http://[::1]:8080/repo",
            "https://git.example.com/a",
        ] {
            assert_eq!(git_url(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("https://github.com/t/t.git#v1.2.3", "#fragment"),
            ("https://github.com/t/t.git?ref=x", "query"),
            ("https://-oProxyCommand=x/repo", "host"),
            ("ssh://-x.example/repo", "host"),
            ("https://example.com:0/r", "port"),
            ("https://example.com:99999/r", "port"),
            ("https://[::1/r", "']'"),
            ("https://example.com", "no repository"),
            ("https://exa mple.com/r", "printable"),
            ("ftp://example.com/r", "scheme"),
            ("github.com/t/t", "scheme"),
        ] {
            let e = git_url(bad).err().map(String::from).unwrap_or_default();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let e = git_url("https://me:s3cret@example.com/r.git")
            .err()
            .map(String::from)
            .unwrap_or_default();
        assert!(e.contains("password") && !e.contains("s3cret"), "{e}");
        assert_eq!(
            redact("https://me:s3cret@example.com/r"),
            "https://me:***@example.com/r"
        );
    }

    #[test]
    fn which_goproxy_lists_reach_direct() {
        assert!(goproxy_reaches_direct("direct"));
        assert!(goproxy_reaches_direct("https://proxy.example,direct"));
        assert!(goproxy_reaches_direct("https://proxy.example|direct,off"));
        assert!(!goproxy_reaches_direct("https://proxy.example"));
        assert!(!goproxy_reaches_direct("off,direct"));
        assert!(!goproxy_reaches_direct("https://proxy.example,off,direct"));
    }

    #[test]
    fn module_path_patterns() {
        for good in [
            "git.corp.example",
            "*.corp.example/team,10.0.0.1",
            "a-b.example/x_y~z",
        ] {
            assert_eq!(go_path_patterns(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "http://git.corp.example",
            "git.corp.example:8080",
            "me@git.corp.example",
            "a,,b",
            "/abs",
            "two words",
        ] {
            let e = go_path_patterns(bad)
                .err()
                .map(String::from)
                .unwrap_or_default();
            assert!(e.contains("module path pattern"), "{bad}: {e}");
        }
    }

    #[test]
    fn goproxy_lists() {
        for good in [
            "https://proxy.golang.org,direct",
            "http://172.17.0.1:8790/goproxy",
            "https://a.example/x|https://b.example,off",
            "off",
            "direct",
            "file:///srv/goproxy",
        ] {
            assert_eq!(goproxy(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "https://a.example,,direct",
            "proxy.golang.org",
            "https://a example",
            "https://ok.example,$(id)",
            "ftp://x.example",
            "https://",
            "file://relative",
        ] {
            let e = goproxy(bad).err().map(String::from).unwrap_or_default();
            assert!(
                e.contains("GOPROXY") || e.contains("proxy URL"),
                "{bad:?}: {e}"
            );
        }
        let e = goproxy("https://me:s3cret@proxy.example/go,direct")
            .err()
            .map(String::from)
            .unwrap_or_default();
        assert!(e.contains("password") && !e.contains("s3cret"), "{e}");
        let long = format!("https://{}", "a".repeat(2000));
        let e = goproxy(&long).err().map(String::from).unwrap_or_default();
        assert!(e.len() < 300, "quotes at most a bounded part: {e}");
    }

    #[test]
    fn tailscale_versions() {
        assert_eq!(tailscale_version("v1.98.5").as_deref(), Ok("v1.98.5"));
        assert_eq!(tailscale_version("1.98.5").as_deref(), Ok("v1.98.5"));
        assert_eq!(
            tailscale_version("v1.99.0-pre.1").as_deref(),
            Ok("v1.99.0-pre.1")
        );
        for bad in [
            "",
            "v1.98",
            "latest",
            "v1.98.5;id",
            "v1.98.5 ",
            "v1..5",
            "v1.98.5-",
            "-v1.2.3",
        ] {
            assert!(tailscale_version(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn busybox_versions_and_checksums() {
        assert!(busybox_version("1.38.0").is_ok());
        assert!(busybox_version("1.38").is_err());
        assert!(busybox_version("1.38.0$(x)").is_err());
        assert!(sha256_hex(&"a".repeat(64)).is_ok());
        assert!(sha256_hex(&"g".repeat(64)).is_err());
        assert!(sha256_hex(&"a".repeat(63)).is_err());
    }

    #[test]
    fn feature_names() {
        assert!(feature_name("peerapiserver").is_ok());
        assert!(feature_name("ts_omit_dns").is_err());
        assert!(feature_name("Dns").is_err());
        assert!(feature_name("").is_err());
    }

    #[test]
    fn known_hosts_are_ssh_keyscan_lines() {
        assert!(known_hosts("[10.0.0.1]:2222 ssh-ed25519 AAAAC3Nza\n").is_ok());
        assert!(known_hosts("# a comment\nh ssh-rsa AAAA\nh2 ssh-ed25519 BBBB").is_ok());
        assert!(known_hosts("").is_err());
        assert!(
            known_hosts("just-a-host")
                .err()
                .map(|e| e.0)
                .unwrap_or_default()
                .contains("not a known_hosts line")
        );
        assert!(known_hosts("h ssh-ed25519 AA\u{7}").is_err());
        assert!(known_hosts(&"h k v\n".repeat(20_000)).is_err());
    }

    #[test]
    fn urls_and_labels() {
        assert!(git_url("https://github.com/tailscale/tailscale.git").is_ok());
        assert!(git_url("file:///etc").is_err());
        assert!(http_url("https://h/x y").is_err());
        let e = http_url("https://me:s3cret@busybox.example/b.tar.bz2")
            .err()
            .map(String::from)
            .unwrap_or_default();
        assert!(e.contains("password") && !e.contains("s3cret"), "{e}");
        assert!(http_url("https://me@busybox.example/b.tar.bz2").is_ok());
        assert!(label("org.example/x", "fine value").is_ok());
        assert!(label("bad key", "v").is_err());
        assert!(label("k", "two\nlines").is_err());
        let e = text_value("label k", "caf\u{FFFD}")
            .err()
            .map(String::from)
            .unwrap_or_default();
        assert!(e.contains("UTF-8") && e.contains("label k"), "{e}");
    }
}
