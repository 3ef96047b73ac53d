//! The command line: a gateway frontend by default, plus offline commands
//! that print the graph.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use mtts_frontend::recipe::{BUILD_ARGS, INPUT_NAMES, SUPPORTED_PLATFORMS, Target};

/// Builds the mikrotik-tailscale image as a BuildKit frontend.
///
/// Started by BuildKit (through `# syntax=` in a Dockerfile) with no
/// subcommand, it speaks BuildKit's gateway protocol on stdin/stdout. The
/// subcommands print the same build graph without a BuildKit.
#[derive(Debug, Parser)]
#[command(name = "mtts-frontend", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the marshalled LLB definition (pb.Definition) to stdout, e.g.
    /// for `buildctl build --local context=. < def.pb` (with `--local NAME`,
    /// add `--local NAME=DIR` there).
    Llb(GraphArgs),
    /// Print what the recipe says, as JSON, after the stub is laid over the
    /// built-in recipe and the build arguments over both: the values a
    /// build with the same flags would use (versions, checksums, URLs,
    /// pins, features), and the names the frontend knows (platforms,
    /// targets, inputs). For scripts: read a pin here, never from the file.
    Recipe(GraphArgs),
    /// Print the build graph for people: one line per vertex with its
    /// digest, kind, platform and description.
    Graph {
        #[command(flatten)]
        args: GraphArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// What to build: the same inputs `docker buildx build` would pass.
#[derive(Debug, Clone, clap::Args)]
pub struct GraphArgs {
    // The lists in these help texts come from the recipe's own names.
    #[arg(long = "platform", value_name = "PLATFORM", help = format!(
        "Target platform (repeatable): {}. Defaults to the platform this program runs on",
        SUPPORTED_PLATFORMS.join(", ")
    ))]
    pub platforms: Vec<String>,
    #[arg(long = "build-arg", value_name = "KEY=VALUE", help = format!(
        "Build argument KEY=VALUE (repeatable): {}",
        BUILD_ARGS.map(|(name, _)| name).join(", ")
    ))]
    pub build_args: Vec<String>,
    /// Image label KEY=VALUE (repeatable), like `docker buildx build --label`.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[arg(long, help = format!(
        "What to build: {} (the first is the default)",
        Target::names().join(", ")
    ))]
    pub target: Option<String>,
    /// The stub Dockerfile holding the TOML recipe (default: built-in recipe).
    #[arg(long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// The platform the build runs on (default: this machine's).
    #[arg(long, value_name = "PLATFORM")]
    pub build_platform: Option<String>,
    #[arg(long = "local", value_name = "NAME", help = format!(
        "Take input NAME (repeatable): {}, from the directory buildctl is given as \
         `--local NAME=DIR` instead of the recipe's image or source. A directory in place \
         of an image runs with that image's published environment (PATH, GOPATH, workdir): \
         for golang, a golang image's root filesystem",
        INPUT_NAMES.join(", ")
    ))]
    pub locals: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, one vertex per line.
    Text,
    /// A JSON array of vertices.
    Json,
}

impl From<GraphArgs> for mtts_frontend::offline::Options {
    fn from(a: GraphArgs) -> Self {
        mtts_frontend::offline::Options {
            platforms: a.platforms,
            build_args: a.build_args,
            labels: a.labels,
            target: a.target,
            recipe: a.recipe,
            build_platform: a.build_platform,
            locals: a.locals,
        }
    }
}
