//! Names inside a bundle. Every file a bundle holds has a fixed name from [`FILES`]; nothing taken
//! from the data (session ids, principals, object keys) ever becomes a path. [`safe_join`] is the
//! one gate through which the writer and `verify` turn a name into a path, so a crafted manifest
//! cannot make `verify` read outside the bundle either.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Every name a bundle may hold, in the order a zip bundle stores them.
pub const FILES: &[&str] = &[
    "manifest.json",
    "manifest.sig",
    "manifest.pub",
    "SHA256SUMS",
    "VERIFY.txt",
    "config.toml",
    "queries.json",
    "session.json",
    "sessions.json",
    "findings.json",
    "events.jsonl",
    "events.parquet",
    "sources.json",
    "digest-public-keys.json",
    "timeline.csv",
    "timeline.html",
];

/// Whether `name` is a plain file name that cannot leave a directory: ASCII letters, digits,
/// `.`, `-` and `_`, not starting with a dot, at most 64 bytes. Everything else (separators,
/// `..`, NUL, percent-escapes, non-ASCII look-alikes) is refused rather than mapped.
pub fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// `root/name` for a plain name (see [`is_plain`]); an error naming the name otherwise.
pub fn safe_join(root: &Path, name: &str) -> Result<PathBuf> {
    if !is_plain(name) {
        bail!("{name:?} is not a plain file name; a bundle holds only files with fixed names");
    }
    Ok(root.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_odd_names_are_refused() {
        for bad in [
            "../../x",
            "/etc/x",
            "..\\x",
            "a/../../x",
            "a\0b",
            "%2e%2e/x",
            "..",
            ".",
            ".hidden",
            "",
            "CON\u{2215}x",
            &"a".repeat(300),
            "ＡＢＣ",
        ] {
            assert!(!is_plain(bad), "{bad:?}");
            assert!(safe_join(Path::new("/r"), bad).is_err(), "{bad:?}");
        }
        for good in FILES {
            assert!(is_plain(good), "{good}");
        }
    }

    #[test]
    fn joined_paths_stay_under_the_root() {
        // Random strings over an alphabet rich in separators, dots and escapes: whatever is
        // accepted is a direct child of the root.
        let alphabet: Vec<char> = "./\\%2e\0aZ9-_:~\u{2024}\u{ff0e}".chars().collect();
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut name = String::new();
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            for i in 0..(s % 12) {
                name.push(alphabet[((s >> (i * 4)) % alphabet.len() as u64) as usize]);
            }
            let root = Path::new("/bundle/root");
            if let Ok(p) = safe_join(root, &name) {
                assert_eq!(p.parent(), Some(root), "{name:?}");
                assert!(p.starts_with(root), "{name:?}");
            }
        }
    }
}
