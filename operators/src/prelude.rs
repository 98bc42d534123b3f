//! What an operator file needs from the engine, in one import:
//! `use crate::prelude::*;`.

pub use std::sync::Arc;

pub use maflow_engine::data::{
    Blob, Clip, Frame, ItemError, Output, Pictures, PixelFormat, VideoInfo,
};
pub use maflow_engine::diagnostic::Diagnostic;
pub use maflow_engine::params::{Configurable, configurable, param_error, parse_params};
pub use maflow_engine::registry::{
    Built, CallCounts, CallsReport, ClipSource, FrameConsumer, FrameIn, FrameInputs, FrameProducer,
    FrameProduct, FrameProductType, FrameStream, FrameTask, OperatorKind, Port, PortType,
    ProductType, RecordContext, RecordIn, RecordOperator, RecordSink, Runtime, SinkWriter,
    SourceScan,
};
pub use maflow_engine::spec::Section;
pub use maflow_engine::spec::tree::Node;
pub use serde::{Deserialize, Serialize};

pub use crate::common::body::{PART_COUNT, PARTS};
