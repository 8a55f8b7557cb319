//! Standard Webhooks secrets: `whsec_` (a symmetric key, v1), `whpk_` (an ed25519 public key,
//! v1a, verify only) and `whsk_` (an ed25519 private key, v1a, for signing).

use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{SigningKey, VerifyingKey};

/// A key that checks a signature.
#[derive(Clone)]
pub enum VerifyKey {
    Hmac(Vec<u8>),
    Ed25519(VerifyingKey),
}

/// A key that makes a signature.
#[derive(Clone)]
pub enum SignKey {
    Hmac(Vec<u8>),
    Ed25519(SigningKey),
}

/// A secret's key pair: what verifies with it, and what signs with it when it can sign.
pub struct Keys {
    pub verify: VerifyKey,
    pub sign: Option<SignKey>,
}

/// Reads one secret; the error says what is wrong without quoting it.
pub fn parse(secret: &str) -> Result<Keys, String> {
    if let Some(encoded) = secret.strip_prefix("whsec_") {
        let key = decode(encoded, "whsec_")?;
        return Ok(Keys {
            verify: VerifyKey::Hmac(key.clone()),
            sign: Some(SignKey::Hmac(key)),
        });
    }
    if let Some(encoded) = secret.strip_prefix("whpk_") {
        let bytes: [u8; 32] = decode(encoded, "whpk_")?
            .try_into()
            .map_err(|_| "the key after whpk_ must be 32 bytes".to_owned())?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "the key after whpk_ is not an ed25519 public key".to_owned())?;
        return Ok(Keys {
            verify: VerifyKey::Ed25519(key),
            sign: None,
        });
    }
    if let Some(encoded) = secret.strip_prefix("whsk_") {
        let signing = signing_key(&decode(encoded, "whsk_")?)?;
        return Ok(Keys {
            verify: VerifyKey::Ed25519(signing.verifying_key()),
            sign: Some(SignKey::Ed25519(signing)),
        });
    }
    Err("a Standard Webhooks secret starts with whsec_, whpk_ or whsk_".to_owned())
}

fn decode(encoded: &str, prefix: &str) -> Result<Vec<u8>, String> {
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("the part after {prefix} is not base64"))?;
    if key.is_empty() {
        return Err(format!("{prefix} has no key after it"));
    }
    Ok(key)
}

/// A 32-byte seed, or the 64-byte seed and public key; then the public half must match.
fn signing_key(bytes: &[u8]) -> Result<SigningKey, String> {
    let seed: [u8; 32] = bytes
        .get(..32)
        .and_then(|s| s.try_into().ok())
        .filter(|_| bytes.len() == 32 || bytes.len() == 64)
        .ok_or("the key after whsk_ must be 32 or 64 bytes")?;
    let key = SigningKey::from_bytes(&seed);
    if bytes.len() == 64 && key.verifying_key().as_bytes() != &bytes[32..] {
        return Err("the public half of the whsk_ key does not match its seed".to_owned());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(prefix: &str, bytes: &[u8]) -> String {
        format!("{prefix}{}", STANDARD.encode(bytes))
    }

    #[test]
    fn each_prefix_gives_its_kind_of_key() {
        assert!(matches!(
            parse(&encoded("whsec_", b"k")).unwrap().sign,
            Some(SignKey::Hmac(_))
        ));
        let private = SigningKey::from_bytes(&[9; 32]);
        let public = encoded("whpk_", private.verifying_key().as_bytes());
        let keys = parse(&public).unwrap();
        assert!(keys.sign.is_none());
        assert!(matches!(keys.verify, VerifyKey::Ed25519(k) if k == private.verifying_key()));
        for form in [
            private.to_bytes().to_vec(),
            private.to_keypair_bytes().to_vec(),
        ] {
            let keys = parse(&encoded("whsk_", &form)).unwrap();
            assert!(matches!(keys.sign, Some(SignKey::Ed25519(k)) if k == private));
        }
    }

    #[test]
    fn empty_short_and_foreign_secrets_are_refused() {
        for bad in [
            "whsec_".to_owned(),
            "whpk_".to_owned(),
            "whsk_".to_owned(),
            "plain".to_owned(),
            "".to_owned(),
            "whsec_***".to_owned(),
            encoded("whpk_", &[1; 31]),
            encoded("whsk_", &[1; 33]),
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        let mut pair = SigningKey::from_bytes(&[9; 32]).to_keypair_bytes();
        pair[40] ^= 1;
        assert!(parse(&encoded("whsk_", &pair)).is_err());
    }
}
