//! Every Stratum V2 message as a typed struct, and [`Message`], the one dispatch from
//! `(extension_type, msg_type)` to a typed message.
//!
//! Field names and order follow the spec's tables (shared/spec/03-messages.md). Byte-string
//! and sequence fields borrow from the decoded payload.

/// Defines a message struct and its wire encoding; fields are encoded in declaration order.
macro_rules! sv2_struct {
    ($(#[$m:meta])* $name:ident $(<$lt:lifetime>)? { $( $(#[$fm:meta])* $field:ident : $fty:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name $(<$lt>)? { $( $(#[$fm])* pub $field: $fty, )* }

        impl $(<$lt>)? $crate::codec::Encode for $name $(<$lt>)? {
            fn encoded_len(&self) -> usize {
                0 $( + $crate::codec::Encode::encoded_len(&self.$field) )*
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut $crate::codec::Writer<'_>) {
                $( $crate::codec::Encode::write(&self.$field, w); )*
            }
        }

        impl<'a> $crate::codec::Decode<'a> for $name $(<$lt>)? {
            #[allow(unused_variables)]
            fn read(r: &mut $crate::codec::Reader<'a>) -> Result<Self, $crate::codec::CodecError> {
                Ok($name { $( $field: $crate::codec::Decode::read(r)?, )* })
            }
        }
    };
}

pub mod common;
pub mod extensions;
pub mod job_declaration;
pub mod mining;
pub mod template_distribution;

pub use common::*;
pub use extensions::*;
pub use job_declaration::*;
pub use mining::*;
pub use template_distribution::*;

use crate::codec::{CodecError, Decode, Encode, Reader, TlvList, Writer, CHANNEL_MSG_BIT};

/// The sub-protocol (or extension) a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Messages valid on every connection (SetupConnection and friends).
    Common,
    /// Mining Protocol (`SetupConnection.protocol` = 0).
    Mining,
    /// Job Declaration Protocol (1).
    JobDeclaration,
    /// Template Distribution Protocol (2).
    TemplateDistribution,
    /// Messages defined by an extension (the extension id).
    Extension(u16),
}

impl Protocol {
    /// The `SetupConnection.protocol` value of a sub-protocol.
    pub fn setup_value(self) -> Option<u8> {
        match self {
            Protocol::Mining => Some(0),
            Protocol::JobDeclaration => Some(1),
            Protocol::TemplateDistribution => Some(2),
            _ => None,
        }
    }

    /// The sub-protocol a `SetupConnection.protocol` value names (3, the removed Job
    /// Distribution Protocol, and above are unknown).
    pub fn from_setup_value(v: u8) -> Option<Self> {
        match v {
            0 => Some(Protocol::Mining),
            1 => Some(Protocol::JobDeclaration),
            2 => Some(Protocol::TemplateDistribution),
            _ => None,
        }
    }
}

macro_rules! message_table {
    ($( ($ext:literal, $ty:literal, $ch:literal, $proto:expr) $name:ident $(<$lt:lifetime>)? ),* $(,)?) => {
        /// Any Stratum V2 message.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[allow(missing_docs)]
        pub enum Message<'a> {
            $( $name($name $(<$lt>)?), )*
        }

        $(
            impl<'a> From<$name $(<$lt>)?> for Message<'a> {
                fn from(m: $name $(<$lt>)?) -> Self { Message::$name(m) }
            }
        )*

        impl<'a> Message<'a> {
            /// Decodes a payload by `(extension_type, msg_type)`. The channel_msg bit is
            /// ignored: older peers set it differently for some messages, and the ids alone
            /// are unambiguous. Bytes after the last field must be whole TLV records.
            pub fn decode(extension_type: u16, msg_type: u8, payload: &'a [u8])
                -> Result<(Self, TlvList<'a>), CodecError>
            {
                let mut r = Reader::new(payload);
                let msg = match (extension_type & !CHANNEL_MSG_BIT, msg_type) {
                    $( ($ext, $ty) => Message::$name(<$name>::read(&mut r)?), )*
                    (extension_type, msg_type) => {
                        return Err(CodecError::UnknownMessage { extension_type, msg_type })
                    }
                };
                Ok((msg, TlvList::parse(r.remaining())?))
            }

            /// The extension that defines the message (0 for core messages).
            pub fn extension_type(&self) -> u16 {
                match self { $( Message::$name(_) => $ext, )* }
            }

            /// The message id.
            pub fn msg_type(&self) -> u8 {
                match self { $( Message::$name(_) => $ty, )* }
            }

            /// Whether the spec sets the channel_msg bit for this message.
            pub fn channel_msg(&self) -> bool {
                match self { $( Message::$name(_) => $ch, )* }
            }

            /// The sub-protocol the message belongs to.
            pub fn protocol(&self) -> Protocol {
                match self { $( Message::$name(_) => $proto, )* }
            }

            /// The message's name as the spec writes it (without dots).
            pub fn name(&self) -> &'static str {
                match self { $( Message::$name(_) => stringify!($name), )* }
            }
        }

        impl Encode for Message<'_> {
            fn encoded_len(&self) -> usize {
                match self { $( Message::$name(m) => m.encoded_len(), )* }
            }
            fn write(&self, w: &mut Writer<'_>) {
                match self { $( Message::$name(m) => m.write(w), )* }
            }
        }

        /// Every `(extension_type, msg_type, channel_msg, name)` this crate knows.
        pub const ALL_MESSAGE_IDS: &[(u16, u8, bool, &str)] = &[
            $( ($ext, $ty, $ch, stringify!($name)), )*
        ];
    };
}

use Protocol::{Common as C, JobDeclaration as JD, Mining as M, TemplateDistribution as TD};
const EXT1: Protocol = Protocol::Extension(0x0001);

message_table! {
    (0x0000, 0x00, false, C) SetupConnection<'a>,
    (0x0000, 0x01, false, C) SetupConnectionSuccess,
    (0x0000, 0x02, false, C) SetupConnectionError<'a>,
    (0x0000, 0x03, true, C) ChannelEndpointChanged,
    (0x0000, 0x04, false, C) Reconnect<'a>,

    (0x0000, 0x10, false, M) OpenStandardMiningChannel<'a>,
    (0x0000, 0x11, false, M) OpenStandardMiningChannelSuccess<'a>,
    (0x0000, 0x12, false, M) OpenMiningChannelError<'a>,
    (0x0000, 0x13, false, M) OpenExtendedMiningChannel<'a>,
    (0x0000, 0x14, false, M) OpenExtendedMiningChannelSuccess<'a>,
    (0x0000, 0x15, true, M) NewMiningJob,
    (0x0000, 0x16, true, M) UpdateChannel,
    (0x0000, 0x17, true, M) UpdateChannelError<'a>,
    (0x0000, 0x18, true, M) CloseChannel<'a>,
    (0x0000, 0x19, true, M) SetExtranoncePrefix<'a>,
    (0x0000, 0x1a, true, M) SubmitSharesStandard,
    (0x0000, 0x1b, true, M) SubmitSharesExtended<'a>,
    (0x0000, 0x1c, true, M) SubmitSharesSuccess,
    (0x0000, 0x1d, true, M) SubmitSharesError<'a>,
    (0x0000, 0x1f, true, M) NewExtendedMiningJob<'a>,
    (0x0000, 0x20, true, M) SetNewPrevHash,
    (0x0000, 0x21, true, M) SetTarget,
    (0x0000, 0x22, true, M) SetCustomMiningJob<'a>,
    (0x0000, 0x23, true, M) SetCustomMiningJobSuccess,
    (0x0000, 0x24, true, M) SetCustomMiningJobError<'a>,
    (0x0000, 0x25, false, M) SetGroupChannel<'a>,

    (0x0000, 0x50, false, JD) AllocateMiningJobToken<'a>,
    (0x0000, 0x51, false, JD) AllocateMiningJobTokenSuccess<'a>,
    (0x0000, 0x55, false, JD) ProvideMissingTransactions<'a>,
    (0x0000, 0x56, false, JD) ProvideMissingTransactionsSuccess<'a>,
    (0x0000, 0x57, false, JD) DeclareMiningJob<'a>,
    (0x0000, 0x58, false, JD) DeclareMiningJobSuccess<'a>,
    (0x0000, 0x59, false, JD) DeclareMiningJobError<'a>,
    (0x0000, 0x60, false, JD) PushSolution<'a>,

    (0x0000, 0x70, false, TD) CoinbaseOutputConstraints,
    (0x0000, 0x71, false, TD) NewTemplate<'a>,
    (0x0000, 0x72, false, TD) SetNewPrevHashTdp,
    (0x0000, 0x73, false, TD) RequestTransactionData,
    (0x0000, 0x74, false, TD) RequestTransactionDataSuccess<'a>,
    (0x0000, 0x75, false, TD) RequestTransactionDataError<'a>,
    (0x0000, 0x76, false, TD) SubmitSolution<'a>,

    (0x0001, 0x00, false, EXT1) RequestExtensions<'a>,
    (0x0001, 0x01, false, EXT1) RequestExtensionsSuccess<'a>,
    (0x0001, 0x02, false, EXT1) RequestExtensionsError<'a>,
}
