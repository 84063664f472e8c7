//! A reproducible zip: stored (uncompressed) entries in a fixed order with a fixed timestamp
//! (1980-01-01 00:00, the earliest DOS time) and fixed attributes, so the same files always give
//! the same bytes. The reader takes only what this writer makes (stored entries, no zip64, no
//! encryption): enough for `verify`, and anything else is refused by name.
//!
//! Layout (APPNOTE 6.3.x §4.3): `[local header, data]*  central directory  end record`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use thiserror::Error;

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// 1980-01-01 as a DOS date (year 0, month 1, day 1); the time is 00:00:00.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
/// `-rw-r--r--` regular file, in the high half of the external attributes (Unix host).
const UNIX_FILE: u32 = 0o100_644 << 16;
const MADE_BY_UNIX: u16 = (3 << 8) | 20;
const NEEDED: u16 = 10;

fn crc_of(path: &Path) -> Result<(u32, u64)> {
    let mut f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
    }
    Ok((crc.sum(), u64::from(crc.amount())))
}

/// Write `entries` (name in the zip, file on disk) to `out`, in the order given.
pub fn write(out: &mut dyn Write, entries: &[(String, std::path::PathBuf)]) -> Result<()> {
    let mut central = Vec::new();
    let mut offset: u64 = 0;
    let count = u16::try_from(entries.len()).context("too many files for a zip")?;
    for (name, path) in entries {
        let (crc, _) = crc_of(path)?;
        let size = std::fs::metadata(path)?.len();
        let size32 = u32::try_from(size).with_context(|| {
            format!("{name} is 4 GiB or larger: write the bundle as a directory")
        })?;
        let off32 = u32::try_from(offset)
            .context("the bundle is 4 GiB or larger: write it as a directory")?;
        let name_len = u16::try_from(name.len()).context("file name too long")?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&LOCAL.to_le_bytes());
        for v in [NEEDED, 0, 0, DOS_TIME, DOS_DATE] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size32, size32] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        out.write_all(&h)?;
        let mut f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let copied = std::io::copy(&mut f, out)?;
        if copied != size {
            bail!("{} changed while it was zipped", path.display());
        }
        offset += h.len() as u64 + size;

        central.extend_from_slice(&CENTRAL.to_le_bytes());
        for v in [MADE_BY_UNIX, NEEDED, 0, 0, DOS_TIME, DOS_DATE] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size32, size32] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&UNIX_FILE.to_le_bytes());
        central.extend_from_slice(&off32.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset =
        u32::try_from(offset).context("the bundle is 4 GiB or larger: write it as a directory")?;
    let cd_size = u32::try_from(central.len()).context("central directory too large")?;
    out.write_all(&central)?;
    let mut end = Vec::with_capacity(22);
    end.extend_from_slice(&END.to_le_bytes());
    for v in [0u16, 0, count, count] {
        end.extend_from_slice(&v.to_le_bytes());
    }
    end.extend_from_slice(&cd_size.to_le_bytes());
    end.extend_from_slice(&cd_offset.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&end)?;
    Ok(())
}

/// Why a zip could not be read.
#[derive(Debug, Error)]
pub enum ZipError {
    /// No end record: not a zip at all.
    #[error("not a zip file (no end-of-central-directory record)")]
    NotZip,
    /// A zip, but damaged or of a kind this reader does not take.
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One stored entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub crc: u32,
    pub size: u64,
    /// Where its data starts.
    data: u64,
}

/// A zip opened for reading.
pub struct Reader {
    file: File,
    pub entries: Vec<Entry>,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl Reader {
    pub fn open(path: &Path) -> std::result::Result<Reader, ZipError> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let tail_len = len.min(22 + 65_535);
        file.seek(SeekFrom::Start(len - tail_len))?;
        let mut tail = vec![0u8; tail_len as usize];
        file.read_exact(&mut tail)?;
        let at = (0..tail.len().saturating_sub(21))
            .rev()
            .find(|&i| u32_at(&tail, i) == END)
            .ok_or(ZipError::NotZip)?;
        let e = &tail[at..];
        let damaged = |m: &str| ZipError::Damaged(format!("damaged zip: {m}"));
        let count = usize::from(u16_at(e, 10));
        let cd_size = u64::from(u32_at(e, 12));
        let cd_offset = u64::from(u32_at(e, 16));
        if u16_at(e, 4) != 0 || u16_at(e, 6) != 0 || u16_at(e, 8) != u16_at(e, 10) {
            return Err(damaged("multi-disk archives are not bundles"));
        }
        if cd_offset + cd_size > len {
            return Err(damaged(
                "the central directory lies past the end of the file",
            ));
        }
        file.seek(SeekFrom::Start(cd_offset))?;
        let mut cd = vec![0u8; cd_size as usize];
        file.read_exact(&mut cd)?;
        let mut entries = Vec::with_capacity(count);
        let mut i = 0usize;
        for _ in 0..count {
            if i + 46 > cd.len() || u32_at(&cd, i) != CENTRAL {
                return Err(damaged("bad central directory entry"));
            }
            let flags = u16_at(&cd, i + 8);
            let method = u16_at(&cd, i + 10);
            let crc = u32_at(&cd, i + 16);
            let csize = u64::from(u32_at(&cd, i + 20));
            let size = u64::from(u32_at(&cd, i + 24));
            let (n, x, c) = (
                usize::from(u16_at(&cd, i + 28)),
                usize::from(u16_at(&cd, i + 30)),
                usize::from(u16_at(&cd, i + 32)),
            );
            let local = u64::from(u32_at(&cd, i + 42));
            if i + 46 + n + x + c > cd.len() {
                return Err(damaged("bad central directory entry"));
            }
            let name = String::from_utf8_lossy(&cd[i + 46..i + 46 + n]).into_owned();
            i += 46 + n + x + c;
            if method != 0 || csize != size || flags & 1 != 0 {
                return Err(ZipError::Damaged(format!(
                    "{name}: compressed or encrypted zip entries are not part of a bundle"
                )));
            }
            let mut lh = [0u8; 30];
            file.seek(SeekFrom::Start(local))?;
            file.read_exact(&mut lh)
                .map_err(|_| damaged("a local header is cut off"))?;
            let ln = usize::from(u16_at(&lh, 26));
            let lx = u64::from(u16_at(&lh, 28));
            let mut lname = vec![0u8; ln];
            file.read_exact(&mut lname)?;
            if u32_at(&lh, 0) != LOCAL || lname != name.as_bytes() || u32_at(&lh, 14) != crc {
                return Err(ZipError::Damaged(format!(
                    "damaged zip: the local header of {name} does not match the central directory"
                )));
            }
            let data = local + 30 + ln as u64 + lx;
            if data + size > cd_offset {
                return Err(ZipError::Damaged(format!(
                    "damaged zip: {name} runs into the central directory"
                )));
            }
            entries.push(Entry {
                name,
                crc,
                size,
                data,
            });
        }
        Ok(Reader { file, entries })
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{name} is not in the zip"))
    }

    /// The bytes of `entry`, streamed; the caller checks the CRC with [`CrcCheck`].
    pub fn read(&mut self, entry: &Entry) -> std::io::Result<CrcCheck<std::io::Take<&mut File>>> {
        self.file.seek(SeekFrom::Start(entry.data))?;
        Ok(CrcCheck {
            inner: (&mut self.file).take(entry.size),
            crc: flate2::Crc::new(),
        })
    }
}

/// A reader that computes the CRC-32 of what passes through.
pub struct CrcCheck<R> {
    inner: R,
    crc: flate2::Crc,
}

impl<R> CrcCheck<R> {
    pub fn sum(&self) -> u32 {
        self.crc.sum()
    }
}

impl<R: Read> Read for CrcCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_reproducible_and_accepted_by_unzip() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.bin");
        std::fs::write(&a, b"hello\n").unwrap();
        std::fs::write(&b, (0..=255u8).collect::<Vec<_>>()).unwrap();
        let entries = vec![("a.txt".to_string(), a), ("b.bin".to_string(), b)];
        let mut one = Vec::new();
        write(&mut one, &entries).unwrap();
        let mut two = Vec::new();
        write(&mut two, &entries).unwrap();
        assert_eq!(one, two);
        let z = dir.path().join("x.zip");
        std::fs::write(&z, &one).unwrap();
        let mut r = Reader::open(&z).unwrap();
        let names: Vec<String> = r.entries.iter().map(|e| e.name.clone()).collect();
        assert_eq!(names, ["a.txt", "b.bin"]);
        let e = r.entries[0].clone();
        let mut got = Vec::new();
        let mut rd = r.read(&e).unwrap();
        rd.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello\n");
        assert_eq!(rd.sum(), e.crc);
        // Independent readers accept it: Info-ZIP's unzip and Python's zipfile.
        let t = std::process::Command::new("unzip")
            .arg("-t")
            .arg(&z)
            .output()
            .expect("unzip is installed (Debian package unzip)");
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stdout));
        let t = std::process::Command::new("python3")
            .args(["-m", "zipfile", "-t"])
            .arg(&z)
            .output()
            .expect("python3 is installed");
        assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    }

    #[test]
    fn not_a_zip_and_damage_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.zip");
        std::fs::write(&p, b"just text").unwrap();
        assert!(matches!(Reader::open(&p), Err(ZipError::NotZip)));
        let a = dir.path().join("a.txt");
        std::fs::write(&a, b"hello\n").unwrap();
        let mut z = Vec::new();
        write(&mut z, &[("a.txt".to_string(), a)]).unwrap();
        // The local header's name no longer matches the central directory.
        z[30] = b'b';
        std::fs::write(&p, &z).unwrap();
        assert!(matches!(Reader::open(&p), Err(ZipError::Damaged(_))));
    }
}
