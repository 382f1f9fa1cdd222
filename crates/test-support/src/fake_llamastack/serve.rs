//! Connections the fake can reset as LlamaStack 0.7.3 and OGX do after
//! answering 502 for an unreachable MCP server: the next request on that
//! kept-alive connection is met with a TCP reset.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A listener whose connections can be marked for reset.
pub(crate) struct ResettingListener(pub(crate) TcpListener);

impl Listener for ResettingListener {
    type Io = ResettingStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let stream = ResettingStream {
            inner: stream,
            reset_next: Arc::new(AtomicBool::new(false)),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection that, once marked, resets when the next request arrives.
pub(crate) struct ResettingStream {
    inner: TcpStream,
    reset_next: Arc<AtomicBool>,
}

impl AsyncRead for ResettingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read_something = matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before;
        if read_something && self.reset_next.load(Ordering::SeqCst) {
            // Closed with linger 0 when dropped: the peer gets RST.
            let _ = self.inner.set_zero_linger();
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        polled
    }
}

impl AsyncWrite for ResettingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A handler's hold on its connection (axum `ConnectInfo`).
#[derive(Clone, Debug)]
pub(crate) struct Connection(Arc<AtomicBool>);

impl Connection {
    /// The next request on this connection is met with a reset.
    pub(crate) fn reset_next_request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, ResettingListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, ResettingListener>) -> Self {
        Connection(Arc::clone(&stream.io().reset_next))
    }
}
