//! Link settings of the cdylib cargo builds (Linux). CMake links the installed libsv2.so
//! from the archive itself (cmake/libsv2.map), with the same SONAME rule:
//! - a SONAME that changes whenever the ABI may: libsv2.so.0.MINOR while the major version
//!   is 0 (every 0.x minor may break the ABI, docs/ABI.md), libsv2.so.MAJOR from 1.0 on;
//! - only this crate's `sv2_*` functions exported. Rust exports every `#[no_mangle]` item of
//!   every crate it links, which would publish secp256k1's `rustsecp256k1_v0_*` callbacks
//!   (and with the `cxx` feature the C++ bridge's glue); symbols from the dependencies'
//!   archives are made local instead.
fn main() {
    let version = |part: &str| std::env::var(format!("CARGO_PKG_VERSION_{part}")).unwrap_or_else(|_| "0".into());
    let (major, minor) = (version("MAJOR"), version("MINOR"));
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let soname = if major == "0" { format!("libsv2.so.0.{minor}") } else { format!("libsv2.so.{major}") };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--exclude-libs,ALL");
    }
}
