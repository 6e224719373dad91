//! The encode/decode traits, the cursor types they work through, and the fixed-size wire types
//! (BOOL, U8, U16, U24, U32, U64, F32, U256, PUBKEY, SIGNATURE, OPTION).

use super::CodecError;

/// A read cursor over a borrowed input buffer. Decoded values borrow from the same buffer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Takes the next `n` bytes, or fails with [`CodecError::UnexpectedEnd`].
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.buf.len() {
            return Err(CodecError::UnexpectedEnd { needed: n, available: self.buf.len() });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// A write cursor over a caller buffer. Callers size the buffer with
/// [`Encode::encoded_len`] first, so writes never run past its end.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Appends `bytes`. The caller has checked the capacity through `encoded_len`.
    pub fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// A value with a Stratum V2 wire encoding.
pub trait Encode {
    /// Exact number of bytes [`Encode::write`] produces.
    fn encoded_len(&self) -> usize;
    /// Writes the encoding. The writer has at least `encoded_len()` bytes of room.
    fn write(&self, w: &mut Writer<'_>);

    /// Encodes into the front of `out` and returns the number of bytes written, or
    /// [`CodecError::BufferTooSmall`] (nothing written) when `out` is shorter than needed.
    fn encode_into(&self, out: &mut [u8]) -> Result<usize, CodecError> {
        let needed = self.encoded_len();
        if out.len() < needed {
            return Err(CodecError::BufferTooSmall { needed, available: out.len() });
        }
        let mut w = Writer::new(&mut out[..needed]);
        self.write(&mut w);
        Ok(needed)
    }

    /// Encodes into a new vector.
    fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec![0u8; self.encoded_len()];
        let mut w = Writer::new(&mut v);
        self.write(&mut w);
        v
    }
}

/// A value that decodes from the Stratum V2 wire encoding, borrowing from the input.
pub trait Decode<'a>: Sized {
    /// Reads one value from the cursor.
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError>;

    /// Decodes a value that must span all of `bytes`.
    fn decode_exact(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        if !r.is_empty() {
            return Err(CodecError::TrailingBytes(r.remaining().len()));
        }
        Ok(v)
    }
}

/// Wire types whose encoding always has the same size.
pub trait FixedSize {
    /// Encoded size in bytes.
    const SIZE: usize;
}

macro_rules! le_int {
    ($($t:ty),*) => {$(
        impl FixedSize for $t { const SIZE: usize = core::mem::size_of::<$t>(); }
        impl Encode for $t {
            fn encoded_len(&self) -> usize { Self::SIZE }
            fn write(&self, w: &mut Writer<'_>) { w.put(&self.to_le_bytes()) }
        }
        impl<'a> Decode<'a> for $t {
            fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
                Ok(<$t>::from_le_bytes(r.take_array()?))
            }
        }
    )*};
}
le_int!(u8, u16, u32, u64, f32);

/// BOOL: only bit 0 carries the value; receivers ignore bits 1–7.
impl FixedSize for bool {
    const SIZE: usize = 1;
}
impl Encode for bool {
    fn encoded_len(&self) -> usize {
        1
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.put(&[*self as u8])
    }
}
impl<'a> Decode<'a> for bool {
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        Ok(r.take(1)?[0] & 1 == 1)
    }
}

/// U24: a 3-byte little-endian unsigned integer (0 ..= 16 777 215).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct U24(u32);

impl U24 {
    /// Largest value a U24 holds.
    pub const MAX: u32 = 0xFF_FFFF;

    /// Wraps `v`, or fails when it does not fit in 24 bits.
    pub fn new(v: u32) -> Result<Self, CodecError> {
        if v > Self::MAX {
            return Err(CodecError::OutOfRange);
        }
        Ok(U24(v))
    }

    /// The value.
    pub fn get(self) -> u32 {
        self.0
    }
}
impl FixedSize for U24 {
    const SIZE: usize = 3;
}
impl Encode for U24 {
    fn encoded_len(&self) -> usize {
        3
    }
    fn write(&self, w: &mut Writer<'_>) {
        w.put(&self.0.to_le_bytes()[..3])
    }
}
impl<'a> Decode<'a> for U24 {
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        let b = r.take_array::<3>()?;
        Ok(U24(u32::from_le_bytes([b[0], b[1], b[2], 0])))
    }
}

/// U256: 32 raw bytes (hashes in internal byte order, targets as little-endian integers).
pub type U256 = [u8; 32];
/// PUBKEY: a 32-byte BIP340 x-only public key.
pub type Pubkey = [u8; 32];
/// SIGNATURE: a 64-byte BIP340 Schnorr signature.
pub type Signature = [u8; 64];

macro_rules! byte_array {
    ($($n:literal),*) => {$(
        impl FixedSize for [u8; $n] { const SIZE: usize = $n; }
        impl Encode for [u8; $n] {
            fn encoded_len(&self) -> usize { $n }
            fn write(&self, w: &mut Writer<'_>) { w.put(self) }
        }
        impl<'a> Decode<'a> for [u8; $n] {
            fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> { r.take_array() }
        }
    )*};
}
byte_array!(32, 64);

/// `OPTION[T]`: a U8 count of 0 or 1, then that many T.
impl<T: Encode> Encode for Option<T> {
    fn encoded_len(&self) -> usize {
        1 + self.as_ref().map_or(0, Encode::encoded_len)
    }
    fn write(&self, w: &mut Writer<'_>) {
        match self {
            None => w.put(&[0]),
            Some(v) => {
                w.put(&[1]);
                v.write(w)
            }
        }
    }
}
impl<'a, T: Decode<'a>> Decode<'a> for Option<T> {
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        match r.take(1)?[0] {
            0 => Ok(None),
            1 => Ok(Some(T::read(r)?)),
            n => Err(CodecError::InvalidOptionCount(n)),
        }
    }
}
