//! Replaying a stored per-frame track as a stage's per-frame products.
//!
//! Operators whose record holds their per-frame products (`pose`'s skeleton
//! track, `align`'s part track) hand them out again from the store when only
//! something downstream must run, instead of computing them again.

use std::sync::Arc;

use maflow_engine::data::{Frame, Output};
use maflow_engine::registry::{FrameInputs, FrameProduct, FrameTask};

/// Yields one stored item per frame.
pub struct ReplayTask<T> {
    items: std::vec::IntoIter<T>,
    what: &'static str,
}

impl<T> ReplayTask<T> {
    /// Replays `items`; `what` names the track in errors.
    pub fn new(items: Vec<T>, what: &'static str) -> Self {
        Self {
            items: items.into_iter(),
            what,
        }
    }
}

impl<T: Send + Sync + 'static> FrameTask for ReplayTask<T> {
    fn push(
        &mut self,
        frame: &Frame,
        _inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String> {
        let item = self
            .items
            .next()
            .ok_or_else(|| format!("the stored {} ends before frame {}", self.what, frame.index))?;
        Ok(Some(Arc::new(item)))
    }

    fn finish(self: Box<Self>) -> Result<Output, String> {
        unreachable!("the stage never finishes a replay: its output is the stored one")
    }
}
