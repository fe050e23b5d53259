//! A deadline on every request body (`http.body_timeout_secs`).
//!
//! actix-web times out a request's headers (`client_request_timeout`) but not its body, so a
//! client that sends a `Content-Length` and then one byte every few seconds holds its
//! connection, and a file descriptor, for as long as it likes. A few hundred such clients
//! exhaust the descriptors and take redirects down with them. This middleware wraps every
//! request's payload in a stream that fails once the deadline has passed since the headers
//! arrived, whatever route reads it (admin JSON bodies, webhooks), and answers such a request
//! 408 with the JSON error body, closing the connection.
//!
//! Requests without a body (every redirect) pass through untouched: no allocation, no timer.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::Stream;
use tokio::time::Sleep;

use crate::error::ApiError;

/// The middleware's settings; [`BodyDeadline::apply`] is the function for `App::wrap_fn`.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline {
    timeout: Duration,
}

impl BodyDeadline {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    /// Wraps the request's payload, if it has one, calls `service`, and turns the answer into
    /// a 408 if the body missed its deadline.
    pub fn apply<S, B>(
        self,
        mut req: ServiceRequest,
        service: &S,
    ) -> impl Future<Output = Result<ServiceResponse<EitherBody<B>>, Error>> + use<S, B>
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
        B: MessageBody,
    {
        let expired = match req.take_payload() {
            Payload::None => None,
            payload => {
                let expired = Rc::new(Cell::new(false));
                let stream = DeadlineStream {
                    inner: payload,
                    deadline: Box::pin(tokio::time::sleep(self.timeout)),
                    expired: Rc::clone(&expired),
                    finished: false,
                };
                req.set_payload(Payload::Stream {
                    payload: Box::pin(stream),
                });
                Some(expired)
            }
        };
        let response = service.call(req);
        let timeout = self.timeout;
        async move {
            let response = response.await?;
            if expired.is_some_and(|e| e.get()) {
                let (req, _) = response.into_parts();
                let mut answer = ApiError::client(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the request body did not arrive within {} s (http.body_timeout_secs); \
                         send the whole body at once",
                        timeout.as_secs()
                    ),
                )
                .error_response();
                // The rest of the body is still on the wire: the connection cannot be reused.
                answer
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
                return Ok(ServiceResponse::new(req, answer).map_into_right_body());
            }
            Ok(response.map_into_left_body())
        }
    }
}

/// A payload that fails with `TimedOut` once its deadline has passed, and keeps failing: a
/// reader must never take a cut-off body for a whole one.
struct DeadlineStream {
    inner: Payload,
    deadline: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
    /// The whole body arrived in time: the deadline no longer applies.
    finished: bool,
}

impl Stream for DeadlineStream {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        // The deadline first: a client that keeps a byte ready for every read still has to
        // finish in time.
        if this.expired.get() || this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.set(true);
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body deadline passed",
            )))));
        }
        let next = Pin::new(&mut this.inner).poll_next(cx);
        this.finished = matches!(next, Poll::Ready(None));
        next
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    const DEADLINE: Duration = Duration::from_millis(50);

    fn deadline_stream(
        chunks: Vec<Result<Bytes, PayloadError>>,
        then_stall: bool,
    ) -> DeadlineStream {
        let head = futures_util::stream::iter(chunks);
        let inner: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = if then_stall {
            Box::pin(head.chain(futures_util::stream::pending()))
        } else {
            Box::pin(head)
        };
        DeadlineStream {
            inner: Payload::Stream { payload: inner },
            deadline: Box::pin(tokio::time::sleep(DEADLINE)),
            expired: Rc::new(Cell::new(false)),
            finished: false,
        }
    }

    #[tokio::test]
    async fn a_body_in_time_passes_whole_and_stays_ended() {
        let mut body = deadline_stream(vec![Ok(Bytes::from_static(b"{}"))], false);
        assert_eq!(body.next().await.unwrap().unwrap(), "{}");
        assert!(body.next().await.is_none());
        // Past the deadline on purpose: what ended in time stays ended.
        tokio::time::sleep(DEADLINE * 2).await;
        assert!(body.next().await.is_none(), "ended bodies never time out");
        assert!(!body.expired.get());
    }

    #[tokio::test]
    async fn a_stalled_body_fails_at_the_deadline_and_keeps_failing() {
        let mut body = deadline_stream(vec![Ok(Bytes::from_static(b"{"))], true);
        assert!(body.next().await.unwrap().is_ok());
        let next = tokio::time::timeout(DEADLINE * 40, body.next()).await;
        assert!(matches!(next, Ok(Some(Err(PayloadError::Io(_))))));
        assert!(body.expired.get());
        assert!(
            matches!(body.next().await, Some(Err(PayloadError::Io(_)))),
            "never a cut-off body taken for a whole one"
        );
    }
}
