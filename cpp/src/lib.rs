//! # sv2-cxx — the C++ API of libsv2
//!
//! A [cxx](https://cxx.rs) bridge over the protocol core (crate `sv2`), and the hand-written
//! C++ layer on top of it (`include/sv2/*.hpp`, `src/sv2.cpp`): namespace `sv2`, RAII
//! classes (`Session`, `FrameDecoder`, `ClientChannel`, and on the pool side `JobFactory`,
//! `ExtranonceAllocator`, `ServerChannel`, `GroupChannel`), every message as a plain struct of
//! standard types in a `std::variant`, spans in, `std::vector`/`std::string` out, and
//! `sv2::Error` exceptions whose code is the C ABI's result number.
//!
//! The public headers are standard C++ only; the bridge (C++ namespace `sv2bridge`, its
//! generated header and cxx's runtime) stays inside the library. This crate translates; it
//! holds no protocol logic. cxx-build compiles the generated glue and `src/sv2.cpp` into a
//! static library that the `sv2-ffi` staticlib (libsv2.a) bundles, so a C++ program links
//! libsv2.a or libsv2.so and includes `sv2/sv2.hpp` without a Rust toolchain.
//! docs/CPP_API.md describes the C++ API.

#[path = "../bridge.rs"]
mod bridge;
mod channel;
mod endpoints;
mod error;
mod jobs;
mod keys;
mod messages;
mod server_channel;
mod session;
