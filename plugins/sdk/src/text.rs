//! Small text helpers for turning PSA JSON into records and cards.

use crate::bindings::ferry::connector::types::Field;

/// `Some(trimmed)` for a non-blank string, else `None`.
pub fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Builds a card (label/value list), skipping blank values so cards stay
/// readable whatever the PSA leaves out.
#[derive(Debug, Default)]
pub struct CardBuilder {
    fields: Vec<Field>,
}

impl CardBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `label: value` when the value is non-blank.
    pub fn add(mut self, label: &str, value: Option<&str>) -> Self {
        if let Some(v) = non_empty(value) {
            self.fields.push(Field { label: label.to_string(), value: v });
        }
        self
    }

    /// Add a JSON scalar (string, number, bool) under `label`.
    pub fn add_json(self, label: &str, value: Option<&serde_json::Value>) -> Self {
        let text = value.and_then(json_scalar_text);
        self.add(label, text.as_deref())
    }

    pub fn add_bool(self, label: &str, value: Option<bool>) -> Self {
        self.add(label, value.map(|b| if b { "Yes" } else { "No" }))
    }

    pub fn build(self) -> Vec<Field> {
        self.fields
    }
}

/// Text for a JSON scalar; `None` for null, arrays and objects.
pub fn json_scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(if *b { "Yes" } else { "No" }.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_skips_blanks() {
        let card = CardBuilder::new()
            .add("Serial", Some(" 5CG1 "))
            .add("Model", Some(""))
            .add("OS", None)
            .add_json("RAM", Some(&serde_json::json!(16)))
            .add_json("Obj", Some(&serde_json::json!({"a": 1})))
            .add_bool("Managed", Some(true))
            .build();
        let labels: Vec<_> = card.iter().map(|f| (f.label.as_str(), f.value.as_str())).collect();
        assert_eq!(labels, vec![("Serial", "5CG1"), ("RAM", "16"), ("Managed", "Yes")]);
    }
}
