//! Operator roles, the same in the dashboard and the admin API: a viewer
//! reads, an operator also moves payments, disputes and deliveries along,
//! an admin also changes configuration (merchants, partners, balances,
//! requisites, rates, methods). [`needed_for_admin_api`] is the one table
//! that says which admin API route needs which role.

use axum::http::Method;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// Who is calling the admin API, as the audit log names them.
#[derive(Clone, Debug)]
pub struct Caller {
    /// `admin token`, or the operator's e-mail.
    pub actor: String,
    pub role: Role,
}

/// Admin API routes (as matched, `/admin/v1/payins/{id}/confirm`) that an
/// operator may call to move work along. Any other write needs an admin, so
/// a route added later is closed until someone opens it here.
const OPERATOR_WRITES: &[&str] = &[
    "/admin/v1/payins/",
    "/admin/v1/payouts/",
    "/admin/v1/disputes/",
    "/admin/v1/events/",
    "/admin/v1/exchange/orders/",
];

/// The role an admin API request needs: reads are for everyone signed in.
pub fn needed_for_admin_api(method: &Method, route: &str) -> Role {
    if method == Method::GET || method == Method::HEAD {
        Role::Viewer
    } else if OPERATOR_WRITES.iter().any(|p| route.starts_with(p)) {
        Role::Operator
    } else {
        Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_for_viewers_moves_for_operators_configuration_for_admins() {
        assert_eq!(needed_for_admin_api(&Method::GET, "/admin/v1/merchants"), Role::Viewer);
        assert_eq!(needed_for_admin_api(&Method::POST, "/admin/v1/payins/{id}/confirm"), Role::Operator);
        assert_eq!(needed_for_admin_api(&Method::POST, "/admin/v1/events/{id}/resend"), Role::Operator);
        assert_eq!(needed_for_admin_api(&Method::POST, "/admin/v1/merchants"), Role::Admin);
        assert_eq!(needed_for_admin_api(&Method::PUT, "/admin/v1/rates"), Role::Admin);
        assert_eq!(needed_for_admin_api(&Method::POST, "/admin/v1/balances/{merchant_id}/adjust"), Role::Admin);
        assert_eq!(needed_for_admin_api(&Method::DELETE, "/admin/v1/anything-new"), Role::Admin);
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
