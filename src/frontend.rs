//! Where the protocol meets the recipe: the mikrotik-tailscale build served
//! through the gateway. The gateway knows nothing of the recipe's inputs;
//! the recipe knows nothing of gRPC; this file maps one onto the other.

use crate::gateway::contexts::NamedContext;
use crate::gateway::result::TargetInfo;
use crate::gateway::{self, Built, Client, GatewayError};
use crate::llb::Cap;
use crate::recipe::{
    self, BuildRequest, DaemonSupport, Inputs, Named, Recipe, RequestOptions, SourceError, Target,
    image,
};

/// The mikrotik-tailscale frontend.
pub struct MikrotikTailscale;

/// The frontend's own failures, as the user sees them.
fn frontend_error(e: impl std::error::Error + Send + Sync + 'static) -> GatewayError {
    GatewayError::Frontend(Box::new(e))
}

fn source_error(what: String) -> impl FnOnce(GatewayError) -> SourceError {
    move |e| SourceError::Input {
        what,
        source: Box::new(e),
    }
}

impl Inputs for Client {
    fn build_context(&self, paths: &[&str]) -> Result<crate::llb::State, SourceError> {
        self.main_context(paths)
            .map_err(source_error("the build context".into()))
    }

    fn named_context(&self, name: &str) -> Result<Option<Named>, SourceError> {
        let named = Client::named_context(self, name)
            .map_err(source_error(format!("named context {name}")))?;
        Ok(named.map(|n| match n {
            NamedContext::Image(r) => Named::Image(r),
            NamedContext::State(s) => Named::Tree(s),
        }))
    }
}

impl gateway::Frontend for MikrotikTailscale {
    async fn build(&self, client: &Client) -> Result<Vec<Built>, GatewayError> {
        let options = client.options();
        let text = client.read_entrypoint().await?;
        let recipe = Recipe::parse(&text, &options.filename).map_err(frontend_error)?;
        let caps = client.caps();
        let (req, warnings) = BuildRequest::new(RequestOptions {
            recipe,
            platforms: options.platforms.clone(),
            build_args: options.build_args.clone(),
            labels: options.labels.clone(),
            target: options.target.clone(),
            build_platform: client.build_platform(),
            network: options.network,
            no_cache: options.no_cache,
            resolve_mode: options.resolve_mode,
            daemon: DaemonSupport {
                merge_op: caps.has_llb(Cap::MergeOp),
                file_symlink: caps.has_llb(Cap::FileSymlinkCreate),
            },
        })
        .map_err(frontend_error)?;
        for w in warnings {
            client.warn(w);
        }
        build(&req, client).await
    }

    fn targets(&self) -> Vec<TargetInfo> {
        Target::ALL
            .iter()
            .map(|t| TargetInfo {
                name: t.name(),
                default: *t == Target::default(),
                description: t.description(),
            })
            .collect()
    }
}

async fn build(req: &BuildRequest, client: &Client) -> Result<Vec<Built>, GatewayError> {
    let results = recipe::build(req, client).await.map_err(frontend_error)?;
    results
        .into_iter()
        .map(|r| {
            let image_config = match &r.image_config {
                Some(cfg) => {
                    Some(
                        image::config_json(cfg).map_err(|source| GatewayError::Encode {
                            what: "the image config",
                            source,
                        })?,
                    )
                }
                None => None,
            };
            Ok(Built {
                platform: r.platform,
                state: r.state,
                image_config,
            })
        })
        .collect()
}
