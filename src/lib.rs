//! mtts-frontend: a BuildKit frontend that builds the mikrotik-tailscale
//! image by emitting LLB directly.
//!
//! - [`llb`]: a generic, typed LLB graph layer (knows nothing of Tailscale).
//! - [`proto`]: the BuildKit wire types it marshals into.

pub mod cli;
pub mod llb;
pub mod proto;
