//! Hostile variants of sample records, for proving that a connector reads
//! PSA JSON leniently ([`crate::de`]): every member of every object in a
//! record, nested ones included, replaced by a value of each JSON type.
//!
//! ```ignore
//! for variant in ferry_sdk::testing::hostile::wrong_types(&record) {
//!     // read a page holding `variant`: it must map, with its id kept
//!     // unless the id itself was replaced.
//! }
//! ```

use serde_json::{Value, json};

/// One value of each JSON type (null, boolean, negative integer, fraction,
/// text, list, object).
pub fn each_json_type() -> [Value; 7] {
    [json!(null), json!(true), json!(-5), json!(1.5), json!("text"), json!([1, "x"]), json!({"x": 1})]
}

/// `value` with one member of one object (at any depth) replaced by a value
/// of each JSON type, and each of that member's own variants: one variant
/// per member and type. Scalars have none.
pub fn wrong_types(value: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                for wrong in each_json_type().into_iter().chain(wrong_types(member)) {
                    let mut changed = map.clone();
                    changed.insert(key.clone(), wrong);
                    out.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                for wrong in wrong_types(item) {
                    let mut changed = items.clone();
                    changed[i] = wrong;
                    out.push(Value::Array(changed));
                }
            }
        }
        _ => {}
    }
    out
}

/// The top-level member of `variant` that differs from `original`, if any:
/// which field a variant of [`wrong_types`] replaced (or reaches into).
pub fn changed_member<'a>(original: &Value, variant: &'a Value) -> Option<&'a str> {
    let (Value::Object(a), Value::Object(b)) = (original, variant) else { return None };
    b.iter().find(|(k, v)| a.get(k.as_str()) != Some(v)).map(|(k, _)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_at_every_depth_gets_every_type() {
        let record = json!({"id": 1, "address": {"zip": "78704"}, "tags": [{"name": "a"}, "b"]});
        let variants = wrong_types(&record);
        // id: 7; address: 7 + its zip's 7; tags: 7 + the first tag's name's 7.
        assert_eq!(variants.len(), 7 + 14 + 14);
        assert!(variants.contains(&json!({"id": 1, "address": {"zip": [1, "x"]}, "tags": [{"name": "a"}, "b"]})));
        assert!(variants.contains(&json!({"id": 1, "address": {"zip": "78704"}, "tags": [{"name": null}, "b"]})));
        assert!(variants.iter().all(|v| v != &record), "each variant changes something");
        let zip = json!({"id": 1, "address": {"zip": 5}, "tags": []});
        assert_eq!(changed_member(&record, &zip), Some("address"));
        assert_eq!(changed_member(&record, &record), None);
        assert!(wrong_types(&json!("scalar")).is_empty());
    }
}
