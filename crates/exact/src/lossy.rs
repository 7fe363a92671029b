//! Direct-mapped, lossy caches of the store's recursive operations.
//!
//! In: keys of one operation (its arguments) and their results. Out: the
//! result of a key seen before, unless another key took its line since.
//! A collision evicts, which costs a recomputation, never a wrong answer
//! (the result is a function of the key, and nodes never change). The
//! caches are sized with the store's unique table and emptied when it
//! grows, so they never grow by rehashing; a hit or a fill is one hash
//! and one line, where a hash map's insert cost several times that in the
//! proof every compile runs.

/// A cache key: three or four words, hashed by mixing.
pub(crate) trait Key: Copy + Eq {
    /// The key's hash (any bits; the cache masks them).
    fn hash(&self) -> usize;
}

/// A 64-bit mix of three words (multiply-rotate, high bits folded down).
pub(crate) fn mix3(a: u32, b: u32, c: u32) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let h = (u64::from(a).wrapping_mul(K) ^ u64::from(b)).wrapping_mul(K) ^ u64::from(c);
    let h = h.wrapping_mul(K);
    (h ^ (h >> 29)) as usize
}

impl Key for (u32, u32, u32) {
    fn hash(&self) -> usize {
        mix3(self.0, self.1, self.2)
    }
}

impl Key for (u32, u32, u32, u32) {
    fn hash(&self) -> usize {
        mix3(self.0 ^ self.3.rotate_left(16), self.1, self.2)
    }
}

/// One cache: a power-of-two number of lines.
#[derive(Debug)]
pub(crate) struct Lossy<K, V> {
    lines: Vec<Option<(K, V)>>,
}

impl<K: Key, V: Copy> Lossy<K, V> {
    /// An empty cache of `lines` lines (a power of two).
    pub(crate) fn new(lines: usize) -> Lossy<K, V> {
        debug_assert!(lines.is_power_of_two());
        Lossy {
            lines: vec![None; lines],
        }
    }

    fn line(&self, key: &K) -> usize {
        key.hash() & (self.lines.len() - 1)
    }

    /// The result stored for `key`, if its line still holds it.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        match self.lines[self.line(key)] {
            Some((k, v)) if k == *key => Some(v),
            _ => None,
        }
    }

    /// Stores `key`'s result, evicting whatever held its line.
    pub(crate) fn put(&mut self, key: K, value: V) {
        let line = self.line(&key);
        self.lines[line] = Some((key, value));
    }
}
