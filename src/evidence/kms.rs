//! Signing with an asymmetric AWS KMS key (`--sign kms:KEY_ID_OR_ARN`): ECC_NIST_P256 with
//! ECDSA_SHA_256. The private key never leaves KMS; the public key comes from `kms:GetPublicKey`
//! and is written as `manifest.pub`, so `verify` (and `openssl dgst`) check offline.
//!
//! Everything that can refuse is asked before the bundle is written (`kms:DescribeKey` for the
//! key's state and use, `kms:GetPublicKey`); `kms:Sign` comes last, and when it fails the
//! unfinished bundle is removed. A refusal exits 3 with a sentence naming the key and the
//! permission.

use anyhow::Result;
use aws_config::BehaviorVersion;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use sha2::Digest;

use super::sign::PublicKey;
use crate::error::Error;

/// The largest message `kms:Sign` takes as RAW.
const RAW_MAX: usize = 4096;

/// A KMS key ready to sign.
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    /// The key's ARN (as KMS names it), for messages.
    pub arn: String,
    pub public: PublicKey,
}

/// The sentence for a failed KMS call on `key`, needing `permission`.
fn refusal<E: ProvideErrorMetadata + std::error::Error + 'static, R>(
    e: &SdkError<E, R>,
    key: &str,
    permission: &str,
) -> anyhow::Error {
    let code = e.code().unwrap_or_default();
    let detail = e.message().map_or_else(|| format!("{e}"), str::to_string);
    let what = match code {
        "AccessDeniedException" => format!(
            "{permission} is denied on the KMS key {key}: grant this principal {permission} on the key ({detail})"
        ),
        "DisabledException" | "KMSInvalidStateException" => format!(
            "the KMS key {key} is disabled or pending deletion: {permission} needs an enabled key ({detail})"
        ),
        "NotFoundException" => format!("no KMS key {key} ({permission}: {detail})"),
        _ => format!("{permission} on the KMS key {key} failed: {code} {detail}"),
    };
    Error::Access(what).into()
}

impl KmsSigner {
    /// Check the key and fetch its public half. `key` is a key id, ARN or alias.
    pub async fn connect(key: &str) -> Result<KmsSigner> {
        let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let client = aws_sdk_kms::Client::new(&conf);
        let d = client
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| refusal(&e, key, "kms:DescribeKey"))?;
        let meta = d
            .key_metadata()
            .ok_or_else(|| Error::Access(format!("kms:DescribeKey on {key} returned no key")))?;
        let arn = meta.arn().unwrap_or(key).to_string();
        if !meta.enabled() {
            return Err(Error::Access(format!(
                "the KMS key {arn} is disabled ({}): kms:Sign needs an enabled key",
                meta.key_state().map_or("disabled", |s| s.as_str())
            ))
            .into());
        }
        if meta.key_usage() != Some(&KeyUsageType::SignVerify)
            || meta.key_spec() != Some(&KeySpec::EccNistP256)
        {
            return Err(Error::Usage(format!(
                "the KMS key {arn} is {} for {}: --sign needs an ECC_NIST_P256 key for SIGN_VERIFY",
                meta.key_spec().map_or("?", |s| s.as_str()),
                meta.key_usage().map_or("?", |s| s.as_str())
            ))
            .into());
        }
        let p = client
            .get_public_key()
            .key_id(&arn)
            .send()
            .await
            .map_err(|e| refusal(&e, &arn, "kms:GetPublicKey"))?;
        let der = p
            .public_key()
            .ok_or_else(|| Error::Access(format!("kms:GetPublicKey on {arn} returned no key")))?;
        let public = PublicKey {
            spki: der.as_ref().to_vec(),
        };
        if public.algorithm()? != "ecdsa-p256-sha256" {
            return Err(Error::Usage(format!("the KMS key {arn} is not a P-256 key")).into());
        }
        Ok(KmsSigner {
            client,
            arn,
            public,
        })
    }

    /// An ECDSA P-256 signature (DER) over SHA-256 of `msg`: the same signature whether KMS
    /// is sent the message (RAW, at most 4 KiB) or its SHA-256 (DIGEST, for longer ones).
    pub async fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let (message, kind) = if msg.len() <= RAW_MAX {
            (msg.to_vec(), MessageType::Raw)
        } else {
            (sha2::Sha256::digest(msg).to_vec(), MessageType::Digest)
        };
        let out = self
            .client
            .sign()
            .key_id(&self.arn)
            .message(Blob::new(message))
            .message_type(kind)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| refusal(&e, &self.arn, "kms:Sign"))?;
        let sig = out
            .signature()
            .ok_or_else(|| {
                Error::Access(format!("kms:Sign on {} returned no signature", self.arn))
            })?
            .as_ref()
            .to_vec();
        // A signature that does not check is never written.
        if !self.public.verifies(msg, &sig) {
            return Err(Error::Access(format!(
                "kms:Sign on {} returned a signature that does not verify with its public key",
                self.arn
            ))
            .into());
        }
        Ok(sig)
    }
}
