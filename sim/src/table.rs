//! One simulated resource: records ordered by id, each kept as its JSON
//! text plus the few fields listings filter on, and the one paging
//! implementation both simulators serve their lists with.
//!
//! A page costs O(page), as a real server's index makes it: an unfiltered
//! listing in id order is a slice of the table; a filtered or re-ordered
//! listing is computed once (the positions of the matching records) and
//! kept until the table changes, so the following pages of the same
//! listing are slices of it. Without this the simulators spent more time
//! re-filtering and copying whole tables per request than the client they
//! measure spent on the page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub(crate) id: u64,
    /// Parent record (customer / company), for `customer_id` and
    /// `company/id` filters.
    pub(crate) parent: Option<u64>,
    pub(crate) updated: DateTime<Utc>,
    pub(crate) json: Arc<str>,
}

/// A listing's filter: which records it returns.
pub(crate) type Keep<'a> = &'a dyn Fn(&Rec) -> bool;

/// The order a listing returns records in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Order {
    /// By id ascending: both PSAs' default.
    IdAsc,
    IdDesc,
    /// Most recently updated first, ties by id ascending (Syncro's
    /// `sort=updated_at DESC`).
    UpdatedDesc,
    UpdatedAsc,
}

/// Listings computed for earlier requests, valid for one table version.
const CACHED_LISTINGS: usize = 16;

#[derive(Debug, Default)]
struct ListingCache {
    version: u64,
    /// (key, positions), most recently used last.
    entries: Vec<(String, Arc<Vec<u32>>)>,
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Rec>,
    by_id: HashMap<u64, usize>,
    /// Positions of each parent's records, in id order (the index a
    /// per-company listing such as CW's sites reads).
    by_parent: HashMap<u64, Arc<Vec<u32>>>,
    /// Bumped by every change, so cached listings of older versions die.
    version: u64,
    cache: Mutex<ListingCache>,
}

/// The records of one listing, in its order: all rows, or the positions
/// of the matching ones.
pub(crate) enum Selection {
    All(Order),
    Positions(Arc<Vec<u32>>),
}

/// One page of a listing.
pub(crate) struct PageSlice<'a> {
    pub(crate) records: Vec<&'a Rec>,
    /// Records in the whole listing.
    pub(crate) total: usize,
    /// Number of the last page (1 for an empty listing).
    pub(crate) last_page: usize,
}

impl Table {
    /// Build from JSON objects; `fields` extracts (id, parent, updated).
    pub(crate) fn from_values(
        values: Vec<Value>,
        fields: impl Fn(&Value) -> Option<(u64, Option<u64>, DateTime<Utc>)>,
    ) -> Result<Table, String> {
        let mut rows = Vec::with_capacity(values.len());
        for (i, v) in values.into_iter().enumerate() {
            let (id, parent, updated) = fields(&v).ok_or_else(|| format!("record {i} has no usable id"))?;
            rows.push(Rec { id, parent, updated, json: Arc::from(v.to_string()) });
        }
        rows.sort_by_key(|r| r.id);
        rows.dedup_by_key(|r| r.id);
        let mut table = Table { rows, ..Default::default() };
        table.reindex();
        Ok(table)
    }

    /// Rebuild the indexes after the rows changed places.
    fn reindex(&mut self) {
        self.by_id = self.rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let mut by_parent: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, r) in self.rows.iter().enumerate() {
            if let Some(parent) = r.parent {
                by_parent.entry(parent).or_default().push(i as u32);
            }
        }
        self.by_parent = by_parent.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        self.version += 1;
    }

    pub(crate) fn rows(&self) -> &[Rec] {
        &self.rows
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Rec> {
        self.by_id.get(&id).map(|i| &self.rows[*i])
    }

    /// Replace a record's JSON (and its update time).
    pub(crate) fn update(&mut self, id: u64, value: &Value, updated: DateTime<Utc>) -> bool {
        match self.by_id.get(&id) {
            Some(i) => {
                let row = &mut self.rows[*i];
                row.json = Arc::from(value.to_string());
                row.updated = updated;
                self.version += 1;
                true
            }
            None => false,
        }
    }

    /// Add a record in id order; false when its id is taken.
    pub(crate) fn insert(&mut self, rec: Rec) -> bool {
        if self.by_id.contains_key(&rec.id) {
            return false;
        }
        let at = self.rows.partition_point(|r| r.id < rec.id);
        self.rows.insert(at, rec);
        self.reindex();
        true
    }

    pub(crate) fn remove(&mut self, id: u64) -> bool {
        if self.by_id.remove(&id).is_none() {
            return false;
        }
        self.rows.retain(|r| r.id != id);
        self.reindex();
        true
    }

    /// The listing of the records of `parent` (all when `None`) that
    /// `keep` accepts, in `order`. `key` names `keep` exactly (every
    /// parameter it depends on): equal keys on the same table version share
    /// one computed listing. Without `keep`, id order costs nothing.
    pub(crate) fn select(&self, key: &str, order: Order, parent: Option<u64>, keep: Option<Keep<'_>>) -> Selection {
        let candidates = parent.map(|p| self.by_parent.get(&p).cloned().unwrap_or_default());
        match (&candidates, keep, order) {
            (None, None, Order::IdAsc | Order::IdDesc) => return Selection::All(order),
            (Some(of_parent), None, Order::IdAsc) => return Selection::Positions(of_parent.clone()),
            _ => {}
        }
        let key = format!("{order:?}|{parent:?}|{key}");
        if let Ok(mut cache) = self.cache.lock() {
            if cache.version != self.version {
                cache.version = self.version;
                cache.entries.clear();
            }
            if let Some(i) = cache.entries.iter().position(|(k, _)| *k == key) {
                let entry = cache.entries.remove(i);
                let positions = entry.1.clone();
                cache.entries.push(entry);
                return Selection::Positions(positions);
            }
        }
        let accept = |i: &u32| keep.is_none_or(|k| k(&self.rows[*i as usize]));
        let mut positions: Vec<u32> = match &candidates {
            Some(of_parent) => of_parent.iter().copied().filter(accept).collect(),
            None => (0..self.rows.len() as u32).filter(accept).collect(),
        };
        let rows = &self.rows;
        match order {
            Order::IdAsc => {}
            Order::IdDesc => positions.reverse(),
            Order::UpdatedDesc => positions.sort_by(|a, b| {
                let (a, b) = (&rows[*a as usize], &rows[*b as usize]);
                b.updated.cmp(&a.updated).then(a.id.cmp(&b.id))
            }),
            Order::UpdatedAsc => positions.sort_by(|a, b| {
                let (a, b) = (&rows[*a as usize], &rows[*b as usize]);
                a.updated.cmp(&b.updated).then(a.id.cmp(&b.id))
            }),
        }
        let positions = Arc::new(positions);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.entries.len() >= CACHED_LISTINGS {
                cache.entries.remove(0);
            }
            cache.entries.push((key, positions.clone()));
        }
        Selection::Positions(positions)
    }

    /// Records in a listing.
    pub(crate) fn count(&self, selection: &Selection) -> usize {
        match selection {
            Selection::All(_) => self.rows.len(),
            Selection::Positions(p) => p.len(),
        }
    }

    /// The `i`-th record of a listing.
    fn nth(&self, selection: &Selection, i: usize) -> Option<&Rec> {
        match selection {
            Selection::All(Order::IdDesc) => self.rows.len().checked_sub(i + 1).map(|j| &self.rows[j]),
            Selection::All(_) => self.rows.get(i),
            Selection::Positions(p) => p.get(i).map(|j| &self.rows[*j as usize]),
        }
    }

    /// Page `page` (1-based) of `size` records of a listing. With
    /// `duplicate_next` (a fault) the next page's first record also ends
    /// this page.
    pub(crate) fn page(&self, selection: &Selection, page: usize, size: usize, duplicate_next: bool) -> PageSlice<'_> {
        let size = size.max(1);
        let total = self.count(selection);
        let start = page.saturating_sub(1).saturating_mul(size).min(total);
        let end = start.saturating_add(size).min(total);
        let mut records: Vec<&Rec> = (start..end).filter_map(|i| self.nth(selection, i)).collect();
        if duplicate_next && end < total {
            records.extend(self.nth(selection, end));
        }
        PageSlice { records, total, last_page: total.div_ceil(size).max(1) }
    }
}

/// Concatenate pre-serialised records into a JSON array.
pub(crate) fn json_array<'a>(records: impl Iterator<Item = &'a Rec>) -> String {
    let mut out = String::from("[");
    for (i, r) in records.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&r.json);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn build_sort_update_remove() {
        let now = Utc::now();
        let mut t =
            Table::from_values(vec![json!({"id": 2}), json!({"id": 1})], |v| Some((v.get("id")?.as_u64()?, None, now)))
                .unwrap();
        assert_eq!(t.rows().iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
        assert!(t.update(2, &json!({"id": 2, "x": 1}), now));
        assert_eq!(json_array(t.rows().iter()), r#"[{"id":1},{"id":2,"x":1}]"#);
        let rec = |id: u64| Rec { id, parent: None, updated: now, json: Arc::from(format!("{{\"id\":{id}}}")) };
        assert!(t.insert(rec(0)));
        assert!(!t.insert(rec(2)), "ids are unique");
        assert_eq!(t.rows().iter().map(|r| r.id).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(t.get(2).map(|r| r.id), Some(2));
        assert!(t.remove(0));
        assert!(t.remove(1));
        assert!(t.get(1).is_none());
        assert_eq!(t.get(2).map(|r| r.id), Some(2));
        assert!(Table::from_values(vec![json!({"x": 1})], |v| Some((v.get("id")?.as_u64()?, None, now))).is_err());
    }

    fn table(n: u64) -> Table {
        let t0 = crate::world::epoch();
        // Update times run against ids for odd ids, so the orders differ.
        Table::from_values((1..=n).map(|i| json!({"id": i})).collect(), |v| {
            let id = v.get("id")?.as_u64()?;
            let minutes = if !id.is_multiple_of(2) { 1000 - id as i64 } else { id as i64 };
            Some((id, Some(id % 3), t0 + chrono::Duration::minutes(minutes)))
        })
        .unwrap()
    }

    fn ids(page: &PageSlice<'_>) -> Vec<u64> {
        page.records.iter().map(|r| r.id).collect()
    }

    #[test]
    fn pages_of_every_order_and_filter() {
        let t = table(10);
        let all = t.select("", Order::IdAsc, None, None);
        assert_eq!(ids(&t.page(&all, 1, 4, false)), vec![1, 2, 3, 4]);
        let last = t.page(&all, 3, 4, false);
        assert_eq!((ids(&last), last.total, last.last_page), (vec![9, 10], 10, 3));
        assert!(t.page(&all, 9, 4, false).records.is_empty(), "past the end: empty");
        assert_eq!(ids(&t.page(&all, 1, 4, true)), vec![1, 2, 3, 4, 5], "duplicate fault");
        let desc = t.select("", Order::IdDesc, None, None);
        assert_eq!(ids(&t.page(&desc, 3, 4, false)), vec![2, 1]);
        let keep = |r: &Rec| r.parent == Some(0);
        let filtered = t.select("parent=0", Order::IdAsc, None, Some(&keep));
        let p = t.page(&filtered, 1, 2, false);
        assert_eq!((ids(&p), p.total, p.last_page), (vec![3, 6], 3, 2));
        let of_parent = t.select("", Order::IdAsc, Some(1), None);
        assert_eq!(ids(&t.page(&of_parent, 1, 9, false)), vec![1, 4, 7, 10], "the parent index");
        let even = |r: &Rec| r.id.is_multiple_of(2);
        let of_parent = t.select("even", Order::IdDesc, Some(1), Some(&even));
        assert_eq!(ids(&t.page(&of_parent, 1, 9, false)), vec![10, 4]);
        assert_eq!(t.count(&t.select("", Order::IdAsc, Some(99), None)), 0, "no such parent");
        let newest = t.select("", Order::UpdatedDesc, None, None);
        assert_eq!(ids(&t.page(&newest, 1, 3, false)), vec![1, 3, 5]);
        let oldest = t.select("", Order::UpdatedAsc, None, None);
        assert_eq!(ids(&t.page(&oldest, 1, 3, false)), vec![2, 4, 6]);
        let empty = t.select("none", Order::IdAsc, None, Some(&|_| false));
        let p = t.page(&empty, 1, 3, false);
        assert_eq!((p.total, p.last_page), (0, 1));
    }

    #[test]
    fn cached_listings_follow_changes() {
        let mut t = table(6);
        let newest = t.select("", Order::UpdatedDesc, None, None);
        assert_eq!(ids(&t.page(&newest, 1, 1, false)), vec![1]);
        let later = crate::world::epoch() + chrono::Duration::days(30);
        assert!(t.update(4, &json!({"id": 4}), later));
        let newest = t.select("", Order::UpdatedDesc, None, None);
        assert_eq!(ids(&t.page(&newest, 1, 1, false)), vec![4], "an update moves the record to the front");
        let rec = Rec { id: 7, parent: Some(0), updated: later, json: Arc::from("{\"id\":7}") };
        let keep = |r: &Rec| r.parent == Some(0);
        assert_eq!(t.count(&t.select("parent=0", Order::IdAsc, None, Some(&keep))), 2);
        assert!(t.insert(rec));
        assert_eq!(t.count(&t.select("parent=0", Order::IdAsc, None, Some(&keep))), 3, "an insert invalidates");
        assert_eq!(t.count(&t.select("", Order::IdAsc, Some(0), None)), 3, "the parent index follows inserts");
        assert!(t.remove(3));
        assert_eq!(t.count(&t.select("parent=0", Order::IdAsc, None, Some(&keep))), 2, "a removal invalidates");
        assert_eq!(t.count(&t.select("", Order::IdAsc, Some(0), None)), 2, "and removals");
    }
}
