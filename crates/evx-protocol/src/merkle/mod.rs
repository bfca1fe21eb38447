//! RFC 9162 (Certificate Transparency v2) Merkle tree hashing.
//!
//! `MTH({}) = SHA-256()`, `MTH({d}) = SHA-256(0x00 ‖ d)` and, for `n > 1` leaves split at the
//! largest power of two `k < n`, `MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))`. The
//! 0x00/0x01 prefixes keep a leaf from ever being taken for an inner node. Evidence packages use
//! it for their plaintext root (one leaf per chunk) and the audit log for its entries, which is
//! why it lives in its own module: one implementation, one set of known answers.

use crate::crypto::{Sha256, sha256};

mod proof;

pub use proof::{
    MAX_PROOF_NODES, MissingLeaves, ProofError, Subtrees, VerifyError, consistency_proof,
    inclusion_proof, verify_consistency, verify_inclusion,
};

/// A 32-byte tree hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The hash of one leaf: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(&[0x00]);
    h.update(data);
    h.finish()
}

/// The hash of an inner node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256(&buf)
}

/// The root over already-hashed leaves, by the recursive definition. O(n) time, O(log n) stack.
pub fn root_of_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(
                &root_of_leaf_hashes(&leaves[..k]),
                &root_of_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// The largest power of two strictly below `n` (for `n >= 2`).
pub(crate) fn largest_power_of_two_below(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Computes a root as leaves stream in, in O(log n) memory.
///
/// It keeps the "frontier": the roots of the complete subtrees that make up the leaves so far,
/// one per set bit of the leaf count, largest first. Folding them right to left at the end gives
/// exactly RFC 9162's root for any count, since its split rule peels off the largest complete
/// subtree first.
#[derive(Clone, Debug, Default)]
pub struct RootBuilder {
    count: u64,
    frontier: Vec<Hash>,
}

impl RootBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Continues a tree of `count` leaves from its frontier: the roots of its complete
    /// subtrees, largest first, one per set bit of `count` (what a store keeps). `None` if the
    /// frontier does not have one root per set bit.
    pub fn from_frontier(count: u64, frontier: Vec<Hash>) -> Option<Self> {
        (frontier.len() == count.count_ones() as usize).then_some(Self { count, frontier })
    }

    /// Appends a leaf given its hash.
    pub fn push_leaf_hash(&mut self, hash: Hash) {
        self.push_leaf_hash_with(hash, |_, _, _| {});
    }

    /// Appends a leaf given its hash, calling `completed(level, index, hash)` for each complete
    /// subtree it closes (level 1 and up; the subtree at level `l`, index `i` covers leaves
    /// `i·2^l .. (i+1)·2^l`): what a store records to answer proofs later.
    pub fn push_leaf_hash_with(
        &mut self,
        mut hash: Hash,
        mut completed: impl FnMut(u32, u64, &Hash),
    ) {
        // Merge equal-sized subtrees: one merge per trailing one bit of the old count.
        let index = self.count;
        let (mut c, mut level) = (index, 0u32);
        while c & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .unwrap_or_else(|| unreachable!("one entry per set bit"));
            hash = node_hash(&left, &hash);
            level += 1;
            completed(level, index >> level, &hash);
            c >>= 1;
        }
        self.frontier.push(hash);
        self.count += 1;
    }

    /// Appends a leaf given its data.
    pub fn push(&mut self, data: &[u8]) {
        self.push_leaf_hash(leaf_hash(data));
    }

    /// How many leaves so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no leaf was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The root of the leaves so far.
    #[must_use]
    pub fn root(&self) -> Hash {
        let mut it = self.frontier.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// The eight-leaf test tree of RFC 6962's reference implementation (also in
/// transparency-dev/merkle), shared by the tests of this module and of the proofs.
#[cfg(test)]
pub(crate) fn rfc6962_leaf_data() -> [&'static [u8]; 8] {
    [
        b"",
        &[0x00],
        &[0x10],
        &[0x20, 0x21],
        &[0x30, 0x31],
        &[0x40, 0x41, 0x42, 0x43],
        &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        &[
            0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
            0x6e, 0x6f,
        ],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::hex;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u32).to_be_bytes()))
            .collect()
    }

    #[test]
    fn streaming_matches_recursive_definition() {
        for n in 0..70 {
            let l = leaves(n);
            let mut b = RootBuilder::new();
            for h in &l {
                b.push_leaf_hash(*h);
            }
            assert_eq!(b.root(), root_of_leaf_hashes(&l), "n = {n}");
        }
    }

    #[test]
    fn rfc6962_known_answers() {
        // The eight-leaf test tree of RFC 6962's reference implementation (also in
        // transparency-dev/merkle): leaves "", 00, 10, 2021, 3031, 40414243, 5051525354555657,
        // 606162636465666768696a6b6c6d6e6f.
        let data = rfc6962_leaf_data();
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut b = RootBuilder::new();
        assert_eq!(
            hex(&b.root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for (d, want) in data.iter().zip(expected) {
            b.push(d);
            assert_eq!(hex(&b.root()), want, "after {} leaves", b.len());
        }
    }

    #[test]
    fn completed_subtrees_and_continuing_from_a_frontier() {
        let l = leaves(37);
        let mut b = RootBuilder::new();
        let mut nodes = Vec::new();
        for h in &l {
            b.push_leaf_hash_with(*h, |level, index, hash| nodes.push((level, index, *hash)));
        }
        // Every complete subtree of two or more leaves, each the root of its leaves.
        assert_eq!(nodes.len(), 37 - 37u32.count_ones() as usize);
        for (level, index, hash) in nodes {
            let span = 1usize << level;
            let start = index as usize * span;
            assert_eq!(
                hash,
                root_of_leaf_hashes(&l[start..start + span]),
                "{level}/{index}"
            );
        }
        // A tree continued from the frontier of its first 21 leaves ends at the same root.
        let mut first = RootBuilder::new();
        for h in &l[..21] {
            first.push_leaf_hash(*h);
        }
        let mut resumed = RootBuilder::from_frontier(21, first.frontier.clone()).unwrap();
        for h in &l[21..] {
            resumed.push_leaf_hash(*h);
        }
        assert_eq!(resumed.root(), root_of_leaf_hashes(&l));
        assert!(RootBuilder::from_frontier(21, vec![[0; 32]; 2]).is_none());
    }

    #[test]
    fn power_of_two_split() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(1 << 20), 1 << 19);
    }
}
