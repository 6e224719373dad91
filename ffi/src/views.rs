//! Borrowed views that carry byte strings and sequences across the C ABI.
//!
//! A view never owns memory. A decoded message's views point into the payload it was decoded
//! from; views handed to an encode function are read during the call only.

use sv2::codec::{Bytes, Decode, Reader, Seq, B0_16M, U256};

use crate::boundary::{arg, arg_mut, guard, slice, write_out};
use crate::sv2_result;

/// A byte string: `len` bytes at `data` (NULL allowed when `len` is 0). Not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_bytes {
    /// First byte.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

/// A flag in a struct libsv2 reads from C: 0 is false, any other byte true. libsv2 writes 0
/// or 1. (A C `bool` field could hold a byte other than 0 or 1, left by memset or a cast, and
/// Rust reading that as its `bool` is undefined behaviour; a byte is always a valid byte.)
#[repr(transparent)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct sv2_bool(pub u8);

impl sv2_bool {
    /// Whether the flag is set (any byte but 0).
    pub fn get(self) -> bool {
        self.0 != 0
    }

    /// `Some(t)` when the flag is set, as `bool::then_some`.
    pub fn then_some<T>(self, t: T) -> Option<T> {
        self.get().then_some(t)
    }
}

impl From<bool> for sv2_bool {
    fn from(b: bool) -> Self {
        sv2_bool(u8::from(b))
    }
}

impl From<sv2_bool> for bool {
    fn from(b: sv2_bool) -> Self {
        b.get()
    }
}

/// `OPTION[U32]`: `value` is meaningful only when `present`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_option_u32 {
    /// Whether a value is present (0: absent, any other byte: present).
    pub present: sv2_bool,
    /// The value.
    pub value: u32,
}

/// `SEQ[U256]`: `count` 32-byte items stored back to back at `data` (exactly their wire form).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_u256_list {
    /// `count * 32` bytes.
    pub data: *const u8,
    /// Number of 32-byte items.
    pub count: usize,
}

/// `SEQ[U16]`. To send, point `items` at a native array. A decoded list has `items` NULL and
/// its `count * 2` little-endian wire bytes at `wire`: read items with sv2_u16_list_get().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_u16_list {
    /// Native items (used when not NULL).
    pub items: *const u16,
    /// Little-endian wire bytes (used when `items` is NULL).
    pub wire: *const u8,
    /// Number of items.
    pub count: usize,
}

/// `SEQ[U32]`, like sv2_u16_list with 4-byte items.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_u32_list {
    /// Native items (used when not NULL).
    pub items: *const u32,
    /// Little-endian wire bytes (used when `items` is NULL).
    pub wire: *const u8,
    /// Number of items.
    pub count: usize,
}

/// `SEQ0_64K[B0_16M]` (transaction lists) in wire form: `count` items, each a 3-byte
/// little-endian length and its bytes, `wire_len` bytes in all. Walk the items with
/// sv2_bytes_list_next(), or read one with sv2_bytes_list_get(); build one with
/// sv2_bytes_list_encode().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sv2_bytes_list {
    /// The items' wire encoding.
    pub wire: *const u8,
    /// Bytes at `wire`.
    pub wire_len: usize,
    /// Number of items.
    pub count: usize,
}

/// Conversion between a Rust field type and its C view. `to_rust` borrows the memory the
/// view points at, which the caller keeps alive for `'a`.
pub(crate) trait CField<R>: Sized {
    fn from_rust(r: &R) -> Self;
    /// # Safety
    /// Every pointer in the view is NULL or valid for its length during `'a`.
    unsafe fn to_rust(&self) -> Result<R, sv2_result>;
}

macro_rules! identity_field {
    ($($t:ty),*) => {$(
        impl CField<$t> for $t {
            fn from_rust(r: &$t) -> Self { *r }
            unsafe fn to_rust(&self) -> Result<$t, sv2_result> { Ok(*self) }
        }
    )*};
}
identity_field!(u8, u16, u32, u64, f32, U256);

impl CField<bool> for sv2_bool {
    fn from_rust(r: &bool) -> Self {
        (*r).into()
    }
    unsafe fn to_rust(&self) -> Result<bool, sv2_result> {
        Ok(self.get())
    }
}

impl<'a, const MAX: usize> CField<Bytes<'a, MAX>> for sv2_bytes {
    fn from_rust(r: &Bytes<'a, MAX>) -> Self {
        sv2_bytes { data: r.as_bytes().as_ptr(), len: r.len() }
    }
    unsafe fn to_rust(&self) -> Result<Bytes<'a, MAX>, sv2_result> {
        // Checked before the slice is made, so a wrong length is an error, not a wild read.
        if self.len > MAX {
            return Err(sv2_result::TooLong);
        }
        Bytes::new(slice(self.data, self.len)?).map_err(|_| sv2_result::TooLong)
    }
}

impl CField<Option<u32>> for sv2_option_u32 {
    fn from_rust(r: &Option<u32>) -> Self {
        sv2_option_u32 { present: r.is_some().into(), value: r.unwrap_or(0) }
    }
    unsafe fn to_rust(&self) -> Result<Option<u32>, sv2_result> {
        Ok(self.present.then_some(self.value))
    }
}

impl<'a, const MAX: usize> CField<Seq<'a, U256, MAX>> for sv2_u256_list {
    fn from_rust(r: &Seq<'a, U256, MAX>) -> Self {
        // Either way the memory is the 32-byte items back to back: decoded sequences keep their
        // wire bytes, built ones their slice of arrays.
        let data = match (r.wire_bytes(), r.items()) {
            (Some(wire), _) => wire.as_ptr(),
            (None, Some(items)) => items.as_ptr().cast::<u8>(),
            (None, None) => std::ptr::null(),
        };
        sv2_u256_list { data, count: r.len() }
    }
    unsafe fn to_rust(&self) -> Result<Seq<'a, U256, MAX>, sv2_result> {
        if self.count > MAX {
            return Err(sv2_result::TooLong);
        }
        Seq::new(slice(self.data.cast::<U256>(), self.count)?).map_err(|_| sv2_result::TooLong)
    }
}

macro_rules! int_list {
    ($list:ident, $t:ty) => {
        impl<'a, const MAX: usize> CField<Seq<'a, $t, MAX>> for $list {
            fn from_rust(r: &Seq<'a, $t, MAX>) -> Self {
                let wire = r.wire_bytes().map_or(std::ptr::null(), <[u8]>::as_ptr);
                let items = r.items().map_or(std::ptr::null(), <[$t]>::as_ptr);
                $list { items, wire, count: r.len() }
            }
            unsafe fn to_rust(&self) -> Result<Seq<'a, $t, MAX>, sv2_result> {
                if self.count > MAX {
                    return Err(sv2_result::TooLong);
                }
                let seq = if self.items.is_null() && self.count > 0 {
                    let len = self.count.checked_mul(std::mem::size_of::<$t>()).ok_or(sv2_result::TooLong)?;
                    Seq::from_wire(slice(self.wire, len)?, self.count)
                } else {
                    Seq::new(slice(self.items, self.count)?)
                };
                seq.map_err(sv2_result::from)
            }
        }

        impl $list {
            fn get(&self, index: usize) -> Result<$t, sv2_result> {
                if index >= self.count {
                    return Err(sv2_result::InvalidArgument);
                }
                const N: usize = std::mem::size_of::<$t>();
                // SAFETY: the caller of the exported getter vouches for the list's pointers.
                unsafe {
                    if !self.items.is_null() {
                        return Ok(*self.items.add(index));
                    }
                    let b = slice(self.wire, self.count * N)?;
                    let mut le = [0u8; N];
                    le.copy_from_slice(&b[index * N..(index + 1) * N]);
                    Ok(<$t>::from_le_bytes(le))
                }
            }
        }
    };
}
int_list!(sv2_u16_list, u16);
int_list!(sv2_u32_list, u32);

impl<'a, const MAX: usize> CField<Seq<'a, B0_16M<'a>, MAX>> for sv2_bytes_list {
    fn from_rust(r: &Seq<'a, B0_16M<'a>, MAX>) -> Self {
        let wire = r.wire_bytes().unwrap_or(&[]);
        sv2_bytes_list { wire: wire.as_ptr(), wire_len: wire.len(), count: r.len() }
    }
    unsafe fn to_rust(&self) -> Result<Seq<'a, B0_16M<'a>, MAX>, sv2_result> {
        if self.count > MAX {
            return Err(sv2_result::TooLong);
        }
        Seq::from_wire(slice(self.wire, self.wire_len)?, self.count).map_err(sv2_result::from)
    }
}

/// Item `index` of a u16 list.
///
/// @param[in] list  the list
/// @param index  the item's index, below `list->count`
/// @param[out] out  receives the item
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT for an index out of range
///
/// # Safety
/// `list` and `out` are NULL or valid; the list's pointers are valid for its count.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_u16_list_get(list: *const sv2_u16_list, index: usize, out: *mut u16) -> sv2_result {
    guard(|| {
        let (list, out) = (arg(list)?, arg_mut(out)?);
        *out = list.get(index)?;
        Ok(())
    })
}

/// Item `index` of a u32 list.
///
/// @param[in] list  the list
/// @param index  the item's index, below `list->count`
/// @param[out] out  receives the item
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT for an index out of range
///
/// # Safety
/// `list` and `out` are NULL or valid; the list's pointers are valid for its count.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_u32_list_get(list: *const sv2_u32_list, index: usize, out: *mut u32) -> sv2_result {
    guard(|| {
        let (list, out) = (arg(list)?, arg_mut(out)?);
        *out = list.get(index)?;
        Ok(())
    })
}

/// Item `index` of a bytes list, as a view into the list's memory, after checking the whole
/// list: each call reads every item, so visit all of them with sv2_bytes_list_next().
///
/// @param[in] list  the list
/// @param index  the item's index, below `list->count`
/// @param[out] out  receives a view of the item, into the list's memory
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_ARGUMENT for an index out of range, a decode error
/// for a malformed list
///
/// # Safety
/// `list` and `out` are NULL or valid; the list's `wire` is valid for `wire_len` bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_bytes_list_get(
    list: *const sv2_bytes_list,
    index: usize,
    out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (list, out) = (arg(list)?, arg_mut(out)?);
        let seq: Seq<'_, B0_16M<'_>, 65_535> = list.to_rust()?;
        *out = sv2_bytes::from_rust(&seq.iter().nth(index).ok_or(sv2_result::InvalidArgument)?);
        Ok(())
    })
}

/// The item at byte `*offset` of a bytes list's wire form, as a view into the list's memory;
/// `*offset` then moves past it. Start with `*offset` = 0 and call until
/// SV2_RESULT_NOT_FOUND (`*offset` is `wire_len`): each call reads only its own item, so the
/// walk costs one pass over the list. An item cut short by `wire_len` gives
/// SV2_RESULT_UNEXPECTED_END and an offset past `wire_len` SV2_RESULT_INVALID_ARGUMENT; on
/// any result but SV2_RESULT_OK, `*offset` and `out` are unchanged.
///
/// @param[in] list  the list
/// @param[in,out] offset  the item's byte offset in `list->wire`; moved past the item
/// @param[out] out  receives a view of the item, into the list's memory
/// @return SV2_RESULT_OK; SV2_RESULT_NOT_FOUND at the end, SV2_RESULT_UNEXPECTED_END,
/// SV2_RESULT_INVALID_ARGUMENT
///
/// # Safety
/// `list`, `offset` and `out` are NULL or valid; the list's `wire` is valid for `wire_len`
/// bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_bytes_list_next(
    list: *const sv2_bytes_list,
    offset: *mut usize,
    out: *mut sv2_bytes,
) -> sv2_result {
    guard(|| {
        let (list, offset, out) = (arg(list)?, arg_mut(offset)?, arg_mut(out)?);
        let wire = slice(list.wire, list.wire_len)?;
        let rest = wire.get(*offset..).ok_or(sv2_result::InvalidArgument)?;
        if rest.is_empty() {
            return Err(sv2_result::NotFound);
        }
        let mut r = Reader::new(rest);
        let item = B0_16M::read(&mut r).map_err(sv2_result::from)?;
        *out = sv2_bytes::from_rust(&item);
        *offset += rest.len() - r.remaining().len();
        Ok(())
    })
}

/// Encodes `count` byte strings into the wire form of an sv2_bytes_list, in `(out, cap)`;
/// the length goes to `written`. Point a list's `wire` at `out`, `wire_len` at `*written` and
/// `count` at `count`.
///
/// @param[in] items  `count` byte strings (NULL when 0)
/// @param count  number of items
/// @param[out] out  buffer for the wire form
/// @param cap  bytes at `out`
/// @param[out] written  receives its length
/// @return SV2_RESULT_OK; SV2_RESULT_INSUFFICIENT_SIZE, SV2_RESULT_TOO_LONG
///
/// # Safety
/// `items` points to `count` valid views; `out` to `cap` writable bytes; `written` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_bytes_list_encode(
    items: *const sv2_bytes,
    count: usize,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let items = slice(items, count)?;
        let mut wire = Vec::new();
        for item in items {
            let b: B0_16M<'_> = item.to_rust()?;
            wire.extend_from_slice(&(b.len() as u32).to_le_bytes()[..3]);
            wire.extend_from_slice(b.as_bytes());
        }
        write_out(&wire, out, cap, written)
    })
}
