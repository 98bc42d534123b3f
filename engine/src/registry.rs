//! The operator table: kinds, their ports, versions and runtimes.
//!
//! The engine never names an operator. Operator crates describe each kind
//! with an [`OperatorKind`] (name, ports, version, documentation, example
//! params and a build function) and hand the table to the engine. Runtimes
//! implement one of the traits below and know nothing about timely.

use std::any::Any;
use std::io;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use crate::data::{Clip, Frame, ItemError, Output, VideoInfo};
use crate::diagnostic::Diagnostic;
use crate::params::{ParamDoc, example_yaml};
use crate::spec::Section;
use crate::spec::tree::Node;

/// What travels on an edge.
///
/// The engine knows clips, a producer's frames and records; what a frame
/// consumer hands on per frame (a motion field, keypoints, a region) is a
/// [`ProductType`], and what a per-clip record holds (a descriptor, QA items)
/// is a [`RecordType`], both named by the operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortType {
    /// Clip records from a source.
    Clips,
    /// A stream of decoded frames per clip (stays inside one worker).
    Frames,
    /// Per frame: an operator's product, passed on inside the clip's frame stage.
    PerFrame(ProductType),
    /// A per-clip record of one kind.
    Record(RecordType),
    /// Any per-clip record (every node has one).
    Any,
}

/// A kind of per-clip record, declared by the operators that make and read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordType {
    /// Short name, shown by `maflow ops` as the port's type.
    pub name: &'static str,
    /// What it is, in words, for error messages (`a clip's QA items`).
    pub description: &'static str,
    /// What to connect a port of this type to, shown when a spec connects something else.
    pub hint: &'static str,
}

/// A kind of per-frame product, declared by the operators that make and read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductType {
    /// Short name, shown by `maflow ops` as the port's type.
    pub name: &'static str,
    /// What it is, in words, for error messages (`per-frame flow`).
    pub description: &'static str,
}

/// A Rust type carried as a per-frame product; its [`ProductType`] is what ports declare.
pub trait FrameProductType: Any + Send + Sync {
    /// The product type ports of this Rust type carry.
    const PRODUCT: ProductType;
}

impl PortType {
    /// Whether an input port of this type accepts what `produced` carries.
    pub fn accepts(self, produced: PortType) -> bool {
        self == PortType::Any || self == produced
    }

    /// Whether it travels per frame, inside a clip's frame stage.
    pub fn is_frame_level(self) -> bool {
        matches!(self, PortType::Frames | PortType::PerFrame(_))
    }

    /// Its short name (`clips`, `frames`, a product's name, `any`).
    pub fn name(self) -> &'static str {
        match self {
            PortType::Clips => "clips",
            PortType::Frames => "frames",
            PortType::PerFrame(product) => product.name,
            PortType::Record(record) => record.name,
            PortType::Any => "any",
        }
    }

    /// What it carries, in words, for error messages.
    pub fn description(self) -> &'static str {
        match self {
            PortType::Clips => "clips",
            PortType::Frames => "frames",
            PortType::PerFrame(product) => product.description,
            PortType::Record(record) => record.description,
            PortType::Any => "records",
        }
    }
}

impl std::fmt::Display for PortType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for PortType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A named input port.
#[derive(Clone, Copy, Debug)]
pub struct Port {
    /// Where a typed port ([`RecordIn`], [`FrameIn`]) reads its input: its
    /// position among the kind's inputs, which [`Registry::new`] checks. A
    /// plain port is wherever the kind lists it.
    pub declared_at: Option<usize>,
    /// Name shown in errors and `maflow ops`.
    pub name: &'static str,
    /// Accepted type.
    pub ty: PortType,
    /// What to connect it to, shown when a spec connects something else.
    pub hint: &'static str,
    /// Whether a spec may leave it unconnected (optional ports come last).
    pub optional: bool,
}

impl Port {
    /// A port taking `ty`, at the position the kind lists it.
    pub const fn new(name: &'static str, ty: PortType) -> Self {
        Port {
            declared_at: None,
            name,
            ty,
            hint: "",
            optional: false,
        }
    }

    /// The same port with a hint for specs that connect it wrongly.
    pub const fn hint(self, hint: &'static str) -> Self {
        Port { hint, ..self }
    }

    /// The same port, which a spec may leave unconnected.
    pub const fn optional(self) -> Self {
        Port {
            optional: true,
            ..self
        }
    }
}

/// A typed record input port of a record operator: declares the kind's
/// [`Port`] and picks its record from the operator's inputs.
#[derive(Clone, Copy, Debug)]
pub struct RecordIn {
    index: usize,
    name: &'static str,
    ty: RecordType,
    optional: bool,
}

impl RecordIn {
    /// The port at `index` among the kind's inputs, taking records of `ty`.
    pub const fn new(index: usize, name: &'static str, ty: RecordType) -> Self {
        RecordIn {
            index,
            name,
            ty,
            optional: false,
        }
    }

    /// The same port, which a spec may leave unconnected (read it with [`read_optional`](Self::read_optional)).
    pub const fn optional(self) -> Self {
        RecordIn {
            optional: true,
            ..self
        }
    }

    /// The kind's port, for its `inputs` table.
    pub const fn port(&self) -> Port {
        let port = Port {
            declared_at: Some(self.index),
            ..Port::new(self.name, PortType::Record(self.ty)).hint(self.ty.hint)
        };
        if self.optional { port.optional() } else { port }
    }

    /// This optional port's record, `None` when the spec leaves it unconnected.
    pub fn read_optional<'v>(
        &self,
        inputs: &[&'v serde_json::Value],
    ) -> Option<&'v serde_json::Value> {
        inputs.get(self.index).copied()
    }

    /// This port's record among a record operator's inputs (listed in port order).
    ///
    /// # Panics
    /// When fewer inputs are given than the kind declares: the engine checks
    /// every node's inputs against its ports, so that is a bug.
    pub fn read<'v>(&self, inputs: &[&'v serde_json::Value]) -> &'v serde_json::Value {
        inputs
            .get(self.index)
            .copied()
            .unwrap_or_else(|| panic!("input `{}` missing: the graph gives every port", self.name))
    }
}

/// A typed per-frame input port: declares the kind's [`Port`] and reads the
/// product from [`FrameInputs`], so the type read is the type declared.
pub struct FrameIn<T> {
    index: usize,
    name: &'static str,
    product: PhantomData<fn() -> T>,
}

impl<T: FrameProductType> FrameIn<T> {
    /// The port at `index` among the kind's inputs.
    pub const fn new(index: usize, name: &'static str) -> Self {
        FrameIn {
            index,
            name,
            product: PhantomData,
        }
    }

    /// The kind's port, for its `inputs` table.
    pub const fn port(&self, hint: &'static str) -> Port {
        Port {
            declared_at: Some(self.index),
            name: self.name,
            ty: PortType::PerFrame(T::PRODUCT),
            hint,
            optional: false,
        }
    }
}

/// A built operator: its runtime and its canonical config (for cache keys).
pub struct Built {
    /// What runs.
    pub runtime: Runtime,
    /// The config with defaults filled in, serialised: part of every cache key.
    /// It leaves out the settings that only change pictures.
    pub config: serde_json::Value,
    /// The settings that only change the pictures it draws, when it draws any:
    /// they key the pictures alone.
    pub pictures: Option<serde_json::Value>,
}

impl Built {
    /// Packs a config and runtime; the config is serialised for cache keys.
    pub fn new<C: serde::Serialize>(config: &C, runtime: Runtime) -> Self {
        let config = serde_json::to_value(config).expect("operator configs serialise to JSON");
        Self {
            runtime,
            config,
            pictures: None,
        }
    }

    /// Leaves `params` out of the cache key: settings that change how the
    /// operator runs (a decoder's threads) but never what it outputs, so
    /// that tuning them recomputes nothing.
    pub fn unkeyed(mut self, params: &[&str]) -> Self {
        self.take_params(params);
        self
    }

    /// Removes `params` from the keyed config and returns the ones it held.
    fn take_params(&mut self, params: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        let map = self
            .config
            .as_object_mut()
            .expect("operator configs are maps");
        params
            .iter()
            .filter_map(|&name| map.remove(name).map(|v| (name.to_string(), v)))
            .collect()
    }

    /// Packs a config and runtime whose `picture_params` only change the pictures
    /// it draws: they leave the config's key and key the pictures alone, and
    /// when `draws` is false there are no pictures to key.
    pub fn drawing<C: serde::Serialize>(
        config: &C,
        picture_params: &[&str],
        draws: bool,
        runtime: Runtime,
    ) -> Self {
        let mut built = Self::new(config, runtime);
        let pictures = built.take_params(picture_params);
        built.pictures = draws.then_some(serde_json::Value::Object(pictures));
        built
    }
}

/// Builds a runtime from a node's params, or says everything wrong with them.
pub type BuildFn = fn(&Node) -> Result<Built, Vec<Diagnostic>>;

/// One row of the operator table.
pub struct OperatorKind {
    /// The `kind:` name.
    pub name: &'static str,
    /// The spec list it is declared in.
    pub section: Section,
    /// Bumped whenever the output for the same input and config changes.
    pub version: u32,
    /// User documentation (first line is the summary).
    pub doc: &'static str,
    /// Input ports, matched by position with the node's `inputs`.
    pub inputs: &'static [Port],
    /// What it produces for downstream nodes (`None` for sinks).
    pub output: Option<PortType>,
    /// Its params, documented by the params struct (`#[configurable]`).
    pub params: fn() -> Vec<ParamDoc>,
    /// Builds the runtime.
    pub build: BuildFn,
}

impl OperatorKind {
    /// Example `params` in YAML, every param with its doc and default.
    pub fn example(&self) -> String {
        example_yaml(&(self.params)())
    }
}

impl std::fmt::Debug for OperatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorKind")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

/// The runtime of a built operator.
#[derive(Clone)]
pub enum Runtime {
    /// Lists clips.
    Source(Arc<dyn ClipSource>),
    /// Turns a clip into a frame stream (a decoder).
    FrameProducer(Arc<dyn FrameProducer>),
    /// Consumes a frame stream, yields one output per clip.
    FrameConsumer(Arc<dyn FrameConsumer>),
    /// Turns one clip's input records into its output record (captions, QA items, answers).
    Record(Arc<dyn RecordOperator>),
    /// Writes records of its input to files, on the coordinator, in source order.
    RecordSink(Arc<dyn RecordSink>),
}

impl Runtime {
    /// Whether it runs per frame inside a clip's fused stage (a frame producer or consumer).
    pub fn is_frame_level(&self) -> bool {
        matches!(self, Runtime::FrameProducer(_) | Runtime::FrameConsumer(_))
    }

    /// Whether it works on whole records after the frame stages (a record operator or sink).
    pub fn is_record_level(&self) -> bool {
        matches!(self, Runtime::Record(_) | Runtime::RecordSink(_))
    }
}

/// Clips a source found, and the entries it could not turn into clips.
#[derive(Clone, Debug, Default)]
pub struct SourceScan {
    /// Usable clips, in a deterministic order.
    pub clips: Vec<Clip>,
    /// Entries that are broken (e.g. listed but missing), reported per item.
    pub errors: Vec<ItemError>,
    /// What the source decided beyond listing (for a selection: what it chose and why); in run.json.
    pub notes: Option<serde_json::Value>,
}

/// A clip source.
pub trait ClipSource: Send + Sync {
    /// Lists the clips; `Err` only when nothing at all can be listed.
    fn scan(&self, node_id: &str) -> Result<SourceScan, String>;
}

/// Opens clips as frame streams.
pub trait FrameProducer: Send + Sync {
    /// Opens one clip; the error is the cause, reported for that clip.
    fn open(&self, clip: &Clip) -> Result<Box<dyn FrameStream>, String>;
}

/// Frames of one clip, one at a time, so memory never holds the whole clip.
pub trait FrameStream {
    /// Geometry and rate of the frames to come.
    fn info(&self) -> &VideoInfo;
    /// The next frame, `None` at the end.
    fn next_frame(&mut self) -> Result<Option<Frame>, String>;
    /// The producer's own per-clip output, after the last frame.
    fn finish(self: Box<Self>) -> Result<Output, String>;
}

/// What a frame consumer hands, per frame, to the consumers downstream of it
/// in the same stage (a motion field, keypoints, a region); its type is fixed by
/// the kind's output [`PortType`].
pub type FrameProduct = Arc<dyn Any + Send + Sync>;

/// The products of a consumer's inputs for the current frame, by port.
///
/// A port fed by the frame producer has no product (the frame itself is
/// passed); a port whose upstream has nothing for this frame (the first frame
/// of a flow) has none either.
pub struct FrameInputs<'a> {
    products: &'a [Option<FrameProduct>],
}

impl<'a> FrameInputs<'a> {
    /// Inputs over products listed by port.
    pub fn new(products: &'a [Option<FrameProduct>]) -> Self {
        Self { products }
    }

    /// No inputs besides the frame.
    pub fn none() -> FrameInputs<'static> {
        FrameInputs { products: &[] }
    }

    /// The product on `port`, if its upstream made one for this frame.
    pub fn get<T: FrameProductType>(&self, port: &FrameIn<T>) -> Option<&'a T> {
        self.products.get(port.index)?.as_ref()?.downcast_ref::<T>()
    }

    /// The product on `port` as a shared handle, for a consumer that keeps it past this frame.
    pub fn shared<T: FrameProductType>(&self, port: &FrameIn<T>) -> Option<Arc<T>> {
        self.products.get(port.index)?.clone()?.downcast::<T>().ok()
    }
}

/// Starts per-clip frame consumers.
pub trait FrameConsumer: Send + Sync {
    /// Prepares to receive the frames of one clip.
    fn start(&self, clip: &Clip, info: &VideoInfo) -> Result<Box<dyn FrameTask>, String>;

    /// Whether [`replay`](Self::replay) works: its record holds its per-frame
    /// products (a track of keypoints can; a dense motion field is never stored).
    fn can_replay(&self) -> bool {
        false
    }

    /// A task that yields this consumer's per-frame products again from its
    /// cached output, without computing, for consumers downstream that must
    /// run (e.g. a stored per-frame track, for a consumer downstream whose params changed).
    fn replay(
        &self,
        _clip: &Clip,
        _info: &VideoInfo,
        _cached: &Output,
    ) -> Result<Box<dyn FrameTask>, String> {
        Err("this operator cannot replay a stored output".into())
    }
}

/// The state of one frame consumer over one clip.
pub trait FrameTask {
    /// Takes the next frame and its inputs' products; returns this frame's
    /// product for consumers downstream, if the kind has one.
    fn push(
        &mut self,
        frame: &Frame,
        inputs: &FrameInputs<'_>,
    ) -> Result<Option<FrameProduct>, String>;
    /// The per-clip output after the last frame.
    fn finish(self: Box<Self>) -> Result<Output, String>;
}

/// A record-level operator: one clip's input records in, one output out.
///
/// It runs on a pool of I/O threads beside the frame stages, so it may wait
/// on a network service; it must not touch shared state other than through
/// its context.
pub trait RecordOperator: Send + Sync {
    /// Computes the clip's output from its inputs' records, in port order.
    fn run(
        &self,
        clip: &Clip,
        inputs: &[&serde_json::Value],
        ctx: &mut RecordContext<'_>,
    ) -> Result<Output, String>;

    /// What the service behind it serves now (for a model: its id and what
    /// identifies its weights), asked once per run or plan
    /// ([`Plan::ask_services`](crate::graph::Plan::ask_services)). It
    /// becomes part of the node's config and so of its cache keys: new
    /// weights under an old name are computed again. `cache_dir` (the
    /// request caches' folder) remembers the last answer for when the
    /// service cannot be reached. `None`, the default, for operators that
    /// call nothing.
    fn served(&self, _cache_dir: &Path) -> Option<serde_json::Value> {
        None
    }

    /// What this operator's call counters say: `calls` summed over the run,
    /// `computed` the items it computed. The default, for operators that
    /// call nothing, says nothing.
    fn calls_report(&self, _calls: &CallCounts, _computed: u64) -> CallsReport {
        CallsReport::default()
    }
}

/// What a record operator may use besides its inputs.
pub struct RecordContext<'a> {
    /// A folder for request-level caches (inside the store), shared by every operator and run.
    pub cache_dir: &'a Path,
    /// Remote calls made for this item, reported in `run.json`.
    pub calls: CallCounts,
}

/// Counters an operator keeps of the remote calls it makes, by name: the
/// operator fills them, and the engine adds them up per node, writes them
/// to `run.json` and asks the operator what they say
/// ([`RecordOperator::calls_report`]), knowing nothing of what they count.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CallCounts(std::collections::BTreeMap<String, u64>);

impl CallCounts {
    /// Adds `n` to the counter `name` (0 makes it appear).
    pub fn add(&mut self, name: &str, n: u64) {
        *self.0.entry(name.to_string()).or_default() += n;
    }

    /// The counter `name`; 0 when it never counted.
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Adds every counter of `other` to this one's.
    pub fn merge(&mut self, other: &CallCounts) {
        for (name, n) in &other.0 {
            self.add(name, *n);
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|&n| n == 0)
    }
}

/// What an operator's call counters say, in its own words.
#[derive(Clone, Debug, Default)]
pub struct CallsReport {
    /// A short phrase for the progress line (`None`: nothing to show yet).
    pub progress: Option<String>,
    /// Figures derived from the counters, added beside them in `run.json`.
    pub derived: serde_json::Map<String, serde_json::Value>,
}

/// A file writer fed with records in source order.
pub trait RecordSink: Send + Sync {
    /// Opens the writer for a run; `dir` is `<out>/<spec name>`, `node_id` names the files.
    fn open(&self, dir: &Path, node_id: &str) -> io::Result<Box<dyn SinkWriter>>;
}

/// An open record sink.
pub trait SinkWriter {
    /// Writes one clip's record (the first input's).
    fn write(&mut self, clip: &str, record: &serde_json::Value) -> io::Result<()>;
    /// Takes one clip's records of every input (`None` where that input failed
    /// for the clip); by default writes the first input's record, if any.
    /// Sinks over several inputs (scores, reports) override this.
    fn write_inputs(
        &mut self,
        clip: &Clip,
        records: &[Option<&serde_json::Value>],
    ) -> io::Result<()> {
        match records.first().copied().flatten() {
            Some(record) => self.write(&clip.id, record),
            None => Ok(()),
        }
    }
    /// The run's failures upstream of this sink, in clip order, each saying
    /// whether an earlier run's records were written in its place. Called
    /// once, after the last clip and before [`notes`](Self::notes); sinks
    /// that show a run (the report) list them, file writers need not.
    fn failures(&mut self, _failures: &[SinkFailure]) {}
    /// What the sink decided beyond writing (what an export left out and
    /// why), once every clip is in. Asked of every sink before any is told
    /// [`run_info`](Self::run_info): `run.json` and the report show it.
    fn notes(&mut self) -> Option<serde_json::Value> {
        None
    }
    /// What ran: the spec, the version, the time, the counts and every
    /// node's config. Called once, before [`finish`](Self::finish); sinks
    /// that show a run (the report) print it.
    fn run_info(&mut self, _run: &RunInfo) {}
    /// Makes the written files final (atomically).
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// What a run is, for the sinks that show it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunInfo {
    /// The spec's name.
    pub spec: String,
    /// The spec's content hash.
    pub spec_hash: String,
    /// maflow's version.
    pub version: &'static str,
    /// When the run started (Unix seconds).
    pub started_unix: u64,
    /// Seconds from the start to the sinks' finish.
    pub wall_seconds: f64,
    /// Clips in the run.
    pub clips: usize,
    /// Outputs found in the store.
    pub cache_hits: u64,
    /// Outputs computed (or tried) in this run.
    pub cache_misses: u64,
    /// Every node: id, kind and canonical config (secrets appear as their `${env:…}` references, never their values).
    pub nodes: Vec<(String, String, serde_json::Value)>,
    /// Per source that stated them, its notes ([`SourceScan::notes`]: e.g. what a selection drew and why).
    pub sources: Vec<(String, serde_json::Value)>,
    /// Per sink that stated them, its notes ([`SinkWriter::notes`]: e.g. what an export left out and why).
    pub sinks: Vec<(String, serde_json::Value)>,
}

/// A clip whose records did not reach a sink as this run's own.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SinkFailure {
    /// What failed, where and why.
    pub error: crate::data::ItemError,
    /// Whether the sink got the clip's records from the last run that wrote
    /// them (kept rather than blanked), instead of leaving the clip out.
    pub kept: bool,
}

/// The operator table handed to the engine.
pub struct Registry {
    kinds: Vec<OperatorKind>,
}

impl Registry {
    /// A registry over a table of kinds.
    ///
    /// # Panics
    /// When two kinds share a name, or a kind lists a port out of its
    /// position: the table is code, so that is a bug.
    pub fn new(kinds: Vec<OperatorKind>) -> Self {
        let mut names: Vec<_> = kinds.iter().map(|k| k.name).collect();
        names.sort_unstable();
        assert!(
            names.windows(2).all(|w| w[0] != w[1]),
            "duplicate operator kind in {names:?}"
        );
        for kind in &kinds {
            for (position, port) in kind.inputs.iter().enumerate() {
                assert!(
                    port.declared_at.is_none_or(|at| at == position),
                    "`{}`: port `{}` reads input {:?} but is listed at {position}",
                    kind.name,
                    port.name,
                    port.declared_at
                );
            }
            let first_optional = kind.inputs.iter().position(|p| p.optional);
            assert!(
                first_optional.is_none_or(|f| kind.inputs[f..].iter().all(|p| p.optional)),
                "`{}`: optional ports come after every required one",
                kind.name
            );
        }
        Self { kinds }
    }

    /// Looks a kind up by name.
    pub fn get(&self, name: &str) -> Option<&OperatorKind> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// All kinds, in table order.
    pub fn kinds(&self) -> &[OperatorKind] {
        &self.kinds
    }
}
