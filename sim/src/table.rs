//! One simulated resource: records ordered by id, each kept as its JSON
//! text plus the few fields listings filter on.

use std::collections::HashMap;
use std::sync::Arc;

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

#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    rows: Vec<Rec>,
    by_id: HashMap<u64, usize>,
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
        let by_id = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        Ok(Table { rows, by_id })
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
        self.by_id = self.rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        true
    }

    pub(crate) fn remove(&mut self, id: u64) -> bool {
        if self.by_id.remove(&id).is_none() {
            return false;
        }
        self.rows.retain(|r| r.id != id);
        self.by_id = self.rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        true
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
}
