//! Everything a build is asked for, turned into checked, typed values before
//! a single op is made.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::config::{Recipe, RecipeSource};
use super::validate;
use crate::llb::{Epoch, NetMode, Platform, ProxyEnv, ResolveMode, SourceFile};

/// The platforms the image is made for, with the routers they serve.
pub const SUPPORTED_PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64", "linux/arm/v7"];

/// What to build (`--target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Target {
    /// The final image.
    #[default]
    Image,
    /// Only the compressed `tailscale.combined`.
    Tailscale,
    /// The busybox root filesystem.
    Busybox,
    /// A file with the resolved Go build tags.
    Tags,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::Image,
        Target::Tailscale,
        Target::Busybox,
        Target::Tags,
    ];

    /// Every target's name, the default first.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.name()).collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::Image => "image",
            Target::Tailscale => "tailscale",
            Target::Busybox => "busybox",
            Target::Tags => "tags",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Target::Image => "the mikrotik-tailscale image",
            Target::Tailscale => "only the UPX-compressed tailscale.combined binary",
            Target::Busybox => "the busybox root filesystem with its applet links",
            Target::Tags => "tags.txt with the resolved Go build tags",
        }
    }

    pub fn parse(s: &str) -> Result<Self, InputError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Target::Image);
        }
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| InputError::Target(validate::short(s)))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A request that cannot be built, said so that the user knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error(
        "platform {0} is not supported; supported platforms: {supported}",
        supported = SUPPORTED_PLATFORMS.join(", ")
    )]
    Platform(String),
    /// The parser's message already says "invalid platform ...".
    #[error("{0}")]
    PlatformSyntax(String),
    #[error(
        "build platform {0} is not supported; the build runs on {supported}",
        supported = SUPPORTED_PLATFORMS.join(", ")
    )]
    BuildPlatform(String),
    #[error("{flag} {value:?} must be KEY=VALUE")]
    Pair { flag: String, value: String },
    #[error("build argument {name}: {message}")]
    BuildArg { name: String, message: String },
    #[error("label {name}: {message}")]
    Label { name: String, message: String },
    #[error("unknown target {0:?}; targets: {targets}", targets = Target::names().join(", "))]
    Target(String),
}

/// Parses and checks `--platform` values: each must be one of
/// [`SUPPORTED_PLATFORMS`] (after normalising, so `linux/arm64/v8` is
/// `linux/arm64`). Duplicates collapse; order is kept.
pub fn parse_platforms<S: AsRef<str>>(values: &[S]) -> Result<Vec<Platform>, InputError> {
    let mut out: Vec<Platform> = Vec::new();
    for value in values {
        for one in value
            .as_ref()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let p: Platform = one.parse().map_err(|e: crate::llb::PlatformParseError| {
                InputError::PlatformSyntax(e.to_string())
            })?;
            check_supported(&p)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Checks the platform every exec runs on: one the images exist for.
pub fn check_build_platform(p: &Platform) -> Result<(), InputError> {
    check_supported(p).map_err(|_| InputError::BuildPlatform(validate::short(&p.to_string())))
}

/// Fails with the supported list unless `p` is one of them.
pub fn check_supported(p: &Platform) -> Result<(), InputError> {
    if SUPPORTED_PLATFORMS.contains(&p.to_string().as_str()) {
        Ok(())
    } else {
        Err(InputError::Platform(validate::short(&p.to_string())))
    }
}

/// The build arguments, checked against the recipe they override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildArgs {
    pub tailscale_version: String,
    pub busybox_version: String,
    pub busybox_sha256: String,
    pub oci_version: String,
    /// `GOPROXY` for the module download only (a module mirror); `None`
    /// leaves the golang image's default.
    pub goproxy: Option<String>,
    /// `GOINSECURE` for the module download only: module path patterns
    /// whose `direct` fetches may use plain http.
    pub goinsecure: Option<String>,
    /// Every file's time and the image's `created`: `SOURCE_DATE_EPOCH`,
    /// else the recipe's `tailscale.commit_time`.
    pub source_date_epoch: Epoch,
    /// `HTTP_PROXY` and the others (either case), for the steps that
    /// download; empty when none is given.
    pub proxy: ProxyEnv,
    /// A proxy given in both cases with two values: which one is used.
    pub proxy_warnings: Vec<String>,
    /// Arguments given that this build does not use (to warn about).
    pub unused: Vec<String>,
}

/// The build arguments this frontend takes, with what each one does (the
/// outline shows them; anything else given is reported as unused).
pub const BUILD_ARGS: [(&str, &str); 7] = [
    (
        "TAILSCALE_VERSION",
        "Tailscale release to build (recipe: tailscale.version)",
    ),
    (
        "BUSYBOX_VERSION",
        "busybox release (recipe: busybox.version); another one needs BUSYBOX_SHA256",
    ),
    (
        "BUSYBOX_SHA256",
        "sha256 of busybox-<version>.tar.bz2 (recipe: busybox.sha256)",
    ),
    (
        "OCI_VERSION",
        "the image's org.opencontainers.image.version label (recipe: labels.version)",
    ),
    (
        "GOPROXY",
        "Go module proxy for the module download only (default: the golang image's)",
    ),
    (
        "GOINSECURE",
        "module path patterns the module download may fetch over plain http (Go's GOINSECURE; a git server inside your network)",
    ),
    (
        "SOURCE_DATE_EPOCH",
        "seconds since 1970 for every file's time and the image's created time (default: the recipe's tailscale.commit_time)",
    ),
];

/// Build arguments BuildKit and buildx set on their own; never "unused".
fn is_builtin_arg(name: &str) -> bool {
    name.starts_with("BUILDKIT_") || is_proxy_arg(name)
}

/// The proxy build arguments, as BuildKit's Dockerfile frontend takes them
/// (buildx also adds them from the docker CLI's proxy configuration).
const PROXY_ARGS: [&str; 5] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
];

fn is_proxy_arg(name: &str) -> bool {
    PROXY_ARGS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The proxies among `args`, taken as BuildKit's Dockerfile frontend takes
/// them: either case, in name order, so `http_proxy` wins over
/// `HTTP_PROXY`. Returns the proxies and a warning for each value so
/// overridden. Values are never echoed: a proxy URL may hold a password.
fn proxy_env(args: &BTreeMap<String, String>) -> Result<(ProxyEnv, Vec<String>), InputError> {
    let mut values: [Option<(&str, &str)>; 5] = [None; 5];
    let mut warnings = Vec::new();
    for (name, value) in args {
        let Some(i) = PROXY_ARGS.iter().position(|p| p.eq_ignore_ascii_case(name)) else {
            continue;
        };
        if value.len() > 1024 || value.chars().any(|c| c.is_control()) {
            return Err(InputError::BuildArg {
                name: name.clone(),
                message: "must be one line of at most 1024 bytes (the value is not shown: it \
                          may hold a password)"
                    .into(),
            });
        }
        if let Some((earlier, v)) = values[i]
            && v != value
        {
            warnings.push(format!(
                "build arguments {earlier} and {name} differ: {name} is used, as by the \
                 Dockerfile frontend"
            ));
        }
        values[i] = Some((name.as_str(), value.as_str()));
    }
    // Set and empty is unset: BuildKit gives a step only the proxies with a value.
    let [http, https, ftp, no, all] =
        values.map(|v| v.map(|(_, v)| v.to_string()).unwrap_or_default());
    let proxy = ProxyEnv {
        http_proxy: http,
        https_proxy: https,
        ftp_proxy: ftp,
        no_proxy: no,
        all_proxy: all,
    };
    Ok((proxy, warnings))
}

impl BuildArgs {
    /// The value each of [`BUILD_ARGS`] has in this build (empty: unset).
    pub fn values(&self) -> [(&'static str, &'static str, String); 7] {
        let [ts, bb, sha, oci, proxy, insecure, epoch] = BUILD_ARGS;
        [
            (ts.0, ts.1, self.tailscale_version.clone()),
            (bb.0, bb.1, self.busybox_version.clone()),
            (sha.0, sha.1, self.busybox_sha256.clone()),
            (oci.0, oci.1, self.oci_version.clone()),
            (proxy.0, proxy.1, self.goproxy.clone().unwrap_or_default()),
            (
                insecure.0,
                insecure.1,
                self.goinsecure.clone().unwrap_or_default(),
            ),
            (
                epoch.0,
                epoch.1,
                self.source_date_epoch.seconds().to_string(),
            ),
        ]
    }

    pub fn resolve(recipe: &Recipe, args: &BTreeMap<String, String>) -> Result<Self, InputError> {
        let err = |name: &str, message: String| InputError::BuildArg {
            name: name.to_string(),
            message,
        };
        let tailscale_version = match args.get("TAILSCALE_VERSION") {
            Some(v) => {
                validate::tailscale_version(v).map_err(|m| err("TAILSCALE_VERSION", m.into()))?
            }
            None => recipe.tailscale.version.clone(),
        };
        let (busybox_version, busybox_sha256) = match (
            args.get("BUSYBOX_VERSION"),
            args.get("BUSYBOX_SHA256"),
        ) {
            (None, None) => (
                recipe.busybox.version.clone(),
                recipe.busybox.sha256.clone(),
            ),
            (version, sha) => {
                let version = version
                    .cloned()
                    .unwrap_or_else(|| recipe.busybox.version.clone());
                validate::busybox_version(&version)
                    .map_err(|m| err("BUSYBOX_VERSION", m.into()))?;
                let sha = match sha {
                    Some(s) => {
                        validate::sha256_hex(s).map_err(|m| err("BUSYBOX_SHA256", m.into()))?;
                        s.to_ascii_lowercase()
                    }
                    None if version == recipe.busybox.version => recipe.busybox.sha256.clone(),
                    None => {
                        return Err(err(
                            "BUSYBOX_VERSION",
                            format!(
                                "overriding the version ({version}) needs the tarball's checksum too: add --build-arg BUSYBOX_SHA256=<sha256 of busybox-{version}.tar.bz2>"
                            ),
                        ));
                    }
                };
                (version, sha)
            }
        };
        let oci_version = match (args.get("OCI_VERSION"), recipe.version_label()) {
            (Some(_), Some(label)) => {
                return Err(err(
                    "OCI_VERSION",
                    format!(
                        "the recipe's labels.version ({:?}) already sets the image version: drop one of the two",
                        validate::short(label)
                    ),
                ));
            }
            (Some(v), None) => {
                if v.is_empty() {
                    return Err(err("OCI_VERSION", "must not be empty".to_string()));
                }
                validate::text_value("value", v).map_err(|m| err("OCI_VERSION", m.into()))?;
                v.clone()
            }
            // Checked with the recipe's other labels when it was parsed.
            (None, Some(label)) => label.to_string(),
            (None, None) => "dev".to_string(),
        };
        let goproxy = match args.get("GOPROXY") {
            Some(v) => {
                validate::goproxy(v).map_err(|m| err("GOPROXY", m.into()))?;
                Some(v.clone())
            }
            None => None,
        };
        let goinsecure = match args.get("GOINSECURE") {
            Some(v) => {
                validate::go_path_patterns(v).map_err(|m| err("GOINSECURE", m.into()))?;
                Some(v.clone())
            }
            None => None,
        };
        // As BuildKit's Dockerfile frontend reads it: set and empty is unset.
        let source_date_epoch = match args.get("SOURCE_DATE_EPOCH") {
            Some(v) if !v.is_empty() => Epoch::parse_seconds(v)
                .map_err(|e| err("SOURCE_DATE_EPOCH", format!("{:?} {e}", validate::short(v))))?,
            _ => recipe.tailscale.commit_time,
        };
        let (proxy, proxy_warnings) = proxy_env(args)?;
        let unused = args
            .keys()
            .filter(|k| !BUILD_ARGS.iter().any(|(n, _)| n == k) && !is_builtin_arg(k))
            .cloned()
            .collect();
        Ok(BuildArgs {
            tailscale_version,
            busybox_version,
            busybox_sha256,
            oci_version,
            goproxy,
            goinsecure,
            source_date_epoch,
            proxy,
            proxy_warnings,
            unused,
        })
    }
}

/// Checks extra image labels (`--label`, `label:*`).
pub fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), InputError> {
    for (k, v) in labels {
        validate::label(k, v).map_err(|e| InputError::Label {
            name: k.clone(),
            message: e.into(),
        })?;
    }
    Ok(())
}

/// What the user asked for, as written: from buildx's frontend options or
/// the offline CLI's flags. [`BuildRequest::new`] checks it.
#[derive(Clone, Debug)]
pub struct RequestOptions {
    pub recipe: Recipe,
    /// `--platform` values (each may hold a comma-separated list); none
    /// means the build platform.
    pub platforms: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// `--target`; empty means the image.
    pub target: String,
    pub build_platform: Platform,
    pub network: NetMode,
    /// `--no-cache` (empty: every step) or `--no-cache-filter` (the step
    /// groups named); none: the cache is used.
    pub no_cache: Option<Vec<String>>,
    pub resolve_mode: ResolveMode,
    pub daemon: DaemonSupport,
    /// The stub Dockerfile as the build read it, when it may be shown: its
    /// ops point back at its lines (else at the built-in recipe's).
    pub recipe_file: Option<SourceFile>,
}

/// The step groups, as progress shows them in brackets: what
/// `--no-cache-filter` names (the base images' own, and the stages').
pub const STEP_GROUPS: [&str; 6] = ["golang", "alpine", "xx", "tailscale", "busybox", "image"];

/// Which steps reuse no cached result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NoCache {
    /// The cache is used (the default).
    #[default]
    Nothing,
    /// `--no-cache`: every step runs.
    Everything,
    /// `--no-cache-filter`: the steps of these groups run.
    Groups(BTreeSet<String>),
}

impl NoCache {
    /// Whether the step named `name` (`[tailscale linux/amd64] go build`)
    /// must not come from the cache.
    pub fn covers(&self, name: &str) -> bool {
        match self {
            NoCache::Nothing => false,
            NoCache::Everything => true,
            NoCache::Groups(groups) => name
                .strip_prefix('[')
                .and_then(|rest| rest.split([' ', ']']).next())
                .is_some_and(|group| groups.contains(group)),
        }
    }
}

/// A complete, checked build request: what the graph is made from, apart
/// from the inputs it asks for by name (see [`super::Inputs`]).
#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub recipe: Recipe,
    pub args: BuildArgs,
    /// Target platforms, at least one.
    pub platforms: Vec<Platform>,
    /// Where every exec runs.
    pub build_platform: Platform,
    pub target: Target,
    /// Extra labels, on top of the recipe's.
    pub labels: BTreeMap<String, String>,
    /// `--network none`: no exec gets a network.
    pub network: NetMode,
    /// `--no-cache` and `--no-cache-filter`.
    pub no_cache: NoCache,
    /// How base images are looked up (`image-resolve-mode`).
    pub resolve_mode: ResolveMode,
    /// What the daemon can do beyond the basics.
    pub daemon: DaemonSupport,
    /// Where each recipe key is written, for the ops' source maps.
    pub source: RecipeSource,
}

impl BuildRequest {
    /// Checks everything the user asked for, before a single op exists.
    /// Returns the request and the warnings to show (build arguments this
    /// build does not use). The BuildKit frontend and the offline CLI both call this.
    pub fn new(options: RequestOptions) -> Result<(BuildRequest, Vec<String>), InputError> {
        check_build_platform(&options.build_platform)?;
        let mut platforms = parse_platforms(&options.platforms)?;
        if platforms.is_empty() {
            // As buildx: no --platform builds for the build platform.
            platforms.push(options.build_platform.clone());
        }
        let args = BuildArgs::resolve(&options.recipe, &options.build_args)?;
        check_labels(&options.labels)?;
        let target = Target::parse(&options.target)?;
        let mut warnings: Vec<String> = args
            .unused
            .iter()
            .map(|a| {
                format!(
                    "build argument {} is not used by this build",
                    validate::short(a)
                )
            })
            .collect();
        warnings.extend(args.proxy_warnings.iter().cloned());
        let no_cache = match options.no_cache {
            None => NoCache::Nothing,
            Some(names) if names.is_empty() => NoCache::Everything,
            Some(names) => {
                for unknown in names.iter().filter(|n| !STEP_GROUPS.contains(&n.as_str())) {
                    warnings.push(format!(
                        "--no-cache-filter {}: no such step group; the groups are {}",
                        validate::short(unknown),
                        STEP_GROUPS.join(", ")
                    ));
                }
                NoCache::Groups(names.into_iter().collect())
            }
        };
        Ok((
            BuildRequest {
                recipe: options.recipe,
                args,
                platforms,
                build_platform: options.build_platform,
                target,
                labels: options.labels,
                network: options.network,
                no_cache,
                resolve_mode: options.resolve_mode,
                daemon: options.daemon,
                source: RecipeSource::new(options.recipe_file),
            },
            warnings,
        ))
    }
}

/// Optional LLB features the recipe uses when the daemon has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaemonSupport {
    /// MergeOp (BuildKit v0.10+): stack the image's layers without copying;
    /// otherwise chained copies give the same layers.
    pub merge_op: bool,
    /// FileOp symlinks (BuildKit v0.19+): otherwise an exec makes them.
    pub file_symlink: bool,
}

impl DaemonSupport {
    /// A current BuildKit: everything.
    pub fn all() -> Self {
        DaemonSupport {
            merge_op: true,
            file_symlink: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn messages_name_what_the_user_wrote() {
        let e = crate::recipe::parse_pairs("--label", &["k"])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--label \"k\" must be KEY=VALUE");
        let e = parse_platforms(&["linux//amd64"]).unwrap_err().to_string();
        assert!(e.contains("\"linux//amd64\""), "{e}");
        assert_eq!(e.matches("invalid platform").count(), 1, "{e}");
        let huge = format!("linux/{}", "a".repeat(100_000));
        let e = parse_platforms(&[huge.as_str()]).unwrap_err().to_string();
        assert!(e.len() < 300, "{} bytes", e.len());
        let e = crate::recipe::parse_pairs("--build-arg", &[huge.as_str()])
            .unwrap_err()
            .to_string();
        assert!(e.len() < 300, "{} bytes", e.len());
        let windows: Platform = "windows/amd64".parse().unwrap_or_else(|e| panic!("{e}"));
        let e = check_build_platform(&windows).unwrap_err().to_string();
        assert!(e.contains("build platform windows/amd64"), "{e}");
    }

    #[test]
    fn platforms_are_checked_normalised_and_deduplicated() {
        let ps = parse_platforms(&["linux/amd64,linux/arm64/v8", "linux/arm/v7", "linux/arm64"])
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        for bad in ["linux/arm/v5", "linux/riscv64", "windows/amd64"] {
            let e = parse_platforms(&[bad]).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
            assert!(e.contains("linux/amd64, linux/arm64, linux/arm/v7"), "{e}");
        }
        assert!(matches!(
            parse_platforms(&["linux"]),
            Err(InputError::PlatformSyntax(_))
        ));
    }

    #[test]
    fn targets() {
        assert_eq!(Target::parse(""), Ok(Target::Image));
        assert_eq!(Target::parse("tags"), Ok(Target::Tags));
        let e = Target::parse("builder").unwrap_err().to_string();
        assert!(
            e.contains("\"builder\"") && e.contains("image, tailscale, busybox, tags"),
            "{e}"
        );
    }

    #[test]
    fn build_args_default_to_the_recipe() {
        let r = Recipe::default();
        let a = BuildArgs::resolve(&r, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.tailscale_version, "v1.102.2");
        assert_eq!(a.busybox_version, "1.38.0");
        assert_eq!(a.busybox_sha256, r.busybox.sha256);
        assert_eq!(a.oci_version, "dev");
        assert!(a.unused.is_empty());
    }

    #[test]
    fn build_args_are_validated_by_name() {
        let r = Recipe::default();
        let e = BuildArgs::resolve(&r, &args(&[("TAILSCALE_VERSION", "main; rm -rf /")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("build argument TAILSCALE_VERSION:"), "{e}");
        let e = BuildArgs::resolve(&r, &args(&[("BUSYBOX_VERSION", "1.37.0")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("BUSYBOX_SHA256"), "{e}");
        let e = BuildArgs::resolve(&r, &args(&[("BUSYBOX_SHA256", "nope")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("build argument BUSYBOX_SHA256:"), "{e}");
        let e = BuildArgs::resolve(&r, &args(&[("OCI_VERSION", "a\nb")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("build argument OCI_VERSION:"), "{e}");
        // Bytes that were not UTF-8 arrive as U+FFFD.
        let e = BuildArgs::resolve(&r, &args(&[("OCI_VERSION", "v1\u{FFFD}")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("build argument OCI_VERSION:") && e.contains("UTF-8"),
            "{e}"
        );
        let e = check_labels(&args(&[("org.example.x", "\u{FFFD}")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("org.example.x") && e.contains("UTF-8"), "{e}");
        let e = BuildArgs::resolve(&r, &args(&[("GOPROXY", "https://u:pw@proxy.example")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("build argument GOPROXY:")
                && e.contains("password")
                && !e.contains("pw@"),
            "{e}"
        );
    }

    #[test]
    fn proxy_arguments_are_taken_in_either_case_and_not_reported_unused() {
        let a = BuildArgs::resolve(
            &Recipe::default(),
            &args(&[
                ("HTTPS_PROXY", "http://proxy:3128"),
                ("https_proxy", "http://proxy:3128"),
                ("http_proxy", "http://proxy:3128"),
                ("no_proxy", "localhost,.corp"),
                ("ALL_PROXY", ""),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.proxy,
            ProxyEnv {
                http_proxy: "http://proxy:3128".into(),
                https_proxy: "http://proxy:3128".into(),
                no_proxy: "localhost,.corp".into(),
                ..ProxyEnv::default()
            }
        );
        assert!(a.unused.is_empty(), "{:?}", a.unused);
        let none =
            BuildArgs::resolve(&Recipe::default(), &args(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert!(none.proxy.is_empty());
    }

    #[test]
    fn the_lower_case_proxy_wins_as_in_the_dockerfile_frontend_and_is_reported() {
        let a = BuildArgs::resolve(
            &Recipe::default(),
            &args(&[
                ("HTTP_PROXY", "http://user:secret@a:3128"),
                ("http_proxy", "http://b:3128"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.proxy.http_proxy, "http://b:3128");
        assert_eq!(a.proxy_warnings.len(), 1, "{:?}", a.proxy_warnings);
        let w = &a.proxy_warnings[0];
        assert!(w.contains("HTTP_PROXY and http_proxy differ"), "{w}");
        assert!(
            !w.contains("secret") && !w.contains("3128"),
            "no value echoed: {w}"
        );
        // The same value in both cases (as buildx sends a docker config's) is quiet.
        let same = BuildArgs::resolve(
            &Recipe::default(),
            &args(&[("NO_PROXY", ".corp"), ("no_proxy", ".corp")]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(same.proxy_warnings.is_empty(), "{:?}", same.proxy_warnings);
    }

    #[test]
    fn a_bad_proxy_value_is_refused_without_echoing_it() {
        let e = BuildArgs::resolve(
            &Recipe::default(),
            &args(&[("https_proxy", "http://user:secret@proxy\n:3128")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("https_proxy") && e.contains("one line"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn build_args_override_and_unused_are_reported() {
        let r = Recipe::default();
        let sha = "B".repeat(64);
        let a = BuildArgs::resolve(
            &r,
            &args(&[
                ("TAILSCALE_VERSION", "1.100.1"),
                ("BUSYBOX_VERSION", "1.37.0"),
                ("BUSYBOX_SHA256", &sha),
                ("OCI_VERSION", "v1.100.1-mt.1"),
                ("BUILDKIT_SYNTAX", "x"),
                ("TYPO_VERSION", "1"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.tailscale_version, "v1.100.1");
        assert_eq!(a.busybox_version, "1.37.0");
        assert_eq!(a.busybox_sha256, "b".repeat(64));
        assert_eq!(a.oci_version, "v1.100.1-mt.1");
        assert_eq!(a.unused, ["TYPO_VERSION"]);
    }
}
