//! The record of a click, kept for the attribution window so an order can be traced to it.
//!
//! Records are fixed-size slots in blocks (Redis strings): the click id names its block and
//! slot (see [`ClickId`]), so a batch of clicks is one `SETRANGE` per run of consecutive
//! numbers, and finding a click is one `GETRANGE`. Writing a slot twice writes the same
//! bytes, so a retried or replayed batch changes nothing. A slot never written reads as
//! zeros, which no record is.
//!
//! A record is 18 bytes: the click id's random tail (48 bits), the click's time in whole
//! seconds, and its link's number, a 64-bit hash of the link's code ([`link_number`]) that the
//! catalog's `link_numbers` hash maps back to the code (the link cache registers every active
//! link it loads, before it answers a click on it: see
//! [`crate::store::Store::register_link_number`]). A block is allocated whole, by the batch holding its first click, so a
//! record costs its bytes (about 20 with the allocator's rounding) rather than the half again
//! of a string grown by doubling.
//!
//! Blocks written before records were compact hold 49-byte records (tag, time in ms, code):
//! a click not found in the compact layout is looked for in that one, so clicks answered
//! before an upgrade still attribute orders through their window.

use crate::domain::ClickId;

/// Clicks per block: a block is `BLOCK_BYTES` (288 KiB).
pub const BLOCK_CLICKS: u64 = BLOCK_SLOTS as u64;
const BLOCK_SLOTS: usize = 16_384;

const TAG_LEN: usize = 6;
/// tag (6 bytes) | click time, unix seconds (4) | link number (8), all little-endian.
pub const RECORD_LEN: usize = TAG_LEN + 4 + 8;
/// The size of a whole block.
pub const BLOCK_BYTES: usize = BLOCK_SLOTS * RECORD_LEN;

/// The 49-byte layout of older blocks: tag (8) | time, unix ms (8) | code length (1) | code (32).
pub const LEGACY_RECORD_LEN: usize = 8 + 8 + 1 + 32;

/// A click as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickRecord {
    /// The link that was clicked (the link names its influencer).
    pub link: RecordedLink,
    pub at_ms: i64,
}

/// How a record names its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedLink {
    /// By number (see [`link_number`]).
    Number(u64),
    /// By code, in a record of the older layout.
    Code(String),
}

/// A link's number: FNV-1a of its code, never 0 (a slot never written reads as 0). 64 bits
/// keep two of a million links from sharing one with odds of about 3 in 10^8.
pub fn link_number(code: &str) -> u64 {
    let hash = code.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash.max(1)
}

/// Where a click's record lives: its block (by number within its id space) and its byte
/// offset in the block, in the compact layout.
pub fn slot_of(id: &ClickId) -> (u64, usize) {
    slot_in(id, RECORD_LEN)
}

/// Where a click's record would be in a block of the older layout.
pub fn legacy_slot_of(id: &ClickId) -> (u64, usize) {
    slot_in(id, LEGACY_RECORD_LEN)
}

fn slot_in(id: &ClickId, record_len: usize) -> (u64, usize) {
    let seq = id.seq();
    let offset = usize::try_from(seq % BLOCK_CLICKS).unwrap_or(0) * record_len;
    (seq / BLOCK_CLICKS, offset)
}

/// Appends the record of click `id` (link `code`, at `at_ms`) to `out`.
pub fn encode(id: &ClickId, code: &str, at_ms: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&id.tag_bits().to_le_bytes()[..TAG_LEN]);
    let seconds = u32::try_from(at_ms.div_euclid(1000)).unwrap_or(u32::MAX);
    out.extend_from_slice(&seconds.to_le_bytes());
    out.extend_from_slice(&link_number(code).to_le_bytes());
}

/// Reads the record in `slot` (the bytes at the click's offset) if it is `id`'s: `None` for a
/// slot never written, a short read, or another click's record.
pub fn decode(id: &ClickId, slot: &[u8]) -> Option<ClickRecord> {
    let slot = slot.get(..RECORD_LEN)?;
    let (tag, rest) = slot.split_at(TAG_LEN);
    if tag != &id.tag_bits().to_le_bytes()[..TAG_LEN] {
        return None;
    }
    let (seconds, number) = rest.split_at(4);
    let seconds = u32::from_le_bytes(seconds.try_into().ok()?);
    let number = u64::from_le_bytes(number.try_into().ok()?);
    (seconds != 0 && number != 0).then(|| ClickRecord {
        link: RecordedLink::Number(number),
        at_ms: i64::from(seconds) * 1000,
    })
}

/// Reads a record of the older layout, as [`decode`] does.
pub fn decode_legacy(id: &ClickId, slot: &[u8]) -> Option<ClickRecord> {
    let slot = slot.get(..LEGACY_RECORD_LEN)?;
    let (tag, rest) = slot.split_at(8);
    if tag != id.tag() {
        return None;
    }
    let (at_ms, rest) = rest.split_at(8);
    let at_ms = i64::from_le_bytes(at_ms.try_into().ok()?);
    let (len, code) = rest.split_first()?;
    let code = std::str::from_utf8(code.get(..usize::from(*len))?).ok()?;
    Some(ClickRecord {
        link: RecordedLink::Code(code.to_owned()),
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
                link: RecordedLink::Number(link_number("summer-sale")),
                at_ms: 1_795_000_000_000
            })
        );
        assert_eq!(decode(&ClickId::new(space, 42), &bytes), None);
        assert_eq!(decode(&id, &[0; RECORD_LEN]), None);
        assert_eq!(decode(&id, &bytes[..RECORD_LEN - 1]), None);
    }

    #[test]
    fn a_record_of_the_older_layout_still_reads() {
        let id = ClickId::new(IdSpace::random(), 7);
        let mut bytes = id.tag().to_vec();
        bytes.extend_from_slice(&1_795_000_000_123_i64.to_le_bytes());
        bytes.push(6);
        bytes.extend_from_slice(b"summer");
        bytes.resize(LEGACY_RECORD_LEN, 0);

        let record = decode_legacy(&id, &bytes).unwrap();

        assert_eq!(record.link, RecordedLink::Code("summer".into()));
        assert_eq!(record.at_ms, 1_795_000_000_123);
        assert_eq!(decode(&id, &bytes), None);
    }

    #[test]
    fn consecutive_clicks_sit_side_by_side_in_one_block() {
        let space = IdSpace::random();
        let (block, offset) = slot_of(&ClickId::new(space, BLOCK_CLICKS + 3));
        assert_eq!((block, offset), (1, 3 * RECORD_LEN));
        let (next_block, next_offset) = slot_of(&ClickId::new(space, BLOCK_CLICKS + 4));
        assert_eq!((next_block, next_offset), (1, offset + RECORD_LEN));
        assert_eq!(BLOCK_BYTES, 294_912);
    }

    #[test]
    fn link_numbers_differ_between_codes_and_are_never_zero() {
        assert_ne!(link_number("summer"), link_number("summes"));
        assert_eq!(link_number("summer"), link_number("summer"));
        assert_ne!(link_number(""), 0);
    }
}
