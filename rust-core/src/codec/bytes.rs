//! Length-prefixed byte strings (STR0_255, B0_32, B0_255, B0_64K, B0_16M) and sequences
//! (SEQ0_255, SEQ0_64K). Decoded values borrow from the input buffer.

use core::fmt;

use super::wire::{Decode, Encode, Reader, Writer};
use super::CodecError;

/// Number of bytes of the length prefix of a string or sequence whose maximum is `max`.
const fn prefix_len(max: usize) -> usize {
    if max <= 0xFF {
        1
    } else if max <= 0xFFFF {
        2
    } else {
        3
    }
}

fn write_prefix(w: &mut Writer<'_>, prefix: usize, n: usize) {
    w.put(&(n as u32).to_le_bytes()[..prefix]);
}

fn read_prefix(r: &mut Reader<'_>, prefix: usize) -> Result<usize, CodecError> {
    let mut le = [0u8; 4];
    le[..prefix].copy_from_slice(r.take(prefix)?);
    Ok(u32::from_le_bytes(le) as usize)
}

/// A byte string of at most `MAX` bytes with a length prefix of 1, 2 or 3 bytes chosen by
/// `MAX`. The aliases [`Str0_255`], [`B0_32`], [`B0_255`], [`B0_64K`] and [`B0_16M`] name the
/// spec's types.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Bytes<'a, const MAX: usize>(&'a [u8]);

/// STR0_255: up to 255 bytes, UTF-8 recommended but not enforced.
pub type Str0_255<'a> = Bytes<'a, 255>;
/// B0_32: up to 32 bytes.
pub type B0_32<'a> = Bytes<'a, 32>;
/// B0_255: up to 255 bytes.
pub type B0_255<'a> = Bytes<'a, 255>;
/// B0_64K: up to 65 535 bytes.
pub type B0_64K<'a> = Bytes<'a, 65_535>;
/// B0_16M: up to 16 777 215 bytes.
pub type B0_16M<'a> = Bytes<'a, 16_777_215>;

impl<'a, const MAX: usize> Bytes<'a, MAX> {
    /// The empty string.
    pub const EMPTY: Self = Bytes(&[]);

    /// Wraps `bytes`, or fails when it is longer than `MAX`.
    pub const fn new(bytes: &'a [u8]) -> Result<Self, CodecError> {
        if bytes.len() > MAX {
            return Err(CodecError::TooLong { len: bytes.len(), max: MAX });
        }
        Ok(Bytes(bytes))
    }

    /// Wraps a string, or fails when it is longer than `MAX` bytes.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &'a str) -> Result<Self, CodecError> {
        Self::new(s.as_bytes())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The bytes as UTF-8, if they are.
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.0).ok()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: usize> fmt::Debug for Bytes<'_, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) if s.chars().all(|c| !c.is_control()) => write!(f, "{s:?}"),
            _ => {
                f.write_str("0x")?;
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

impl<const MAX: usize> Encode for Bytes<'_, MAX> {
    fn encoded_len(&self) -> usize {
        prefix_len(MAX) + self.0.len()
    }
    fn write(&self, w: &mut Writer<'_>) {
        write_prefix(w, prefix_len(MAX), self.0.len());
        w.put(self.0);
    }
}

impl<'a, const MAX: usize> Decode<'a> for Bytes<'a, MAX> {
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        let len = read_prefix(r, prefix_len(MAX))?;
        if len > MAX {
            return Err(CodecError::TooLong { len, max: MAX });
        }
        Ok(Bytes(r.take(len)?))
    }
}

/// A sequence of at most `MAX` elements with a 1- or 2-byte element-count prefix.
/// [`Seq0_255`] and [`Seq0_64K`] name the spec's types.
///
/// A decoded sequence keeps the validated wire bytes and decodes elements as it is iterated,
/// so decoding allocates nothing. To encode, build one from a slice with [`Seq::new`].
#[derive(Clone, Copy)]
pub struct Seq<'a, T, const MAX: usize> {
    items: Items<'a, T>,
}

#[derive(Clone, Copy)]
enum Items<'a, T> {
    /// Validated wire encoding of `count` elements (without the count prefix).
    Wire {
        bytes: &'a [u8],
        count: usize,
    },
    Slice(&'a [T]),
}

/// `SEQ0_255[T]`.
pub type Seq0_255<'a, T> = Seq<'a, T, 255>;
/// `SEQ0_64K[T]`.
pub type Seq0_64K<'a, T> = Seq<'a, T, 65_535>;

impl<'a, T, const MAX: usize> Seq<'a, T, MAX>
where
    T: Copy + Encode + Decode<'a>,
{
    /// An empty sequence.
    pub const EMPTY: Self = Seq { items: Items::Slice(&[]) };

    /// Wraps `items`, or fails when there are more than `MAX`.
    pub fn new(items: &'a [T]) -> Result<Self, CodecError> {
        if items.len() > MAX {
            return Err(CodecError::TooLong { len: items.len(), max: MAX });
        }
        Ok(Seq { items: Items::Slice(items) })
    }

    /// A sequence from the wire encoding of exactly `count` elements (without the count
    /// prefix), validated now so that iteration cannot fail.
    pub fn from_wire(bytes: &'a [u8], count: usize) -> Result<Self, CodecError> {
        if count > MAX {
            return Err(CodecError::TooLong { len: count, max: MAX });
        }
        let mut r = Reader::new(bytes);
        for _ in 0..count {
            T::read(&mut r)?;
        }
        if !r.is_empty() {
            return Err(CodecError::TrailingBytes(r.remaining().len()));
        }
        Ok(Seq { items: Items::Wire { bytes, count } })
    }

    /// The elements when the sequence was built from a slice; `None` when it was decoded from
    /// the wire (see [`Seq::wire_bytes`]).
    pub fn items(&self) -> Option<&'a [T]> {
        match self.items {
            Items::Slice(s) => Some(s),
            Items::Wire { .. } => None,
        }
    }

    /// The elements' wire encoding (without the count prefix) when the sequence was decoded
    /// from the wire; `None` when it was built from a slice.
    pub fn wire_bytes(&self) -> Option<&'a [u8]> {
        match self.items {
            Items::Wire { bytes, .. } => Some(bytes),
            Items::Slice(_) => None,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.items {
            Items::Wire { count, .. } => count,
            Items::Slice(s) => s.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements in order.
    pub fn iter(&self) -> SeqIter<'a, T> {
        match self.items {
            Items::Wire { bytes, count } => SeqIter::Wire(Reader::new(bytes), count),
            Items::Slice(s) => SeqIter::Slice(s.iter()),
        }
    }

    /// The elements collected into a vector.
    pub fn to_vec(&self) -> alloc::vec::Vec<T> {
        self.iter().collect()
    }
}

/// Iterator over a [`Seq`].
pub enum SeqIter<'a, T> {
    #[doc(hidden)]
    Wire(Reader<'a>, usize),
    #[doc(hidden)]
    Slice(core::slice::Iter<'a, T>),
}

impl<'a, T: Copy + Decode<'a>> Iterator for SeqIter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            SeqIter::Wire(r, left) => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                // The bytes were validated when the sequence was decoded.
                T::read(r).ok()
            }
            SeqIter::Slice(it) => it.next().copied(),
        }
    }
}

impl<'a, T, const MAX: usize> Encode for Seq<'a, T, MAX>
where
    T: Copy + Encode + Decode<'a>,
{
    fn encoded_len(&self) -> usize {
        prefix_len(MAX)
            + match self.items {
                Items::Wire { bytes, .. } => bytes.len(),
                Items::Slice(s) => s.iter().map(Encode::encoded_len).sum(),
            }
    }
    fn write(&self, w: &mut Writer<'_>) {
        write_prefix(w, prefix_len(MAX), self.len());
        match self.items {
            Items::Wire { bytes, .. } => w.put(bytes),
            Items::Slice(s) => s.iter().for_each(|item| item.write(w)),
        }
    }
}

impl<'a, T, const MAX: usize> Decode<'a> for Seq<'a, T, MAX>
where
    T: Copy + Encode + Decode<'a>,
{
    fn read(r: &mut Reader<'a>) -> Result<Self, CodecError> {
        let count = read_prefix(r, prefix_len(MAX))?;
        if count > MAX {
            return Err(CodecError::TooLong { len: count, max: MAX });
        }
        // Validate every element now so that iteration cannot fail later.
        let start = r.remaining();
        for _ in 0..count {
            T::read(r)?;
        }
        let used = start.len() - r.remaining().len();
        Ok(Seq { items: Items::Wire { bytes: &start[..used], count } })
    }
}

impl<'a, T, const MAX: usize> PartialEq for Seq<'a, T, MAX>
where
    T: Copy + Encode + Decode<'a> + PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<'a, T, const MAX: usize> fmt::Debug for Seq<'a, T, MAX>
where
    T: Copy + Encode + Decode<'a> + fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, T, const MAX: usize> Default for Seq<'a, T, MAX>
where
    T: Copy + Encode + Decode<'a>,
{
    fn default() -> Self {
        Self::EMPTY
    }
}
