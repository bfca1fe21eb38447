//! Merkle proofs against an independent oracle: `ct-merkle`'s RFC 6962 tree. For random trees,
//! evx and the oracle must compute the same roots and the same inclusion and consistency
//! proofs, and each must accept the other's proofs; altered proofs are refused.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use evx_protocol::merkle::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, root_of_leaf_hashes, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;
use sha2::Sha256;

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|c| c.try_into().expect("32-byte nodes"))
        .collect()
}

fn oracle(data: &[Vec<u8>]) -> MemoryBackedTree<Sha256, Vec<u8>> {
    let mut t = MemoryBackedTree::new();
    for d in data {
        t.push(d.clone());
    }
    t
}

fn root_hash(h: &Hash, n: u64) -> RootHash<Sha256> {
    RootHash::new((*h).into(), n)
}

fn tree() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..300)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn roots_and_inclusion_proofs_agree_with_the_oracle(data in tree(), pick in any::<prop::sample::Index>()) {
        let t = oracle(&data);
        let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        let n = leaves.len() as u64;
        let root = root_of_leaf_hashes(&leaves);
        let oracle_root = t.root();
        prop_assert_eq!(&root[..], &oracle_root.as_bytes()[..]);

        let i = pick.index(leaves.len());
        let ours = inclusion_proof(&leaves[..], i as u64, n).unwrap();
        let theirs = t.prove_inclusion(i);
        prop_assert_eq!(&ours, &hashes(theirs.as_bytes()));
        // Each accepts the other's proof.
        prop_assert!(verify_inclusion(&leaves[i], i as u64, n, &hashes(theirs.as_bytes()), &root).is_ok());
        let ours_for_them = InclusionProof::<Sha256>::from_digests(ours.iter().map(|h| (*h).into()).collect::<Vec<_>>().iter());
        prop_assert!(t.root().verify_inclusion(&data[i], i as u64, &ours_for_them).is_ok());
        // Another leaf, or an altered node, does not verify.
        let other = leaf_hash(b"not in the tree");
        prop_assert!(verify_inclusion(&other, i as u64, n, &ours, &root).is_err());
        if !ours.is_empty() {
            let mut bad = ours.clone();
            bad[0][0] ^= 1;
            prop_assert!(verify_inclusion(&leaves[i], i as u64, n, &bad, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_agree_with_the_oracle(data in tree(), pick in any::<prop::sample::Index>()) {
        let t = oracle(&data);
        let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        let n = leaves.len();
        let old = 1 + pick.index(n); // 1..=n
        let old_root = root_of_leaf_hashes(&leaves[..old]);
        let new_root = root_of_leaf_hashes(&leaves);
        let ours = consistency_proof(&leaves[..], old as u64, n as u64).unwrap();
        prop_assert!(verify_consistency(old as u64, n as u64, &old_root, &new_root, &ours).is_ok());
        if old < n {
            let theirs = t.prove_consistency(n - old);
            prop_assert_eq!(&ours, &hashes(theirs.as_bytes()));
            let ours_for_them = ConsistencyProof::<Sha256>::from_digests(ours.iter().map(|h| (*h).into()).collect::<Vec<_>>().iter());
            prop_assert!(t.root().verify_consistency(&root_hash(&old_root, old as u64), &ours_for_them).is_ok());
            // A history that differs in any old entry is not consistent.
            let mut forked = leaves.clone();
            forked[old - 1] = leaf_hash(b"rewritten");
            let forked_old = root_of_leaf_hashes(&forked[..old]);
            prop_assert!(verify_consistency(old as u64, n as u64, &forked_old, &new_root, &ours).is_err());
            let mut bad = ours.clone();
            let last = bad.len() - 1;
            bad[last][31] ^= 1;
            prop_assert!(verify_consistency(old as u64, n as u64, &old_root, &new_root, &bad).is_err());
        }
    }
}
