//! The content hash Ferry compares to decide "unchanged": of a mirror
//! record's canonical JSON (sync), and of what apply decided for a record
//! or its inputs (apply). One function both sides share, below both, so
//! neither imports the other for it.

use sha2::{Digest, Sha256};

/// The first 16 bytes of SHA-256 over `data`, hex: short enough to store on
/// every row, long enough that two different texts never meet in practice.
/// Stored hashes depend on it: changing it re-writes every card once.
pub(crate) fn content_hash(data: &str) -> String {
    let digest = Sha256::digest(data.as_bytes());
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned() {
        // Stored in every database: must not change.
        assert_eq!(content_hash(""), "e3b0c44298fc1c149afbf4c8996fb924");
        assert_eq!(content_hash("ferry").len(), 32);
    }
}
