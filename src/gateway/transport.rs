//! The gRPC connection to BuildKit: HTTP/2 over this process's stdin and
//! stdout, with the frontend as the client.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, Stdin, Stdout};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::proto::gateway::llb_bridge_client::LlbBridgeClient;

/// stdin and stdout as one duplex byte stream.
pub struct Stdio {
    stdin: Stdin,
    stdout: Stdout,
}

impl AsyncRead for Stdio {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stdio {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdout).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_shutdown(cx)
    }
}

/// Messages can be large (definitions, files read back): allow 64 MiB.
const MAX_MESSAGE: usize = 64 << 20;

/// Connects to the `LLBBridge` service over stdio. The pipes can only be
/// used once, so a reconnect attempt fails instead of hanging.
pub async fn connect() -> Result<LlbBridgeClient<Channel>, tonic::transport::Error> {
    let pipes = Arc::new(Mutex::new(Some(Stdio {
        stdin: tokio::io::stdin(),
        stdout: tokio::io::stdout(),
    })));
    // The authority is what BuildKit's own Go client uses; the address is
    // never dialled.
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let pipes = Arc::clone(&pipes);
            async move {
                let taken = pipes.lock().map(|mut p| p.take()).unwrap_or(None);
                taken.map(TokioIo::new).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the connection to BuildKit over stdin/stdout was lost",
                    )
                })
            }
        }))
        .await?;
    Ok(LlbBridgeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}
