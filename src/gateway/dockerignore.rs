//! The main context's `.dockerignore`, read as BuildKit's `dockerui` reads
//! it (moby's `patternmatcher/ignorefile`): one pattern per line, `#` lines
//! are comments, `!` re-includes, paths are cleaned and made relative to
//! the context. The patterns go to the context's local source as exclude
//! patterns, which BuildKit matches as the Dockerfile frontend's are.

/// The name of the file, at the root of the main context.
pub const FILE: &str = ".dockerignore";

/// The exclude patterns of a `.dockerignore` file's text.
pub fn patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::new();
    for line in text.lines() {
        // A comment only where the line starts with it, before trimming.
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = if pattern.is_empty() {
            String::new()
        } else {
            clean(pattern)
        };
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        patterns.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    patterns
}

/// Go's `filepath.Clean` on a slash-separated path: one slash between
/// names, no `.`, `..` resolved lexically (never above the root).
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut names: Vec<&str> = Vec::new();
    for name in path.split('/') {
        match name {
            "" | "." => {}
            ".." => {
                if names.last().is_some_and(|n| *n != "..") {
                    names.pop();
                } else if !rooted {
                    names.push("..");
                }
            }
            n => names.push(n),
        }
    }
    let joined = names.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_patterns_as_dockerui_reads_them() {
        let text = "\u{feff}# a comment\n\n  target  \n/busybox-applets.config\n!patches/keep.diff\n ! spaced \npatches//./old/../x.diff\n #not a comment\n";
        assert_eq!(
            patterns(text),
            [
                "target",
                "busybox-applets.config",
                "!patches/keep.diff",
                "!spaced",
                "patches/x.diff",
                "#not a comment",
            ]
        );
    }

    #[test]
    fn paths_are_cleaned_like_go_does() {
        for (path, cleaned) in [
            ("a/b/../c", "a/c"),
            ("./a", "a"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/..", "."),
            ("/", "/"),
            ("a//b/", "a/b"),
        ] {
            assert_eq!(clean(path), cleaned, "{path}");
        }
    }

    #[test]
    fn nothing_but_comments_and_blanks_excludes_nothing() {
        assert!(patterns("# only\n\n   \n").is_empty());
    }
}
