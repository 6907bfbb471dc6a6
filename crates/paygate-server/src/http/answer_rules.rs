//! What the answers' `status` fields can hold, written into the document:
//! a payin's, payout's or dispute's status is one of its kind's (as
//! `paygate_core` names them), so generated clients can switch on it. The
//! views are inlined wherever they are answered (inside envelopes and
//! pages), so each inlined copy is found by its exact set of properties,
//! taken from the view type itself.

use crate::payments::disputes::DisputeOut;
use crate::payments::views::{PayInOut, PayOutOut};
use paygate_core::disputes::DisputeStatus;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn document(doc: &mut Value) {
    let kinds = [
        (properties_of::<PayInOut>(), names(PayInStatus::ALL.iter().map(|s| s.as_str()))),
        (properties_of::<PayOutOut>(), names(PayOutStatus::ALL.iter().map(|s| s.as_str()))),
        (properties_of::<DisputeOut>(), names(DisputeStatus::ALL.iter().map(|s| s.as_str()))),
    ];
    visit(doc, &mut |schema| {
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else { return };
        let keys: BTreeSet<String> = properties.keys().cloned().collect();
        if let Some((_, statuses)) = kinds.iter().find(|(k, _)| *k == keys) {
            properties["status"]["enum"] = statuses.clone();
        }
    });
}

fn names<'a>(all: impl Iterator<Item = &'a str>) -> Value {
    json!(all.collect::<Vec<_>>())
}

fn properties_of<T: utoipa::PartialSchema>() -> BTreeSet<String> {
    let schema = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// Every JSON object in the document, depth first.
fn visit(value: &mut Value, f: &mut impl FnMut(&mut serde_json::Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            for (_, v) in map.iter_mut() {
                visit(v, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| visit(v, f)),
        _ => {}
    }
}
