//! Git references as BuildKit's Dockerfile frontend reads them for a build
//! context (`dfgitutil.ParseGitRef`): `URL[?QUERY][#REF[:SUBDIR]]`, where
//! the URL is `git://`, `ssh://`, scp-like `user@host:path`, or an
//! `http(s)://` URL whose path ends in `.git` (any other http URL is a
//! file, not a repository). The query may say `ref`, `tag`, `branch`,
//! `subdir`, `checksum` (or `commit`) and `keep-git-dir`.

use crate::llb::short;

/// A parsed git reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitRef {
    /// The repository URL, without query or fragment.
    pub remote: String,
    /// A branch, tag or commit; empty for the remote's default branch.
    pub reference: String,
    /// A directory of the repository to use as the whole; empty for the root.
    pub subdir: String,
    /// The commit `reference` must resolve to (`checksum=` or `commit=`).
    pub checksum: String,
    /// `keep-git-dir=`: `None` when the reference does not say.
    pub keep_git_dir: Option<bool>,
}

/// Query keys BuildKit knows that this frontend does not pass on (yet):
/// refused by name rather than dropped.
const UNSUPPORTED_QUERY: [&str; 3] = ["submodules", "mtime", "fetch-by-commit"];

impl GitRef {
    /// `None` when `value` is not a git reference at all (a local name, a
    /// plain https file); else the reference, or what is wrong with it.
    pub fn parse(value: &str) -> Option<Result<GitRef, String>> {
        let (before_fragment, fragment) = match value.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (value, None),
        };
        let (remote, query) = match before_fragment.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (before_fragment, None),
        };
        if !is_git_remote(remote) {
            return None;
        }
        Some(Self::parse_parts(remote, query, fragment))
    }

    fn parse_parts(
        remote: &str,
        query: Option<&str>,
        fragment: Option<&str>,
    ) -> Result<GitRef, String> {
        let mut git = GitRef {
            remote: remote.to_string(),
            ..GitRef::default()
        };
        if let Some(fragment) = fragment {
            let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
            git.reference = reference.to_string();
            git.subdir = clean_subdir(subdir)?;
        }
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Ok(git);
        };
        let (mut tag, mut branch) = (None, None);
        let mut seen = Vec::new();
        for pair in query.split('&') {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            if seen.contains(&key) {
                return Err(format!("query {:?} is given twice", short(key)));
            }
            seen.push(key);
            let value = percent_decode(raw)
                .ok_or_else(|| format!("query {:?} has a bad %-escape", short(key)))?;
            let needs_value = |v: &str| {
                if v.is_empty() {
                    Err(format!("query {:?} has no value", short(key)))
                } else {
                    Ok(v.to_string())
                }
            };
            match key {
                "ref" => set_once(&mut git.reference, needs_value(&value)?, "ref")?,
                "tag" => tag = Some(needs_value(&value)?),
                "branch" => branch = Some(needs_value(&value)?),
                "subdir" => set_once(&mut git.subdir, clean_subdir(&value)?, "subdir")?,
                "checksum" | "commit" => git.checksum = needs_value(&value)?,
                "keep-git-dir" => {
                    git.keep_git_dir = Some(if value.is_empty() {
                        true
                    } else {
                        parse_bool(&value).ok_or_else(|| {
                            format!("keep-git-dir={:?} is not true or false", short(&value))
                        })?
                    });
                }
                k if UNSUPPORTED_QUERY.contains(&k) => {
                    return Err(format!(
                        "query {k:?} is not supported by this frontend (supported: ref, tag, \
                         branch, subdir, checksum, commit, keep-git-dir)"
                    ));
                }
                other => return Err(format!("unexpected query {:?}", short(other))),
            }
        }
        if tag.is_some() && branch.is_some() {
            return Err("branch conflicts with tag".to_string());
        }
        if let Some(tag) = tag {
            set_once(&mut git.reference, prefixed("refs/tags/", tag), "ref")?;
        }
        if let Some(branch) = branch {
            set_once(&mut git.reference, prefixed("refs/heads/", branch), "ref")?;
        }
        Ok(git)
    }
}

/// Whether `remote` (no query, no fragment) is a repository's URL.
fn is_git_remote(remote: &str) -> bool {
    if let Some((scheme, rest)) = remote.split_once("://") {
        return match scheme {
            "git" | "ssh" => !rest.is_empty(),
            // Only with the .git suffix: any other http URL is a file.
            "http" | "https" => rest.contains('/') && remote.ends_with(".git"),
            _ => false,
        };
    }
    // scp-like `user@host:path`, as git itself reads it.
    let Some((user_host, path)) = remote.split_once(':') else {
        return false;
    };
    let Some((user, host)) = user_host.split_once('@') else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    word(user) && word(host) && !path.is_empty()
}

/// A subdirectory as BuildKit cleans it: relative, no `..` out of the repo.
fn clean_subdir(subdir: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in subdir.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("subdir {:?} leaves the repository", short(subdir)));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn set_once(slot: &mut String, value: String, what: &str) -> Result<(), String> {
    if !slot.is_empty() && *slot != value {
        return Err(format!(
            "{what} conflicts: {:?} vs {:?}",
            short(slot),
            short(&value)
        ));
    }
    *slot = value;
    Ok(())
}

fn prefixed(prefix: &str, name: String) -> String {
    if name.starts_with(prefix) {
        name
    } else {
        format!("{prefix}{name}")
    }
}

/// The spellings Go's `strconv.ParseBool` takes, as BuildKit reads them.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `%XX` escapes and `+` as in a URL query.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(value: &str) -> GitRef {
        match GitRef::parse(value) {
            Some(Ok(g)) => g,
            other => panic!("{value}: {other:?}"),
        }
    }

    fn error(value: &str) -> String {
        match GitRef::parse(value) {
            Some(Err(e)) => e,
            other => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn the_forms_buildkit_takes_for_a_repository() {
        let g = git("https://example.com/fork/tailscale.git#v1.102.2:sub/dir");
        assert_eq!(g.remote, "https://example.com/fork/tailscale.git");
        assert_eq!(
            (g.reference.as_str(), g.subdir.as_str()),
            ("v1.102.2", "sub/dir")
        );
        let g = git("git://10.0.0.1/ctx.git");
        assert_eq!(
            (g.remote.as_str(), g.reference.as_str()),
            ("git://10.0.0.1/ctx.git", "")
        );
        assert_eq!(git("git@example.com:me/ctx.git#main").reference, "main");
        assert_eq!(
            git("ssh://git@example.com/me/ctx").remote,
            "ssh://git@example.com/me/ctx"
        );
        let g = git("https://example.com/ctx.git?ref=main&subdir=a/./b/&keep-git-dir=1");
        assert_eq!(
            (g.reference.as_str(), g.subdir.as_str(), g.keep_git_dir),
            ("main", "a/b", Some(true))
        );
        assert_eq!(git("git://h/c.git?tag=v1").reference, "refs/tags/v1");
        assert_eq!(
            git("git://h/c.git?branch=feat%2Fx").reference,
            "refs/heads/feat/x"
        );
        assert_eq!(git("git://h/c.git?commit=abc").checksum, "abc");
        assert_eq!(git("git://h/c.git?keep-git-dir").keep_git_dir, Some(true));
    }

    #[test]
    fn what_is_not_a_repository_is_none() {
        for value in [
            "https://example.com/context.tar.gz",
            "https://example.com/",
            "local:context",
            "docker-image://alpine",
            "./dir",
            "dir:with:colons",
            "",
        ] {
            assert!(GitRef::parse(value).is_none(), "{value}");
        }
    }

    #[test]
    fn a_bad_query_names_what_is_wrong() {
        assert!(error("git://h/c.git?ref=a#b").contains("ref conflicts"));
        assert!(error("git://h/c.git?tag=a&branch=b").contains("branch conflicts with tag"));
        assert!(error("git://h/c.git?subdir=../x").contains("leaves the repository"));
        assert!(error("git://h/c.git?ref=").contains("has no value"));
        assert!(error("git://h/c.git?keep-git-dir=maybe").contains("not true or false"));
        assert!(error("git://h/c.git?submodules=false").contains("not supported"));
        assert!(error("git://h/c.git?colour=red").contains("unexpected query \"colour\""));
        assert!(error("git://h/c.git?ref=a&ref=a").contains("twice"));
        assert!(error("git://h/c.git?ref=%zz").contains("%-escape"));
    }
}
