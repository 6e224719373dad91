//! A `no_std` + `alloc` consumer of the sv2 codec and Noise handshake (see Cargo.toml).
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};

use sv2::codec::{frame_to_vec, FrameDecoder};
use sv2::messages::SetupConnectionSuccess;
use sv2::noise::{AuthorityKeypair, ServerAuth, ServerCredentials, Session};

/// A miner controller would supply its own allocator; this one refuses, which is enough to
/// link.
struct NoAlloc;

unsafe impl GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAlloc = NoAlloc;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// Runs a handshake and one frame each way; returns 1 on success. Exported so that nothing is
/// optimised away.
#[no_mangle]
pub extern "C" fn sv2_no_std_roundtrip(entropy: &[u8; 32], now: u32) -> u32 {
    let Ok(authority) = AuthorityKeypair::from_secret_bytes(entropy) else { return 0 };
    let Ok(creds) = ServerCredentials::issue(&authority, *entropy, now, now + 60, entropy) else { return 0 };
    let Ok(mut client) = Session::initiator(ServerAuth::Authority(authority.public_key()), *entropy, now) else {
        return 0;
    };
    let Ok(mut server) = Session::responder(&creds, *entropy) else { return 0 };
    let ok = server.receive(&client.take_output()).is_ok() && client.receive(&server.take_output()).is_ok();
    let msg = SetupConnectionSuccess { used_version: 2, flags: 0 }.into();
    let Ok(frame) = frame_to_vec(&msg, &[]) else { return 0 };
    let mut decoder = FrameDecoder::default();
    decoder.push(&frame);
    let decoded = matches!(decoder.next_frame(), Ok(Some(f)) if f.message().is_ok());
    u32::from(ok && decoded && server.send(&msg, &[]).is_ok())
}
