//! The ECR API's wire: what the register sends the terminal and what it answers, as
//! types both ends share. The daemon serializes exactly these (its records are mapped
//! onto them in `src/ecr/wire.rs`), the error envelope `{code, message, field}` carries
//! an [`ErrorCode`] from a closed list, and [`EcrClient`] (feature `client`) calls every
//! operation with them. The published document is `docs/ecr-api.yaml`.

mod back_office;
mod error;
mod requests;
mod responses;
pub mod schema;
mod staff;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "openapi")]
pub mod openapi;

pub use back_office::{
    AcquirerStatus, ConsoleInfo, DayReport, DeviceStatus, Difference, DifferenceKind, EntryType, Health, HealthProblem,
    LogLevel, OfflineRoom, OpKind, OpState, QueueList, QueueState, QueueSummary, QueuedOperation, Reconciliation,
    ReportKind, SettlementTotals, Subject, TenderTotal,
};
#[cfg(feature = "client")]
pub use client::{EcrClient, EcrError};
pub use error::{ErrorBody, ErrorCode};
pub use requests::{
    CaptureBody, KlarnaQuery, LogLevelChange, MethodBody, NewReturn, NewSale, QueueQuery, ReconciliationQuery,
    RetrySale, ReturnLine, SaleQuery, XReportQuery,
};
pub use responses::{
    HistoryEntry, KlarnaAvailability, OfflineStatus, Return, ReturnState, ReversalStatus, Sale, SaleHistory, SaleList,
    SaleState, Source,
};
pub use staff::{
    Article, Cashier, CashierList, CashierRole, Catalogue, ConsoleLanguage, ConsoleSession, ConsoleTexts, PutCashier,
    SignIn, StaffAction,
};
