//! The writer stores each webhook event's exact body in the same transaction
//! as the change it announces; how an object looks on the wire is the API's
//! business, so the server supplies the rendering.

use crate::disputes::DisputeRow;
use crate::payments::{PayInRow, PayOutRow};

pub enum EventObject<'a> {
    PayIn(&'a PayInRow),
    PayOut(&'a PayOutRow),
    Dispute(&'a DisputeRow),
}

pub trait Render: Send + Sync + 'static {
    /// The compact JSON body of event `event_id` (`payin.success`, …), the
    /// `sequence`-th event of its object, created at `created_at` (µs)
    /// about `object`.
    fn event_body(
        &self,
        event_id: &str,
        event: &str,
        sequence: i64,
        created_at: i64,
        object: EventObject<'_>,
    ) -> String;
}
