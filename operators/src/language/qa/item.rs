//! A benchmark item as every stage after `qa` reads it (`respond`, `judge`,
//! the sinks, MA-Bench's own questions), and the tasks it belongs to.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every task, in the paper's column order.
pub const TASKS: [&str; 8] = ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR", "MADU", "MARE"];

/// The closed tasks (scored by accuracy).
pub const CLOSED: [&str; 6] = ["CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR"];

/// One benchmark item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// `<clip>-<task>-<n>`.
    pub id: String,
    /// Clip id.
    pub clip: String,
    /// Task.
    pub task: String,
    /// The question.
    pub question: String,
    /// Options (letters A.. in order); empty for yes/no and open items.
    #[serde(default)]
    pub options: Vec<String>,
    /// The answer: an option letter, `yes`/`no`, or empty for open items.
    pub answer: String,
    /// Reference answer of open items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The facts that make the answer true.
    pub provenance: Value,
}
