//! The gRPC connection to BuildKit: HTTP/2 over this process's stdin and
//! stdout, with the frontend as the client.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::proto::gateway::llb_bridge_client::LlbBridgeClient;

type Reader = Pin<Box<dyn AsyncRead + Send>>;
type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// stdin and stdout as one duplex byte stream. BuildKit connects them to
/// pipes, which are read and written without blocking; anything else (a
/// file, a socket in a test) goes through tokio's file wrapper. Neither
/// path adds a buffer of its own, so every HTTP/2 frame leaves when hyper
/// flushes it (std's line-buffered stdout would hold it back).
pub struct Stdio {
    reader: Reader,
    writer: Writer,
}

impl Stdio {
    fn new() -> io::Result<Self> {
        let input = io::stdin().as_fd().try_clone_to_owned()?;
        let output = io::stdout().as_fd().try_clone_to_owned()?;
        Ok(Stdio {
            reader: reader(input)?,
            writer: writer(output)?,
        })
    }
}

fn is_fifo(fd: &OwnedFd) -> io::Result<bool> {
    use std::os::unix::fs::FileTypeExt;
    let file = std::fs::File::from(fd.try_clone()?);
    Ok(file.metadata()?.file_type().is_fifo())
}

fn reader(fd: OwnedFd) -> io::Result<Reader> {
    if is_fifo(&fd)? {
        return Ok(Box::pin(pipe::Receiver::from_owned_fd(fd)?));
    }
    Ok(Box::pin(tokio::fs::File::from_std(std::fs::File::from(fd))))
}

fn writer(fd: OwnedFd) -> io::Result<Writer> {
    if is_fifo(&fd)? {
        return Ok(Box::pin(pipe::Sender::from_owned_fd(fd)?));
    }
    Ok(Box::pin(tokio::fs::File::from_std(std::fs::File::from(fd))))
}

impl AsyncRead for Stdio {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.reader.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for Stdio {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writer.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer.as_mut().poll_shutdown(cx)
    }
}

/// Messages can be large (definitions, files read back): allow 64 MiB.
const MAX_MESSAGE: usize = 64 << 20;

/// Connects to the `LLBBridge` service over stdio. The pipes can only be
/// used once, so a reconnect attempt fails instead of hanging.
pub async fn connect() -> Result<LlbBridgeClient<Channel>, tonic::transport::Error> {
    let pipes = Arc::new(Mutex::new(Some(Stdio::new())));
    // The authority is what BuildKit's own Go client uses; the address is
    // never dialled.
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let pipes = Arc::clone(&pipes);
            async move {
                let taken = pipes.lock().map(|mut p| p.take()).unwrap_or(None);
                match taken {
                    Some(stdio) => stdio.map(TokioIo::new),
                    None => Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the connection to BuildKit over stdin/stdout was lost",
                    )),
                }
            }
        }))
        .await?;
    Ok(LlbBridgeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}
