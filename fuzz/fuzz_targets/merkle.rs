//! Merkle proof verification on arbitrary input: sizes, indices, roots and proof nodes from
//! the fuzzer. Nothing may panic, and a proof that verifies must be the one evx would make for
//! a tree whose leaves are the fuzzer's hashes.

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
        let old = 1 + b % n;
        let old_root = root_of_leaf_hashes(&nodes[..old as usize]);
        let c = consistency_proof(&nodes[..], old, n).expect("sizes in order");
        verify_consistency(old, n, &old_root, &root, &c).expect("own proof verifies");
    }
});
