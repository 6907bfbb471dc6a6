//! The answers every operation of an API family shares, documented once
//! here from the extractors that give them rather than in each handler's
//! annotation (per-operation answers such as 404 and 409 stay there):
//!
//! - access: 401 and 403 from the merchant signature (`crate::http::auth`),
//!   the partner signature (`crate::http::partner::auth`) and the admin gate
//!   with its roles (`crate::http::roles`);
//! - input: 400 for a body that is not JSON or a query or path that does not
//!   parse, 408 for a body that stops arriving (`crate::http::stall`), 413
//!   and 415 for the body's size and type, and 422
//!   `VALIDATION_ERROR` for JSON of the wrong shape.

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Who an operation is for, by its path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Merchant,
    Partner,
    Public,
    Admin,
}

fn family(path: &str) -> Option<Family> {
    if path.starts_with("/admin/v1/") {
        Some(Family::Admin)
    } else if path.starts_with("/api/v1/partner/") || path.starts_with("/api/v2/partner/") {
        Some(Family::Partner)
    } else if path.starts_with("/api/v1/public/") || path.starts_with("/api/v2/public/") {
        Some(Family::Public)
    } else if path.starts_with("/api/v1/") {
        Some(Family::Merchant)
    } else {
        None
    }
}

pub fn document(doc: &mut OpenApi) {
    // Answered before any handler, so in the common envelope on every path.
    let stalled_body = Errors { schema: Ref::from_schema_name("ErrorEnvelope").into() }.response(
        "REQUEST_TIMEOUT: the body stopped arriving for `request_body_timeout_secs`; nothing was done and the \
         connection is closed",
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let Some(family) = family(path) else { continue };
        let errors = Errors::of(family);
        for (op, writes) in operations(item) {
            let has_body = op.request_body.is_some();
            if has_body || family == Family::Merchant || family == Family::Partner && writes {
                op.responses.responses.entry("408".into()).or_insert_with(|| stalled_body.clone().into());
            }
            let params = op.parameters.iter().flatten();
            let has_query = params.clone().any(|p| p.parameter_in == ParameterIn::Query);
            let has_params = params.clone().next().is_some()
                || matches!(family, Family::Partner | Family::Public) && path.contains('{');
            let mut add = |status: &str, why: &str| {
                op.responses.responses.entry(status.into()).or_insert_with(|| errors.response(why).into());
            };
            match family {
                Family::Merchant => {
                    add("401", MERCHANT_401);
                    add(
                        "403",
                        "MERCHANT_DISABLED, or FORBIDDEN: the client address is not in the merchant's IP allow-list",
                    );
                }
                Family::Partner => {
                    add("401", PARTNER_401);
                    add("403", "MERCHANT_DISABLED: the partner or its merchant is disabled; FORBIDDEN: the client address is not in the merchant's IP allow-list");
                }
                Family::Admin => {
                    add("401", "UNAUTHORIZED: no admin token or operator key, or a wrong, replaced or disabled one");
                    if writes {
                        add("403", "FORBIDDEN: the operator key's role may not do this (viewer < operator < admin)");
                    }
                }
                Family::Public => {}
            }
            if has_body || family == Family::Merchant || family == Family::Partner && writes {
                add("400", "BAD_JSON: the body is not JSON; BAD_REQUEST: it could not be read");
                add("413", "PAYLOAD_TOO_LARGE: the body is over `max_body_bytes`");
                add("422", "VALIDATION_ERROR: the JSON does not fit the request schema (`details` names the field)");
                if family != Family::Partner && family != Family::Public {
                    add("415", "UNSUPPORTED_MEDIA_TYPE: a Content-Type other than JSON");
                }
            }
            if has_params {
                add("400", "BAD_REQUEST: a query or path parameter that does not parse, or an unknown query parameter");
            }
            if has_query {
                add("422", "VALIDATION_ERROR: a query parameter outside its rules (`details` names it)");
            }
        }
    }
}

const MERCHANT_401: &str = "AUTH_MISSING_HEADERS (an X-App-* header is missing), AUTH_UNKNOWN_TOKEN, \
    AUTH_TS_EXPIRED (X-App-Access-Ts is not Unix seconds within the window) or AUTH_BAD_SIGNATURE";
const PARTNER_401: &str = "AUTH_MISSING_HEADERS (API-Key or API-Signature is missing), AUTH_UNKNOWN_TOKEN (unknown \
    API-Key) or AUTH_BAD_SIGNATURE";

/// Each operation of a path, with whether it may change something.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&mut Operation, bool)> {
    let reads = [&mut item.get].into_iter().flatten().map(|op| (op, false));
    let writes =
        [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten().map(|op| (op, true));
    reads.chain(writes)
}

/// The error bodies of a family: the `{success: false, error}` envelope, or
/// Switchere's `{success: 0, error}` on the exchange API. The extractors the
/// two share answer in the family's shape; what the app answers before a
/// route is reached (a request timeout) keeps the common envelope.
struct Errors {
    schema: RefOr<Schema>,
}

impl Errors {
    fn of(family: Family) -> Errors {
        let schema = match family {
            Family::Merchant | Family::Admin => Ref::from_schema_name("ErrorEnvelope").into(),
            Family::Partner | Family::Public => Ref::from_schema_name("PartnerErrorEnvelope").into(),
        };
        Errors { schema }
    }

    fn response(&self, description: &str) -> Response {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(self.schema.clone())).build())
            .build()
    }
}

/// Either error shape: what a partner path answers when the request timed
/// out (the common envelope) or its handler refused (Switchere's).
pub fn either_error_envelope() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(Ref::from_schema_name("PartnerErrorEnvelope"))
        .item(Ref::from_schema_name("ErrorEnvelope"))
        .into()
}
