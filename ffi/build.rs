//! Gives the shared library a versioned SONAME (libsv2.so.MAJOR), so that programs linked
//! against one major version do not load another.
fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsv2.so.{major}");
    }
}
