//! mtts-frontend: a BuildKit frontend that builds the mikrotik-tailscale
//! image by emitting LLB directly.
//!
//! - [`llb`]: a generic, typed LLB graph layer (knows nothing of Tailscale).
//! - [`recipe`]: the mikrotik-tailscale graph, stage by stage (no gRPC).
//! - [`gateway`]: BuildKit's gateway protocol (knows nothing of the recipe).
//! - [`frontend`]: the recipe served through the gateway.
//! - [`offline`]: the same graph without a BuildKit, for the CLI.
//! - [`proto`]: the BuildKit wire types.

pub mod frontend;
pub mod gateway;
pub mod llb;
pub mod offline;
pub mod proto;
pub mod recipe;
pub mod spdx;
