//! # sv2 — the Stratum V2 protocol core
//!
//! Sans-IO: this crate does no I/O, spawns no threads and reads no clock. Callers hand it
//! bytes, time and entropy; it hands back frames, messages and bytes to send. That is what
//! lets the same code run inside a tokio pool, inside bitcoind (through the C ABI) and on a
//! miner's controller (`no_std` + `alloc`).
//!
//! Layers:
//! - [`codec`]: wire data types, the 6-byte frame header, TLV fields and a streaming frame
//!   decoder that takes bytes in any chunking.
//! - [`messages`]: every message of the Common, Mining, Job Declaration and Template
//!   Distribution sub-protocols and of extensions 0x0001/0x0002, as typed structs that decode
//!   by borrowing from the input and encode into a caller buffer.
//! - [`noise`]: the `Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256` handshake, server
//!   certificates, authority keys and the encrypted transport, wrapped in a sans-IO
//!   [`noise::Session`].
//! - `channels` (feature `channels`, default): standard, extended and group channels, jobs
//!   from templates, extranonce allocation, vardiff and share validation.
//! - `endpoint` (feature `channels`): the Mining Protocol decisions of one connection, server
//!   side (a pool's or proxy's downstream) and client side, messages in and messages out.
//! - `jd` (feature `channels`): Job Declaration: JDC and JDS state machines, the pool's SetCustomMiningJob check.
//! - `sv1` (feature `sv1`, default): Stratum V1 as mining firmware speaks it — bounded line
//!   framing, JSON-RPC messages, and (with `channels`) a server session per device for a
//!   translator.
//!
//! Bytes from a peer never cause a panic or an allocation larger than what the peer actually
//! sent: every failure is a typed error.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(feature = "channels")]
pub mod channels;
pub mod codec;
#[cfg(feature = "channels")]
pub mod endpoint;
#[cfg(feature = "channels")]
pub mod jd;
pub mod messages;
pub mod noise;
#[cfg(feature = "sv1")]
pub mod sv1;

pub use codec::{CodecError, Frame, FrameDecoder, FrameHeader};
pub use messages::{Message, Protocol};
