//! How a batch's generation options read, for the CLI's `batches show` and
//! the console's batch screen alike.

use crate::db::batches::GenerationOptions;

/// `aspect 9:16, glasses no, hair brown/long` (absent: `-`).
pub fn options_text(o: &GenerationOptions) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "aspect {}, glasses {}, hair {}/{}",
        opt(&o.aspect_ratio),
        opt(&o.glasses),
        opt(&o.hair_color),
        opt(&o.hair_style)
    )
}

/// A JSON array as `beach, city`; anything else as its JSON; absent or
/// empty `-`.
pub fn list_text(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::Array(items)) if items.is_empty() => "-".into(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(serde_json::Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

/// Everything on one line: `aspect 9:16, glasses no, hair brown/long,
/// backgrounds [beach, city], styles [-]`.
pub fn full_text(o: &GenerationOptions) -> String {
    format!(
        "{}, backgrounds [{}], styles [{}]",
        options_text(o),
        list_text(o.backgrounds.as_ref()),
        list_text(o.styles.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_absent_values() {
        assert_eq!(
            list_text(Some(&serde_json::json!(["beach", 3]))),
            "beach, 3"
        );
        assert_eq!(list_text(Some(&serde_json::json!([]))), "-");
        assert_eq!(list_text(None), "-");
        assert_eq!(list_text(Some(&serde_json::json!({"a": 1}))), r#"{"a":1}"#);
        let o = GenerationOptions {
            aspect_ratio: Some("9:16".into()),
            glasses: None,
            hair_color: Some("brown".into()),
            hair_style: Some("long".into()),
            backgrounds: Some(serde_json::json!(["beach"])),
            styles: None,
        };
        assert_eq!(
            full_text(&o),
            "aspect 9:16, glasses -, hair brown/long, backgrounds [beach], styles [-]"
        );
    }
}
