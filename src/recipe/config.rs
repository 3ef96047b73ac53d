//! The recipe: the TOML body of the stub Dockerfile.
//!
//! The `# syntax=` line is a TOML comment, so the whole file parses as TOML.
//! Every key is optional; an empty body means the built-in defaults. These
//! are the values a person or Renovate bumps.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::validate;
use crate::llb::{Epoch, ImageRef, SourceFile, SourceLocation, SourceRange};

/// The built-in recipe: the repository's own stub Dockerfile, so every
/// default lives in that one file (where Renovate bumps it) and nowhere in
/// the code. A user's recipe is laid over it key by key.
pub const BUILTIN: &str = include_str!("../../Dockerfile");
const BUILTIN_NAME: &str = "<built-in recipe>";

/// Image label keys that are spelled short in the recipe.
const LABEL_PREFIX: &str = "org.opencontainers.image.";

/// The recipe's top-level keys (a label of that name is a likely mistake).
const ROOT_KEYS: [&str; 5] = ["upx", "tailscale", "busybox", "images", "labels"];

/// The most `tailscale.features` names a recipe may list.
pub const MAX_FEATURES: usize = 256;

/// The whole recipe, with defaults filled in and every value checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipe {
    pub tailscale: TailscaleConfig,
    pub busybox: BusyboxConfig,
    pub images: BaseImageRefs,
    /// Compress both binaries with UPX (LZMA). Off makes faster, bigger builds.
    pub upx: bool,
    /// Labels of the final image, keys in full
    /// (`org.opencontainers.image.title`; the recipe may say `title`).
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailscaleConfig {
    pub version: String,
    /// The commit time of `version`'s tag: the image's timestamps unless
    /// `SOURCE_DATE_EPOCH` is given.
    pub commit_time: Epoch,
    pub repository: String,
    pub features: Vec<String>,
    /// Drop `[vN]` log lines on stderr (logtail is compiled out).
    pub verbosity_filter: bool,
    /// The ssh host keys an `ssh://` repository must have (known_hosts
    /// lines); none: any host key is taken.
    pub known_hosts: Option<String>,
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

/// Something `--check` reports about a recipe that still builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A CamelCase rule name.
    pub rule: &'static str,
    /// What the rule is about.
    pub description: &'static str,
    /// This finding, naming what the recipe says.
    pub detail: String,
    /// The recipe key it is about (`images.golang`).
    pub key: String,
}

/// A recipe that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    #[error("{file}: line {line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
        /// What the TOML parser stopped at.
        range: Option<SourceRange>,
    },
    #[error("{file}: {key}: {message}")]
    Value {
        file: String,
        key: String,
        message: String,
        /// The `key = value` line, when the user's recipe has the key.
        range: Option<SourceRange>,
    },
    /// Every problem found (past the first [`MAX_REPORTED`], a count).
    #[error("{}", several(problems, *more))]
    Several {
        problems: Vec<RecipeError>,
        more: usize,
    },
}

/// The most problems one error lists; past it, it says how many more.
pub const MAX_REPORTED: usize = 10;

impl RecipeError {
    /// Where in the user's recipe the error is, if it is there (the first
    /// problem's place, for several).
    pub fn range(&self) -> Option<SourceRange> {
        self.ranges().first().copied()
    }

    /// Every place in the user's recipe the error is about.
    pub fn ranges(&self) -> Vec<SourceRange> {
        match self {
            RecipeError::Syntax { range, .. } | RecipeError::Value { range, .. } => {
                range.iter().copied().collect()
            }
            RecipeError::Several { problems, .. } => {
                problems.iter().flat_map(RecipeError::ranges).collect()
            }
        }
    }

    /// One error for `problems`: none, the one, or all of them (in the
    /// order of their lines, the first [`MAX_REPORTED`]).
    fn all(mut problems: Vec<RecipeError>) -> Option<RecipeError> {
        if problems.len() <= 1 {
            return problems.pop();
        }
        problems.sort_by_key(|p| p.range().map(|r| r.start));
        let more = problems.len().saturating_sub(MAX_REPORTED);
        problems.truncate(MAX_REPORTED);
        Some(RecipeError::Several { problems, more })
    }
}

/// Several problems, each with its line.
fn several(problems: &[RecipeError], more: usize) -> String {
    let mut out = format!("{} problems in the recipe:", problems.len() + more);
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    if more > 0 {
        out.push_str(&format!("\n  ... and {more} more"));
    }
    out
}

/// Errors collected while checking every key.
#[derive(Default)]
struct Problems(Vec<RecipeError>);

impl Problems {
    fn push(&mut self, e: RecipeError) {
        self.0.push(e);
    }

    /// The value, or `None` with its error kept.
    fn take<T>(&mut self, r: Result<T, RecipeError>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }

    fn into_error(self) -> RecipeError {
        let fallback = RecipeError::Value {
            file: String::new(),
            key: String::new(),
            message: "the recipe could not be read".to_string(),
            range: None,
        };
        RecipeError::all(self.0).unwrap_or(fallback)
    }
}

/// The recipe's keys and what each takes (`key_entries`' words), for
/// reporting every unknown key and wrong type at once.
const KNOWN_KEYS: [(&str, &str); 17] = [
    ("upx", "true or false"),
    ("tailscale", "a table"),
    ("tailscale.version", "a string"),
    ("tailscale.commit_time", "a string"),
    ("tailscale.repository", "a string"),
    ("tailscale.features", "a list"),
    ("tailscale.verbosity_filter", "true or false"),
    ("tailscale.known_hosts", "a string"),
    ("busybox", "a table"),
    ("busybox.version", "a string"),
    ("busybox.sha256", "a string"),
    ("busybox.url", "a string"),
    ("images", "a table"),
    ("images.golang", "a string"),
    ("images.alpine", "a string"),
    ("images.xx", "a string"),
    ("labels", "a table"),
];

/// Every unknown key and every value of the wrong type in `text`, each at
/// its line (nothing when the text is not TOML: the parse error says where).
fn structural_errors(text: &str, file: &str) -> Vec<RecipeError> {
    key_entries(text)
        .into_iter()
        .filter_map(|(key, (span, found))| {
            let takes = if key.starts_with("labels.") {
                Some("a string")
            } else {
                KNOWN_KEYS.iter().find(|(k, _)| *k == key).map(|(_, t)| *t)
            };
            let message = match takes {
                None => {
                    let (table, name) = key.rsplit_once('.').unwrap_or(("", &key));
                    let known: Vec<String> = KNOWN_KEYS
                        .iter()
                        .filter_map(|(k, _)| {
                            let (t, n) = k.rsplit_once('.').unwrap_or(("", k));
                            (t == table).then(|| format!("`{n}`"))
                        })
                        .collect();
                    format!(
                        "unknown key `{}`, expected one of {}",
                        short(name),
                        known.join(", ")
                    )
                }
                Some(takes) if takes == found => return None,
                Some(_) => {
                    let expected = match expected(&key) {
                        "" => format!("one table, written [{key}]"),
                        e => e.to_string(),
                    };
                    format!("{key} takes {expected}, not {found}")
                }
            };
            Some(RecipeError::Syntax {
                file: file.to_string(),
                line: text[..span.start.min(text.len())].matches('\n').count() + 1,
                message,
                range: Some(SourceRange::of_span(text, span)),
            })
        })
        .collect()
}

/// The recipe files a build's ops point back at: the stub Dockerfile (when
/// it may be shown) and the built-in recipe, each with its keys' places.
/// A key the stub sets points at the stub's line; every other at the
/// built-in recipe's, so a failed step always names the key it came from.
#[derive(Clone, Debug)]
pub struct RecipeSource {
    stub: Option<KeyedFile>,
    builtin: KeyedFile,
}

#[derive(Clone, Debug)]
struct KeyedFile {
    file: Arc<SourceFile>,
    keys: BTreeMap<String, SourceRange>,
}

impl KeyedFile {
    fn new(file: SourceFile) -> KeyedFile {
        let text = String::from_utf8_lossy(&file.data).into_owned();
        let keys = key_spans(&text)
            .into_iter()
            .map(|(k, span)| (k, SourceRange::of_span(&text, span)))
            .collect();
        KeyedFile {
            file: Arc::new(file),
            keys,
        }
    }
}

/// How buildx shows the built-in recipe in an excerpt.
pub const BUILTIN_FILE_NAME: &str = "mtts-frontend's built-in recipe (Dockerfile)";

impl RecipeSource {
    /// `stub`: the file the user's build read, if it may be shown.
    pub fn new(stub: Option<SourceFile>) -> RecipeSource {
        RecipeSource {
            stub: stub.map(KeyedFile::new),
            builtin: KeyedFile::new(SourceFile {
                filename: BUILTIN_FILE_NAME.to_string(),
                language: "Dockerfile".to_string(),
                data: BUILTIN.as_bytes().to_vec(),
            }),
        }
    }

    /// Where `keys` are: the stub's line for each it sets, else the
    /// built-in recipe's; one location per file.
    pub fn locations(&self, keys: &[&str]) -> Vec<SourceLocation> {
        let mut stub_ranges = Vec::new();
        let mut builtin_ranges = Vec::new();
        for key in keys {
            match self.stub.as_ref().and_then(|s| s.keys.get(*key)) {
                Some(r) => stub_ranges.push(*r),
                None => builtin_ranges.extend(self.builtin.keys.get(*key).copied()),
            }
        }
        let mut out = Vec::new();
        if let (Some(stub), false) = (&self.stub, stub_ranges.is_empty()) {
            out.push(SourceLocation {
                file: stub.file.clone(),
                ranges: stub_ranges,
            });
        }
        if !builtin_ranges.is_empty() {
            out.push(SourceLocation {
                file: self.builtin.file.clone(),
                ranges: builtin_ranges,
            });
        }
        out
    }
}

impl Default for RecipeSource {
    /// The built-in recipe alone (no stub file to show).
    fn default() -> Self {
        RecipeSource::new(None)
    }
}

/// Where `key = value` (dotted as `table.key`; a table itself as `table`)
/// is in a recipe text, if it is there.
pub fn key_range(text: &str, key: &str) -> Option<SourceRange> {
    key_spans(text)
        .get(key)
        .map(|span| SourceRange::of_span(text, span.clone()))
}

/// Where each `key = value` (dotted as `table.key`; a table itself as
/// `table`) sits in a recipe text, as byte spans. Empty when the text does
/// not parse: the parse error says where.
fn key_spans(text: &str) -> BTreeMap<String, std::ops::Range<usize>> {
    key_entries(text)
        .into_iter()
        .map(|(k, (span, _))| (k, span))
        .collect()
}

/// As [`key_spans`], with what kind of value each key holds.
fn key_entries(text: &str) -> BTreeMap<String, (std::ops::Range<usize>, &'static str)> {
    use toml::de::DeValue;
    let kind = |v: &DeValue| match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) | DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true or false",
        DeValue::Datetime(_) => "an unquoted date-time",
        DeValue::Array(a) if a.iter().all(|e| matches!(e.get_ref(), DeValue::Table(_))) => {
            "an array of tables ([[...]])"
        }
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    };
    let mut out = BTreeMap::new();
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return out;
    };
    for (key, value) in root.get_ref() {
        let name = key.get_ref().to_string();
        let whole = key.span().start..value.span().end;
        if let DeValue::Table(table) = value.get_ref() {
            out.insert(name.clone(), (key.span(), "a table"));
            for (k, v) in table {
                out.insert(
                    format!("{name}.{}", k.get_ref()),
                    (k.span().start..v.span().end, kind(v.get_ref())),
                );
            }
        } else {
            out.insert(name, (whole, kind(value.get_ref())));
        }
    }
    out
}

/// What each recipe key takes, as a type error says it.
fn expected(key: &str) -> &'static str {
    match key {
        "upx" | "tailscale.verbosity_filter" => "true or false",
        // Said with the table's name by the caller.
        "tailscale" | "busybox" | "images" | "labels" => "",
        "tailscale.features" => "a list of quoted feature names",
        "tailscale.commit_time" => "a quoted UTC time like \"2026-08-04T17:32:46Z\"",
        k if k.starts_with("labels.") => {
            "a quoted string (a dotted label key is quoted: \"org.example.x\" = \"...\")"
        }
        _ => "a quoted string",
    }
}

/// A type error said in the recipe's words: the key (the innermost one
/// around `at`), what it takes and what it holds. `None` when no key of
/// the text is there.
fn type_error(text: &str, at: std::ops::Range<usize>) -> Option<String> {
    let (key, (_, found)) = key_entries(text)
        .into_iter()
        .filter(|(_, (span, _))| span.contains(&at.start) || at.contains(&span.start))
        .max_by_key(|(key, _)| key.len())?;
    let expected = match expected(&key) {
        "" => format!("one table, written [{key}]"),
        e => e.to_string(),
    };
    Some(format!("{key} takes {expected}, not {found}"))
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

impl RawRecipe {
    /// `self` with every key that `over` sets replaced by `over`'s value;
    /// the labels are left to [`merge_labels`].
    fn overlaid(self, over: RawRecipe) -> RawRecipe {
        RawRecipe {
            tailscale: RawTailscale {
                version: over.tailscale.version.or(self.tailscale.version),
                commit_time: over.tailscale.commit_time.or(self.tailscale.commit_time),
                repository: over.tailscale.repository.or(self.tailscale.repository),
                features: over.tailscale.features.or(self.tailscale.features),
                verbosity_filter: over
                    .tailscale
                    .verbosity_filter
                    .or(self.tailscale.verbosity_filter),
                known_hosts: over.tailscale.known_hosts.or(self.tailscale.known_hosts),
            },
            busybox: RawBusybox {
                version: over.busybox.version.or(self.busybox.version),
                sha256: over.busybox.sha256.or(self.busybox.sha256),
                url: over.busybox.url.or(self.busybox.url),
            },
            images: RawImages {
                golang: over.images.golang.or(self.images.golang),
                alpine: over.images.alpine.or(self.images.alpine),
                xx: over.images.xx.or(self.images.xx),
            },
            upx: over.upx.or(self.upx),
            // Labels merge by their full spelling: see merge_labels.
            labels: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTailscale {
    version: Option<String>,
    commit_time: Option<String>,
    repository: Option<String>,
    features: Option<Vec<String>>,
    verbosity_filter: Option<bool>,
    known_hosts: Option<String>,
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
        // The embedded Dockerfile is checked by a unit test, so the empty
        // recipe over it cannot fail.
        match Recipe::parse("", BUILTIN_NAME) {
            Ok(r) => r,
            Err(e) => unreachable!("the built-in recipe is invalid: {e}"),
        }
    }
}

impl Recipe {
    /// Parses the stub Dockerfile `text` over the built-in recipe; `file`
    /// names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, RecipeError> {
        Recipe::parse_over(BUILTIN, text, file)
    }

    /// Parses `text` over `base` (the built-in recipe, or a copy of it in
    /// tests): a key `text` sets wins, every other comes from `base`.
    /// Every problem is reported at once (up to [`MAX_REPORTED`]), each
    /// with its line, as dalec's `Validate()` does.
    pub fn parse_over(base: &str, text: &str, file: &str) -> Result<Self, RecipeError> {
        let base = decode(base, BUILTIN_NAME)?;
        let user = decode(text, file).map_err(|first| {
            // Serde stops at the first unknown key or wrong type: look at
            // every key for the rest.
            RecipeError::all(structural_errors(text, file)).unwrap_or(first)
        })?;
        let mut problems = Problems::default();
        // Ranges are looked up only for an error: a good recipe is parsed once.
        let value_err = |key: &str, message: String| RecipeError::Value {
            file: file.to_string(),
            key: key.to_string(),
            message,
            // The key as the user wrote it, else its table.
            range: key_range(text, key)
                .or_else(|| key_range(text, key.split('.').next().unwrap_or(key))),
        };
        // A new busybox version needs its own checksum: the old one can only
        // fail the download, late and obscurely.
        if let (Some(v), None) = (&user.busybox.version, &user.busybox.sha256)
            && base.busybox.version.as_ref() != Some(v)
        {
            problems.push(value_err(
                "busybox.version",
                format!(
                    "{:?} needs busybox.sha256 too (the sha256 of busybox-{}.tar.bz2)",
                    short(v),
                    short(v)
                ),
            ));
        }
        let labels = problems
            .take(merge_labels(&base.labels, &user.labels).map_err(|(k, m)| value_err(&k, m)));
        let raw = base.overlaid(user);
        let missing = |key: &str| value_err(key, "missing from the built-in recipe".to_string());

        let version = problems.take(
            raw.tailscale
                .version
                .ok_or_else(|| missing("tailscale.version"))
                .and_then(|v| {
                    validate::tailscale_version(&v)
                        .map_err(|m| value_err("tailscale.version", m.into()))
                }),
        );
        let commit_time = problems.take(
            raw.tailscale
                .commit_time
                .ok_or_else(|| missing("tailscale.commit_time"))
                .and_then(|t| {
                    Epoch::parse_rfc3339(&t).map_err(|e| {
                        value_err(
                            "tailscale.commit_time",
                            format!("{:?} {e}", validate::short(&t)),
                        )
                    })
                }),
        );
        // No excerpt of a line that holds a password: build logs are kept
        // and shared.
        let secret_err = |key: &str, value: &str, message: String| {
            let mut e = value_err(key, message);
            if validate::holds_password(value)
                && let RecipeError::Value { range, .. } = &mut e
            {
                *range = None;
            }
            e
        };
        let repository = problems.take(
            raw.tailscale
                .repository
                .ok_or_else(|| missing("tailscale.repository"))
                .and_then(|r| {
                    validate::git_url(&r)
                        .map_err(|m| secret_err("tailscale.repository", &r, m.into()))?;
                    Ok(r)
                }),
        );
        let features = problems.take(
            raw.tailscale
                .features
                .ok_or_else(|| missing("tailscale.features"))
                .and_then(|features| {
                    // The list reaches featuretags' command line: bound it
                    // well below what an argv holds (Tailscale has about a
                    // hundred features).
                    if features.len() > MAX_FEATURES {
                        return Err(value_err(
                            "tailscale.features",
                            format!(
                                "{} names; at most {MAX_FEATURES} fit (Tailscale has about a hundred features)",
                                features.len()
                            ),
                        ));
                    }
                    for f in &features {
                        validate::feature_name(f)
                            .map_err(|m| value_err("tailscale.features", m.into()))?;
                    }
                    Ok(features)
                }),
        );

        let known_hosts = match raw.tailscale.known_hosts {
            Some(hosts) => problems
                .take(
                    validate::known_hosts(&hosts)
                        .map_err(|m| value_err("tailscale.known_hosts", m.into())),
                )
                .map(|()| Some(hosts)),
            None => Some(None),
        };

        let bb_version = problems.take(
            raw.busybox
                .version
                .ok_or_else(|| missing("busybox.version"))
                .and_then(|v| {
                    validate::busybox_version(&v)
                        .map_err(|m| value_err("busybox.version", m.into()))?;
                    Ok(v)
                }),
        );
        let sha256 = problems.take(
            raw.busybox
                .sha256
                .ok_or_else(|| missing("busybox.sha256"))
                .and_then(|sha| {
                    validate::sha256_hex(&sha)
                        .map_err(|m| value_err("busybox.sha256", m.into()))?;
                    // BuildKit accepts only lowercase hex digests.
                    Ok(sha.to_ascii_lowercase())
                }),
        );
        let url = problems.take(
            raw.busybox
                .url
                .ok_or_else(|| missing("busybox.url"))
                .and_then(|u| {
                    validate::http_url(&u).map_err(|m| secret_err("busybox.url", &u, m.into()))?;
                    Ok(u)
                }),
        );

        let image = |key: &str, value: Option<String>| {
            let text = value.ok_or_else(|| missing(key))?;
            ImageRef::parse(&text).map_err(|e| value_err(key, e.to_string()))
        };
        let golang = problems.take(image("images.golang", raw.images.golang));
        let alpine = problems.take(image("images.alpine", raw.images.alpine));
        let xx = problems.take(image("images.xx", raw.images.xx));

        let (
            Some(labels),
            Some(version),
            Some(commit_time),
            Some(repository),
            Some(features),
            Some(known_hosts),
            Some(bb_version),
            Some(sha256),
            Some(url),
            Some(golang),
            Some(alpine),
            Some(xx),
        ) = (
            labels,
            version,
            commit_time,
            repository,
            features,
            known_hosts,
            bb_version,
            sha256,
            url,
            golang,
            alpine,
            xx,
        )
        else {
            return Err(problems.into_error());
        };
        if let Some(e) = RecipeError::all(problems.0) {
            return Err(e);
        }
        Ok(Recipe {
            tailscale: TailscaleConfig {
                version,
                commit_time,
                repository,
                features,
                verbosity_filter: raw.tailscale.verbosity_filter.unwrap_or(true),
                known_hosts,
            },
            busybox: BusyboxConfig {
                version: bb_version,
                sha256,
                url,
            },
            images: BaseImageRefs { golang, alpine, xx },
            upx: raw.upx.unwrap_or(true),
            labels,
        })
    }

    /// What is allowed but unwise in this recipe (`--check` shows it).
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (key, image) in [
            ("images.golang", &self.images.golang),
            ("images.alpine", &self.images.alpine),
            ("images.xx", &self.images.xx),
        ] {
            if image.digest().is_none() {
                out.push(Finding {
                    rule: "ImagePinnedByTagOnly",
                    description: "A base image without an @sha256 digest can change under the same tag",
                    detail: format!(
                        "{key} = {:?} has no @sha256: digest; pin it (Renovate keeps digests current)",
                        short(&image.to_string())
                    ),
                    key: key.to_string(),
                });
            }
        }
        // `upx = false` written below `[labels]` is a label, not the
        // setting: TOML puts every key after a table header into it.
        for root in ROOT_KEYS {
            if self.labels.contains_key(&format!("{LABEL_PREFIX}{root}")) {
                out.push(Finding {
                    rule: "RecipeKeyAsLabel",
                    description: "A label named like a recipe key is usually that key written below [labels]",
                    detail: format!(
                        "labels.{root} is a label, not the recipe's `{root}`: every key after `[labels]` belongs to that table; move `{root}` above the first [table] if you meant the setting"
                    ),
                    key: format!("labels.{root}"),
                });
            }
        }
        out
    }

    /// The image version label the recipe sets, if any.
    pub fn version_label(&self) -> Option<&str> {
        self.labels
            .get(&format!("{LABEL_PREFIX}version"))
            .map(String::as_str)
    }
}

/// Decodes one recipe text strictly; errors carry the line.
fn decode(text: &str, file: &str) -> Result<RawRecipe, RecipeError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        let mut message = toml_message(e.message());
        if message.starts_with("invalid type")
            && let Some(better) = e.span().and_then(|s| type_error(text, s))
        {
            message = better;
        }
        // "duplicate key" alone does not say which.
        if let Some(span) = e.span()
            && message == "duplicate key"
            && let Some(key) = text.get(span)
        {
            message = format!("duplicate key `{}`", short(key.trim()));
        }
        RecipeError::Syntax {
            file: file.to_string(),
            line,
            message,
            range: e.span().map(|span| SourceRange::of_span(text, span)),
        }
    })
}

/// TOML's messages name our internal types ("invalid type: string, expected
/// struct RawTailscale"); say what the recipe expects instead.
fn toml_message(message: &str) -> String {
    let message = message.trim();
    let mut out = message.to_string();
    for (internal, public) in [
        ("struct RawRecipe", "a table"),
        ("struct RawTailscale", "the [tailscale] table"),
        ("struct RawBusybox", "the [busybox] table"),
        ("struct RawImages", "the [images] table"),
    ] {
        out = out.replace(internal, public);
    }
    out
}

/// The recipe's labels with full keys, the user's over the built-in ones.
/// `title` and `org.opencontainers.image.title` are one label: a recipe that
/// spells it both ways is refused, naming both.
fn merge_labels(
    base: &BTreeMap<String, String>,
    user: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, (String, String)> {
    let full = |k: &str| {
        if k.contains('.') {
            k.to_string()
        } else {
            format!("{LABEL_PREFIX}{k}")
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in base {
        out.insert(full(k), v.clone());
    }
    let mut spelled: BTreeMap<String, &str> = BTreeMap::new();
    for (k, v) in user {
        validate::label(k, v).map_err(|m| (format!("labels.{}", short(k)), m.into()))?;
        let key = full(k);
        if let Some(other) = spelled.insert(key.clone(), k) {
            return Err((
                format!("labels.{k}"),
                format!("labels.{other:?} and labels.{k:?} are the same label ({key}): keep one"),
            ));
        }
        out.insert(key, v.clone());
    }
    Ok(out)
}

use validate::short;

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
        assert_eq!(r.tailscale.version, "v1.102.2");
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
        assert_eq!(
            r.labels
                .get("org.opencontainers.image.title")
                .map(String::as_str),
            Some("my-ts")
        );
        assert!(r.labels.contains_key("org.opencontainers.image.source"));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_line() {
        let text = "# syntax=x\nupx = \"yes\"\n[tailscale]\nverison = \"v1\"\n[busybox]\nsha256 = \"abc\"\nurl = \"ftp://x\"\n[images]\nxx = \"Not A Ref\"\n";
        // Structure first: the unknown key and the wrong type, both.
        let e = parse(text).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("2 problems in the recipe:"), "{msg}");
        assert!(msg.contains("line 2: upx takes true or false"), "{msg}");
        assert!(msg.contains("line 4: unknown key `verison`"), "{msg}");
        assert_eq!(e.ranges().len(), 2);
        // Then every value, in the order of the lines.
        let text = "[busybox]\nsha256 = \"abc\"\nurl = \"ftp://x\"\n[images]\nxx = \"Not A Ref\"\n";
        let e = parse(text).unwrap_err();
        let msg = e.to_string();
        let at = |needle: &str| {
            msg.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {msg}"))
        };
        assert!(at("busybox.sha256") < at("busybox.url") && at("busybox.url") < at("images.xx"));
        let lines: Vec<u32> = e.ranges().iter().map(|r| r.start.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        // Capped, saying how many more.
        let many: String = (0..15).map(|i| format!("key{i} = 1\n")).collect();
        let msg = parse(&many).unwrap_err().to_string();
        assert!(
            msg.starts_with("15 problems") && msg.ends_with("... and 5 more"),
            "{msg}"
        );
        assert_eq!(msg.lines().count(), 1 + MAX_REPORTED + 1);
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
    fn commit_time_is_a_utc_second() {
        let e = parse("[tailscale]\ncommit_time = \"2026-08-04 17:32\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(
                "tailscale.commit_time: \"2026-08-04 17:32\" is not a UTC time written like 2026-08-04T17:32:46Z"
            ),
            "{e}"
        );
        let r = parse("[tailscale]\ncommit_time = \"2000-02-29T12:00:00Z\"").unwrap();
        assert_eq!(r.tailscale.commit_time.seconds(), 951_825_600);
    }

    #[test]
    fn errors_know_the_range_they_are_about() {
        let text = "# syntax=x\n\n[tailscale]\nversion = \"latest\"\n";
        let e = parse(text).unwrap_err();
        let range = e.range().unwrap_or_else(|| panic!("no range in {e}"));
        assert_eq!((range.start.line, range.start.character), (4, 0));
        assert_eq!((range.end.line, range.end.character), (4, 18));
        let e = parse("[tailscale]\nversion = \n").unwrap_err();
        assert_eq!(e.range().map(|r| r.start.line), Some(2), "{e}");
        // A line with a password is not shown.
        let e =
            parse("[tailscale]\nrepository = \"https://u:pw@example.com/t.git\"\n").unwrap_err();
        assert_eq!(e.range(), None, "{e}");
        // A value only the built-in recipe has is nowhere in the user's file.
        let e = Recipe::parse_over("[busybox]\nurl = \"ftp://x\"", "", "Dockerfile").unwrap_err();
        assert_eq!(e.range(), None, "{e}");
    }

    #[test]
    fn a_busybox_url_with_a_password_is_refused_unquoted() {
        let e = parse("[busybox]\nurl = \"https://me:s3cret@dl.example/b-{version}.tar.bz2\"\n")
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("busybox.url") && text.contains("password") && !text.contains("s3cret"),
            "{text}"
        );
        assert_eq!(e.range(), None, "a line with a password is not shown");
    }

    #[test]
    fn the_feature_list_is_bounded_by_name() {
        let many: Vec<String> = (0..=MAX_FEATURES).map(|i| format!("\"f{i}\"")).collect();
        let e = parse(&format!("[tailscale]\nfeatures = [{}]\n", many.join(",")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tailscale.features") && e.contains(&format!("at most {MAX_FEATURES}")),
            "{e}"
        );
    }

    #[test]
    fn a_root_key_below_labels_is_reported() {
        let text = "[labels]\ntitle = \"t\"\nupx = \"false\"\n";
        let r = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.upx, "the setting is untouched");
        let f = r.findings();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "RecipeKeyAsLabel");
        assert_eq!(f[0].key, "labels.upx");
        assert!(f[0].detail.contains("[labels]"), "{}", f[0].detail);
        assert!(key_range(text, &f[0].key).is_some());
    }

    #[test]
    fn type_errors_name_the_key_and_what_it_takes() {
        for (text, says) in [
            (
                "[[tailscale]]\nversion = \"v1.2.3\"\n",
                ["tailscale", "[[...]]"],
            ),
            ("[labels]\nx.y = \"v\"\n", ["labels.x", "string"]),
            (
                "[tailscale]\ncommit_time = 2026-08-04T17:32:46Z\n",
                ["tailscale.commit_time", "quoted"],
            ),
            ("upx = \"false\"\n", ["upx", "true or false"]),
        ] {
            let e = parse(text).unwrap_err().to_string();
            for word in says {
                assert!(e.contains(word), "{text:?}: {e}");
            }
        }
    }

    #[test]
    fn findings_point_at_their_key() {
        assert_eq!(Recipe::default().findings(), []);
        let text = "[images]\ngolang = \"golang:1.26-alpine\"\n";
        let r = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let f = r.findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "ImagePinnedByTagOnly");
        assert_eq!(f[0].key, "images.golang");
        assert!(
            f[0].detail.contains("golang:1.26-alpine"),
            "{}",
            f[0].detail
        );
        assert_eq!(key_spans(text).get("images.golang"), Some(&(9..38)));
    }

    #[test]
    fn type_errors_have_a_line() {
        let e = parse("\nupx = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn messages_name_the_recipe_not_our_types() {
        let e = parse("tailscale = \"v1\"\n").unwrap_err().to_string();
        assert!(!e.contains("Raw"), "{e}");
        assert!(e.contains("[tailscale]"), "{e}");
        let e = parse("[busybox]\nversion = \"1.1.1\"\nversion = \"1.1.2\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("version"), "{e}");
    }

    #[test]
    fn the_builtin_recipe_is_the_repository_dockerfile() {
        let r = Recipe::default();
        for (key, value) in [
            ("version", r.tailscale.version.as_str()),
            ("sha256", r.busybox.sha256.as_str()),
            ("url", r.busybox.url.as_str()),
        ] {
            assert!(
                BUILTIN.contains(&format!("{key} = \"{value}\"")),
                "{key} = {value:?} is not what the Dockerfile says"
            );
        }
        let digest = r.images.golang.digest().unwrap_or_default();
        assert!(BUILTIN.contains(digest), "{digest}");
    }

    /// What Renovate does: edit only the pins of the Dockerfile. The
    /// built-in recipe follows with no change to the code.
    #[test]
    fn edited_pins_in_the_dockerfile_are_the_new_defaults() {
        let bumped = BUILTIN
            .replace("version = \"v1.102.2\"", "version = \"v1.102.3\"")
            .replace(
                "golang = \"golang:1.26.5-alpine@sha256:0178a641fbb4858c5f1b48e34bdaabe0350a330a1b1149aabd498d0699ff5fb2\"",
                &format!("golang = \"golang:1.26.6-alpine@sha256:{}\"", "1".repeat(64)),
            )
            .replace("version = \"1.38.0\"", "version = \"1.38.1\"")
            .replace(
                "34f9ea6ff8636f2c9241153b9114eefa9e65674a45318ae1ef95bb5f31c53bb2",
                &"2".repeat(64),
            );
        assert_ne!(bumped, BUILTIN, "the pins moved in the Dockerfile");
        let r = Recipe::parse_over(&bumped, "# syntax=x\n", "Dockerfile")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.tailscale.version, "v1.102.3");
        assert_eq!(r.busybox.version, "1.38.1");
        assert_eq!(r.busybox.sha256, "2".repeat(64));
        assert_eq!(r.images.golang.tag(), Some("1.26.6-alpine"));
    }

    #[test]
    fn a_user_key_overrides_only_itself() {
        let r = parse("[tailscale]\nverbosity_filter = false\n").unwrap_or_else(|e| panic!("{e}"));
        let d = Recipe::default();
        assert!(!r.tailscale.verbosity_filter);
        assert_eq!(r.tailscale.features, d.tailscale.features);
        assert_eq!(r.busybox, d.busybox);
    }

    #[test]
    fn labels_in_full_or_short_are_one_label() {
        let r = parse("[labels]\n\"org.opencontainers.image.title\" = \"mine\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.labels
                .get("org.opencontainers.image.title")
                .map(String::as_str),
            Some("mine"),
            "the user's full spelling wins over the built-in short one"
        );
        assert!(!r.labels.contains_key("title"));
        let e = parse("[labels]\ntitle = \"a\"\n\"org.opencontainers.image.title\" = \"b\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"title\"") && e.contains("org.opencontainers.image.title"),
            "{e}"
        );
        let r = parse("[labels]\nversion = \"1.0\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.version_label(), Some("1.0"));
    }

    #[test]
    fn busybox_pins_behave_like_the_build_arguments() {
        let e = parse("[busybox]\nversion = \"1.37.0\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("busybox.version") && e.contains("busybox.sha256"),
            "{e}"
        );
        // The built-in version needs no checksum again.
        assert!(parse("[busybox]\nversion = \"1.38.0\"\n").is_ok());
        let upper = "34F9EA6FF8636F2C9241153B9114EEFA9E65674A45318AE1EF95BB5F31C53BB2";
        let r =
            parse(&format!("[busybox]\nsha256 = \"{upper}\"\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.busybox.sha256, upper.to_ascii_lowercase());
    }

    #[test]
    fn long_values_are_quoted_short() {
        let huge = "x".repeat(50_000);
        let e = parse(&format!("[tailscale]\nversion = \"{huge}\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400, "{} bytes", e.len());
        let e = parse(&format!("[labels]\n\"{huge}\" = \"v\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400, "{} bytes", e.len());
    }
}
