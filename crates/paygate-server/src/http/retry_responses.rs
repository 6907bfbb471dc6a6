//! The two answers that say "retry later", documented on every operation
//! they can come from, once here rather than in each handler's annotation:
//! 429 `RATE_LIMITED` on merchant calls (`crate::rate_limit`) and 503
//! `UNAVAILABLE` on merchant and admin calls (a request timeout, a lost or
//! exhausted database connection, busy requisites). Both carry `Retry-After`.

use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi, Ref, Response, ResponseBuilder, Type};

pub fn document(doc: &mut OpenApi) {
    let rate_limited = retry_later(
        "RATE_LIMITED: more requests than the merchant's limit on this node \
         (`rate_limit_per_second`, `rate_limit_burst`, or the merchant's own rate)",
    );
    let unavailable =
        retry_later("UNAVAILABLE: the request timed out, or the database is unavailable or busy; safe to retry");
    for (path, item) in doc.paths.paths.iter_mut() {
        let merchant = path.starts_with("/api/v1/");
        if !merchant && !path.starts_with("/admin/v1/") {
            continue;
        }
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            let responses = &mut op.responses.responses;
            if merchant {
                responses.insert("429".into(), rate_limited.clone().into());
            }
            responses.entry("503".into()).or_insert_with(|| unavailable.clone().into());
        }
    }
}

fn retry_later(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)))
                .description(Some("Whole seconds to wait before retrying"))
                .build(),
        )
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build())
        .build()
}
