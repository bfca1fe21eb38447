//! Inclusion and consistency proofs (RFC 9162 §2.1.3–§2.1.4), for any tree size.
//!
//! Generation is generic over where subtree hashes come from ([`Subtrees`]): the audit log's
//! store answers from the subtree hashes it keeps, tests from a slice of leaf hashes. Both
//! follow the RFC's recursive definitions, so a proof is exactly what any RFC 9162 / RFC 6962
//! verifier expects: the path from the leaf (or the old tree) upwards, nearest node first.
//!
//! Verification needs nothing but the proof, the sizes and the roots. It refuses a proof of the
//! wrong length, for an index outside the tree, or for sizes that cannot be consistent, and it
//! never allocates more than the proof it is given.

use super::{Hash, node_hash};

/// The longest path any proof can have: a tree of at most 2^64 leaves has 64 levels, and a
/// consistency proof may carry one node more.
pub const MAX_PROOF_NODES: usize = 65;

/// Where subtree hashes come from.
pub trait Subtrees {
    /// Why a hash could not be had (a storage error, a missing entry).
    type Error;

    /// `MTH(D[start:end])`, the root of the leaves `start..end` (`start < end`).
    fn subtree(&self, start: u64, end: u64) -> Result<Hash, Self::Error>;
}

/// A range of leaves the source does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("leaves {start}..{end} are not in a tree of {len} leaves")]
pub struct MissingLeaves {
    /// The first leaf asked for.
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// How many leaves there are.
    pub len: u64,
}

/// Leaf hashes in memory: subtree roots computed on demand.
impl Subtrees for [Hash] {
    type Error = MissingLeaves;

    fn subtree(&self, start: u64, end: u64) -> Result<Hash, Self::Error> {
        let missing = MissingLeaves {
            start,
            end,
            len: self.len() as u64,
        };
        let s = usize::try_from(start).map_err(|_| missing)?;
        let e = usize::try_from(end).map_err(|_| missing)?;
        self.get(s..e)
            .filter(|l| !l.is_empty())
            .map(super::root_of_leaf_hashes)
            .ok_or(missing)
    }
}

/// Why a proof could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The index is not in the tree, or the old size exceeds the new one.
    #[error("{0}")]
    OutOfRange(String),
    /// The source of subtree hashes failed.
    #[error("reading subtree hashes: {0}")]
    Source(E),
}

/// Why a proof does not verify. Each variant says what was wrong; none says which party is to
/// blame, because a verifier cannot tell a forged proof from a corrupted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The index is not below the tree size.
    #[error("index {index} is not in a tree of {size} entries")]
    IndexOutOfRange {
        /// The index claimed.
        index: u64,
        /// The tree size claimed.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("a tree of {old} entries cannot be a prefix of one of {new}")]
    SizesOutOfOrder {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has the wrong number of nodes for the sizes claimed.
    #[error("the proof has {found} nodes; these sizes need {expected}")]
    WrongLength {
        /// Nodes given.
        found: usize,
        /// Nodes the sizes call for.
        expected: usize,
    },
    /// The proof does not lead to the root claimed.
    #[error(
        "the proof does not lead to the claimed root: the entry or the tree is not the one claimed"
    )]
    RootMismatch,
    /// Two equal-size trees with different roots: a fork, or a rewritten history.
    #[error("two trees of {size} entries with different roots: the histories differ")]
    DifferentRoots {
        /// The size of both trees.
        size: u64,
    },
}

fn split(n: u64) -> u64 {
    // The largest power of two strictly below n (n >= 2).
    1 << (63 - (n - 1).leading_zeros())
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves:
/// RFC 9162 `PATH(index, D[size])`, nearest sibling first.
pub fn inclusion_proof<S: Subtrees + ?Sized>(
    tree: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "index {index} is not in a tree of {size} entries"
        )));
    }
    let mut path = Vec::with_capacity(path_length(index, size));
    // Walk down from the root, remembering the sibling at each level, then reverse.
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            path.push(tree.subtree(start + k, end).map_err(ProofError::Source)?);
            end = start + k;
        } else {
            path.push(tree.subtree(start, start + k).map_err(ProofError::Source)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from the tree of the first `old` leaves to that of the first `new`:
/// RFC 9162 `PROOF(old, D[new])`; empty when `old` is 0 or equals `new`.
pub fn consistency_proof<S: Subtrees + ?Sized>(
    tree: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old > new {
        return Err(ProofError::OutOfRange(format!(
            "a tree of {old} entries cannot be a prefix of one of {new}"
        )));
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start:end], b), iteratively: descend, collecting siblings, then reverse.
    let mut proof = Vec::new();
    let (mut start, mut end, mut m, mut whole) = (0u64, new, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(tree.subtree(start, end).map_err(ProofError::Source)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(tree.subtree(start + k, end).map_err(ProofError::Source)?);
            end = start + k;
        } else {
            proof.push(tree.subtree(start, start + k).map_err(ProofError::Source)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// How many nodes the inclusion proof of `index` in a tree of `size` has.
fn path_length(index: u64, size: u64) -> usize {
    let (mut start, mut end, mut m, mut len) = (0u64, size, index, 0usize);
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            end = start + k;
        } else {
            start += k;
            m -= k;
        }
        len += 1;
    }
    len
}

/// Checks that `leaf` (a leaf hash) is entry `index` of the tree of `size` entries whose root
/// is `root`: RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = path_length(index, size);
    if path.len() != expected {
        return Err(VerifyError::WrongLength {
            found: path.len(),
            expected,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return Err(VerifyError::WrongLength {
                found: path.len(),
                expected,
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && &r == root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// How many nodes the consistency proof from `old` to `new` has (`0 < old < new`).
fn consistency_length(old: u64, new: u64) -> usize {
    let (mut start, mut end, mut m, mut whole, mut len) = (0u64, new, old, true, 0usize);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                len += 1;
            }
            return len;
        }
        let k = split(n);
        if m <= k {
            end = start + k;
        } else {
            start += k;
            m -= k;
            whole = false;
        }
        len += 1;
    }
}

/// Checks that the tree of `old` entries with root `old_root` is a prefix of the tree of `new`
/// entries with root `new_root`: RFC 9162 §2.1.4.2. Any tree is consistent with the empty one;
/// two trees of the same size are consistent only if their roots are equal.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizesOutOfOrder { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength {
                found: proof.len(),
                expected: 0,
            });
        }
        if old == new && old_root != new_root {
            return Err(VerifyError::DifferentRoots { size: old });
        }
        return Ok(());
    }
    let expected = consistency_length(old, new);
    if proof.len() != expected {
        return Err(VerifyError::WrongLength {
            found: proof.len(),
            expected,
        });
    }
    // When the old tree is a complete subtree of the new one, its root is the first node.
    let nodes: Vec<&Hash> = if old.is_power_of_two() {
        core::iter::once(old_root).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*nodes[0], *nodes[0]);
    for c in &nodes[1..] {
        if s == 0 {
            return Err(VerifyError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    fn unhex(s: &str) -> Hash {
        crate::ids::unhex::<32>(s).unwrap_or_else(|| panic!("bad hex {s}"))
    }

    /// The eight-leaf tree of RFC 6962's reference implementation.
    fn leaves() -> Vec<Hash> {
        crate::merkle::rfc6962_leaf_data()
            .iter()
            .map(|d| leaf_hash(d))
            .collect()
    }

    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn root(size: u64) -> Hash {
        unhex(ROOTS[size as usize - 1])
    }

    /// Known answers from the reference implementation's tests: (index, size, path).
    const INCLUSION: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// Known answers: (old size, new size, proof).
    const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    #[test]
    fn inclusion_known_answers() {
        let l = leaves();
        for (index, size, want) in INCLUSION {
            let want: Vec<Hash> = want.iter().map(|h| unhex(h)).collect();
            let tree = &l[..size as usize];
            assert_eq!(
                inclusion_proof(tree, index, size).unwrap(),
                want,
                "{index}/{size}"
            );
            verify_inclusion(&l[index as usize], index, size, &want, &root(size)).unwrap();
            // The same proof for a neighbouring index, another size or another root fails.
            for (i, n) in [(index ^ 1, size), (index, size + 1), (index, size * 2)] {
                if i < n && (i, n) != (index, size) {
                    let r = if n <= 8 { root(n) } else { root(8) };
                    assert!(verify_inclusion(&l[index as usize], i, n, &want, &r).is_err());
                }
            }
            assert!(verify_inclusion(&l[index as usize], index, size, &want, &empty()).is_err());
        }
    }

    fn empty() -> Hash {
        crate::merkle::empty_root()
    }

    #[test]
    fn consistency_known_answers() {
        let l = leaves();
        for (old, new, want) in CONSISTENCY {
            let want: Vec<Hash> = want.iter().map(|h| unhex(h)).collect();
            let tree = &l[..new as usize];
            assert_eq!(
                consistency_proof(tree, old, new).unwrap(),
                want,
                "{old}->{new}"
            );
            verify_consistency(old, new, &root(old), &root(new), &want).unwrap();
            if want.is_empty() {
                continue;
            }
            // Swapped roots, wrong sizes, a node altered, dropped or added: all refused.
            assert!(verify_consistency(old, new, &root(new), &root(old), &want).is_err());
            assert!(verify_consistency(old - 1, new, &root(old), &root(new), &want).is_err());
            assert!(verify_consistency(old + 1, new, &root(old), &root(new), &want).is_err());
            // (A root is bound to its size by the signed checkpoint, not by the proof: the
            // reference tests, too, vary the new size only by a whole level.)
            assert!(verify_consistency(old, new * 2, &root(old), &root(new), &want).is_err());
            assert!(verify_consistency(old, new / 2, &root(old), &root(new), &want).is_err());
            for j in 0..want.len() {
                let mut bad = want.clone();
                bad[j] = empty();
                assert!(verify_consistency(old, new, &root(old), &root(new), &bad).is_err());
            }
            let mut longer = want.clone();
            longer.push(want[want.len() - 1]);
            assert!(verify_consistency(old, new, &root(old), &root(new), &longer).is_err());
            assert!(
                verify_consistency(old, new, &root(old), &root(new), &want[..want.len() - 1])
                    .is_err()
            );
        }
    }

    #[test]
    fn edge_cases() {
        let l = leaves();
        // Any tree is consistent with the empty tree; equal sizes need equal roots.
        verify_consistency(0, 8, &empty(), &root(8), &[]).unwrap();
        verify_consistency(8, 8, &root(8), &root(8), &[]).unwrap();
        assert_eq!(
            verify_consistency(8, 8, &root(8), &root(7), &[]),
            Err(VerifyError::DifferentRoots { size: 8 })
        );
        assert_eq!(
            verify_consistency(5, 3, &root(5), &root(3), &[]),
            Err(VerifyError::SizesOutOfOrder { old: 5, new: 3 })
        );
        assert_eq!(
            verify_inclusion(&l[0], 8, 8, &[], &root(8)),
            Err(VerifyError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert!(matches!(
            inclusion_proof(&l[..], 8, 8),
            Err(ProofError::OutOfRange(_))
        ));
        assert!(matches!(
            inclusion_proof(&l[..4], 5, 8),
            Err(ProofError::Source(MissingLeaves { .. }))
        ));
        // Sizes near the top of the range neither overflow nor panic.
        assert!(verify_inclusion(&l[0], u64::MAX - 1, u64::MAX, &[], &root(1)).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &root(1), &root(2), &[]).is_err());
        assert!(verify_consistency(1, u64::MAX, &root(1), &root(2), &[root(1); 64]).is_err());
    }
}
