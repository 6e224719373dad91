//! Authority keys, server static keys and certificates.

use std::ffi::{c_char, CStr};

use sv2::noise::{random_bytes, AuthorityKeypair, AuthorityPublicKey, Certificate, ServerCredentials};

use crate::boundary::{arg, arg_mut, array, array_mut, guard, guard_void, write_out};
use crate::sv2_result;

/// Size of a certificate (SIGNATURE_NOISE_MESSAGE).
pub const SV2_CERTIFICATE_LEN: usize = 74;
/// Size of the base58check text of an authority key, without the NUL.
pub const SV2_AUTHORITY_KEY_TEXT_MAX: usize = 52;

/// A server's static key and its certificate: what a responder session needs.
pub struct sv2_server_credentials(pub(crate) ServerCredentials);

/// Makes a new authority key pair from the OS generator: the 32-byte secret key (keep it
/// offline) and the 32-byte x-only public key clients pin.
///
/// @param[out] secret_out  32 bytes: receives the secret key, or NULL
/// @param[out] public_out  32 bytes: receives the public key, or NULL
/// @return SV2_RESULT_OK; SV2_RESULT_ENTROPY
///
/// # Safety
/// `secret_out` and `public_out` are NULL or point to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_authority_keypair_generate(secret_out: *mut u8, public_out: *mut u8) -> sv2_result {
    guard(|| {
        let (s, p) = (array_mut(secret_out)?, array_mut(public_out)?);
        let kp = AuthorityKeypair::generate().map_err(sv2_result::from)?;
        *s = kp.secret_bytes();
        *p = kp.public_key().to_bytes();
        Ok(())
    })
}

/// The x-only public key of an authority secret key.
///
/// @param[in] secret  32 bytes: the secret key
/// @param[out] public_out  32 bytes: receives the x-only public key
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_KEY
///
/// # Safety
/// `secret` points to 32 readable bytes; `public_out` to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_authority_public_key(secret: *const u8, public_out: *mut u8) -> sv2_result {
    guard(|| {
        let (secret, out) = (array(secret)?, array_mut(public_out)?);
        *out = AuthorityKeypair::from_secret_bytes(secret).map_err(sv2_result::from)?.public_key().to_bytes();
        Ok(())
    })
}

/// Parses an authority key's base58check text (NUL-terminated) into its 32 bytes.
///
/// @param[in] text  NUL-terminated base58check text
/// @param[out] public_out  32 bytes: receives the key
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_AUTHORITY_KEY
///
/// # Safety
/// `text` is a NUL-terminated string; `public_out` points to 32 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_authority_key_parse(text: *const c_char, public_out: *mut u8) -> sv2_result {
    guard(|| {
        let out = array_mut(public_out)?;
        if text.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let s = CStr::from_ptr(text).to_str().map_err(|_| sv2_result::InvalidAuthorityKey)?;
        *out = AuthorityPublicKey::from_base58check(s).map_err(sv2_result::from)?.to_bytes();
        Ok(())
    })
}

/// Writes an authority public key's base58check text, NUL-terminated, into `(out, cap)`;
/// `written` gets its length without the NUL. A buffer of SV2_AUTHORITY_KEY_TEXT_MAX + 1
/// bytes is always enough.
///
/// @param[in] public_key  32 bytes: the x-only public key
/// @param[out] out  buffer for the text and its NUL
/// @param cap  bytes at `out`
/// @param[out] written  receives the text's length without the NUL
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_KEY, SV2_RESULT_INSUFFICIENT_SIZE
///
/// # Safety
/// `public_key` points to 32 bytes; `out` to `cap` writable bytes; `written` valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_authority_key_format(
    public_key: *const u8,
    out: *mut c_char,
    cap: usize,
    written: *mut usize,
) -> sv2_result {
    guard(|| {
        let (public_key, written) = (array(public_key)?, arg_mut(written)?);
        if out.is_null() {
            return Err(sv2_result::NullParameter);
        }
        let mut text =
            AuthorityPublicKey::from_bytes(public_key).map_err(sv2_result::from)?.to_base58check().into_bytes();
        let len = text.len();
        text.push(0);
        let mut with_nul = 0;
        write_out(&text, out.cast(), cap, &mut with_nul)?;
        *written = len;
        Ok(())
    })
}

/// Issues credentials: a server static key (`static_secret`, or a fresh random one when NULL)
/// with a certificate signed by the authority, valid over `[valid_from, not_valid_after]`
/// (unix seconds). Free with sv2_server_credentials_free().
///
/// @param[in] authority_secret  32 bytes: the authority's secret key
/// @param[in] static_secret  32 bytes: the server's static secret key, or NULL for a fresh one
/// @param valid_from  unix time the certificate starts being valid
/// @param not_valid_after  unix time after which it is not
/// @param[out] out  receives the credentials; free them with sv2_server_credentials_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_KEY, SV2_RESULT_ENTROPY
///
/// # Safety
/// `authority_secret` points to 32 bytes; `static_secret` is NULL or points to 32 bytes;
/// `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_credentials_issue(
    authority_secret: *const u8,
    static_secret: *const u8,
    valid_from: u32,
    not_valid_after: u32,
    out: *mut *mut sv2_server_credentials,
) -> sv2_result {
    guard(|| {
        let (authority_secret, out) = (array(authority_secret)?, arg_mut(out)?);
        let authority = AuthorityKeypair::from_secret_bytes(authority_secret).map_err(sv2_result::from)?;
        let creds = match static_secret.cast::<[u8; 32]>().as_ref() {
            Some(secret) => {
                let aux = random_bytes().map_err(sv2_result::from)?;
                ServerCredentials::issue(&authority, *secret, valid_from, not_valid_after, &aux)
            }
            None => ServerCredentials::generate(&authority, valid_from, not_valid_after),
        }
        .map_err(sv2_result::from)?;
        *out = Box::into_raw(Box::new(sv2_server_credentials(creds)));
        Ok(())
    })
}

/// Credentials from a static secret key and a certificate issued for it earlier (74 bytes).
///
/// @param[in] static_secret  32 bytes: the server's static secret key
/// @param[in] certificate  SV2_CERTIFICATE_LEN bytes: its certificate
/// @param[out] out  receives the credentials; free them with sv2_server_credentials_free()
/// @return SV2_RESULT_OK; SV2_RESULT_INVALID_KEY
///
/// # Safety
/// `static_secret` points to 32 bytes, `certificate` to 74 bytes; `out` is valid.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_credentials_new(
    static_secret: *const u8,
    certificate: *const u8,
    out: *mut *mut sv2_server_credentials,
) -> sv2_result {
    guard(|| {
        let (secret, cert, out) = (array(static_secret)?, array(certificate)?, arg_mut(out)?);
        let creds = ServerCredentials::new(*secret, Certificate::from_bytes(cert)).map_err(sv2_result::from)?;
        *out = Box::into_raw(Box::new(sv2_server_credentials(creds)));
        Ok(())
    })
}

/// The credentials' static secret key, x-only static public key and certificate; any output
/// pointer may be NULL.
///
/// @param[in] creds  the credentials
/// @param[out] static_secret_out  32 bytes: receives the static secret key, or NULL
/// @param[out] static_public_out  32 bytes: receives the static public key, or NULL
/// @param[out] certificate_out  SV2_CERTIFICATE_LEN bytes: receives the certificate, or NULL
/// @return SV2_RESULT_OK
///
/// # Safety
/// `creds` is valid; non-NULL outputs point to 32, 32 and 74 writable bytes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn sv2_server_credentials_export(
    creds: *const sv2_server_credentials,
    static_secret_out: *mut u8,
    static_public_out: *mut u8,
    certificate_out: *mut u8,
) -> sv2_result {
    guard(|| {
        let c = &arg(creds)?.0;
        if let Some(s) = static_secret_out.cast::<[u8; 32]>().as_mut() {
            *s = *c.static_secret();
        }
        if let Some(p) = static_public_out.cast::<[u8; 32]>().as_mut() {
            *p = c.static_public_key();
        }
        if let Some(cert) = certificate_out.cast::<[u8; SV2_CERTIFICATE_LEN]>().as_mut() {
            *cert = c.certificate().to_bytes();
        }
        Ok(())
    })
}

/// Releases credentials (NULL does nothing).
///
/// @param[in] creds  credentials from sv2_server_credentials_issue() or _new(), or NULL
///
/// # Safety
/// `creds` is NULL or came from an sv2_server_credentials_ constructor and is freed once.
#[no_mangle]
pub unsafe extern "C" fn sv2_server_credentials_free(creds: *mut sv2_server_credentials) {
    guard_void(|| {
        if !creds.is_null() {
            drop(Box::from_raw(creds));
        }
    })
}
