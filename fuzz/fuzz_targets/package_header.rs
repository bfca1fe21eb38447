//! `PackageReader::new` on arbitrary bytes: the magic, the header length and the clear-text
//! header. A header that parses must re-encode to exactly the header bytes of the input
//! (`data[6..6 + len]`, `len` the big-endian u16 at `data[4..6]`), and the package id must be
//! the digest of those bytes.

#![no_main]

use evx_protocol::package::{MAGIC, MAX_HEADER, PackageHeader, PackageReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = PackageReader::new(data) else {
        return;
    };
    assert_eq!(&data[..4], MAGIC);
    let len = usize::from(u16::from_be_bytes([data[4], data[5]]));
    assert!(len <= MAX_HEADER);
    let header_bytes = &data[6..6 + len];
    assert_eq!(
        reader.header().encode(),
        header_bytes,
        "the parsed header does not re-encode to the bytes it was read from"
    );
    assert_eq!(
        reader.package_id(),
        PackageHeader::package_id_of(header_bytes)
    );
    let h = reader.header();
    assert_eq!(h.v, 1);
    assert!(h.chunk_size.is_power_of_two() && (4096..=1024 * 1024).contains(&h.chunk_size));
});
