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
    /// Bytes read past the end of the last head, before its answer: that request's body, or
    /// the next request's head sent ahead of the answer (pipelining), which actix holds in
    /// its buffer and never reads again. `Some(newline)` when there were any, with where they
    /// stand in a head's ending; a head they leave unfinished is timed from the answer.
    past_head: Option<u8>,
}

impl<T> HeadDeadline<T> {
    pub fn new(io: T, timeout: Duration) -> Self {
        Self {
            io,
            timeout,
            phase: Phase::Idle,
            timer: None,
            past_head: None,
        }
    }

    /// Moves the phase on over bytes just read.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (deadline, newline) = match self.phase {
            Phase::Body => {
                self.past_head = Some(scan(self.past_head.unwrap_or(LEADING), bytes));
                return;
            }
            Phase::Idle => (Instant::now() + self.timeout, LEADING),
            Phase::Head { deadline, newline } => (deadline, newline),
        };
        match head_end(newline, bytes) {
            Ok(newline) => self.phase = Phase::Head { deadline, newline },
            Err(rest) => {
                self.phase = Phase::Body;
                if !rest.is_empty() {
                    self.past_head = Some(scan(LEADING, rest));
                }
            }
        }
    }

    /// An answer is being written: whatever the client sends next starts a new head, and a
    /// head it sent ahead and has not finished is timed from now.
    fn answered(&mut self, cx: &mut Context<'_>) {
        match self.past_head.take() {
            Some(newline) if newline != LEADING => {
                self.phase = Phase::Head {
                    deadline: Instant::now() + self.timeout,
                    newline,
                };
                // actix read those bytes already and will not read again until more come, so
                // the timer wakes the connection's task; its next read finds the head expired.
                let _ = self.head_expired(cx);
            }
            _ if self.phase == Phase::Body => self.phase = Phase::Idle,
            // A head being timed stays timed while an answer (or the rest of one) is written.
            _ => {}
        }
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

/// Reads `bytes` as part of a head whose ending stands at `newline`: `Ok` with where the
/// ending stands after them, or `Err` with the bytes after the empty line that ends the head.
fn head_end(mut newline: u8, bytes: &[u8]) -> Result<u8, &[u8]> {
    for (i, &b) in bytes.iter().enumerate() {
        newline = match (b, newline) {
            // Empty lines before the request line are no end of anything.
            (b'\r' | b'\n', LEADING) => LEADING,
            (b'\n', 1 | 2) => return Err(&bytes[i + 1..]),
            (b'\n', _) => 1,
            (b'\r', 1) => 2,
            _ => 0,
        };
    }
    Ok(newline)
}

/// Where a run of heads read ahead stands after `bytes`: [`LEADING`] when the last of them
/// ended (or none began).
///
/// These bytes are mostly request bodies, so they are not walked byte by byte: after the first
/// two (which may finish an empty line begun in the last read), only what follows the last
/// empty line matters, and of that only whether it has begun a head and how it ends.
fn scan(newline: u8, bytes: &[u8]) -> u8 {
    let (first, rest) = bytes.split_at(bytes.len().min(2));
    let mut newline = scan_each(newline, first);
    // The last line break that ends an empty line (bodies rarely hold line breaks at all,
    // and memrchr finds there are none at memory speed).
    let last_blank = memchr::memrchr_iter(b'\n', rest)
        .find(|&at| matches!(rest[..at], [.., b'\n'] | [.., b'\n', b'\r']))
        .map(|at| at + 1);
    let tail = match last_blank {
        Some(after) => {
            newline = LEADING;
            &rest[after..]
        }
        None => rest,
    };
    if tail.iter().all(|b| matches!(b, b'\r' | b'\n')) {
        // Line breaks only: too few to matter, whatever they continue.
        return scan_each(newline, tail);
    }
    match tail {
        [.., b'\n', b'\r'] => 2,
        [.., b'\n'] => 1,
        _ => 0,
    }
}

/// [`scan`] the slow way, byte by byte.
fn scan_each(mut newline: u8, mut bytes: &[u8]) -> u8 {
    loop {
        match head_end(newline, bytes) {
            Ok(after) => return after,
            Err(rest) => {
                newline = LEADING;
                bytes = rest;
            }
        }
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
            this.answered(cx);
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
            this.answered(cx);
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

    #[test]
    fn the_quick_scan_of_bytes_past_a_head_agrees_with_the_byte_by_byte_one() {
        let pieces: [&[u8]; 8] = [
            b"\r",
            b"\n",
            b"GET / HTTP/1.1",
            b"X: y",
            b"\r\n",
            b"\n",
            b"{}",
            b"",
        ];
        // Every sequence of up to four pieces, from every starting state.
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = inputs
                .iter()
                .flat_map(|i| pieces.iter().map(move |p| [i.as_slice(), p].concat()))
                .collect();
            inputs.extend(longer);
        }
        for start in [0, 1, 2, LEADING] {
            for input in &inputs {
                assert_eq!(
                    scan(start, input),
                    scan_each(start, input),
                    "{start} {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[tokio::test]
    async fn a_head_sent_ahead_of_the_answer_is_timed_from_the_answer() {
        let waker = futures_util::task::noop_waker();
        let cx = &mut Context::from_waker(&waker);
        let mut guard = HeadDeadline::new((), Duration::from_secs(5));
        guard.saw(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nX-Slow: ");
        assert_eq!(guard.phase, Phase::Body);
        guard.answered(cx);
        assert!(matches!(guard.phase, Phase::Head { newline: 0, .. }));
        guard.answered(cx);
        assert!(
            matches!(guard.phase, Phase::Head { .. }),
            "the rest of an answer"
        );
        guard.saw(b"1\r\n\r\n");
        assert_eq!(guard.phase, Phase::Body);
        guard.answered(cx);
        assert_eq!(guard.phase, Phase::Idle);

        let mut whole = HeadDeadline::new((), Duration::from_secs(5));
        whole.saw(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
        whole.answered(cx);
        assert_eq!(
            whole.phase,
            Phase::Idle,
            "a whole head sent ahead needs no timer"
        );
    }
}
