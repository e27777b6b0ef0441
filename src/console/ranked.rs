//! A sorted set that also answers by position: the console's kept orders (queue panes, the
//! search list, the overdue board) are read by index (the cursor, the visible window) and
//! changed one case at a time. Keys live in blocks of a few hundred, so an insert, a removal,
//! the key at an index and the index of a key all cost O(√N) with small constants, and a
//! linear pass in order costs no more than over a `Vec`.

/// Blocks are split when they grow past twice this size.
const BLOCK: usize = 512;

/// Keys whose last field is a case id.
pub trait Keyed {
    fn id(&self) -> i64;
}

impl Keyed for (i64, i64) {
    fn id(&self) -> i64 {
        self.1
    }
}

impl Keyed for (i64, i64, i64) {
    fn id(&self) -> i64 {
        self.2
    }
}

#[derive(Debug, Clone)]
pub struct Ranked<K> {
    blocks: Vec<Vec<K>>,
    len: usize,
}

impl<K> Default for Ranked<K> {
    fn default() -> Self {
        Ranked {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Clone> Ranked<K> {
    /// From keys already in order (a filtered pass over another `Ranked`): no sorting.
    pub fn from_sorted(keys: impl IntoIterator<Item = K>) -> Ranked<K> {
        let mut r = Ranked::default();
        let mut block = Vec::with_capacity(BLOCK);
        for k in keys {
            debug_assert!(block.last().is_none_or(|l| *l < k));
            block.push(k);
            if block.len() == BLOCK {
                r.len += block.len();
                r.blocks
                    .push(std::mem::replace(&mut block, Vec::with_capacity(BLOCK)));
            }
        }
        if !block.is_empty() {
            r.len += block.len();
            r.blocks.push(block);
        }
        r
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.blocks.clear();
        self.len = 0;
    }

    /// The block that holds `k`, or would: the first whose last key is not below it.
    fn block_of(&self, k: &K) -> usize {
        let b = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|l| l < k));
        b.min(self.blocks.len().saturating_sub(1))
    }

    /// False when the key was already there.
    pub fn insert(&mut self, k: K) -> bool {
        if self.blocks.is_empty() {
            self.blocks.push(vec![k]);
            self.len = 1;
            return true;
        }
        let b = self.block_of(&k);
        let block = &mut self.blocks[b];
        match block.binary_search(&k) {
            Ok(_) => false,
            Err(i) => {
                block.insert(i, k);
                self.len += 1;
                if block.len() > 2 * BLOCK {
                    let tail = block.split_off(BLOCK);
                    self.blocks.insert(b + 1, tail);
                }
                true
            }
        }
    }

    /// False when the key was not there.
    pub fn remove(&mut self, k: &K) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_of(k);
        let block = &mut self.blocks[b];
        match block.binary_search(k) {
            Ok(i) => {
                block.remove(i);
                self.len -= 1;
                if block.is_empty() {
                    self.blocks.remove(b);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// How many keys are below `k`.
    pub fn rank(&self, k: &K) -> usize {
        let b = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|l| l < k));
        let before: usize = self.blocks[..b].iter().map(Vec::len).sum();
        before
            + self
                .blocks
                .get(b)
                .map_or(0, |block| block.partition_point(|x| x < k))
    }

    /// The index of `k`, if held.
    pub fn position(&self, k: &K) -> Option<usize> {
        let i = self.rank(k);
        (self.get(i) == Some(k)).then_some(i)
    }

    pub fn get(&self, mut i: usize) -> Option<&K> {
        for block in &self.blocks {
            if i < block.len() {
                return Some(&block[i]);
            }
            i -= block.len();
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = &K> + '_ {
        self.blocks.iter().flatten()
    }

    /// The keys from index `i` on: what a window of visible rows reads.
    pub fn iter_from(&self, mut i: usize) -> impl Iterator<Item = &K> + '_ {
        let mut b = 0;
        while b < self.blocks.len() && i >= self.blocks[b].len() {
            i -= self.blocks[b].len();
            b += 1;
        }
        self.blocks[b.min(self.blocks.len())..]
            .iter()
            .enumerate()
            .flat_map(move |(n, block)| block[if n == 0 { i } else { 0 }..].iter())
    }
}

impl<K: Keyed + Ord + Clone> Ranked<K> {
    pub fn id_at(&self, i: usize) -> Option<i64> {
        self.get(i).map(Keyed::id)
    }

    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.iter().map(Keyed::id)
    }

    pub fn ids_from(&self, i: usize) -> impl Iterator<Item = i64> + '_ {
        self.iter_from(i).map(Keyed::id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};
    use std::collections::BTreeSet;

    #[test]
    fn agrees_with_a_btreeset_after_random_inserts_and_removals() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut r: Ranked<(i64, i64)> = Ranked::default();
        let mut b: BTreeSet<(i64, i64)> = BTreeSet::new();
        for _ in 0..20_000 {
            let k = (rng.random_range(0..50), rng.random_range(0..100));
            if rng.random_bool(0.6) {
                assert_eq!(r.insert(k), b.insert(k));
            } else {
                assert_eq!(r.remove(&k), b.remove(&k));
            }
        }
        let want: Vec<_> = b.iter().copied().collect();
        assert_eq!(r.len(), want.len());
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), want);
        for (i, k) in want.iter().enumerate() {
            assert_eq!(r.get(i), Some(k));
            assert_eq!(r.position(k), Some(i));
            assert_eq!(r.iter_from(i).next(), Some(k));
        }
        assert_eq!(r.get(want.len()), None);
        assert_eq!(r.iter_from(want.len()).next(), None);
        assert_eq!(r.rank(&(25, 0)), b.range(..(25, 0)).count());
        let rebuilt = Ranked::from_sorted(want.iter().copied());
        assert_eq!(rebuilt.iter().copied().collect::<Vec<_>>(), want);
    }
}
