//! The record of a click, kept for the attribution window so an order can be traced to it.
//!
//! Records are fixed-size slots in blocks (Redis strings): the click id names its block and
//! slot (see [`ClickId`]), so a batch of clicks is one `SETRANGE` per run of consecutive
//! numbers, and finding a click is one `GETRANGE`. Writing a slot twice writes the same
//! bytes, so a retried or replayed batch changes nothing. A slot never written reads as
//! zeros, which no record is.

use crate::domain::ClickId;

/// Clicks per block: a block is at most `BLOCK_CLICKS * RECORD_LEN` bytes (784 KiB).
pub const BLOCK_CLICKS: u64 = 16_384;

const TAG_LEN: usize = 8;
const CODE_LEN: usize = 32;
/// tag (8 bytes) | click time, unix ms (8, little-endian) | code length (1) | code (32, padded)
pub const RECORD_LEN: usize = TAG_LEN + 8 + 1 + CODE_LEN;

/// A click as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickRecord {
    /// The link that was clicked (the link names its influencer).
    pub code: String,
    pub at_ms: i64,
}

/// Where a click's record lives: its block (by number within its id space) and its byte
/// offset in the block.
pub fn slot_of(id: &ClickId) -> (u64, usize) {
    let seq = id.seq();
    let offset = usize::try_from(seq % BLOCK_CLICKS).unwrap_or(0) * RECORD_LEN;
    (seq / BLOCK_CLICKS, offset)
}

/// Appends the record of click `id` (link `code`, at `at_ms`) to `out`.
pub fn encode(id: &ClickId, code: &str, at_ms: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(id.tag());
    out.extend_from_slice(&at_ms.to_le_bytes());
    let code = &code.as_bytes()[..code.len().min(CODE_LEN)];
    out.push(u8::try_from(code.len()).unwrap_or(0));
    out.extend_from_slice(code);
    out.resize(out.len() + CODE_LEN - code.len(), 0);
}

/// Reads the record in `slot` (the bytes at the click's offset) if it is `id`'s: `None` for a
/// slot never written, a short read, or another click's record.
pub fn decode(id: &ClickId, slot: &[u8]) -> Option<ClickRecord> {
    let slot = slot.get(..RECORD_LEN)?;
    let (tag, rest) = slot.split_at(TAG_LEN);
    if tag != id.tag() {
        return None;
    }
    let (at_ms, rest) = rest.split_at(8);
    let at_ms = i64::from_le_bytes(at_ms.try_into().ok()?);
    let (len, code) = rest.split_first()?;
    let code = std::str::from_utf8(code.get(..usize::from(*len))?).ok()?;
    Some(ClickRecord {
        code: code.to_owned(),
        at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdSpace;

    #[test]
    fn a_record_reads_back_for_its_own_id_only() {
        let space = IdSpace::random();
        let id = ClickId::new(space, 42);
        let mut bytes = Vec::new();
        encode(&id, "summer-sale", 1_795_000_000_123, &mut bytes);

        assert_eq!(bytes.len(), RECORD_LEN);
        assert_eq!(
            decode(&id, &bytes),
            Some(ClickRecord {
                code: "summer-sale".into(),
                at_ms: 1_795_000_000_123
            })
        );
        assert_eq!(decode(&ClickId::new(space, 42), &bytes), None);
        assert_eq!(decode(&id, &[0; RECORD_LEN]), None);
        assert_eq!(decode(&id, &bytes[..RECORD_LEN - 1]), None);
    }

    #[test]
    fn consecutive_clicks_sit_side_by_side_in_one_block() {
        let space = IdSpace::random();
        let (block, offset) = slot_of(&ClickId::new(space, BLOCK_CLICKS + 3));
        assert_eq!((block, offset), (1, 3 * RECORD_LEN));
        let (next_block, next_offset) = slot_of(&ClickId::new(space, BLOCK_CLICKS + 4));
        assert_eq!((next_block, next_offset), (1, offset + RECORD_LEN));
    }
}
