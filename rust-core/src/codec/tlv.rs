//! TLV fields that extensions append after a message's last core field.
//!
//! Both U16 fields are little-endian, as every other SV2 integer and as the reference
//! implementation writes them; the spec's big-endian byte example is an erratum
//! (docs/INTEROP.md).

use super::wire::{Decode, Encode, Reader, Writer};
use super::CodecError;

/// Extension id of Worker-Specific Hashrate Tracking.
pub const EXTENSION_WORKER_HASHRATE_TRACKING: u16 = 0x0002;
/// Field type of its `user_identity` TLV on `SubmitSharesExtended`.
pub const FIELD_USER_IDENTITY: u8 = 0x01;
/// Maximum length of that `user_identity` value.
pub const USER_IDENTITY_MAX: usize = 32;
/// Maximum length of any TLV value (its length field is a U16).
pub const TLV_VALUE_MAX: usize = 0xFFFF;

/// One TLV record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The negotiated extension that defines the field.
    pub extension_type: u16,
    /// Field number within that extension.
    pub field_type: u8,
    /// The value: at most [`TLV_VALUE_MAX`] bytes ([`crate::codec::encode_frame`] refuses a
    /// longer one).
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The 0x0002 `user_identity` field, or an error when longer than 32 bytes.
    pub fn user_identity(identity: &'a str) -> Result<Self, CodecError> {
        if identity.len() > USER_IDENTITY_MAX {
            return Err(CodecError::TooLong { len: identity.len(), max: USER_IDENTITY_MAX });
        }
        Ok(Tlv {
            extension_type: EXTENSION_WORKER_HASHRATE_TRACKING,
            field_type: FIELD_USER_IDENTITY,
            value: identity.as_bytes(),
        })
    }
}

impl Encode for Tlv<'_> {
    fn encoded_len(&self) -> usize {
        5 + self.value.len()
    }
    fn write(&self, w: &mut Writer<'_>) {
        self.extension_type.write(w);
        self.field_type.write(w);
        // encode_frame refused values over TLV_VALUE_MAX before anything was written.
        (self.value.len() as u16).write(w);
        w.put(self.value);
    }
}

impl<'a> Decode<'a> for Tlv<'a> {
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        let extension_type = u16::read(r)?;
        let field_type = u8::read(r)?;
        let len = u16::read(r)? as usize;
        Ok(Tlv { extension_type, field_type, value: r.take(len)? })
    }
}

/// The TLV records that follow a message's core fields, validated and borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlvList<'a>(&'a [u8]);

impl<'a> TlvList<'a> {
    /// Validates `bytes` as a concatenation of whole TLV records. A value longer than its
    /// extension allows (0x0002 `user_identity` over 32 bytes) is an error.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let tlv = Tlv::read(&mut r).map_err(|_| CodecError::InvalidTlv)?;
            if tlv.extension_type == EXTENSION_WORKER_HASHRATE_TRACKING
                && tlv.field_type == FIELD_USER_IDENTITY
                && tlv.value.len() > USER_IDENTITY_MAX
            {
                return Err(CodecError::TooLong { len: tlv.value.len(), max: USER_IDENTITY_MAX });
            }
        }
        Ok(TlvList(bytes))
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw bytes of all records.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The records in wire order.
    pub fn iter(&self) -> impl Iterator<Item = Tlv<'a>> {
        let mut r = Reader::new(self.0);
        core::iter::from_fn(move || if r.is_empty() { None } else { Tlv::read(&mut r).ok() })
    }

    /// The first record of `(extension_type, field_type)`, in any position.
    pub fn find(&self, extension_type: u16, field_type: u8) -> Option<&'a [u8]> {
        self.iter().find(|t| t.extension_type == extension_type && t.field_type == field_type).map(|t| t.value)
    }

    /// The 0x0002 `user_identity` value, if present.
    pub fn user_identity(&self) -> Option<&'a [u8]> {
        self.find(EXTENSION_WORKER_HASHRATE_TRACKING, FIELD_USER_IDENTITY)
    }
}
