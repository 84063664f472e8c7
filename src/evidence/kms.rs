//! Signing with an asymmetric AWS KMS key (`--sign kms:KEY_ID_OR_ARN`): ECC_NIST_P256 with
//! ECDSA_SHA_256, or RSA_2048/3072/4096 with RSASSA_PSS_SHA_256 (SHA-256, MGF1-SHA-256, a 32-byte
//! salt). The private key never leaves KMS; the public key comes from `kms:GetPublicKey` and is
//! written as `manifest.pub`, so `verify` (and `openssl dgst`) check offline.
//!
//! Everything that can refuse is asked before the bundle is written (`kms:DescribeKey` for the
//! key's state and use, `kms:GetPublicKey`); `kms:Sign` comes last, and when it fails the
//! unfinished bundle is removed. A refusal exits 3 with a sentence naming the key and the
//! permission.

use anyhow::Result;
use aws_config::BehaviorVersion;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use base64::Engine;
use sha2::Digest;

use super::crypt::{DataKey, Header, Tampered, context};
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
    algorithm: SigningAlgorithmSpec,
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

async fn client() -> aws_sdk_kms::Client {
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    aws_sdk_kms::Client::new(&conf)
}

/// `kms:DescribeKey`: the key's ARN, refused when it is disabled (`needs`: the permission the
/// key is wanted for) or not of `usage`.
async fn describe(
    client: &aws_sdk_kms::Client,
    key: &str,
    needs: &str,
    usage: KeyUsageType,
) -> Result<aws_sdk_kms::types::KeyMetadata> {
    let d = client
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| refusal(&e, key, "kms:DescribeKey"))?;
    let meta = d
        .key_metadata()
        .ok_or_else(|| Error::Access(format!("kms:DescribeKey on {key} returned no key")))?
        .clone();
    let arn = meta.arn().unwrap_or(key).to_string();
    if !meta.enabled() {
        return Err(Error::Access(format!(
            "the KMS key {arn} is disabled ({}): {needs} needs an enabled key",
            meta.key_state().map_or("disabled", |s| s.as_str())
        ))
        .into());
    }
    // KMS always reports the usage; an emulator may leave it out, and then the call decides.
    if meta.key_usage().is_some_and(|u| u != &usage) {
        return Err(Error::Usage(format!(
            "the KMS key {arn} is for {}, not {}",
            meta.key_usage().map_or("?", |s| s.as_str()),
            usage.as_str()
        ))
        .into());
    }
    Ok(meta)
}

/// A fresh AES-256 data key under `key` (`kms:GenerateDataKey`), for `--encrypt`.
pub async fn data_key(key: &str) -> Result<DataKey> {
    let client = client().await;
    let meta = describe(
        &client,
        key,
        "kms:GenerateDataKey",
        KeyUsageType::EncryptDecrypt,
    )
    .await?;
    let arn = meta.arn().unwrap_or(key).to_string();
    let out = client
        .generate_data_key()
        .key_id(&arn)
        .key_spec(DataKeySpec::Aes256)
        .set_encryption_context(Some(context()))
        .send()
        .await
        .map_err(|e| refusal(&e, &arn, "kms:GenerateDataKey"))?;
    let (Some(plain), Some(enc)) = (out.plaintext(), out.ciphertext_blob()) else {
        return Err(Error::Access(format!("kms:GenerateDataKey on {arn} returned no key")).into());
    };
    Ok(DataKey {
        key_arn: arn,
        plaintext: plain.as_ref().to_vec(),
        encrypted: enc.as_ref().to_vec(),
    })
}

/// The plaintext data key of an encrypted bundle (`kms:Decrypt`).
pub async fn unwrap_key(header: &Header) -> Result<Vec<u8>> {
    let client = client().await;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(&header.encrypted_data_key)
        .map_err(|_| Tampered("the encrypted data key in the header is not base64".into()))?;
    let out = client
        .decrypt()
        .key_id(&header.kms_key)
        .ciphertext_blob(Blob::new(blob))
        .set_encryption_context(Some(
            header.encryption_context.clone().into_iter().collect(),
        ))
        .send()
        .await
        .map_err(|e| refusal(&e, &header.kms_key, "kms:Decrypt"))?;
    Ok(out
        .plaintext()
        .ok_or_else(|| Error::Access(format!("kms:Decrypt on {} returned no key", header.kms_key)))?
        .as_ref()
        .to_vec())
}

impl KmsSigner {
    /// Check the key and fetch its public half. `key` is a key id, ARN or alias.
    pub async fn connect(key: &str) -> Result<KmsSigner> {
        let client = client().await;
        let meta = describe(&client, key, "kms:Sign", KeyUsageType::SignVerify).await?;
        let arn = meta.arn().unwrap_or(key).to_string();
        let (algorithm, public_alg) = match meta.key_spec() {
            Some(KeySpec::EccNistP256) => (SigningAlgorithmSpec::EcdsaSha256, "ecdsa-p256-sha256"),
            Some(KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096) => {
                (SigningAlgorithmSpec::RsassaPssSha256, "rsa-pss-sha256")
            }
            other => {
                return Err(Error::Usage(format!(
                    "the KMS key {arn} is {}: --sign needs an ECC_NIST_P256 or RSA (2048, 3072, 4096) key",
                    other.map_or("?", |s| s.as_str()),
                ))
                .into());
            }
        };
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
        if public.algorithm()? != public_alg {
            return Err(Error::Usage(format!(
                "the public key of the KMS key {arn} is not the {public_alg} key its key spec says"
            ))
            .into());
        }
        Ok(KmsSigner {
            client,
            arn,
            public,
            algorithm,
        })
    }

    /// A signature over SHA-256 of `msg` (ECDSA P-256 in DER, or RSASSA-PSS): the same whether KMS
    /// is sent the message (RAW, at most 4 KiB: a session's manifest, whose SQL is in
    /// `queries.json`) or its SHA-256 (DIGEST, for longer ones such as a period's).
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
            .signing_algorithm(self.algorithm.clone())
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
