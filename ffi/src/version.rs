//! Library version, at compile time (macros) and at run time.

use std::ffi::c_char;

/// Major version of the header (and the library it was made for).
pub const SV2_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const SV2_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const SV2_VERSION_PATCH: u32 = 0;
/// The header's version as one number, MAJOR * 1000000 + MINOR * 1000 + PATCH, to compare
/// with sv2_version_number() or in `#if`.
pub const SV2_VERSION_NUMBER: u32 = SV2_VERSION_MAJOR * 1_000_000 + SV2_VERSION_MINOR * 1_000 + SV2_VERSION_PATCH;

/// The linked library's version as "MAJOR.MINOR.PATCH" (static, NUL-terminated). Compare with
/// the SV2_VERSION_* macros to catch a header/library mismatch.
///
/// @return a static string, never NULL
#[no_mangle]
pub extern "C" fn sv2_version() -> *const c_char {
    // A constant address: nothing here can panic, so it needs no panic boundary.
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The linked library's version as MAJOR * 1000000 + MINOR * 1000 + PATCH. While the major
/// is 0, a program runs with any library of the same major and minor as the header it was
/// built with, whatever the patch (docs/ABI.md): `sv2_version_number() / 1000 ==
/// SV2_VERSION_NUMBER / 1000`.
///
/// @return the version number, e.g. 1000 for 0.1.0
#[no_mangle]
pub extern "C" fn sv2_version_number() -> u32 {
    SV2_VERSION_NUMBER
}

#[cfg(test)]
mod tests {
    #[test]
    fn macros_match_the_crate_version() {
        let v = format!("{}.{}.{}", super::SV2_VERSION_MAJOR, super::SV2_VERSION_MINOR, super::SV2_VERSION_PATCH);
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        let part = |text: &str| text.parse::<u32>().unwrap();
        let expected = part(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
            + part(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
            + part(env!("CARGO_PKG_VERSION_PATCH"));
        assert_eq!(super::sv2_version_number(), expected);
    }
}
