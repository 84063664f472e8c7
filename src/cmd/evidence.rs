//! `trailglass evidence`: write an evidence bundle for one session or a period (SPEC §11).

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::Cli;
use super::common::{open, parse_flag_time};
use crate::config::Config;
use crate::error::{Error, Exit};
use crate::evidence::bundle::{self, Plan, Subject};
use crate::evidence::kms::KmsSigner;
use crate::evidence::manifest::LakeRead;
use crate::evidence::sign::{LocalKey, Signer};
use crate::lake::LakeLocation;

/// Export a verifiable evidence bundle: one session (or every session of a period), its
/// findings, and the original CloudTrail records byte for byte, with a manifest of SHA-256
/// hashes, optionally signed.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  trailglass evidence 3f1c0d9a2b7e4c11 --out case-4711
  trailglass keygen --out evidence.key
  trailglass evidence 3f1c0d9a2b7e4c11 --out case-4711.zip --sign-key evidence.key
  trailglass evidence --from 2026-03-01 --to 2026-03-08 --account 111122223333 --out march.zip
  trailglass verify case-4711.zip --public-key evidence.key.pub")]
pub struct EvidenceArgs {
    /// The session (see `trailglass sessions`); or give --from and --to for a period.
    pub session_id: Option<String>,
    /// Where to write: a directory, or a zip file when the name ends in .zip.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing, non-empty --out.
    #[arg(long)]
    pub force: bool,
    /// Sessions that started at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, conflicts_with = "session_id", requires = "to")]
    pub from: Option<String>,
    /// Sessions that started at or before this time.
    #[arg(long, conflicts_with = "session_id", requires = "from")]
    pub to: Option<String>,
    /// Only sessions in this account (with --from/--to).
    #[arg(long, requires = "from")]
    pub account: Option<String>,
    /// Only sessions whose principal ARN matches this glob (with --from/--to).
    #[arg(long, requires = "from")]
    pub principal: Option<String>,
    /// Read the lake as of this Delta table version of `events` (reproducible bundles).
    #[arg(long)]
    pub as_of: Option<i64>,
    /// The bundle's created time (RFC 3339); default SOURCE_DATE_EPOCH when set, else now.
    #[arg(long)]
    pub created: Option<String>,
    /// Sign the manifest with this private key (PKCS#8 PEM): Ed25519 (see `trailglass keygen`),
    /// or RSA 2048-4096 (RSASSA-PSS, SHA-256, 32-byte salt).
    #[arg(long, conflicts_with = "sign")]
    pub sign_key: Option<PathBuf>,
    /// Sign the manifest with an asymmetric AWS KMS key: kms:KEY_ID_OR_ARN (ECC_NIST_P256 with
    /// ECDSA_SHA_256, or RSA_2048/3072/4096 with RSASSA_PSS_SHA_256; needs kms:DescribeKey,
    /// kms:GetPublicKey and kms:Sign).
    #[arg(long, value_name = "kms:KEY")]
    pub sign: Option<String>,
    /// Encrypt the finished bundle (a zip) under a KMS key: kms:KEY_ID_OR_ARN (envelope
    /// encryption, AES-256-GCM; needs kms:GenerateDataKey; `trailglass decrypt` undoes it).
    #[arg(long, value_name = "kms:KEY")]
    pub encrypt: Option<String>,
    /// CloudTrail's digest-signing public keys (`aws cloudtrail list-public-keys` output, as
    /// `validate-logs --public-keys` reads): the keys that signed the digests covering the
    /// bundle's files are included as digest-public-keys.json.
    #[arg(long, value_name = "FILE")]
    pub public_keys: Option<PathBuf>,
}

/// `--created`, else `SOURCE_DATE_EPOCH`, else now (to the second).
fn created(args: &EvidenceArgs) -> Result<DateTime<Utc>> {
    if let Some(t) = parse_flag_time("--created", &args.created)? {
        return Ok(t);
    }
    if let Some(v) = std::env::var_os("SOURCE_DATE_EPOCH") {
        let s = v.to_string_lossy();
        return s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|n| DateTime::from_timestamp(n, 0))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "SOURCE_DATE_EPOCH={s:?} is not a number of seconds since 1970"
                ))
                .into()
            });
    }
    Ok(DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default())
}

/// The key of a `kms:KEY_ID_OR_ARN` flag value.
pub(crate) fn kms_arg<'a>(flag: &str, v: &'a Option<String>) -> Result<Option<&'a str>> {
    match v {
        None => Ok(None),
        Some(s) => match s.strip_prefix("kms:") {
            Some(k) if !k.is_empty() => Ok(Some(k)),
            _ => Err(Error::Usage(format!("{flag} {s:?}: use kms:KEY_ID_OR_ARN")).into()),
        },
    }
}

pub fn run(args: &EvidenceArgs, cli: &Cli) -> Result<Exit> {
    let subject = match (&args.session_id, &args.from, &args.to) {
        (Some(id), None, None) => Subject::Session(id.clone()),
        (None, Some(_), Some(_)) => Subject::Period {
            from: parse_flag_time("--from", &args.from)?.unwrap_or_default(),
            to: parse_flag_time("--to", &args.to)?.unwrap_or_default(),
            account: args.account.clone(),
            principal: args.principal.clone(),
        },
        _ => {
            return Err(
                Error::Usage("give a SESSION_ID, or --from and --to for a period".into()).into(),
            );
        }
    };
    let created = created(args)?;
    bundle::check_out(&args.out, args.force)?;
    let local = args.sign_key.as_deref().map(LocalKey::read).transpose()?;
    let kms_key = kms_arg("--sign", &args.sign)?;
    let encrypt_key = kms_arg("--encrypt", &args.encrypt)?;
    let digest_keys = args
        .public_keys
        .as_deref()
        .map(crate::integrity::keys::KeySet::load)
        .transpose()
        .map_err(|e| Error::Usage(format!("--public-keys: {e:#}")))?;
    let config = Config::load(cli.config.as_deref())?;
    let location = LakeLocation::parse(&cli.lake)?;
    let (rt, mut a) = open(cli, args.as_of)?;
    // The key is checked before any work, so a refusal costs nothing and writes nothing.
    let signer = match (local, kms_key) {
        (Some(k), _) => Some(Signer::Local(k)),
        (None, Some(k)) => Some(Signer::Kms(rt.block_on(KmsSigner::connect(k))?)),
        (None, None) => None,
    };
    let encrypt = encrypt_key
        .map(|k| rt.block_on(crate::evidence::kms::data_key(k)))
        .transpose()?;
    let before = rt
        .block_on(bundle::table_versions(&location))
        .map_err(|e| Error::Access(format!("{e:#}")))?;
    let mut versions = before.clone();
    if let Some(v) = args.as_of {
        versions.insert("events".into(), v);
    }
    let plan = Plan {
        subject,
        out: args.out.clone(),
        force: args.force,
        created,
        lake: LakeRead {
            location: cli.lake.clone(),
            as_of: args.as_of,
            table_versions: versions,
        },
        config,
        signer,
        encrypt,
        digest_keys,
    };
    let written = rt.block_on(bundle::write(&mut a, &plan))?;
    // Without --as-of the catalog read the tables as they were when it opened them; an ingest
    // that committed meanwhile would make the recorded versions wrong.
    let after = rt.block_on(bundle::table_versions(&location))?;
    if args.as_of.is_none() && after != before {
        let _ = if written.path.is_dir() {
            std::fs::remove_dir_all(&written.path)
        } else {
            std::fs::remove_file(&written.path)
        };
        return Err(Error::Access(format!(
            "the lake changed while the bundle was written (table versions {before:?} → {after:?}); run again, or pin it with --as-of"
        ))
        .into());
    }
    if !cli.quiet {
        println!(
            "wrote {}: {} session{}, {} records, {} findings; manifest sha256 {}; {}",
            written.path.display(),
            written.sessions,
            if written.sessions == 1 { "" } else { "s" },
            written.records,
            written.findings,
            written.manifest_sha256,
            match &written.signer {
                Some(k) => format!("signed (key sha256:{k})"),
                None => "unsigned".into(),
            }
        );
    }
    Ok(Exit::Ok)
}
