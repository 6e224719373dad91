//! Library version, at compile time (macros) and at run time.

use std::ffi::c_char;

/// Major version of the header (and the library it was made for).
pub const SV2_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const SV2_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const SV2_VERSION_PATCH: u32 = 0;

/// The linked library's version as "MAJOR.MINOR.PATCH" (static, NUL-terminated). Compare with
/// the SV2_VERSION_* macros to catch a header/library mismatch.
#[no_mangle]
pub extern "C" fn sv2_version() -> *const c_char {
    // A constant address: nothing here can panic, so it needs no panic boundary.
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn macros_match_the_crate_version() {
        let v = format!("{}.{}.{}", super::SV2_VERSION_MAJOR, super::SV2_VERSION_MINOR, super::SV2_VERSION_PATCH);
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }
}
