//! The vault: evidence kept at rest under its own data key, so that it can be destroyed.
//!
//! A received package is sealed to the node's HPKE key, so any copy of it — in a backup, on a
//! disk sent for repair — stays readable for as long as that key exists. Evidence must be
//! deleted when its retention ends; the node key cannot be. So each package is stored
//! re-encrypted under a fresh random **data key**, and the data key is kept only wrapped by
//! the node's **key-encryption key** (AES-256-GCM, ring) in the node's key store. Deleting the
//! wrapped data key makes every copy of the stored file unreadable — every backup included —
//! without touching the node key ("crypto-shredding"). The key store must therefore not be
//! kept in long-lived backups itself (see `docs/workflow.md`).
//!
//! The stored file: `"EVXV"` ‖ version 1 ‖ the 32-byte package id ‖ chunks. Each chunk holds
//! up to 64 KiB of the sealed package, encrypted with AES-256-GCM under the data key, with
//! the STREAM nonce (counter ‖ last-chunk flag) and the package id as associated data, so
//! chunks cannot be reordered, dropped, truncated or moved to another package. A data key
//! encrypts exactly one file, once.

use std::io::{self, Read, Write};

use evx_protocol::ids::PackageId;
use evx_protocol::rand_core::{Rng as _, UnwrapErr};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// The stored file's magic.
pub const MAGIC: &[u8; 4] = b"EVXV";
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const HEADER: usize = 4 + 1 + 32;
/// Domain label of a wrapped data key's associated data.
const WRAP_LABEL: &[u8] = b"evx/v1 data key\0";

/// Why the vault could not store or read a package.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Reading or writing failed.
    #[error("vault I/O: {0}")]
    Io(#[from] io::Error),
    /// The key-encryption key file is unusable.
    #[error("{0}")]
    Kek(String),
    /// A wrapped data key does not open with this node's key-encryption key, or belongs to
    /// another package.
    #[error("the data key of package {0} does not unwrap: wrong node key or altered key store")]
    Unwrap(PackageId),
}

fn random32() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    UnwrapErr(getrandom::SysRng).fill_bytes(k.as_mut());
    k
}

fn aes(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key)
            .unwrap_or_else(|_| unreachable!("AES-256-GCM takes a 32-byte key")),
    )
}

/// The node's key-encryption key: it wraps data keys and nothing else.
pub struct Kek(LessSafeKey);

impl Kek {
    /// Loads the key from `path`, creating it (32 random bytes, mode 0600) if it does not
    /// exist.
    pub fn load_or_create(path: &std::path::Path) -> Result<Self, VaultError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: Zeroizing<[u8; 32]> =
                    Zeroizing::new(bytes.as_slice().try_into().map_err(|_| {
                        VaultError::Kek(format!(
                            "{}: not a 32-byte key-encryption key; restore it from the node's key backup",
                            path.display()
                        ))
                    })?);
                Ok(Self(aes(&key)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = random32();
                if let Some(d) = path.parent() {
                    std::fs::create_dir_all(d)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt as _;
                    options.mode(0o600);
                }
                let mut f = options.open(path)?;
                f.write_all(key.as_ref())?;
                f.sync_all()?;
                Ok(Self(aes(&key)))
            }
            Err(e) => Err(VaultError::Kek(format!("{}: {e}", path.display()))),
        }
    }
}

/// A package's data key.
pub struct DataKey {
    key: Zeroizing<[u8; 32]>,
    package: PackageId,
}

impl DataKey {
    /// A fresh random key for `package`.
    pub fn generate(package: PackageId) -> Self {
        Self {
            key: random32(),
            package,
        }
    }

    /// The key wrapped by the node key: random nonce ‖ AES-256-GCM(key), bound to the package.
    pub fn wrap(&self, kek: &Kek) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        UnwrapErr(getrandom::SysRng).fill_bytes(&mut nonce);
        let mut buf = self.key.to_vec();
        let aad = [WRAP_LABEL, self.package.as_bytes().as_slice()].concat();
        kek.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_slice()),
                &mut buf,
            )
            .unwrap_or_else(|_| unreachable!("a 32-byte key seals"));
        [nonce.as_slice(), &buf].concat()
    }

    /// Unwraps the key of `package`.
    pub fn unwrap(kek: &Kek, package: PackageId, wrapped: &[u8]) -> Result<Self, VaultError> {
        if wrapped.len() != 12 + 32 + TAG {
            return Err(VaultError::Unwrap(package));
        }
        let (nonce, sealed) = wrapped.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| VaultError::Unwrap(package))?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let aad = [WRAP_LABEL, package.as_bytes().as_slice()].concat();
        let key = kek
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_slice()),
                &mut buf,
            )
            .map_err(|_| VaultError::Unwrap(package))?;
        let key: [u8; 32] = key.try_into().map_err(|_| VaultError::Unwrap(package))?;
        Ok(Self {
            key: Zeroizing::new(key),
            package,
        })
    }
}

fn nonce(counter: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Encrypts everything `src` yields into `dst` under `key`; returns the bytes written.
pub fn store(key: &DataKey, mut src: impl Read, mut dst: impl Write) -> Result<u64, VaultError> {
    let aead = aes(&key.key);
    let aad = *key.package.as_bytes();
    dst.write_all(MAGIC)?;
    dst.write_all(&[1])?;
    dst.write_all(&aad)?;
    let mut written = HEADER as u64;
    let mut cur = vec![0u8; CHUNK];
    let mut next = vec![0u8; CHUNK];
    let mut cur_len = read_full(&mut src, &mut cur)?;
    let mut counter = 0u64;
    loop {
        // Look ahead: a chunk is the last if nothing follows it.
        let next_len = if cur_len == CHUNK {
            read_full(&mut src, &mut next)?
        } else {
            0
        };
        let last = next_len == 0;
        let mut buf = cur[..cur_len].to_vec();
        aead.seal_in_place_append_tag(nonce(counter, last), Aad::from(&aad), &mut buf)
            .unwrap_or_else(|_| unreachable!("chunks are far below AES-GCM's length limit"));
        dst.write_all(&buf)?;
        written += buf.len() as u64;
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
        counter += 1;
    }
    dst.flush()?;
    Ok(written)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The package id a stored file names in its header (unauthenticated until read through
/// [`Reader`] with its data key).
pub fn stored_package_id(mut r: impl Read) -> Result<PackageId, VaultError> {
    let mut h = [0u8; HEADER];
    r.read_exact(&mut h)?;
    if &h[..4] != MAGIC || h[4] != 1 {
        return Err(VaultError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an evx vault file",
        )));
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(&h[5..]);
    Ok(PackageId(id))
}

/// Reads a stored file back, decrypting as it goes; a chunk that fails authentication, a
/// missing last chunk or trailing data is an `InvalidData` error.
pub struct Reader<R: Read> {
    inner: R,
    aead: LessSafeKey,
    aad: [u8; 32],
    counter: u64,
    /// Decrypted bytes not yet handed out.
    plain: Vec<u8>,
    pos: usize,
    /// The next ciphertext chunk, read ahead to know whether the current one is the last.
    ahead: Vec<u8>,
    done: bool,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl<R: Read> Reader<R> {
    /// Starts reading the stored file `inner` with `key`: its header must name the key's
    /// package.
    pub fn new(mut inner: R, key: DataKey) -> Result<Self, VaultError> {
        let mut h = [0u8; HEADER];
        inner.read_exact(&mut h)?;
        if &h[..4] != MAGIC || h[4] != 1 || h[5..] != key.package.as_bytes()[..] {
            return Err(VaultError::Io(invalid(
                "not the vault file of this package, or not a vault file",
            )));
        }
        let mut ahead = vec![0u8; CHUNK + TAG];
        let n = read_full(&mut inner, &mut ahead)?;
        ahead.truncate(n);
        Ok(Self {
            inner,
            aead: aes(&key.key),
            aad: *key.package.as_bytes(),
            counter: 0,
            plain: Vec::new(),
            pos: 0,
            ahead,
            done: false,
        })
    }

    fn refill(&mut self) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        let mut chunk = std::mem::take(&mut self.ahead);
        if chunk.len() < TAG {
            return Err(invalid("the stored package is truncated"));
        }
        let mut next = vec![0u8; CHUNK + TAG];
        let n = if chunk.len() == CHUNK + TAG {
            read_full(&mut self.inner, &mut next)?
        } else {
            0
        };
        next.truncate(n);
        let last = n == 0;
        let plain = self
            .aead
            .open_in_place(nonce(self.counter, last), Aad::from(&self.aad), &mut chunk)
            .map_err(|_| invalid("a stored chunk failed authentication"))?;
        let len = plain.len();
        chunk.truncate(len);
        self.plain = chunk;
        self.pos = 0;
        self.counter += 1;
        self.ahead = next;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let id = PackageId([3; 32]);
        let key = DataKey::generate(id);
        let kek = Kek(aes(&[9; 32]));
        let wrapped = key.wrap(&kek);
        let mut stored = Vec::new();
        store(&key, data.as_slice(), &mut stored).unwrap();
        assert_eq!(stored_package_id(stored.as_slice()).unwrap(), id);
        let key2 = DataKey::unwrap(&kek, id, &wrapped).unwrap();
        let mut back = Vec::new();
        Reader::new(stored.as_slice(), key2)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data, "len {len}");

        // Truncated at a chunk boundary, or a byte flipped: refused.
        if len > CHUNK {
            let cut = &stored[..HEADER + CHUNK + TAG];
            let key3 = DataKey::unwrap(&kek, id, &wrapped).unwrap();
            assert!(
                Reader::new(cut, key3)
                    .unwrap()
                    .read_to_end(&mut Vec::new())
                    .is_err()
            );
        }
        let mut bad = stored.clone();
        let i = HEADER + (stored.len() - HEADER) / 2;
        bad[i] ^= 1;
        let key4 = DataKey::unwrap(&kek, id, &wrapped).unwrap();
        assert!(
            Reader::new(bad.as_slice(), key4)
                .unwrap()
                .read_to_end(&mut Vec::new())
                .is_err()
        );
    }

    #[test]
    fn files_round_trip_and_tampering_is_refused() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            roundtrip(len);
        }
    }

    #[test]
    fn a_data_key_unwraps_only_with_its_node_key_and_for_its_package() {
        let key = DataKey::generate(PackageId([1; 32]));
        let wrapped = key.wrap(&Kek(aes(&[9; 32])));
        assert!(DataKey::unwrap(&Kek(aes(&[8; 32])), PackageId([1; 32]), &wrapped).is_err());
        assert!(DataKey::unwrap(&Kek(aes(&[9; 32])), PackageId([2; 32]), &wrapped).is_err());
        assert!(DataKey::unwrap(&Kek(aes(&[9; 32])), PackageId([1; 32]), &wrapped[1..]).is_err());
    }
}
