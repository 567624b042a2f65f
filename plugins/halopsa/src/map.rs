//! HaloPSA JSON → Ferry records. Halo sends ids as numbers and leaves
//! fields out or null freely; a record missing its id or name is still
//! mapped (with it empty) so Ferry skips that one record with the reason.

use ferry_sdk::prelude::*;

fn id(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(json_scalar_text).filter(|s| !s.is_empty() && s != "0")
}

fn text(v: &Value, key: &str) -> Option<String> {
    non_empty(v.get(key).and_then(Value::as_str))
}

fn active(v: &Value) -> bool {
    !v.get("inactive").and_then(Value::as_bool).unwrap_or(false)
}

pub fn company(v: &Value) -> Company {
    Company {
        id: id(v, "id").unwrap_or_default(),
        name: text(v, "name").unwrap_or_default(),
        active: active(v),
        deleted: false,
        status: None,
        types: vec![],
        website: text(v, "website"),
        email: None,
        phone: text(v, "phonenumber"),
        address: None,
        updated_at: None,
        card: vec![],
        raw: None,
    }
}

pub fn contact(v: &Value) -> Contact {
    let first = text(v, "firstname");
    let last = text(v, "surname");
    let joined = [first.as_deref(), last.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    Contact {
        id: id(v, "id").unwrap_or_default(),
        company_id: id(v, "client_id"),
        name: text(v, "name").or_else(|| non_empty(Some(&joined))).unwrap_or_default(),
        first_name: first,
        last_name: last,
        title: text(v, "jobtitle"),
        email: text(v, "emailaddress"),
        phone: text(v, "phonenumber"),
        mobile: text(v, "mobilenumber"),
        active: active(v),
        updated_at: None,
        card: vec![],
        raw: None,
    }
}

pub fn asset(v: &Value) -> Asset {
    Asset {
        id: id(v, "id").unwrap_or_default(),
        company_id: id(v, "client_id"),
        name: text(v, "key_field").or_else(|| text(v, "inventory_number")).unwrap_or_default(),
        type_name: text(v, "assettype_name").unwrap_or_else(|| "Asset".into()),
        status: None,
        active: active(v),
        serial_number: text(v, "key_field2"),
        mac_address: text(v, "key_field3"),
        ip_address: None,
        manufacturer: None,
        model: None,
        operating_system: None,
        tag: text(v, "inventory_number"),
        updated_at: None,
        card: vec![],
        raw: None,
    }
}

pub fn site(v: &Value) -> Site {
    let a = v.get("delivery_address");
    let line = |k: &str| a.and_then(|a| a.get(k)).and_then(Value::as_str).and_then(|s| non_empty(Some(s)));
    let address = Address {
        line1: line("line1"),
        line2: None,
        city: line("line2"),
        state: line("line3"),
        postal_code: line("postcode"),
        country: None,
    };
    let has_address = address.line1.is_some() || address.city.is_some() || address.postal_code.is_some();
    Site {
        id: id(v, "id").unwrap_or_default(),
        company_id: id(v, "client_id"),
        name: text(v, "name").unwrap_or_default(),
        address: has_address.then_some(address),
        phone: text(v, "phonenumber"),
        primary: v.get("isinvoicesite").and_then(Value::as_bool).unwrap_or(false),
        active: active(v),
        updated_at: None,
        card: CardBuilder::new().add("Client", v.get("client_name").and_then(Value::as_str)).build(),
        raw: None,
    }
}

/// A client contract (`/api/ClientContract`) as an item of the extra
/// stream `contracts`. Field names beyond `id`/`client_id` are a guess at
/// Halo's shape (docs/psa-apis.md §4), so each one is optional and a
/// contract without them still comes through with its id.
pub fn contract(v: &Value) -> Item {
    let reference = text(v, "ref");
    Item {
        id: id(v, "id").unwrap_or_default(),
        company_id: id(v, "client_id"),
        name: reference.clone().or_else(|| id(v, "id").map(|i| format!("Contract {i}"))).unwrap_or_default(),
        type_name: text(v, "contract_type").unwrap_or_else(|| "Contract".into()),
        active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
        updated_at: None,
        card: CardBuilder::new()
            .add("Reference", reference.as_deref())
            .add("Client", v.get("client_name").and_then(Value::as_str))
            .add("Type", v.get("contract_type").and_then(Value::as_str))
            .add("Start", v.get("start_date").and_then(Value::as_str))
            .add("End", v.get("end_date").and_then(Value::as_str))
            .build(),
        raw: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_assets_map_with_their_client() {
        let c = contact(&json!({"id": 4, "firstname": "Dana", "surname": "Ortiz", "client_id": 7, "inactive": true}));
        assert_eq!((c.name.as_str(), c.company_id.as_deref(), c.active), ("Dana Ortiz", Some("7"), false));
        let a = asset(&json!({"id": 9, "inventory_number": "HALO-9", "key_field2": "SN1", "client_id": 0}));
        assert_eq!((a.name.as_str(), a.serial_number.as_deref(), a.company_id), ("HALO-9", Some("SN1"), None));
        let s = site(&json!({"id": 2, "name": "Main", "client_id": 7, "delivery_address": {"line1": "1 Road"}}));
        assert_eq!(s.address.and_then(|a| a.line1).as_deref(), Some("1 Road"));
    }

    #[test]
    fn contracts_map_to_items_and_survive_missing_fields() {
        let c = contract(&json!({"id": 3, "ref": "MSP-2024", "client_id": 7, "contract_type": "Block Time",
            "start_date": "2024-01-01T00:00:00", "end_date": null, "active": false}));
        assert_eq!((c.id.as_str(), c.name.as_str(), c.type_name.as_str()), ("3", "MSP-2024", "Block Time"));
        assert_eq!((c.company_id.as_deref(), c.active), (Some("7"), false));
        assert!(c.card.iter().any(|f| f.label == "Start" && f.value == "2024-01-01T00:00:00"));
        assert!(!c.card.iter().any(|f| f.label == "End"));
        let bare = contract(&json!({"id": 5}));
        assert_eq!((bare.name.as_str(), bare.type_name.as_str(), bare.active), ("Contract 5", "Contract", true));
    }
}
