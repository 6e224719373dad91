//! Generates the C++ side of the bridge and compiles it with the hand-written layer into the
//! native library `sv2cxx`, which every staticlib that links this crate bundles.
fn main() {
    // The generated header is sv2/bridge.rs.h (internal: only src/sv2.cpp includes it); it
    // includes the public sv2/error.hpp, which takes its numbers from the C ABI's sv2.h.
    cxx_build::CFG.include_prefix = "sv2";
    cxx_build::bridge("bridge.rs")
        .file("src/sv2.cpp")
        .file("src/jd.cpp")
        .include("include")
        .include("../include")
        .std("c++17")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-pedantic")
        .compile("sv2cxx");
    for f in ["src/sv2.cpp", "src/jd.cpp", "src/convert.hpp", "include/sv2", "../include/sv2.h"] {
        println!("cargo:rerun-if-changed={f}");
    }
}
