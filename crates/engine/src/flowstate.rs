//! The flow table's per-flow data for runs that keep application state
//! beside the classifier's (`netsift analyze`, `watch`, `learn`).
//!
//! The classifier owns [`ClassState`] and knows nothing of what a run does
//! with a flow's bytes; a run's own per-flow state (the analyzer's
//! reassembly, parser and rule state) sits next to it here. So `classify`
//! depends on nothing above it, and `analyze` depends on `classify` and on
//! this module, one way (issue 21 §5).

use std::borrow::{Borrow, BorrowMut};

use crate::classify::ClassState;

/// A flow's classification state and a run's application state `A`.
pub struct FlowState<A> {
    /// What the classifier keeps.
    pub class: ClassState,
    /// The run's application state, created at the flow's first packet
    /// that needs it. Boxed: a flow that never needs it (most of a flood)
    /// pays 8 bytes.
    pub app: Option<Box<A>>,
}

impl<A> Default for FlowState<A> {
    fn default() -> Self {
        FlowState {
            class: ClassState::default(),
            app: None,
        }
    }
}

impl<A: std::fmt::Debug> std::fmt::Debug for FlowState<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowState")
            .field("class", &self.class)
            .field("app", &self.app)
            .finish()
    }
}

/// The classifier's entry points take any per-flow data that holds a
/// [`ClassState`] ([`crate::Classifier::on_packet`]).
impl<A> Borrow<ClassState> for FlowState<A> {
    fn borrow(&self) -> &ClassState {
        &self.class
    }
}

impl<A> BorrowMut<ClassState> for FlowState<A> {
    fn borrow_mut(&mut self) -> &mut ClassState {
        &mut self.class
    }
}
