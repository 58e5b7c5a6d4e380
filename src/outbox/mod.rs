//! Store-and-forward: every backend operation that must reach the acquirer even if it
//! is unreachable right now (an offline card approval, a capture, refund, void or reversal) is
//! queued in the journal's `outbox` table with its idempotency key, in the same
//! transaction as the sale or return state that produced it. The sync worker drains the
//! queue in order per payment, in batches, once the acquirer answers. The other way, the
//! event follower (`follow.rs`) brings what the acquirer reports of a sale's transaction
//! into its record.

pub mod follow;
pub mod forward;
pub mod policy;
pub mod sync;

pub use follow::EventFollower;
pub use forward::{Answer, Applied, Decision, Forwarder, decide};
pub use policy::OfflineRefusal;
pub use sync::{SyncHandle, SyncWorker};
