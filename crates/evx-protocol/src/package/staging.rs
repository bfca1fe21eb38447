//! Where opened plaintext waits until it is verified.

use std::io;

use super::Manifest;

/// A sink for plaintext that is not yet verified.
///
/// [`super::PackageReader::open`] writes every decrypted chunk here as it streams past, then
/// calls [`Staging::commit`] only if the trailer's signature, the Merkle root, the length and
/// every item digest check out, and [`Staging::discard`] otherwise. A file-backed staging area
/// writes to a temporary file and renames it into place on commit, so a caller cannot mistake
/// a half-read or forged package for evidence.
pub trait Staging {
    /// What a successful commit yields (a buffer, a path, nothing).
    type Committed;

    /// Stores unverified plaintext.
    fn write(&mut self, plaintext: &[u8]) -> io::Result<()>;

    /// Promotes the staged plaintext: everything written has been verified against `manifest`.
    fn commit(self, manifest: &Manifest) -> io::Result<Self::Committed>;

    /// Throws the staged plaintext away. The opener calls it on every refusal, including those
    /// made before any plaintext was written.
    fn discard(self);
}

/// Stages plaintext in memory, up to a limit, and yields it on commit. Unverified plaintext
/// never lingers in freed memory: the buffer is zeroized when it grows and when it is discarded.
pub struct MemoryStaging {
    buf: Vec<u8>,
    limit: usize,
}

impl MemoryStaging {
    /// Stages at most `limit` bytes; a larger package fails to open with an I/O error rather
    /// than exhausting memory.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            limit,
        }
    }
}

impl core::fmt::Debug for MemoryStaging {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never the bytes: they are unverified case data.
        write!(
            f,
            "MemoryStaging {{ staged: {} bytes, limit: {} }}",
            self.buf.len(),
            self.limit
        )
    }
}

impl Staging for MemoryStaging {
    type Committed = Vec<u8>;

    fn write(&mut self, plaintext: &[u8]) -> io::Result<()> {
        if self.buf.len() + plaintext.len() > self.limit {
            return Err(io::Error::other(format!(
                "package plaintext exceeds the in-memory staging limit of {} bytes; raise the limit or stage to a file",
                self.limit
            )));
        }
        if self.buf.capacity() - self.buf.len() < plaintext.len() {
            // Grow by hand so that the old allocation is wiped, not just freed.
            let want = (self.buf.len() + plaintext.len())
                .max(2 * self.buf.capacity())
                .min(self.limit);
            let mut bigger = Vec::with_capacity(want);
            bigger.extend_from_slice(&self.buf);
            zeroize::Zeroize::zeroize(&mut self.buf);
            self.buf = bigger;
        }
        self.buf.extend_from_slice(plaintext);
        Ok(())
    }

    fn commit(self, _: &Manifest) -> io::Result<Vec<u8>> {
        Ok(self.buf)
    }

    fn discard(mut self) {
        // Unverified plaintext is still case data: do not leave it in freed memory.
        zeroize::Zeroize::zeroize(&mut self.buf);
    }
}

/// Verifies a package without keeping its plaintext (integrity checks, benchmarks).
#[derive(Debug, Default)]
pub struct VerifyOnly;

impl Staging for VerifyOnly {
    type Committed = ();

    fn write(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn commit(self, _: &Manifest) -> io::Result<()> {
        Ok(())
    }

    fn discard(self) {}
}
