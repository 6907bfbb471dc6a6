//! The two answers that say "retry later", documented on every operation
//! they can come from, once here rather than in each handler's annotation:
//! 429 `RATE_LIMITED` on merchant calls (`crate::rate_limit`) and 503
//! `UNAVAILABLE` on merchant and admin calls (a request timeout, a lost or
//! exhausted database connection, busy requisites). Both carry `Retry-After`.

use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type,
};

pub fn document(doc: &mut OpenApi) {
    let rate_limited = retry_later(rate_limited_why());
    let unavailable = retry_later(UNAVAILABLE);
    // The exchange API's own calls answer in Switchere's shape; a request
    // that timed out gets the common envelope whatever its path.
    let partner_rate_limited = retry_later_as(rate_limited_why(), Ref::from_schema_name("PartnerErrorEnvelope").into());
    let partner_unavailable = retry_later_as(UNAVAILABLE, super::access_responses::either_error_envelope());
    for (path, item) in doc.paths.paths.iter_mut() {
        let exchange = ["/api/v1/partner/", "/api/v2/partner/", "/api/v1/public/", "/api/v2/public/"]
            .iter()
            .any(|p| path.starts_with(p));
        let partner = exchange && path.contains("/partner/");
        let merchant = path.starts_with("/api/v1/") && !exchange;
        if !merchant && !exchange && !path.starts_with("/admin/v1/") {
            continue;
        }
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            let responses = &mut op.responses.responses;
            if merchant {
                responses.insert("429".into(), rate_limited.clone().into());
            }
            if partner {
                responses.insert("429".into(), partner_rate_limited.clone().into());
            }
            let general = if exchange { &partner_unavailable } else { &unavailable };
            match responses.get_mut("503") {
                // A handler's own 503 keeps its description; on the exchange
                // API it may come in either shape.
                Some(RefOr::T(own)) if exchange => own.content = general.content.clone(),
                Some(_) => {}
                None => {
                    responses.insert("503".into(), general.clone().into());
                }
            }
        }
    }
}

const UNAVAILABLE: &str = "UNAVAILABLE: the request timed out, or the database is unavailable or busy; safe to retry";

fn rate_limited_why() -> &'static str {
    "RATE_LIMITED: more requests than the merchant's limit on this node \
     (`rate_limit_per_second`, `rate_limit_burst`, or the merchant's own rate)"
}

fn retry_later(description: &str) -> Response {
    retry_later_as(description, Ref::from_schema_name("ErrorEnvelope").into())
}

fn retry_later_as(description: &str, schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Response {
    ResponseBuilder::new()
        .description(description)
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
                .description(Some("Whole seconds to wait before retrying"))
                .build(),
        )
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
        .build()
}
