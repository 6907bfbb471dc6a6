//! Provider health for `/metrics` (`paygate_provider_requests_total` by
//! provider and outcome: `ok`, `refused`, `failed`) and for the operator
//! (`GET /admin/v1/providers/health`, with the breaker's condition).

pub fn count(provider: &str, outcome: &'static str) {
    metrics::counter!("paygate_provider_requests_total", "provider" => provider.to_string(), "outcome" => outcome)
        .increment(1);
}
