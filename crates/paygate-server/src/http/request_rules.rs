//! The rules the shared request parsers enforce, written into the document
//! where the fields that go through them appear: `crate::http::filters`
//! (page size, statuses, RFC 3339 bounds), the configured currencies, the
//! payment methods, and "exactly one of" lookups. One place, as the parsers
//! are one place, so that every request type and query that uses a parser
//! says what it accepts; rules of one field alone sit on its type instead.

use paygate_core::disputes::{DisputeStatus, RejectionReason};
use paygate_core::exchange::lifecycle::OrderStatus;
use paygate_core::money::Currencies;
use paygate_core::payments::{Method, PayInStatus, PayOutStatus};
use serde_json::{json, Value};
use utoipa::openapi::OpenApi;

/// Request schemas (`…In`, `…Io`) and query parameters, by field name; then
/// which request bodies may be left out.
pub fn document(doc: &OpenApi, currencies: &Currencies) -> Value {
    // Written as JSON: some rules are JSON Schema keywords that utoipa's
    // typed schemas cannot hold (`oneOf` beside `properties`).
    let mut value = serde_json::to_value(doc).expect("the document serializes");
    let codes: Vec<&str> = currencies.codes().map(|(c, _)| c).collect();
    value["components"]["schemas"]["Currency"] = json!({"type": "string", "enum": codes,
        "description": "A currency this server is configured for (`currencies`)"});
    let methods: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
    value["components"]["schemas"]["PaymentMethod"] = json!({"type": "string", "enum": methods});
    if let Some(schemas) = value["components"]["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            if name.ends_with("In") || name.ends_with("Io") {
                for (field, property) in
                    schema.get_mut("properties").and_then(Value::as_object_mut).into_iter().flatten()
                {
                    shared_rule(field, property);
                }
            }
        }
        let reasons: Vec<&str> = RejectionReason::ALL.iter().map(|r| r.as_str()).collect();
        if let Some(reason) = schemas.get_mut("RejectIn").and_then(|s| s.pointer_mut("/properties/reason")) {
            reason["enum"] = json!(reasons);
        }
        for (name, fields) in EXACTLY_ONE {
            if let Some(schema) = schemas.get_mut(*name) {
                exactly_one(schema, fields);
            }
        }
    }
    let value_schemas = value["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let mut lists = Vec::new();
    for (path, item) in value["paths"].as_object_mut().into_iter().flatten() {
        let statuses = statuses_of(path);
        for (_, op) in item.as_object_mut().into_iter().flatten() {
            for param in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                if param["in"] != "query" {
                    continue;
                }
                let field = param["name"].as_str().unwrap_or("").to_string();
                if field == "status" {
                    if let Some(known) = statuses {
                        param["schema"] = comma_list_of(known);
                    } else if let Some(one_of) = single_status_of(path) {
                        param["schema"] = json!({"type": "string", "enum": one_of});
                    }
                } else {
                    shared_rule(&field, &mut param["schema"]);
                }
            }
            // A merchant list's body: its `status` items are that kind's,
            // in a copy of the shared list schema named for the kind.
            if let (Some(known), Some(body)) =
                (statuses, op.pointer_mut("/requestBody/content/application~1json/schema"))
            {
                if let Some(name) = body["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(String::from) {
                    let kind = path.trim_start_matches("/api/v1/").split('/').next().unwrap_or("");
                    let named = if name == "ListIn" { format!("{}{name}", kind_prefix(kind)) } else { name.clone() };
                    let mut copy = value_schemas.get(&name).cloned().unwrap_or(Value::Null);
                    copy["properties"]["status"]["items"] = json!({"type": "string", "enum": known});
                    *body = json!({"$ref": format!("#/components/schemas/{named}")});
                    lists.push((named, copy));
                }
            }
        }
    }
    for (name, schema) in lists {
        value["components"]["schemas"][&name] = schema;
    }
    // The shared list schema itself is used by no operation any more.
    if let Some(schemas) = value["components"]["schemas"].as_object_mut() {
        schemas.remove("ListIn");
    }
    optional_bodies(&mut value);
    unique_operation_ids(&mut value);
    value
}

/// OpenAPI wants every `operationId` unique; handlers of different APIs
/// share names (`get_payin` for merchants and operators), so the admin and
/// exchange ones are prefixed with their API where a name repeats.
fn unique_operation_ids(doc: &mut Value) {
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for (_, item) in doc["paths"].as_object().into_iter().flatten() {
        for (_, op) in item.as_object().into_iter().flatten() {
            if let Some(id) = op["operationId"].as_str() {
                *seen.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc["paths"].as_object_mut().into_iter().flatten() {
        let prefix = if path.starts_with("/admin/") {
            "admin_"
        } else if path.contains("/partner/") {
            "partner_"
        } else {
            continue;
        };
        for (_, op) in item.as_object_mut().into_iter().flatten() {
            let Some(id) = op["operationId"].as_str().map(String::from) else { continue };
            if seen.get(&id).is_some_and(|n| *n > 1) {
                op["operationId"] = json!(format!("{prefix}{id}"));
            }
        }
    }
}

/// The server reads a missing body as `{}`, so a body may be left out
/// exactly where `{}` is valid: an object schema that requires nothing.
fn optional_bodies(doc: &mut Value) {
    let schemas = doc["components"]["schemas"].clone();
    for (_, item) in doc["paths"].as_object_mut().into_iter().flatten() {
        for (_, op) in item.as_object_mut().into_iter().flatten() {
            let Some(body) = op.get_mut("requestBody") else { continue };
            let schema = &body["content"]["application/json"]["schema"];
            let schema = match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
                Some(name) => &schemas[name],
                None => schema,
            };
            let empty_is_valid = schema["type"] == "object"
                && schema["required"].as_array().is_none_or(|r| r.is_empty())
                && schema["oneOf"].is_null();
            body["required"] = json!(!empty_is_valid);
        }
    }
}

/// Fields read by one shared parser, whatever request they are in.
fn shared_rule(field: &str, property: &mut Value) {
    let nullable = property["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "null"));
    let refer = |name: &str| {
        let r = json!({"$ref": format!("#/components/schemas/{name}")});
        if nullable {
            json!({"oneOf": [r, {"type": "null"}]})
        } else {
            r
        }
    };
    match field {
        "currency" | "payin_currency" | "payout_currency" | "purchase_currency" if !property["type"].is_null() => {
            let description = property["description"].clone();
            *property = refer("Currency");
            if !description.is_null() {
                property["description"] = description;
            }
        }
        "method" if !property["type"].is_null() => *property = refer("PaymentMethod"),
        // `paygate_core::money::parse_minor`: digits with an optional point.
        "amount_min" | "amount_max" | "min_amount" | "max_amount" | "payin_amount" | "payout_amount"
        | "purchase_amount" => property["pattern"] = json!(r"^[0-9]+(\.[0-9]+)?$"),
        "mode" => property["enum"] = with_null(&["test", "live"], nullable),
        "signature_padding" => property["enum"] = with_null(&["padded", "unpadded"], nullable),
        "date_from" | "date_to" => property["format"] = json!("date-time"),
        // `paygate_core::callback_url`: an absolute http(s) URL.
        "callback_url" | "return_url" | "webhook_url" => property["format"] = json!("uri"),
        "limit" => {
            property["minimum"] = json!(1);
            property["maximum"] = json!(100);
        }
        _ => {}
    }
}

/// The values an enumerated text field takes (and `null` where it may be absent).
fn with_null(values: &[&str], nullable: bool) -> Value {
    let mut all: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    if nullable {
        all.push(Value::Null);
    }
    Value::Array(all)
}

/// Lookups that take exactly one of two keys (`null` counts as absent).
const EXACTLY_ONE: &[(&str, [&str; 2])] =
    &[("GetIn", ["id", "merchant_order_id"]), ("DisputeCreateIn", ["payin_id", "merchant_order_id"])];

fn exactly_one(schema: &mut Value, fields: &[&str; 2]) {
    schema["oneOf"] = json!([given(fields[0]), given(fields[1])]);
}

/// The field is present as a string (`null` counts as absent).
fn given(field: &str) -> Value {
    json!({"required": [field], "properties": {field: {"type": "string"}}})
}

/// The statuses a list or search path filters on.
fn statuses_of(path: &str) -> Option<&'static [&'static str]> {
    static PAYIN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    static PAYOUT: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    static DISPUTE: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let list = match path {
        "/api/v1/payin/list" | "/admin/v1/payins" => {
            PAYIN.get_or_init(|| PayInStatus::ALL.iter().map(|s| s.as_str()).collect())
        }
        "/api/v1/payout/list" | "/admin/v1/payouts" => {
            PAYOUT.get_or_init(|| PayOutStatus::ALL.iter().map(|s| s.as_str()).collect())
        }
        "/api/v1/dispute/list" | "/admin/v1/disputes" => {
            DISPUTE.get_or_init(|| DisputeStatus::ALL.iter().map(|s| s.as_str()).collect())
        }
        _ => return None,
    };
    Some(list.as_slice())
}

/// The one status a search filters on, where it takes a single one.
fn single_status_of(path: &str) -> Option<Vec<&'static str>> {
    match path {
        "/admin/v1/exchange/orders" => Some(OrderStatus::ALL.iter().map(|s| s.as_str()).collect()),
        // `crate::http::merchant::webhooks::delivery_filter`.
        "/admin/v1/webhooks/deliveries" => Some(vec!["success", "failed", "error"]),
        _ => None,
    }
}

/// `status=a,b`: known statuses separated by commas; blanks around them and
/// empty items are ignored (`crate::http::filters::comma_list`).
fn comma_list_of(known: &[&str]) -> Value {
    let one = format!("[ ]*({})?[ ]*", known.join("|"));
    json!({"type": "string", "pattern": format!("^{one}(,{one})*$"),
           "description": format!("Comma-separated, any of: {}", known.join(", "))})
}

/// `PayIn`, `PayOut`, `Dispute` for the merchant list paths.
fn kind_prefix(kind: &str) -> &'static str {
    match kind {
        "payin" => "PayIn",
        "payout" => "PayOut",
        _ => "Dispute",
    }
}
