//! The Mining client endpoint for C++: `sv2::endpoint::client::ClientEndpoint` with an output
//! of plaintext frames that C++ takes as bytes, as messages, or into a Session. The protocol
//! decisions are the core's; this module translates. The server endpoint is generic over its
//! prefix source, so the C++ API takes it from the C ABI (src/sv2.cpp): monomorphized in this
//! crate too, its code would be shared with the C ABI's and drag the C++ runtime into C
//! programs that link libsv2.a.

use sv2::channels::server::Share;
use sv2::codec::Str0_255;
use sv2::endpoint::client::{ClientConfig, ClientEndpoint, ClientError, Event as ClientEv};
use sv2::endpoint::server::ServerConfig;
use sv2::endpoint::Outbox;
use sv2::Message;

use crate::bridge::ffi::{ClientEvent, ClientOptions, ErrorCode, OptionU32, ServerOptions, Work};
use crate::error::{guard, Error};

fn client_error(e: ClientError) -> Error {
    let code = match &e {
        ClientError::SetupRefused { .. } => ErrorCode::SetupRefused,
        ClientError::Unexpected(_) | ClientError::UnknownRequest(_) => ErrorCode::UnexpectedMessage,
        ClientError::UnknownChannel(_) => ErrorCode::InvalidChannelId,
        ClientError::UnknownJob { .. } => ErrorCode::UnknownJob,
        ClientError::BadExtranonce { .. } => ErrorCode::ExtranonceLayout,
        ClientError::NotConnected => ErrorCode::NotSetUp,
        ClientError::ExtendedRequired => ErrorCode::ExtendedChannelsRequired,
        ClientError::TooManyOpening => ErrorCode::TooManyRequests,
        ClientError::Codec(c) => return (*c).into(),
        _ => ErrorCode::Internal,
    };
    Error::new(code, e.to_string())
}

fn utf8(b: &[u8], what: &str) -> Result<String, Error> {
    let b = Str0_255::new(b)?;
    std::str::from_utf8(b.as_bytes())
        .map(str::to_string)
        .map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{what} is not UTF-8")))
}

/// Appends `m` to an endpoint's output as a plaintext frame.
fn queue(out: &mut Vec<u8>, m: &Message<'_>) -> Result<(), Error> {
    Ok(Outbox::push(out, m)?)
}

fn decode<'a>(extension_type: u16, msg_type: u8, payload: &'a [u8]) -> Result<Message<'a>, Error> {
    Ok(Message::decode(extension_type, msg_type, payload)?.0)
}

/// The library's default server options.
pub(crate) fn server_options_default() -> ServerOptions {
    let c = ServerConfig::default();
    ServerOptions {
        version_rolling: c.version_rolling,
        extended_channels_only: c.extended_channels_only,
        max_channels: c.max_channels,
        shares_per_minute: c.shares_per_minute,
        vardiff_window_secs: c.vardiff_window_secs,
        default_hashrate: c.default_hashrate,
        min_difficulty: c.min_difficulty,
        max_invalid_shares_per_minute: c.max_invalid_shares_per_minute,
        max_shares_per_tip: c.max_shares_per_tip,
    }
}

/// One upstream connection, client side.
pub struct ClientEndpointImpl {
    endpoint: ClientEndpoint,
    out: Vec<u8>,
}

/// A client endpoint sending `options` in SetupConnection.
pub(crate) fn client_endpoint_new(options: &ClientOptions) -> Result<Box<ClientEndpointImpl>, Error> {
    guard(|| {
        let o = options;
        let config = ClientConfig {
            requires_standard_jobs: o.requires_standard_jobs,
            requires_version_rolling: o.requires_version_rolling,
            endpoint_host: utf8(&o.endpoint_host, "endpoint_host")?,
            endpoint_port: o.endpoint_port,
            vendor: utf8(&o.vendor, "vendor")?,
            hardware_version: utf8(&o.hardware_version, "hardware_version")?,
            firmware: utf8(&o.firmware, "firmware")?,
            device_id: utf8(&o.device_id, "device_id")?,
        };
        Ok(Box::new(ClientEndpointImpl { endpoint: ClientEndpoint::new(config), out: Vec::new() }))
    })
}

fn option(v: Option<u32>) -> OptionU32 {
    OptionU32 { has_value: v.is_some(), value: v.unwrap_or(0) }
}

fn client_event(ev: ClientEv) -> ClientEvent {
    let f = ev.flat();
    ClientEvent {
        // The values of sv2::ClientEvent::Kind are the core's.
        kind: f.kind as u8,
        flags: f.flags,
        channel_id: f.channel_id,
        request_id: f.request_id,
        group_channel_id: f.group_channel_id,
        sequence_number: f.sequence_number,
        job_id: f.job_id,
        min_ntime: option(f.min_ntime),
        extranonce_size: f.extranonce_size,
        port: f.port,
        target: f.target,
        has_tag: f.tag.is_some(),
        tag: f.tag.unwrap_or(0),
        text: f.text.to_vec(),
        extranonce_prefix: f.extranonce_prefix.to_vec(),
        extensions: f.extensions.to_vec(),
        required_extensions: f.required_extensions.to_vec(),
    }
}

impl ClientEndpointImpl {
    fn push(&mut self, m: &Message<'_>) -> Result<(), Error> {
        queue(&mut self.out, m)
    }

    pub(crate) fn setup_connection(&mut self) -> Result<(), Error> {
        guard(|| {
            let m: Message<'_> = self.endpoint.setup_connection().into();
            queue(&mut self.out, &m)
        })
    }

    pub(crate) fn open_standard(
        &mut self,
        user_identity: &[u8],
        nominal_hash_rate: f32,
        max_target: &[u8; 32],
    ) -> Result<u32, Error> {
        guard(|| {
            let user = utf8(user_identity, "the user identity")?;
            let m = self.endpoint.open_standard(&user, nominal_hash_rate, *max_target).map_err(client_error)?;
            let id = m.request_id;
            self.push(&m.into())?;
            Ok(id)
        })
    }

    pub(crate) fn open_extended(
        &mut self,
        user_identity: &[u8],
        nominal_hash_rate: f32,
        max_target: &[u8; 32],
        min_extranonce_size: u16,
    ) -> Result<u32, Error> {
        guard(|| {
            let user = utf8(user_identity, "the user identity")?;
            let m = self
                .endpoint
                .open_extended(&user, nominal_hash_rate, *max_target, min_extranonce_size)
                .map_err(client_error)?;
            let id = m.request_id;
            self.push(&m.into())?;
            Ok(id)
        })
    }

    pub(crate) fn update_channel(
        &mut self,
        channel_id: u32,
        nominal_hash_rate: f32,
        max_target: &[u8; 32],
    ) -> Result<(), Error> {
        guard(|| {
            let m = self.endpoint.update_channel(channel_id, nominal_hash_rate, *max_target).map_err(client_error)?;
            self.push(&m.into())
        })
    }

    pub(crate) fn close_channel(&mut self, channel_id: u32, reason: &[u8]) -> Result<(), Error> {
        guard(|| {
            let reason = utf8(reason, "the reason")?;
            let m: Message<'_> = self.endpoint.close_channel(channel_id, &reason).map_err(client_error)?.into();
            queue(&mut self.out, &m)
        })
    }

    pub(crate) fn request_extensions(&mut self, extensions: &[u16]) -> Result<(), Error> {
        guard(|| {
            let m: Message<'_> = self.endpoint.request_extensions(extensions).map_err(client_error)?.into();
            queue(&mut self.out, &m)
        })
    }

    pub(crate) fn submit(
        &mut self,
        channel_id: u32,
        work: &Work,
        nonce: u32,
        ntime: u32,
        version: u32,
        tag: u64,
    ) -> Result<u32, Error> {
        guard(|| {
            let share = Share { job_id: work.job_id, nonce, ntime, version, extranonce: &work.extranonce };
            let m = self.endpoint.submit(channel_id, &share, tag).map_err(client_error)?;
            let seq = match &m {
                Message::SubmitSharesStandard(s) => s.sequence_number,
                Message::SubmitSharesExtended(s) => s.sequence_number,
                other => return Err(Error::new(ErrorCode::Internal, format!("submit made a {}", other.name()))),
            };
            self.push(&m)?;
            Ok(seq)
        })
    }

    pub(crate) fn on_payload(
        &mut self,
        extension_type: u16,
        msg_type: u8,
        payload: &[u8],
    ) -> Result<Vec<ClientEvent>, Error> {
        guard(|| {
            let m = decode(extension_type, msg_type, payload)?;
            Ok(self.endpoint.on_message(&m).map_err(client_error)?.into_iter().map(client_event).collect())
        })
    }

    /// The work on an open channel into `out`; false until a job is active.
    pub(crate) fn work(&self, channel_id: u32, extranonce: &[u8], out: &mut Work) -> Result<bool, Error> {
        guard(|| {
            let ch = self
                .endpoint
                .channels()
                .get(channel_id)
                .ok_or_else(|| client_error(ClientError::UnknownChannel(channel_id)))?;
            crate::channel::work_on(ch, extranonce, out)
        })
    }

    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}
