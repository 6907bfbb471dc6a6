//! The admin API's access answers, documented on every admin operation once
//! here: 401 `UNAUTHORIZED` without a valid admin token or operator key, and
//! 403 `FORBIDDEN` on a write the key's role may not make
//! (`crate::http::roles`).

use utoipa::openapi::{ContentBuilder, OpenApi, Ref, Response, ResponseBuilder};

pub fn document(doc: &mut OpenApi) {
    let unauthorized = error("UNAUTHORIZED: no admin token or operator key, or a wrong, replaced or disabled one");
    let forbidden = error("FORBIDDEN: the operator key's role may not do this (viewer < operator < admin)");
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/admin/v1/") {
            continue;
        }
        for op in [&mut item.get].into_iter().flatten() {
            op.responses.responses.entry("401".into()).or_insert_with(|| unauthorized.clone().into());
        }
        for op in [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
            op.responses.responses.entry("401".into()).or_insert_with(|| unauthorized.clone().into());
            op.responses.responses.entry("403".into()).or_insert_with(|| forbidden.clone().into());
        }
    }
}

fn error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build())
        .build()
}
