//! The panic boundary and the pointer checks every exported function goes through.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::sv2_result;

/// Runs an exported function's body; a panic becomes [`sv2_result::Panic`] instead of
/// unwinding into C.
pub fn guard(body: impl FnOnce() -> Result<(), sv2_result>) -> sv2_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => sv2_result::Ok,
        Ok(Err(e)) => e,
        Err(_) => sv2_result::Panic,
    }
}

/// Runs a `void` function's body (the `_free` functions), swallowing a panic.
pub fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// A shared reference from a pointer that must not be NULL.
///
/// # Safety
/// `p` is NULL or points to a valid `T` for the duration of the call.
pub unsafe fn arg<'a, T>(p: *const T) -> Result<&'a T, sv2_result> {
    p.as_ref().ok_or(sv2_result::NullParameter)
}

/// An exclusive reference from a pointer that must not be NULL.
///
/// # Safety
/// `p` is NULL or points to a valid `T` that nothing else uses during the call.
pub unsafe fn arg_mut<'a, T>(p: *mut T) -> Result<&'a mut T, sv2_result> {
    p.as_mut().ok_or(sv2_result::NullParameter)
}

/// Writes `value` through an out-pointer that must not be NULL, without reading or making a
/// reference to what C left there (for `bool` that could be a byte other than 0 or 1).
///
/// # Safety
/// `p` is NULL or points to writable memory for a `T` that nothing else uses during the call.
pub unsafe fn put<T>(p: *mut T, value: T) -> Result<(), sv2_result> {
    if p.is_null() {
        return Err(sv2_result::NullParameter);
    }
    p.write(value);
    Ok(())
}

/// A fixed-size byte array passed as a pointer to its first byte (C has no good way to pass
/// `const uint8_t (*)[N]`: a non-const array does not convert to it before C23).
///
/// # Safety
/// `p` is NULL or points to `N` readable bytes for the duration of the call.
pub unsafe fn array<'a, const N: usize>(p: *const u8) -> Result<&'a [u8; N], sv2_result> {
    arg(p.cast())
}

/// A fixed-size writable byte array passed as a pointer to its first byte.
///
/// # Safety
/// `p` is NULL or points to `N` writable bytes that nothing else uses during the call.
pub unsafe fn array_mut<'a, const N: usize>(p: *mut u8) -> Result<&'a mut [u8; N], sv2_result> {
    arg_mut(p.cast())
}

/// A byte slice from `(ptr, len)`; NULL with length 0 is the empty slice.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes for the duration of the borrow.
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], sv2_result> {
    slice(ptr, len)
}

/// A slice of `T` from `(ptr, len)`; NULL with length 0 is the empty slice.
///
/// # Safety
/// `ptr` is NULL or points to `len` valid, initialised `T` for the duration of the borrow.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], sv2_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(sv2_result::NullParameter);
    }
    if len.checked_mul(std::mem::size_of::<T>()).is_none_or(|n| n > isize::MAX as usize) {
        return Err(sv2_result::InvalidArgument);
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// The caller's output buffer `(out, cap)`. The encoders write nothing when it is too small.
///
/// # Safety
/// `out` is NULL or points to `cap` writable bytes that nothing else uses during the call.
pub unsafe fn out_buffer<'a>(out: *mut u8, cap: usize) -> Result<&'a mut [u8], sv2_result> {
    if out.is_null() {
        return Err(sv2_result::NullParameter);
    }
    if cap > isize::MAX as usize {
        return Err(sv2_result::InvalidArgument);
    }
    Ok(std::slice::from_raw_parts_mut(out, cap))
}

/// Copies `src` into the caller's `(out, cap)` buffer and reports its length through
/// `written`, or answers [`sv2_result::InsufficientSize`] without writing anything.
///
/// # Safety
/// `out` points to `cap` writable bytes; `written` is NULL or valid.
pub unsafe fn write_out(src: &[u8], out: *mut u8, cap: usize, written: *mut usize) -> Result<(), sv2_result> {
    let written = arg_mut(written)?;
    if src.len() > cap {
        return Err(sv2_result::InsufficientSize);
    }
    if !src.is_empty() {
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        std::ptr::copy_nonoverlapping(src.as_ptr(), out, src.len());
    }
    *written = src.len();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_result() {
        assert_eq!(guard(|| panic!("bug")), sv2_result::Panic);
        guard_void(|| panic!("bug in a free"));
        assert_eq!(guard(|| Err(sv2_result::NotFound)), sv2_result::NotFound);
        assert_eq!(guard(|| Ok(())), sv2_result::Ok);
    }

    #[test]
    fn slices_too_large_for_memory_are_refused_unread() {
        let p = std::ptr::dangling::<u64>();
        assert_eq!(unsafe { slice(p, usize::MAX / 4) }.err(), Some(sv2_result::InvalidArgument));
        assert_eq!(unsafe { bytes(std::ptr::null(), 0) }.map(<[u8]>::len), Ok(0));
        assert_eq!(unsafe { bytes(std::ptr::null(), 1) }.err(), Some(sv2_result::NullParameter));
    }
}
