//! The request body as the guard sees it: gRPC frames (a flag byte, a 4-byte big-endian
//! length, the message), each checked as soon as it is whole and passed on unchanged. A failed
//! check ends the body with the answer as its error, which tonic returns as the call's status.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use bytes::{Buf as _, Bytes, BytesMut};
use http_body::{Body, Frame};

use super::{Rule, Rules, too_large, verdict};
use crate::error::{ApiError, ErrorCode};

const HEADER: usize = 5;

pub(super) struct GuardedBody {
    inner: tonic::body::Body,
    rules: Arc<Rules>,
    rule: Arc<Rule>,
    buffer: BytesMut,
    inner_done: bool,
    failed: bool,
}

impl GuardedBody {
    pub(super) fn new(inner: tonic::body::Body, rules: Arc<Rules>, rule: Arc<Rule>) -> Self {
        Self { inner, rules, rule, buffer: BytesMut::new(), inner_done: false, failed: false }
    }

    /// The next whole frame of the buffer, checked; `None` until one is whole.
    fn next_frame(&mut self) -> Result<Option<Bytes>, ApiError> {
        let Some(header) = self.buffer.get(..HEADER) else { return Ok(None) };
        let compressed = header[0] != 0;
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > self.rule.max_bytes {
            return Err(too_large(&self.rule, len));
        }
        if self.buffer.len() < HEADER + len {
            self.buffer.reserve(HEADER + len - self.buffer.len());
            return Ok(None);
        }
        let frame = self.buffer.split_to(HEADER + len).freeze();
        // Medley accepts no compressed requests; tonic refuses those frames itself.
        if let Some(input) = self.rule.input.as_deref().filter(|_| self.rule.check_content && !compressed) {
            verdict(&self.rules.schema, input, &frame[HEADER..], "")?;
        }
        Ok(Some(frame))
    }

    fn fail(&mut self, error: ApiError) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        self.failed = true;
        self.buffer.clear();
        Poll::Ready(Some(Err(error.into())))
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        loop {
            match this.next_frame() {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(Frame::data(frame)))),
                Ok(None) => {}
                Err(error) => return this.fail(error),
            }
            if this.inner_done {
                if this.buffer.has_remaining() {
                    let error = ApiError::new(ErrorCode::InvalidArgument, "the request ended inside a message");
                    return this.fail(error);
                }
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.buffer.extend_from_slice(&data),
                    // Trailers pass as they are.
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Some(Err(status)) => return Poll::Ready(Some(Err(status))),
                None => this.inner_done = true,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.inner_done && self.buffer.is_empty())
    }
}
