//! Neural models through ONNX Runtime: finding the library and the model
//! files, and sharing sessions between workers.
//!
//! The runtime is the `libonnxruntime.so` of the PyPI `onnxruntime==1.31.1`
//! wheel, loaded at run time. It is looked up in `$MAFLOW_ONNXRUNTIME`, then
//! `.maflow/lib/` (where `scripts/setup.sh` links it), then in the installed
//! wheel. Model files are looked up in the operator's `models` param, then
//! `$MAFLOW_MODELS`, `../shared/models` and `.maflow/models` (from the
//! working directory, then from the checkout the binary was built in), and
//! checked against `SHA256SUMS` when the folder has one.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;

/// The repository root of this build (the operators crate's parent).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The ONNX Runtime version the code is written against.
pub const ORT_VERSION: &str = "1.31.1";

/// The process-wide runtime, loaded once; the error says where it looked.
pub fn environment() -> Result<&'static Environment, String> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = find_library()?;
        let builder = ort::init_from(&path)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", path.display()))?;
        // The runtime's own messages (e.g. notes on unused initialisers) go to the log, not the terminal.
        let logger: ort::logging::LoggerFunction =
            std::sync::Arc::new(|level, _category, _id, _location, message| match level {
                ort::logging::LogLevel::Error | ort::logging::LogLevel::Fatal => {
                    tracing::warn!("onnxruntime: {message}")
                }
                _ => tracing::debug!("onnxruntime: {message}"),
            });
        builder
            .with_name("maflow")
            .with_logger(logger)
            .build()
            .map_err(|e| format!("ONNX Runtime did not start: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn find_library() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("MAFLOW_ONNXRUNTIME") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("MAFLOW_ONNXRUNTIME={} is not a file", p.display()))
        };
    }
    for local in [
        Path::new(".maflow/lib/libonnxruntime.so").to_path_buf(),
        Path::new(REPO).join(".maflow/lib/libonnxruntime.so"),
    ] {
        if local.is_file() {
            return Ok(local);
        }
    }
    // The installed wheel, as `pip install onnxruntime==1.31.1` leaves it.
    let out = std::process::Command::new("python3")
        .args(["-c", "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))"])
        .output();
    if let Ok(out) = out
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut libs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("libonnxruntime.so"))
                })
                .collect();
            libs.sort();
            if let Some(lib) = libs.into_iter().next() {
                return Ok(lib);
            }
        }
    }
    Err(format!(
        "ONNX Runtime not found: run `bash scripts/setup.sh` (installs onnxruntime=={ORT_VERSION} from PyPI and links it \
         into .maflow/lib), or set MAFLOW_ONNXRUNTIME to a libonnxruntime.so"
    ))
}

/// The folders searched for model files, in order.
pub fn model_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(explicit.map(Path::to_path_buf));
    dirs.extend(std::env::var_os("MAFLOW_MODELS").map(PathBuf::from));
    dirs.push(PathBuf::from("../shared/models"));
    dirs.push(PathBuf::from(".maflow/models"));
    // The checkout this binary was built from, whatever the working directory.
    dirs.push(Path::new(REPO).join("../shared/models"));
    dirs.push(Path::new(REPO).join(".maflow/models"));
    dirs.dedup();
    dirs
}

/// The path of model `file`, checked against the folder's `SHA256SUMS` if there is one.
pub fn find_model(file: &str, explicit: Option<&Path>) -> Result<PathBuf, String> {
    let dirs = model_dirs(explicit);
    let Some(dir) = dirs.iter().find(|d| d.join(file).is_file()) else {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(format!(
            "model `{file}` not found in {}; run `bash scripts/setup.sh` (it builds the models when ../shared is absent) \
             or set MAFLOW_MODELS",
            looked.join(", ")
        ));
    };
    let path = dir.join(file);
    verify_checksum(dir, file)?;
    Ok(path)
}

/// Compares a model file with its line in `<dir>/SHA256SUMS`, once per file per process.
fn verify_checksum(dir: &Path, file: &str) -> Result<(), String> {
    static VERIFIED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let path = dir.join(file);
    if VERIFIED.lock().expect("not poisoned").contains(&path) {
        return Ok(());
    }
    let Ok(sums) = std::fs::read_to_string(dir.join("SHA256SUMS")) else {
        return Ok(());
    };
    let Some(want) = sums.lines().find_map(|l| {
        let (hash, name) = l.split_once(char::is_whitespace)?;
        (name.trim().trim_start_matches('*') == file).then(|| hash.to_ascii_lowercase())
    }) else {
        return Ok(());
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let got = sha256_hex(&bytes);
    if got != want {
        return Err(format!(
            "{} does not match its SHA256SUMS entry (got {got}, want {want}): the file is damaged",
            path.display()
        ));
    }
    VERIFIED.lock().expect("not poisoned").push(path);
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sessions of one model, shared by the workers: each call takes a free one
/// (or opens a new one), so workers never wait on each other's inference.
///
/// The model is pruned to the outputs the operator reads (see
/// [`onnx_prune`](super::onnx_prune)). Each session runs on as many threads
/// as the calling worker owns (its `threads_per_worker`: the rayon pool the
/// frame stage runs in), with every graph optimisation on and without
/// spinning, so that the threads go back to the flow between inferences.
pub struct SessionPool {
    path: PathBuf,
    /// The pruned model.
    model: Vec<u8>,
    /// Free sessions with their thread counts.
    free: Mutex<Vec<(usize, Session)>>,
}

impl SessionPool {
    /// A pool over a model file, keeping only its outputs at positions
    /// `outputs` (every output when empty); opens one session now, so a
    /// broken model fails at build time.
    pub fn open(path: PathBuf, outputs: &[usize]) -> Result<Self, String> {
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read model {}: {e}", path.display()))?;
        let model = if outputs.is_empty() {
            bytes
        } else {
            super::onnx_prune::prune(&bytes, outputs)
                .map_err(|e| format!("cannot prune model {}: {e}", path.display()))?
        };
        let first = open_session(&path, &model, 1)?;
        Ok(Self {
            path,
            model,
            free: Mutex::new(vec![(1, first)]),
        })
    }

    /// Runs `f` with a session of this model on the calling worker's threads.
    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> Result<R, String>) -> Result<R, String> {
        let threads = rayon::current_num_threads().max(1);
        let taken = {
            let mut free = self.free.lock().expect("not poisoned");
            free.iter()
                .position(|(t, _)| *t == threads)
                .map(|i| free.swap_remove(i).1)
        };
        let mut session = match taken {
            Some(s) => s,
            None => open_session(&self.path, &self.model, threads)?,
        };
        let result = f(&mut session);
        self.free
            .lock()
            .expect("not poisoned")
            .push((threads, session));
        result
    }
}

fn open_session(path: &Path, model: &[u8], threads: usize) -> Result<Session, String> {
    use ort::session::builder::GraphOptimizationLevel;
    let env = environment()?;
    let fail = |e: &dyn std::fmt::Display| format!("cannot open model {}: {e}", path.display());
    let builder = Session::builder(env).map_err(|e| fail(&e))?;
    let builder = builder
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| fail(&e))?;
    let builder = builder.with_intra_threads(threads).map_err(|e| fail(&e))?;
    let builder = builder.with_inter_threads(1).map_err(|e| fail(&e))?;
    let mut builder = builder
        .with_intra_op_spinning(false)
        .map_err(|e| fail(&e))?;
    builder.commit_from_memory(model).map_err(|e| fail(&e))
}

/// One clip's input tensor and output buffers for a model, allocated once
/// and reused for every frame.
#[derive(Debug)]
pub struct ModelBuffers {
    /// The input tensor, NHWC.
    pub input: Vec<f32>,
    /// One buffer per output, filled by [`run`].
    pub outputs: Vec<Vec<f32>>,
}

impl ModelBuffers {
    /// Buffers for an `input_len`-value input and `outputs` outputs.
    pub fn new(input_len: usize, outputs: usize) -> Self {
        Self {
            input: vec![0.0; input_len],
            outputs: vec![Vec::new(); outputs],
        }
    }
}

/// Runs a one-input model on an NHWC float tensor and copies its outputs,
/// in order, into `outputs` (one buffer per output, reused from call to
/// call, so a clip's frames allocate none of their own).
pub fn run(
    session: &mut Session,
    input: &[f32],
    shape: [usize; 4],
    outputs: &mut [Vec<f32>],
) -> Result<(), String> {
    let tensor = ort::value::TensorRef::from_array_view((shape, input))
        .map_err(|e| format!("input tensor: {e}"))?;
    let got = session
        .run(ort::inputs![tensor])
        .map_err(|e| format!("inference failed: {e}"))?;
    if got.len() != outputs.len() {
        return Err(format!(
            "the model gave {} outputs, {} expected",
            got.len(),
            outputs.len()
        ));
    }
    for (i, out) in outputs.iter_mut().enumerate() {
        let (_, data) = got[i]
            .try_extract_tensor::<f32>()
            .map_err(|e| format!("output {i}: {e}"))?;
        out.clear();
        out.extend_from_slice(data);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The landmark model pruned to landmarks and presence gives what the whole model gives.
    #[test]
    fn a_pruned_model_computes_its_kept_outputs_unchanged() {
        let Ok(path) = find_model("pose_landmark_full.onnx", None) else {
            panic!(
                "the landmark model is in ../shared/models or .maflow/models (bash scripts/setup.sh)"
            );
        };
        let bytes = std::fs::read(&path).unwrap();
        let names = super::super::onnx_prune::output_names(&bytes).unwrap();
        assert_eq!(names.len(), 5, "{names:?}");
        let whole = SessionPool::open(path.clone(), &[]).unwrap();
        let pruned = SessionPool::open(path, &[0, 1]).unwrap();
        let count = |m: &[u8]| super::super::onnx_prune::node_count(m).unwrap();
        // The segmentation and heatmap heads are a quarter of the nodes (and half the work).
        assert!(
            count(&pruned.model) < count(&whole.model) * 3 / 4,
            "{} of {} nodes",
            count(&pruned.model),
            count(&whole.model)
        );
        assert_eq!(
            super::super::onnx_prune::output_names(&pruned.model).unwrap(),
            names[..2]
        );
        let input: Vec<f32> = (0..256 * 256 * 3)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect();
        let mut all = vec![Vec::new(); 5];
        let mut kept = vec![Vec::new(); 2];
        whole
            .with(|s| run(s, &input, [1, 256, 256, 3], &mut all))
            .unwrap();
        pruned
            .with(|s| run(s, &input, [1, 256, 256, 3], &mut kept))
            .unwrap();
        for k in 0..2 {
            assert_eq!(all[k].len(), kept[k].len());
            let worst = all[k]
                .iter()
                .zip(&kept[k])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "output {k} moved by {worst}");
        }
        assert!(
            pruned
                .with(|s| run(s, &input, [1, 256, 256, 3], &mut all))
                .is_err(),
            "five buffers for two outputs"
        );
        assert!(super::super::onnx_prune::prune(&bytes, &[5]).is_err());
    }
}
