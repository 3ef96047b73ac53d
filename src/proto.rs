//! Generated BuildKit wire types. The module tree mirrors the protobuf
//! packages because generated code refers across packages by relative path.
#![allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]

/// LLB: ops, definitions and their metadata (`solver/pb`).
pub mod pb {
    tonic::include_proto!("pb");
}

pub mod fsutil {
    pub mod types {
        tonic::include_proto!("fsutil.types");
    }
}

/// Typed error details (`solver/errdefs`).
pub mod errdefs {
    tonic::include_proto!("errdefs");
}

pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

pub mod moby {
    pub mod buildkit {
        pub mod v1 {
            /// The gateway API a frontend speaks (`LLBBridge`).
            pub mod frontend {
                tonic::include_proto!("moby.buildkit.v1.frontend");
            }
            pub mod apicaps {
                tonic::include_proto!("moby.buildkit.v1.apicaps");
            }
            pub mod types {
                tonic::include_proto!("moby.buildkit.v1.types");
            }
            pub mod sourcepolicy {
                tonic::include_proto!("moby.buildkit.v1.sourcepolicy");
            }
        }
    }
}

pub use moby::buildkit::v1::frontend as gateway;
