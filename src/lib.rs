//! mtts-frontend: a BuildKit frontend that builds the mikrotik-tailscale
//! image by emitting LLB directly.
//!
//! - [`llb`]: a generic, typed LLB graph layer (knows nothing of Tailscale).
//! - [`proto`]: the BuildKit wire types it marshals into.

pub mod cli;
pub mod gateway;
pub mod llb;
pub mod offline;
pub mod proto;
pub mod recipe;
