//! The click spool: an append-only log on local disk that holds click batches while Redis is
//! unreachable, so an outage (even one a restart of reftrack falls into) loses no click.
//!
//! The spool is a directory of segment files, each a sequence of JSON lines, one batch per
//! line, appended and synced before the batch counts as kept. Segments are named by creation
//! time, so their names sort oldest first. Batches are replayed in the order they were
//! written: once the spool holds anything, the flusher appends every new batch behind it, so a
//! batch's counters never land before an older one's (the counters script skips a batch whose
//! number is not above the last applied). A replayed batch that had in fact landed counts once,
//! by the same rule.
//!
//! When the spool would grow past its size limit, whole segments are dropped oldest first and
//! their clicks counted as lost (`reftrack_click_spool_dropped_total` for records,
//! `reftrack_click_spool_counts_dropped_total` for counts), so the newest clicks
//! survive the longest outage the disk allows.
//!
//! Each process needs its own spool directory.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::store::ClickBatch;

/// Segments are closed at this size, so dropping the oldest frees space in small steps.
const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// What a full spool dropped to make room.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Clicks whose records were dropped.
    pub records: usize,
    /// Clicks whose counts (counters and visitors) were dropped: those of the count writes in
    /// the dropped segments, which are batches of their own.
    pub counted: u64,
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// Segment files, oldest first, with their sizes.
    segments: Vec<(PathBuf, u64)>,
    /// The segment being appended to.
    open: Option<File>,
    /// Segments created by this process, to keep names unique within a millisecond.
    created: u64,
}

/// What the spool holds, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolDepth {
    pub bytes: u64,
    pub segments: usize,
}

impl Spool {
    /// Opens (creating if need be) the spool directory and finds the segments a previous run
    /// left behind.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Self> {
        crate::private_files::create_dir(dir)?;
        let mut segments = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "spool") {
                segments.push((path, entry.metadata()?.len()));
            }
        }
        segments.sort();
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            segments,
            open: None,
            created: 0,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn depth(&self) -> SpoolDepth {
        SpoolDepth {
            bytes: self.segments.iter().map(|(_, size)| size).sum(),
            segments: self.segments.len(),
        }
    }

    /// Appends a batch and syncs it to disk. Returns what was dropped to make room (oldest
    /// segments first) when the spool was full.
    pub fn append(&mut self, batch: &ClickBatch) -> io::Result<Dropped> {
        let mut line = serde_json::to_vec(batch).map_err(io::Error::other)?;
        line.push(b'\n');
        let size = line.len() as u64;
        let mut dropped = Dropped::default();
        while self.depth().bytes + size > self.max_bytes && !self.segments.is_empty() {
            let segment = self.drop_oldest()?;
            dropped.records += segment.records;
            dropped.counted += segment.counted;
        }
        let needs_segment = self
            .segments
            .last()
            .is_none_or(|(_, len)| *len + size > SEGMENT_BYTES)
            || self.open.is_none();
        if needs_segment {
            self.start_segment()?;
        }
        let file = self.open.as_mut().expect("a segment was just opened");
        file.write_all(&line)?;
        file.sync_data()?;
        if let Some((_, len)) = self.segments.last_mut() {
            *len += size;
        }
        Ok(dropped)
    }

    fn start_segment(&mut self) -> io::Result<()> {
        self.created += 1;
        let now = chrono::Utc::now().timestamp_millis();
        let path = self
            .dir
            .join(format!("{now:016}-{:06}.spool", self.created % 1_000_000));
        let file = crate::private_files::append(&path)?;
        // The directory entry must survive a crash too.
        File::open(&self.dir)?.sync_all()?;
        self.open = Some(file);
        self.segments.push((path, 0));
        Ok(())
    }

    fn drop_oldest(&mut self) -> io::Result<Dropped> {
        let (path, _) = self.segments.remove(0);
        let batches = read_segment(&path)?;
        let clicks = Dropped {
            records: batches.iter().map(|b| b.clicks.len()).sum(),
            counted: batches
                .iter()
                .map(|b| u64::try_from(b.clicks.tallied()).unwrap_or(0))
                .sum(),
        };
        fs::remove_file(&path)?;
        if self.segments.is_empty() {
            self.open = None;
        }
        Ok(clicks)
    }

    /// The batches of the oldest segment, in order.
    pub fn oldest(&self) -> io::Result<Option<Vec<ClickBatch>>> {
        self.segments
            .first()
            .map(|(path, _)| read_segment(path))
            .transpose()
    }

    /// Removes the oldest segment once every batch in it is in Redis.
    pub fn release_oldest(&mut self) -> io::Result<()> {
        if self.segments.is_empty() {
            return Ok(());
        }
        let (path, _) = self.segments.remove(0);
        if self.segments.is_empty() {
            self.open = None;
        }
        fs::remove_file(path)
    }
}

/// Reads a segment's batches. A torn last line (a crash in the middle of an append, before
/// the batch was synced and so before it counted as kept) is skipped.
fn read_segment(path: &Path) -> io::Result<Vec<ClickBatch>> {
    let reader = BufReader::new(File::open(path)?);
    let mut batches = Vec::new();
    for line in reader.lines() {
        let line = line?;
        match serde_json::from_str(&line) {
            Ok(batch) => batches.push(batch),
            Err(e) => {
                tracing::warn!(segment = %path.display(), error = %e, "skipping a torn spool record");
            }
        }
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::sync::Arc;

    use super::*;
    use crate::domain::ClickClass;
    use crate::domain::{ClickId, IdSpace};
    use crate::store::{Click, ClickSums};

    fn batch(seq: u64, clicks: u64) -> ClickBatch {
        let (code, influencer) = (Arc::from("summer"), Arc::from("inf_abc"));
        let click = Click::for_test(&code, &influencer, ClickClass::Human);
        let space = IdSpace::random();
        let mut sums = ClickSums::default();
        for n in 0..clicks {
            sums.add(&ClickId::new(space, n), &click);
        }
        ClickBatch {
            writer: Arc::from("w1"),
            seq,
            clicks: sums,
        }
    }

    #[test]
    fn batches_come_back_in_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        for seq in 1..=3 {
            spool.append(&batch(seq, seq)).unwrap();
        }
        let reopened = Spool::open(dir.path(), 1 << 20).unwrap();
        let batches: Vec<(u64, usize)> = reopened
            .oldest()
            .unwrap()
            .unwrap()
            .iter()
            .map(|b| (b.seq, b.clicks.len()))
            .collect();
        assert_eq!(batches, [(1, 1), (2, 2), (3, 3)]);
        assert!(!reopened.is_empty());
    }

    #[test]
    fn released_segments_leave_an_empty_spool() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.append(&batch(1, 1)).unwrap();
        spool.release_oldest().unwrap();
        assert!(spool.is_empty());
        assert_eq!(spool.depth(), SpoolDepth::default());
        spool.append(&batch(2, 1)).unwrap();
        assert_eq!(spool.oldest().unwrap().unwrap()[0].seq, 2);
    }

    #[test]
    fn a_full_spool_drops_its_oldest_segment_and_counts_the_clicks() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&batch(1, 3)).unwrap().len() as u64 + 1;
        let mut spool = Spool::open(dir.path(), one * 2).unwrap();
        assert_eq!(spool.append(&batch(1, 3)).unwrap(), Dropped::default());
        assert_eq!(spool.append(&batch(2, 3)).unwrap(), Dropped::default());
        let dropped = spool.append(&batch(3, 3)).unwrap();
        assert_eq!(
            dropped,
            Dropped {
                records: 6,
                counted: 6
            },
            "the oldest segment held both earlier batches, records and counts"
        );
        let left: Vec<u64> = spool
            .oldest()
            .unwrap()
            .unwrap()
            .iter()
            .map(|b| b.seq)
            .collect();
        assert_eq!(left, [3]);
    }

    #[test]
    fn a_torn_last_record_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.append(&batch(1, 1)).unwrap();
        let (path, _) = spool.segments[0].clone();
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"writer\":\"w1\",\"se")
            .unwrap();
        let reopened = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(reopened.oldest().unwrap().unwrap().len(), 1);
    }
}
