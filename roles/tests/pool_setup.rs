//! The pool's answers to setup, channel and extension requests, without a template provider
//! (the pool keeps trying to reach one; nothing here needs jobs).

mod pool_common;

use pool_common::*;
use sv2::channels::target::MAX_TARGET;
use sv2::codec::{Seq, Str0_255};
use sv2::messages::mining_flags::{REQUIRES_STANDARD_JOBS, REQUIRES_VERSION_ROLLING, REQUIRES_WORK_SELECTION};
use sv2::messages::{
    OpenExtendedMiningChannel, OpenStandardMiningChannel, RequestExtensions, SetupConnection, UpdateChannel,
};
use sv2::noise::ServerAuth;
use sv2::Message;
use sv2_roles::net::{Connection, Limits, NetError, OwnedFrame};
use sv2_roles::pool::PoolConfig;

async fn pool(name: &str, change: impl FnOnce(&mut PoolConfig)) -> sv2_roles::pool::PoolHandle {
    sv2_roles::logging::init("warn");
    let dir = temp_dir(name);
    // Nothing listens there: the template provider link just retries.
    let mut config = PoolConfig::new(&dir, "127.0.0.1:9", PAYOUT.to_vec());
    change(&mut config);
    sv2_roles::pool::start(config).await.unwrap()
}

async fn connect(p: &sv2_roles::pool::PoolHandle) -> Connection {
    Connection::connect(p.addr(), ServerAuth::Authority(p.authority()), Limits::default()).await.unwrap()
}

async fn read(c: &mut Connection) -> OwnedFrame {
    tokio::time::timeout(PATIENCE, c.read_frame()).await.unwrap().unwrap()
}

/// Sends a SetupConnection and returns the Error's flags and code (panics on Success), and
/// checks the pool then closes the connection.
async fn refused(p: &sv2_roles::pool::PoolHandle, setup: SetupConnection<'_>) -> (u32, String) {
    let mut c = connect(p).await;
    c.send(&setup.into()).await.unwrap();
    let f = read(&mut c).await;
    let out = match f.message().unwrap().0 {
        Message::SetupConnectionError(e) => (e.flags, String::from_utf8_lossy(e.error_code.as_bytes()).into_owned()),
        other => panic!("expected SetupConnection.Error, got {other:?}"),
    };
    assert!(matches!(c.read_frame().await, Err(NetError::Closed | NetError::Io(_))));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_connection_flags_and_versions() {
    let p = pool("setup", |_| {}).await;
    assert_eq!(
        refused(&p, SetupConnection { protocol: 2, ..setup_connection(0) }).await,
        (0, "unsupported-protocol".into())
    );
    assert_eq!(
        refused(&p, SetupConnection { min_version: 3, max_version: 4, ..setup_connection(0) }).await,
        (0, "protocol-version-mismatch".into())
    );
    // Every unsupported flag is listed, and only those.
    let flags = REQUIRES_WORK_SELECTION | REQUIRES_STANDARD_JOBS | (1 << 9);
    assert_eq!(
        refused(&p, setup_connection(flags)).await,
        (REQUIRES_WORK_SELECTION | (1 << 9), "unsupported-feature-flags".into())
    );
    // Supported flags are accepted; the pool's own flags are 0 by default.
    let m = RawMiner::connect(p.addr(), p.authority(), REQUIRES_STANDARD_JOBS | REQUIRES_VERSION_ROLLING).await;
    assert_eq!(m.setup_flags, 0);
    drop(m);

    // A pool without version rolling refuses clients that require it, and says so to others;
    // one for extended channels only refuses REQUIRES_STANDARD_JOBS.
    let fixed = pool("setup-fixed", |c| {
        c.version_rolling = false;
        c.extended_channels_only = true;
    })
    .await;
    assert_eq!(
        refused(&fixed, setup_connection(REQUIRES_VERSION_ROLLING | REQUIRES_STANDARD_JOBS)).await,
        (REQUIRES_VERSION_ROLLING | REQUIRES_STANDARD_JOBS, "unsupported-feature-flags".into())
    );
    let m = RawMiner::connect(fixed.addr(), fixed.authority(), 0).await;
    assert_eq!(m.setup_flags, 0b11, "REQUIRES_FIXED_VERSION | REQUIRES_EXTENDED_CHANNELS");
    drop(m);
    fixed.shutdown().await;
    p.shutdown().await;
    for name in ["setup", "setup-fixed"] {
        temp_dir(name); // removes it
    }
}

fn open_error(f: &OwnedFrame) -> String {
    match f.message().unwrap().0 {
        Message::OpenMiningChannelError(e) => String::from_utf8_lossy(e.error_code.as_bytes()).into_owned(),
        other => panic!("expected OpenMiningChannel.Error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_requests_are_answered_with_their_codes() {
    let p = pool("channels", |c| c.max_channels_per_connection = 2).await;
    let mut c = connect(&p).await;
    c.send(&setup_connection(REQUIRES_STANDARD_JOBS).into()).await.unwrap();
    assert!(matches!(read(&mut c).await.message().unwrap().0, Message::SetupConnectionSuccess(_)));
    let user = Str0_255::from_str("carol.rig").unwrap();
    let std = |rate: f32, user| OpenStandardMiningChannel {
        request_id: 1,
        user_identity: user,
        nominal_hash_rate: rate,
        max_target: MAX_TARGET,
    };
    for (msg, code) in [
        (Message::from(std(f32::NAN, user)), "invalid-nominal-hashrate"),
        (std(-5.0, user).into(), "invalid-nominal-hashrate"),
        (std(1e6, Str0_255::from_str(" ").unwrap()).into(), "invalid-user-identity"),
        (std(1e6, Str0_255::new(&[0xff, 0xfe]).unwrap()).into(), "invalid-user-identity"),
        (
            OpenExtendedMiningChannel {
                request_id: 1,
                user_identity: user,
                nominal_hash_rate: 1e6,
                max_target: MAX_TARGET,
                min_extranonce_size: 4,
            }
            .into(),
            "extended-channels-not-supported-for-standard-jobs",
        ),
    ] {
        c.send(&msg).await.unwrap();
        assert_eq!(open_error(&read(&mut c).await), code);
    }
    // Two channels fit; the third is refused.
    let mut ids = Vec::new();
    for _ in 0..2 {
        c.send(&std(1e6, user).into()).await.unwrap();
        match read(&mut c).await.message().unwrap().0 {
            Message::OpenStandardMiningChannelSuccess(s) => {
                assert_eq!((s.extranonce_prefix.len(), s.group_channel_id), (16, 1));
                ids.push((s.channel_id, s.target));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_ne!(ids[0].0, ids[1].0);
    c.send(&std(1e6, user).into()).await.unwrap();
    assert_eq!(open_error(&read(&mut c).await), "too-many-channels");

    // UpdateChannel: a harder maximum is honoured with SetTarget; a bad one is an error.
    let mut harder = [0u8; 32];
    harder[28] = 1;
    c.send(&UpdateChannel { channel_id: ids[0].0, nominal_hash_rate: 0.0, maximum_target: harder }.into())
        .await
        .unwrap();
    match read(&mut c).await.message().unwrap().0 {
        Message::SetTarget(t) => assert_eq!((t.channel_id, t.maximum_target), (ids[0].0, harder)),
        other => panic!("expected SetTarget, got {other:?}"),
    }
    for (id, rate, code) in [(ids[0].0, f32::INFINITY, "invalid-nominal-hashrate"), (77, 1.0, "invalid-channel-id")] {
        c.send(&UpdateChannel { channel_id: id, nominal_hash_rate: rate, maximum_target: MAX_TARGET }.into())
            .await
            .unwrap();
        match read(&mut c).await.message().unwrap().0 {
            Message::UpdateChannelError(e) => {
                assert_eq!((e.channel_id, e.error_code.as_bytes()), (id, code.as_bytes()))
            }
            other => panic!("expected UpdateChannel.Error, got {other:?}"),
        }
    }
    // Extensions: none supported, every one requested is named.
    let wanted = [2u16, 0x4001];
    c.send(&RequestExtensions { request_id: 9, requested_extensions: Seq::new(&wanted).unwrap() }.into())
        .await
        .unwrap();
    match read(&mut c).await.message().unwrap().0 {
        Message::RequestExtensionsError(e) => {
            assert_eq!(e.request_id, 9);
            assert_eq!(e.unsupported_extensions.to_vec(), wanted);
            assert!(e.required_extensions.is_empty());
        }
        other => panic!("expected RequestExtensions.Error, got {other:?}"),
    }
    assert_eq!(p.metrics().channels_open.load(std::sync::atomic::Ordering::Relaxed), 2);
    drop(c);
    until("the channels to close", || p.metrics().channels_open.load(std::sync::atomic::Ordering::Relaxed) == 0).await;

    // A pool for extended channels only refuses standard ones, and checks extranonce sizes.
    let ext = pool("channels-ext", |c| c.extended_channels_only = true).await;
    let mut c = connect(&ext).await;
    c.send(&setup_connection(0).into()).await.unwrap();
    read(&mut c).await;
    c.send(&std(1e6, user).into()).await.unwrap();
    assert_eq!(open_error(&read(&mut c).await), "standard-channels-not-supported");
    let ext_open = |min| OpenExtendedMiningChannel {
        request_id: 2,
        user_identity: user,
        nominal_hash_rate: 1e6,
        max_target: MAX_TARGET,
        min_extranonce_size: min,
    };
    c.send(&ext_open(13).into()).await.unwrap();
    assert_eq!(open_error(&read(&mut c).await), "min-extranonce-size-too-large");
    c.send(&ext_open(12).into()).await.unwrap();
    match read(&mut c).await.message().unwrap().0 {
        Message::OpenExtendedMiningChannelSuccess(s) => {
            assert_eq!((s.extranonce_size, s.extranonce_prefix.len()), (12, 4))
        }
        other => panic!("{other:?}"),
    }
    ext.shutdown().await;
    p.shutdown().await;
    for name in ["channels", "channels-ext"] {
        temp_dir(name); // removes it
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_opens_no_channel_is_closed() {
    let p = pool("idle", |c| c.setup_timeout = std::time::Duration::from_millis(300)).await;
    let mut c = connect(&p).await;
    c.send(&setup_connection(0).into()).await.unwrap();
    read(&mut c).await;
    let r = tokio::time::timeout(PATIENCE, c.read_frame()).await.expect("closed, not left hanging");
    assert!(r.is_err());
    p.shutdown().await;
    temp_dir("idle"); // removes it
}
