//! Merkle proof verification on arbitrary input: sizes, indices, roots and proof nodes from
//! the fuzzer. Nothing may panic; over a tree of the fuzzer's leaf hashes, evx's own proofs
//! verify, and a proof with one bit flipped does not.

#![no_main]

use evx_protocol::merkle::{
    Hash, consistency_proof, inclusion_proof, root_of_leaf_hashes, verify_consistency,
    verify_inclusion,
};
use libfuzzer_sys::fuzz_target;

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, x) in b.iter_mut().enumerate() {
        *x = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let (a, b) = (u64_at(data, 0), u64_at(data, 8));
    let nodes: Vec<Hash> = data
        .get(16..)
        .unwrap_or(&[])
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    let (first, rest) = nodes
        .split_first()
        .map_or(([0u8; 32], &nodes[..]), |(f, r)| (*f, r));
    let (second, proof) = rest
        .split_first()
        .map_or(([0u8; 32], rest), |(f, r)| (*f, r));
    // Arbitrary claims never panic.
    let _ = verify_inclusion(&first, a, b, proof, &second);
    let _ = verify_consistency(a, b, &first, &second, proof);

    // Small trees over the fuzzer's hashes: own proofs verify, and what verifies is exact.
    if nodes.len() >= 2 && nodes.len() <= 64 {
        let n = nodes.len() as u64;
        let root = root_of_leaf_hashes(&nodes);
        let i = a % n;
        let path = inclusion_proof(&nodes[..], i, n).expect("index in range");
        verify_inclusion(&nodes[i as usize], i, n, &path, &root).expect("own proof verifies");
        // Any single flipped bit in the path, or another leaf, fails.
        if let Some(first) = path.first().copied() {
            let mut bad = path.clone();
            bad[0][usize::from(data[0]) % 32] ^= 1 << (data[1] % 8);
            assert!(verify_inclusion(&nodes[i as usize], i, n, &bad, &root).is_err());
            assert!(
                verify_inclusion(&first, i, n, &path, &root).is_err() || first == nodes[i as usize]
            );
        }
        let old = 1 + b % n;
        let old_root = root_of_leaf_hashes(&nodes[..old as usize]);
        let c = consistency_proof(&nodes[..], old, n).expect("sizes in order");
        verify_consistency(old, n, &old_root, &root, &c).expect("own proof verifies");
    }
});
