//! Generates the C++ side of the bridge and compiles it with the hand-written layer into the
//! native library `sv2cxx`, which every staticlib that links this crate bundles.
fn main() {
    // Headers land at sv2/bridge.rs.h beside sv2/sv2.hpp; the Rust docs become Doxygen comments.
    cxx_build::CFG.include_prefix = "sv2";
    cxx_build::CFG.doxygen = true;
    cxx_build::bridge("bridge.rs")
        .file("src/sv2.cpp")
        .include("include")
        .std("c++17")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-pedantic")
        .compile("sv2cxx");
    println!("cargo:rerun-if-changed=src/sv2.cpp");
    println!("cargo:rerun-if-changed=include/sv2/sv2.hpp");
}
