//! `VERIFY.txt`: how to check a bundle with `sha256sum` and `openssl` alone.
//!
//! The script between the `8<` lines is run verbatim by the tests, on a good bundle and on
//! tampered ones, so the recipe an auditor reads is the recipe that is known to work.

/// The first and last line of the script block.
pub const SCRIPT_BEGIN: &str = "---8<--- check.sh (POSIX sh; run it inside the bundle directory)";
pub const SCRIPT_END: &str = "---8<---";

/// The text of `VERIFY.txt`; `signer` is the key's SHA-256 fingerprint and algorithm
/// (`ed25519`, `ecdsa-p256-sha256`, `rsa-pss-sha256`) for a signed bundle.
pub fn verify_txt(signer: Option<(&str, &str)>) -> String {
    let mut t = String::from(
        "How to check this evidence bundle without trailglass
====================================================

You need GNU coreutils (sha256sum, sort, cut) and, for a signed bundle, OpenSSL 3.0 or
later. A .zip bundle is unpacked first (`unzip -d bundle bundle.zip`, then `cd bundle`).

What proves what:
- manifest.json lists every file with its size and SHA-256, and records how the bundle was
  made (lake versions, the digests of config.toml and of queries.json, which holds the SQL
  run and its bound parameters).
- sources.json names every CloudTrail log file a record came from (key, etag, SHA-256) and,
  once `trailglass validate-logs` has checked the lake, its digest-validation status and the
  digest that lists it, with that digest's own status and signing key's fingerprint (unknown
  before); digest-public-keys.json, when present, holds those keys as
  `aws cloudtrail list-public-keys` prints them.
- SHA256SUMS holds the same hashes in the format `sha256sum -c` reads; manifest.json holds
  the SHA-256 of SHA256SUMS (\"sha256sums\"), so checking the manifest covers it.
",
    );
    let (check, kind, ok) = match signer {
        Some((_, "rsa-pss-sha256")) => (
            "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify manifest.pub -signature manifest.sig manifest.json",
            "an RSASSA-PSS signature (SHA-256, MGF1 with SHA-256, 32-byte salt: AWS KMS's\n  RSASSA_PSS_SHA_256)",
            "Verified OK",
        ),
        Some((_, "ecdsa-p256-sha256")) => (
            "openssl dgst -sha256 -verify manifest.pub -signature manifest.sig manifest.json",
            "an ECDSA P-256 / SHA-256 signature (DER, made by AWS KMS)",
            "Verified OK",
        ),
        _ => (
            "openssl pkeyutl -verify -pubin -inkey manifest.pub -rawin -in manifest.json -sigfile manifest.sig",
            "an Ed25519 signature",
            "Signature Verified Successfully",
        ),
    };
    match signer {
        Some((fp, _)) => t.push_str(&format!(
            "- manifest.sig is {kind} over the exact bytes of manifest.json, made
  with the private key whose public half is manifest.pub (SHA-256 of its DER form:
  {fp}). Compare that fingerprint with the key the exporter published to you through
  another channel: a bundle re-signed with another key is otherwise self-consistent.

Steps (each must succeed; the script below runs them all and stops at the first failure):
1. The signature:
     {check}
   prints \"{ok}\".
2. The key:
     openssl pkey -pubin -in manifest.pub -outform DER | sha256sum
   prints the fingerprint you expect.
"
        )),
        None => t.push_str(
            "- This bundle is NOT signed (no manifest.sig): the checks below show that the files
  agree with the manifest, not who made it. Obtain the manifest's SHA-256 from the exporter
  through another channel and compare it with `sha256sum manifest.json`.

Steps (each must succeed; the script below runs them all and stops at the first failure):
1. (no signature to check)
2. The manifest you were told about:
     sha256sum manifest.json
",
        ),
    }
    t.push_str(
        "3. SHA256SUMS is the one the manifest names:
     grep -F \"\\\"sha256sums\\\": \\\"$(sha256sum SHA256SUMS | cut -d' ' -f1)\\\"\" manifest.json
   prints one line.
4. Every file is intact:
     sha256sum --strict -c SHA256SUMS
   prints OK for every file.
5. Nothing was added: the files present are exactly those of SHA256SUMS, plus SHA256SUMS,
   manifest.json and manifest.sig (compare `ls -A` with the names in SHA256SUMS).

",
    );
    t.push_str(SCRIPT_BEGIN);
    t.push_str("\nset -eu\nexport LC_ALL=C\n");
    if signer.is_some() {
        t.push_str(check);
        t.push_str(
            "
printf 'key fingerprint: '
openssl pkey -pubin -in manifest.pub -outform DER | sha256sum | cut -d' ' -f1
extra=manifest.sig
",
        );
    } else {
        t.push_str("test ! -e manifest.sig\nextra=\n");
    }
    t.push_str(
        "grep -qF \"\\\"sha256sums\\\": \\\"$(sha256sum SHA256SUMS | cut -d' ' -f1)\\\"\" manifest.json
sha256sum --strict --quiet -c SHA256SUMS
listed=$( { cut -c67- SHA256SUMS; printf '%s\\n' SHA256SUMS manifest.json $extra; } | sort)
present=$(ls -A | sort)
test \"$listed\" = \"$present\"
echo 'bundle verified'
",
    );
    t.push_str(SCRIPT_END);
    t.push('\n');
    t
}

/// The script block of a `VERIFY.txt`.
pub fn script(verify_txt: &str) -> Option<&str> {
    let start = verify_txt.find(SCRIPT_BEGIN)? + SCRIPT_BEGIN.len();
    let end = verify_txt[start..].find(SCRIPT_END)? + start;
    Some(&verify_txt[start..end])
}
