//! The per-clip record types that travel between record operators, so that
//! `validate` can say which input goes where before anything runs.

use maflow_engine::registry::{PortType, RecordType};

/// A clip's motion descriptor (`descriptor`, or `descriptor-files`).
pub const DESCRIPTOR: RecordType = RecordType {
    name: "descriptor",
    description: "a clip's motion descriptor",
    hint: "connect it to a `descriptor` (or `descriptor-files`) node",
};

/// What a clip's descriptor says, as verdicts (`facts`).
pub const FACTS: RecordType = RecordType {
    name: "facts",
    description: "a clip's facts",
    hint: "connect it to a `facts` node",
};

/// A clip's part captions (`caption`).
pub const CAPTIONS: RecordType = RecordType {
    name: "captions",
    description: "a clip's part captions",
    hint: "connect it to a `caption` node",
};

/// A clip's description (`describe`).
pub const DESCRIPTION: RecordType = RecordType {
    name: "description",
    description: "a clip's description",
    hint: "connect it to a `describe` node",
};

/// A clip's benchmark items (`qa`).
pub const QA: RecordType = RecordType {
    name: "qa",
    description: "a clip's QA items",
    hint: "connect it to a `qa` node (or `given-qa`, for a published benchmark's questions)",
};

/// A model's replies to a clip's items (`respond`).
pub const RESPONSES: RecordType = RecordType {
    name: "responses",
    description: "a model's replies to a clip's items",
    hint: "connect it to a `respond` node",
};

/// A model's replies with their scores (`judge`).
pub const JUDGEMENTS: RecordType = RecordType {
    name: "judgements",
    description: "a model's scored replies",
    hint: "connect it to a `judge` node",
};

/// The port type of records of `ty`.
pub const fn record(ty: RecordType) -> PortType {
    PortType::Record(ty)
}
