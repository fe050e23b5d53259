//! A deadline on every request's headers, not only a connection's first.
//!
//! actix-web's `client_request_timeout` times the first request's headers on a connection and
//! no later one: once a request has been answered and the client sends a byte of the next, no
//! timer runs, so a client that sends one whole request and then dribbles the next one's
//! headers holds its connection forever. This wraps each connection's socket and times every
//! request head from its first byte to the blank line that ends it; a head that takes longer
//! than `http.header_timeout_secs` fails the connection's read, and actix closes it.
//!
//! The wrapper watches bytes, not requests: a head starts with the first byte read after the
//! server last wrote (or on a new connection) and ends at the first empty line (`\r\n\r\n` or
//! `\n\n`) after its first other byte; bodies are timed by the body deadline middleware. A
//! head that arrives in one read, as nearly all do, costs a scan of its bytes and no timer.
//! (A body sent after an interim `100 Continue` is taken for a head, so it gets the header
//! deadline, the shorter one.)

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Where the connection is in its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request (or answering one): no deadline.
    Idle,
    /// Reading a head that must end by `deadline`; `newline` says how much of an empty line
    /// the last bytes were (0: none, 1: `\n`, 2: `\n\r`, [`LEADING`]: only line breaks yet).
    Head { deadline: Instant, newline: u8 },
    /// The head has ended: the body, if any, is the middleware's.
    Body,
}

/// No byte but line breaks read yet in this head.
const LEADING: u8 = 3;

/// A socket whose request heads must each arrive within a deadline.
#[derive(Debug)]
pub struct HeadDeadline<T> {
    io: T,
    timeout: Duration,
    phase: Phase,
    /// Made only when a head does not arrive in one read, then reused.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> HeadDeadline<T> {
    pub fn new(io: T, timeout: Duration) -> Self {
        Self {
            io,
            timeout,
            phase: Phase::Idle,
            timer: None,
        }
    }

    /// Moves the phase on over bytes just read.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.phase == Phase::Idle {
            self.phase = Phase::Head {
                deadline: Instant::now() + self.timeout,
                newline: LEADING,
            };
        }
        let Phase::Head {
            deadline,
            mut newline,
        } = self.phase
        else {
            return;
        };
        for &b in bytes {
            newline = match (b, newline) {
                // Empty lines before the request line are no end of anything.
                (b'\r' | b'\n', LEADING) => LEADING,
                (b'\n', 1 | 2) => {
                    self.phase = Phase::Body;
                    return;
                }
                (b'\n', _) => 1,
                (b'\r', 1) => 2,
                _ => 0,
            };
        }
        self.phase = Phase::Head { deadline, newline };
    }

    /// Whether the current head has missed its deadline; registers the waker when not.
    fn head_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Phase::Head { deadline, .. } = self.phase else {
            return false;
        };
        if Instant::now() >= deadline {
            return true;
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "request headers did not arrive within http.header_timeout_secs",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.saw(&buf.filled()[before..]);
                if matches!(this.phase, Phase::Head { deadline, .. } if Instant::now() >= deadline)
                {
                    return Poll::Ready(Err(timed_out()));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.head_expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            // An answer: whatever the client sends next starts a new head.
            this.phase = Phase::Idle;
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.phase = Phase::Idle;
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase_after(chunks: &[&[u8]]) -> Phase {
        let mut guard = HeadDeadline::new((), Duration::from_secs(5));
        for chunk in chunks {
            guard.saw(chunk);
        }
        guard.phase
    }

    #[tokio::test]
    async fn a_head_ends_at_its_empty_line_however_the_bytes_are_split() {
        let head = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        for split in 0..head.len() {
            let (a, b) = head.split_at(split);
            assert_eq!(phase_after(&[a, b]), Phase::Body, "split at {split}");
        }
        assert_eq!(phase_after(&[b"GET /a HTTP/1.1\nHost: x\n\n"]), Phase::Body);
        assert!(matches!(
            phase_after(&[b"GET /a HTTP/1.1\r\nHost: x\r\n\r"]),
            Phase::Head { .. }
        ));
        assert!(matches!(
            phase_after(&[b"GET /a HTTP/1.1\r\nX: \r\r\n"]),
            Phase::Head { .. }
        ));
        assert!(matches!(
            phase_after(&[b"\r\n\r\n\n", b"GET /a HTTP/1.1\r\n"]),
            Phase::Head { .. }
        ));
        assert_eq!(phase_after(&[b""]), Phase::Idle);
    }
}
