//! A full apply reads each stream in chunks of `CHUNK` mirror rows: every
//! record is looked at exactly once, whatever the chunk boundaries.

use super::apply_during_sync_tests::{asset, company, integration, page};
use crate::apply::{CHUNK, apply};
use crate::model::{Record, StreamKind};
use crate::store::tests::temp_store;

#[test]
fn a_full_apply_over_several_chunks_sees_every_record_once() {
    let (_dir, mut store) = temp_store();
    let id = integration(&mut store);
    page(&mut store, id, StreamKind::Companies, 1, &[company("c1"), company("c2")]);
    let n = 2 * CHUNK + 7;
    let assets: Vec<Record> = (0..n).map(|i| asset(&format!("a{i}"), if i % 2 == 0 { "c1" } else { "c2" })).collect();
    // Interleave another stream's rows, so a stream's row ids have gaps.
    for (i, part) in assets.chunks(CHUNK / 2 + 3).enumerate() {
        page(&mut store, id, StreamKind::Assets, 1, part);
        page(&mut store, id, StreamKind::Companies, 1, &[company(&format!("x{i}"))]);
    }
    let report = apply(&mut store, id).expect("apply");
    assert_eq!(report.stream(&StreamKind::Assets.into()).map(|c| c.created), Some(n as u64), "{report:?}");
    let again = apply(&mut store, id).expect("apply");
    assert_eq!(again.stream(&StreamKind::Assets.into()).map(|c| c.unchanged + c.updated + c.created), Some(n as u64));
}
