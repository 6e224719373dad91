//! Errors that wrap another error give it back as their `source()`, so that a caller's error
//! report (anyhow, tracing) shows the whole chain; errors of their own have none.

use std::error::Error;

use sv2::channels::ChannelError;
use sv2::endpoint::client::ClientError;
use sv2::endpoint::server::EndpointError;
use sv2::jd::client::JdcError;
use sv2::jd::server::JdError;
use sv2::jd::store::StoreError;
use sv2::CodecError;

fn source_text(e: &dyn Error) -> Option<String> {
    e.source().map(|s| s.to_string())
}

#[test]
fn wrapped_errors_are_their_source() {
    let codec = CodecError::TooLong { len: 300, max: 255 };
    assert_eq!(source_text(&EndpointError::Outbox(codec)), Some(codec.to_string()));
    assert_eq!(source_text(&ClientError::Codec(codec)), Some(codec.to_string()));
    assert_eq!(source_text(&JdError::<CodecError>::Outbox(codec)), Some(codec.to_string()));
    let store = StoreError::Full;
    assert_eq!(source_text(&JdError::<CodecError>::Store(store)), Some(store.to_string()));
    assert_eq!(store.to_string(), "the token store is full");
    let coinbase = ChannelError::ScriptSigTooLong;
    assert_eq!(source_text(&JdcError::<CodecError>::Coinbase(coinbase)), Some(coinbase.to_string()));
    assert_eq!(source_text(&JdcError::<CodecError>::Outbox(codec)), Some(codec.to_string()));
}

#[test]
fn errors_of_their_own_have_no_source() {
    assert!(EndpointError::<CodecError>::SecondSetup.source().is_none());
    assert!(JdError::<CodecError>::SecondSetup.source().is_none());
    assert!(JdcError::<CodecError>::NoToken.source().is_none());
    assert!(ClientError::NotConnected.source().is_none());
}
