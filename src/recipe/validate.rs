//! Checks for every value that comes from a user. Values are never spliced
//! into a shell command, but they still must be what they claim to be, and a
//! bad one must fail before anything runs, naming what is wrong.

fn is_dotted_numbers(s: &str, parts: usize) -> bool {
    let fields: Vec<&str> = s.split('.').collect();
    fields.len() == parts
        && fields
            .iter()
            .all(|f| !f.is_empty() && f.len() <= 9 && f.chars().all(|c| c.is_ascii_digit()))
}

/// `v1.98.5` or `1.98.5` (optionally with a `-pre.1` style suffix);
/// returns the git tag form with the leading `v`.
pub fn tailscale_version(s: &str) -> Result<String, String> {
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
        Err(format!(
            "{s:?} is not a Tailscale release version like v1.98.5"
        ))
    }
}

/// `1.38.0`.
pub fn busybox_version(s: &str) -> Result<(), String> {
    if is_dotted_numbers(s, 3) {
        Ok(())
    } else {
        Err(format!("{s:?} is not a busybox version like 1.38.0"))
    }
}

/// 64 hex digits (either case; stored lowercase by the caller if needed).
pub fn sha256_hex(s: &str) -> Result<(), String> {
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!("{s:?} is not a sha256 (64 hex digits)"))
    }
}

/// A featuretags feature name: lowercase letters and digits.
pub fn feature_name(s: &str) -> Result<(), String> {
    if !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a Tailscale feature name (lowercase letters and digits, as `featuretags --list` prints them)"
        ))
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

pub fn git_url(s: &str) -> Result<(), String> {
    if url_with_scheme(s, &["https", "http", "ssh", "git"]) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a git URL (https://, ssh:// or git://)"
        ))
    }
}

pub fn http_url(s: &str) -> Result<(), String> {
    if url_with_scheme(s, &["https", "http"]) {
        Ok(())
    } else {
        Err(format!("{s:?} is not an http(s) URL"))
    }
}

/// Go's `GOPROXY`: proxy URLs, `direct` and `off`, separated by `,` (try
/// the next on "not found") or `|` (try the next on any error).
pub fn goproxy(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 1024 {
        return Err(format!(
            "{:?} is not a GOPROXY list (1 to 1024 bytes)",
            short(s)
        ));
    }
    for entry in s.split([',', '|']) {
        let local_dir = entry
            .strip_prefix("file:///")
            .is_some_and(|path| !path.is_empty() && path.chars().all(|c| c.is_ascii_graphic()));
        let ok = matches!(entry, "direct" | "off")
            || local_dir
            || url_with_scheme(entry, &["https", "http"]);
        if !ok {
            return Err(format!(
                "{:?} in {:?} is not a proxy URL (https://, http://, file://), `direct` or `off`",
                short(entry),
                short(s)
            ));
        }
    }
    Ok(())
}

/// What an error message quotes of a user's value: the first 80 characters.
fn short(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Free text that ends up in the image config: printable, one line, bounded.
pub fn text_value(what: &str, s: &str) -> Result<(), String> {
    if s.len() > 1024 {
        return Err(format!("{what} is longer than 1024 bytes"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(format!("{what} {s:?} contains control characters"));
    }
    Ok(())
}

/// An image label key and value.
pub fn label(key: &str, value: &str) -> Result<(), String> {
    let key_ok = !key.is_empty()
        && key.len() <= 256
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
    if !key_ok {
        return Err(format!(
            "label key {key:?} must be letters, digits, '.', '-', '_' or '/'"
        ));
    }
    text_value(&format!("label {key}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let e = goproxy(bad).err().unwrap_or_default();
            assert!(
                e.contains("GOPROXY") || e.contains("proxy URL"),
                "{bad:?}: {e}"
            );
        }
        let long = format!("https://{}", "a".repeat(2000));
        let e = goproxy(&long).err().unwrap_or_default();
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
    fn urls_and_labels() {
        assert!(git_url("https://github.com/tailscale/tailscale.git").is_ok());
        assert!(git_url("file:///etc").is_err());
        assert!(http_url("https://h/x y").is_err());
        assert!(label("org.example/x", "fine value").is_ok());
        assert!(label("bad key", "v").is_err());
        assert!(label("k", "two\nlines").is_err());
    }
}
