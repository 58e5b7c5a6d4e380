//! The terminal's records, shared by every layer above: a sale and its states, a return,
//! an operation queued for the acquirer, the offline limits. Plain data with the rules
//! that belong to the data alone (state names, what a state allows); no I/O, and no
//! import of any other module of the daemon (tests/architecture.rs checks it).

mod effects;
mod operation;
mod policy;
mod presentation;
mod queue;
mod reason;
mod returns;
mod sale;
mod staff;
mod stage;
mod zvt;

pub use effects::{Behind, Effect, Finish, ReturnEffect, SaleEffect, reversal_detail};
pub use operation::{CaptureKey, Operation, ReadDigest};
pub use policy::{OfflineLimits, SharedLimits};
pub use presentation::option_id_to_send;
pub use queue::{DueOp, NewOp, OfflineExposure, OpKind, OpState, QueueSummary, QueuedOp, Subject, now_ms};
pub use reason::EndReason;
pub use returns::{ReturnRecord, ReturnState};
pub use sale::{MethodChoice, OfflineStatus, ReversalStatus, Sale, SaleState, SaleView};
pub use staff::{Cashier, Role, StaffAction, is_cashier_id};
pub use stage::{Approval, Authorization, Outcome, QrRequest, Stage, StageError};
pub use zvt::{
    NewZvtTransaction, ZvtDayTotals, ZvtKind, ZvtState, ZvtTransaction, day_bucket, day_totals, receipt_number_of,
};
