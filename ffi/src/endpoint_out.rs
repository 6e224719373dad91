//! Where an endpoint's messages go, for C: into an `sv2_session` the caller passes (encrypted
//! frames once the handshake is done, or plaintext frames on a plaintext session), or, when it
//! passes NULL, into the endpoint's own buffer of plaintext frames, which the caller reads with
//! the endpoint's `_pending_output` and `_consume_output` functions.

use sv2::endpoint::Outbox;
use sv2::Message;

use crate::session::{sv2_frame, sv2_session};
use crate::sv2_result;

/// A session, or the endpoint's plaintext buffer.
pub(crate) enum Out<'a> {
    /// The caller's session.
    Session(&'a mut sv2::noise::Session),
    /// The endpoint's buffer.
    Buffer(&'a mut Vec<u8>),
}

impl<'a> Out<'a> {
    /// `session` when not NULL, else `buffer`.
    ///
    /// # Safety
    /// `session` is NULL or a valid session that nothing else uses during the call.
    pub(crate) unsafe fn new(session: *mut sv2_session, buffer: &'a mut Vec<u8>) -> Self {
        match session.as_mut() {
            Some(s) => Out::Session(&mut s.0),
            None => Out::Buffer(buffer),
        }
    }
}

impl Outbox for Out<'_> {
    type Error = sv2_result;
    fn push(&mut self, msg: &Message<'_>) -> Result<(), sv2_result> {
        match self {
            Out::Session(s) => s.send(msg, &[]).map_err(sv2_result::from),
            Out::Buffer(b) => Outbox::push(&mut **b, msg).map_err(sv2_result::from),
        }
    }
}

/// Drops the first `n` bytes of `buffer` (all of them when `n` is larger).
pub(crate) fn consume(buffer: &mut Vec<u8>, n: usize) {
    buffer.drain(..n.min(buffer.len()));
}

/// Decodes a frame handed in from C. Its fields are read one by one, so that a `channel_msg`
/// byte other than 0 or 1 is never read as a `bool` (the bit is not needed: the ids say it).
///
/// # Safety
/// `frame` points to an `sv2_frame` whose payload view is valid for `'a`.
pub(crate) unsafe fn frame_message<'a>(frame: *const sv2_frame) -> Result<Message<'a>, sv2_result> {
    if frame.is_null() {
        return Err(sv2_result::NullParameter);
    }
    let extension_type = std::ptr::addr_of!((*frame).extension_type).read();
    let msg_type = std::ptr::addr_of!((*frame).msg_type).read();
    let payload = std::ptr::addr_of!((*frame).payload).read();
    let payload = crate::boundary::bytes(payload.data, payload.len)?;
    let (m, _tlvs) = Message::decode(extension_type, msg_type, payload).map_err(sv2_result::from)?;
    Ok(m)
}
