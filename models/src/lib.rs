//! ONNX models for icmbench: the ONNX Runtime environment (loaded dynamically), sessions
//! on CPU or CUDA, the model manifest, and the two kinds of machine task model the harness
//! runs on decoded images: object detectors and LL-ICM restoration models.
//!
//! | item | what it does |
//! |---|---|
//! | [`Device`] | `cpu` or `cuda[:N]`; CUDA never falls back to CPU silently |
//! | [`RuntimeOptions`] | device and intra-op threads, resolved once by the caller and passed to every load (no global setting) |
//! | [`runtime_library`] | where `libonnxruntime.so` is found (`ORT_DYLIB_PATH`, at run or build time) |
//! | [`Model`] | a model file's sessions (one, or up to [`RuntimeOptions::sessions`] so that parallel workers do not wait for each other); its inputs and outputs ([`TensorInfo`]) |
//! | [`Stepper`] | one graph run many times on bound tensors allocated once (a context model's per-position loop) |
//! | [`Manifest`] | `manifest.toml` ([`MANIFEST`]): name, file, sha256, source, licence, contract; [`Manifest::verify`], [`Manifest::load`] |
//! | [`models_dir`] | where model files live (`$ICMBENCH_MODELS`, else `third_party/models/`) |
//! | [`complexity`] | MACs of ONNX graphs counted from ONNX Runtime's profile of real runs ([`Model::macs`]) |
//! | [`detect`] | object detectors and instance segmenters: contract, preprocessing, YOLOv5/YOLOv8/NanoDet/YOLOv8-seg/boxes-masks decoding, NMS |
//! | [`face`] | face embeddings (FaceRes): Human's face crop, descriptor and similarity |
//! | [`segment`] | instance masks: prototype, RoI and full-frame masks onto the source image, COCO RLE (hotcoco) |
//! | [`restore`] | restoration models (LL-ICM): contract, tiling with overlap |
//! | [`irsde`] | iterative (diffusion) restorers: IR-SDE's schedule and sampler around a step graph (DA-CLIP's restorer) |
//! | [`paths`] | paths from configs resolved lexically ([`paths::normalize`]) |
//! | [`textfile`] | reading text and JSON inputs with a size cap ([`textfile::read_text_capped`]) |

pub mod complexity;
pub mod detect;
pub mod face;
pub mod irsde;
pub mod paths;
pub mod restore;
pub mod segment;
pub mod textfile;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use ort::ep::CUDA;
use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Errors of the model layer; each names the model, file or device.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The ONNX Runtime library could not be loaded.
    #[error(
        "ONNX Runtime could not be loaded from {path}: {message}. Run scripts/setup.sh (it extracts libonnxruntime from the PyPI onnxruntime wheel) or set ORT_DYLIB_PATH"
    )]
    Runtime {
        /// The library path tried.
        path: String,
        /// The loader's message.
        message: String,
    },
    /// The model file is missing.
    #[error("model `{name}` not found at {path}; build it with `make models` (or: {build})")]
    Missing {
        /// Model name.
        name: String,
        /// Expected path.
        path: String,
        /// How to build it.
        build: String,
    },
    /// An optional model (not built by `make models`) is missing.
    #[error("optional model `{name}` not found at {path}; `make models` does not build it: {build}")]
    NotExported {
        /// Model name.
        name: String,
        /// Expected path.
        path: String,
        /// How to build or export it.
        build: String,
    },
    /// A session could not be created or run.
    #[error("model {model}: {message}")]
    Session {
        /// Model file or name.
        model: String,
        /// ONNX Runtime's message.
        message: String,
    },
    /// CUDA was requested and cannot be used.
    #[error(
        "CUDA device {device} cannot be used for {model}: {message}. icmbench does not fall back to the CPU; install the onnxruntime-gpu wheel's library and NVIDIA's CUDA/cuDNN (see README, GPU set-up), or use --device cpu"
    )]
    Cuda {
        /// Device index.
        device: u32,
        /// Model.
        model: String,
        /// The provider's message.
        message: String,
    },
    /// Bad device text.
    #[error("unknown device `{0}`; use cpu, cuda or cuda:N")]
    Device(String),
    /// The manifest could not be read.
    #[error("{path}: {message}")]
    Manifest {
        /// Manifest file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CPU execution provider.
    #[default]
    Cpu,
    /// CUDA execution provider on device N.
    Cuda(u32),
}

impl FromStr for Device {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| ModelError::Device(s.to_string())),
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// How sessions are created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuntimeOptions {
    /// Execution provider.
    pub device: Device,
    /// Intra-op threads (0 = ONNX Runtime's default).
    pub intra_threads: usize,
    /// Record every node ONNX Runtime runs, to count MACs ([`Model::macs`]): graph
    /// optimisation and weight pre-packing off, so slower. For complexity measurement
    /// only.
    pub profile: bool,
    /// Sessions a model may open on the CPU (0 and 1: one, whose runs are serialised).
    /// A further session is opened only when every open one is busy, so a run with N
    /// workers holds at most N copies of a model, and a single-threaded one holds one.
    /// Profiled models and models off the CPU always have one.
    pub sessions: usize,
}

impl RuntimeOptions {
    /// The most sessions a model loaded with these options opens.
    pub fn max_sessions(&self) -> usize {
        if self.profile || self.device != Device::Cpu {
            1
        } else {
            self.sessions.max(1)
        }
    }
}

/// The ONNX Runtime shared library: `ORT_DYLIB_PATH` at run time, else the value it had
/// when icmbench was built (`.cargo/config.toml` points it at `third_party/onnxruntime/`).
pub fn runtime_library() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .or_else(|| option_env!("ORT_DYLIB_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("libonnxruntime.so"))
}

fn environment() -> Result<&'static ort::environment::Environment, ModelError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    let lib = runtime_library();
    ENV.get_or_init(|| {
        if !lib.exists() {
            return Err("the file does not exist".to_string());
        }
        ort::init_from(&lib)
            .map_err(|e| e.to_string())?
            .with_name("icmbench")
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|message| ModelError::Runtime {
        path: lib.display().to_string(),
        message: message.clone(),
    })
}

/// Where model files live: `$ICMBENCH_MODELS`, else `third_party/models/` of the source
/// tree: the one cargo runs in (tests, benches, `cargo run`), else the one containing the
/// current directory, else the one this binary was built from.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ICMBENCH_MODELS") {
        return PathBuf::from(dir);
    }
    let is_root = |p: &Path| p.join("models/manifest.toml").is_file() && p.join("Cargo.toml").is_file();
    let runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let cwd = std::env::current_dir().ok();
    runtime
        .iter()
        .chain(cwd.iter())
        .find_map(|start| start.ancestors().find(|p| is_root(p)).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .join("third_party/models")
}

/// A loaded model: its ONNX Runtime sessions, shared by all threads. Each run takes an idle
/// session, opening another (up to [`RuntimeOptions::max_sessions`]) when all are busy, or
/// waits for one; ONNX Runtime parallelises inside a run with its intra-op threads.
pub struct Model {
    name: String,
    path: PathBuf,
    opts: RuntimeOptions,
    pool: Mutex<Pool>,
    /// Signalled when a session goes back to the pool.
    returned: Condvar,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
}

/// A model's idle sessions and how many it has opened.
struct Pool {
    idle: Vec<Session>,
    open: usize,
}

/// A session taken from a model's pool for one use; it goes back when dropped.
struct Lease<'a> {
    model: &'a Model,
    session: Option<Session>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("a lease holds its session until dropped")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("a lease holds its session until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.model.lock_pool().idle.push(session);
            self.model.returned.notify_one();
        }
    }
}

/// Largest ONNX Runtime profile read ([`Model::macs`]): 512 MiB, about half a million
/// node executions.
pub const PROFILE_CAP: u64 = 512 << 20;

/// A float32 tensor: shape and row-major data.
pub type TensorF32 = (Vec<usize>, Vec<f32>);

/// A graph input or output as the model file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name.
    pub name: String,
    /// Whether it is a float32 tensor.
    pub float32: bool,
    /// Its type as ONNX Runtime describes it (for messages).
    pub type_name: String,
    /// Its dimensions, −1 where dynamic; `None` for a value that is not a tensor.
    pub dims: Option<Vec<i64>>,
}

impl TensorInfo {
    fn of(outlet: &ort::value::Outlet) -> Self {
        let ty = outlet.dtype();
        Self {
            name: outlet.name().to_string(),
            float32: ty.tensor_type() == Some(ort::value::TensorElementType::Float32),
            type_name: ty.to_string(),
            dims: ty.tensor_shape().map(|s| s.iter().copied().collect()),
        }
    }
}

impl Model {
    /// Loads `path` and opens its first session (so that a bad file or device fails here).
    pub fn load(name: &str, path: &Path, opts: &RuntimeOptions) -> Result<Self, ModelError> {
        let session = open_session(name, path, opts)?;
        Ok(Self {
            name: name.to_string(),
            path: path.to_path_buf(),
            opts: *opts,
            inputs: session.inputs().iter().map(TensorInfo::of).collect(),
            outputs: session.outputs().iter().map(TensorInfo::of).collect(),
            pool: Mutex::new(Pool {
                idle: vec![session],
                open: 1,
            }),
            returned: Condvar::new(),
        })
    }

    /// The pool, whatever a panicking holder left (its sessions are still sound).
    fn lock_pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle session; a new one if all are busy and fewer than the maximum are open;
    /// otherwise waits for one to come back.
    fn lease(&self) -> Result<Lease<'_>, ModelError> {
        let mut pool = self.lock_pool();
        loop {
            if let Some(session) = pool.idle.pop() {
                return Ok(Lease {
                    model: self,
                    session: Some(session),
                });
            }
            if pool.open < self.opts.max_sessions() {
                pool.open += 1;
                drop(pool);
                return match open_session(&self.name, &self.path, &self.opts) {
                    Ok(session) => Ok(Lease {
                        model: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        self.lock_pool().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            pool = self.returned.wait(pool).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// How many sessions are open (for tests and logs).
    pub fn open_sessions(&self) -> usize {
        self.lock_pool().open
    }

    /// Ends the profile of a model loaded with [`RuntimeOptions::profile`] and counts the
    /// MACs of every run since it was loaded ([`complexity::macs_from_profile`]); the
    /// profile file is removed. An error for a model loaded without profiling.
    pub fn macs(&self) -> Result<complexity::MacCount, ModelError> {
        let err = |message: String| ModelError::Session {
            model: self.name.clone(),
            message,
        };
        if !self.opts.profile {
            return Err(err("loaded without profiling: no MACs to count".into()));
        }
        // A profiled model has one session (RuntimeOptions::max_sessions).
        let file = self
            .lease()?
            .end_profiling()
            .map_err(|e| err(format!("no profile (was it loaded with profiling?): {e}")))?;
        let path = PathBuf::from(&file);
        let text = textfile::read_text_capped(&path, PROFILE_CAP).map_err(|e| err(e.to_string()));
        let _ = std::fs::remove_file(&path);
        complexity::macs_from_profile(&text?).map_err(err)
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The graph's inputs (initializers excluded), as the file declares them.
    pub fn inputs(&self) -> Vec<TensorInfo> {
        self.inputs.clone()
    }

    /// The graph's outputs, as the file declares them.
    pub fn outputs(&self) -> Vec<TensorInfo> {
        self.outputs.clone()
    }

    /// Runs the model on float32 inputs given by name; returns the named outputs.
    pub fn run(&self, inputs: &[(&str, &[usize], &[f32])], outputs: &[&str]) -> Result<Vec<TensorF32>, ModelError> {
        let err = |e: ort::Error| ModelError::Session {
            model: self.name.clone(),
            message: e.to_string(),
        };
        let mut values = Vec::with_capacity(inputs.len());
        for (name, shape, data) in inputs {
            let t = TensorRef::from_array_view((shape.to_vec(), *data)).map_err(err)?;
            values.push((std::borrow::Cow::Borrowed(*name), ort::session::SessionInputValue::from(t)));
        }
        let mut session = self.lease()?;
        let out = session.run(values).map_err(err)?;
        outputs
            .iter()
            .map(|name| {
                let v = out.get(*name).ok_or_else(|| ModelError::Session {
                    model: self.name.clone(),
                    message: format!("no output `{name}`"),
                })?;
                // Integer outputs (class labels of detection exports) are read as floats.
                let (shape, data) = match v.try_extract_tensor::<f32>() {
                    Ok((s, d)) => (s.to_vec(), d.to_vec()),
                    Err(e) => match (v.try_extract_tensor::<i64>(), v.try_extract_tensor::<i32>()) {
                        (Ok((s, d)), _) => (s.to_vec(), d.iter().map(|&x| x as f32).collect()),
                        (_, Ok((s, d))) => (s.to_vec(), d.iter().map(|&x| x as f32).collect()),
                        _ => return Err(err(e)),
                    },
                };
                Ok((shape.iter().map(|&d| d as usize).collect(), data))
            })
            .collect()
    }
}

/// One ONNX Runtime session for `path` with `opts` (device, threads, profiling).
fn open_session(name: &str, path: &Path, opts: &RuntimeOptions) -> Result<Session, ModelError> {
    let env = environment()?;
    let session_err = |e: ort::Error| ModelError::Session {
        model: path.display().to_string(),
        message: e.to_string(),
    };
    let mut builder = Session::builder(env).map_err(session_err)?;
    if opts.intra_threads > 0 {
        builder = builder.with_intra_threads(opts.intra_threads).map_err(|e| session_err(e.into()))?;
    }
    if let Device::Cuda(id) = opts.device {
        let cuda = CUDA::default().with_device_id(id as i32).build().error_on_failure();
        builder = builder.with_execution_providers([cuda]).map_err(|e| ModelError::Cuda {
            device: id,
            model: name.to_string(),
            message: ort::Error::<()>::from(e).to_string().trim_end_matches('.').to_string(),
        })?;
    }
    if opts.profile {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = std::env::temp_dir().join(format!("icmbench-profile-{}-{n}", std::process::id()));
        let builder_err = |e: ort::Error<ort::session::builder::SessionBuilder>| session_err(e.into());
        builder = builder
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Disable)
            .map_err(builder_err)?;
        builder = builder.with_prepacking(false).map_err(builder_err)?;
        builder = builder.with_profiling(&prefix).map_err(builder_err)?;
    }
    builder.commit_from_file(path).map_err(session_err)
}

/// A graph run many times on inputs and outputs of fixed shapes, every tensor allocated
/// once and bound to the session (ONNX Runtime's IoBinding): the per-position loop of an
/// autoregressive context model writes its inputs in place, runs, and reads the outputs
/// from the same buffers, so memory stays flat however many positions there are. Holds
/// one of the model's sessions for as long as it lives.
pub struct Stepper<'a> {
    name: &'a str,
    session: Lease<'a>,
    binding: ort::session::IoBinding,
    input_names: Vec<String>,
    inputs: Vec<ort::value::Tensor<f32>>,
    outputs: Vec<ort::value::Tensor<f32>>,
    /// Off the CPU ONNX Runtime copies a bound input when it is bound, so the inputs are
    /// bound again before each run; on the CPU the bound buffers are the session's inputs.
    rebind: bool,
}

impl Model {
    /// A [`Stepper`] over this graph with these input and output names and shapes.
    pub fn stepper<'a>(&'a self, inputs: &[(&str, &[usize])], outputs: &[(&str, &[usize])]) -> Result<Stepper<'a>, ModelError> {
        let err = |e: ort::Error| ModelError::Session {
            model: self.name.clone(),
            message: e.to_string(),
        };
        let session = self.lease()?;
        let allocator = ort::memory::Allocator::default();
        let mut binding = session.create_binding().map_err(err)?;
        let mut made_in = Vec::with_capacity(inputs.len());
        for (name, shape) in inputs {
            let mut t = ort::value::Tensor::<f32>::new(&allocator, shape.to_vec()).map_err(err)?;
            t.extract_tensor_mut().1.fill(0.0);
            binding.bind_input(*name, &t).map_err(err)?;
            made_in.push(t);
        }
        let mut made_out = Vec::with_capacity(outputs.len());
        for (name, shape) in outputs {
            let mut t = ort::value::Tensor::<f32>::new(&allocator, shape.to_vec()).map_err(err)?;
            binding.bind_output(*name, &mut t).map_err(err)?;
            made_out.push(t);
        }
        Ok(Stepper {
            name: &self.name,
            session,
            binding,
            input_names: inputs.iter().map(|(n, _)| n.to_string()).collect(),
            inputs: made_in,
            outputs: made_out,
            rebind: self.opts.device != Device::Cpu,
        })
    }
}

impl Stepper<'_> {
    /// The buffer of input `i` (in the order given), to be written before [`Stepper::run`].
    pub fn input(&mut self, i: usize) -> &mut [f32] {
        self.inputs[i].extract_tensor_mut().1
    }

    /// Runs the graph on the current inputs into the bound outputs.
    pub fn run(&mut self) -> Result<(), ModelError> {
        let err = |e: ort::Error| ModelError::Session {
            model: self.name.to_string(),
            message: e.to_string(),
        };
        if self.rebind {
            for (name, t) in self.input_names.iter().zip(&self.inputs) {
                self.binding.bind_input(name.as_str(), t).map_err(err)?;
            }
        }
        self.session.run_binding(&self.binding).map(drop).map_err(err)
    }

    /// The buffer of output `i` (in the order given) after the last [`Stepper::run`].
    pub fn output(&self, i: usize) -> &[f32] {
        self.outputs[i].extract_tensor().1
    }
}

/// One entry of `manifest.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Name used in configs.
    pub name: String,
    /// File name in the models folder.
    pub file: String,
    /// Expected SHA-256.
    pub sha256: String,
    /// Registry package and version the weights come from.
    pub source: String,
    /// Licences of weights and code.
    pub licence: String,
    /// How the file is built.
    pub build: String,
    /// Input contract.
    pub inputs: String,
    /// Output contract.
    pub outputs: String,
    /// Exported by the user (no weights in any registry): absence is not an error and the
    /// file's hash cannot be known in advance (`sha256` empty).
    #[serde(default)]
    pub optional: bool,
}

/// The model manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Entries.
    pub model: Vec<ModelEntry>,
}

/// State of one model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the expected hash.
    Ok,
    /// Not built yet.
    Missing,
    /// Present with another hash (the one found).
    Mismatch(String),
    /// An optional, user-exported model that is not there.
    NotExported,
    /// An optional, user-exported model that is there (its hash, for the record).
    Exported(String),
}

impl FileState {
    /// Whether this state is acceptable (`verify` fails on the others).
    pub fn is_ok(&self) -> bool {
        matches!(self, FileState::Ok | FileState::NotExported | FileState::Exported(_))
    }
}

/// The manifest shipped with icmbench.
pub const MANIFEST: &str = include_str!("../manifest.toml");

impl Manifest {
    /// Parses the shipped manifest.
    pub fn shipped() -> Result<Self, ModelError> {
        toml::from_str(MANIFEST).map_err(|e| ModelError::Manifest {
            path: "models/manifest.toml".into(),
            message: e.to_string(),
        })
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&ModelEntry> {
        self.model.iter().find(|m| m.name == name)
    }

    /// Checks every file in `dir` against its SHA-256.
    pub fn verify(&self, dir: &Path) -> Vec<(ModelEntry, FileState)> {
        self.model
            .iter()
            .map(|m| {
                let state = match std::fs::read(dir.join(&m.file)) {
                    Err(_) if m.optional => FileState::NotExported,
                    Err(_) => FileState::Missing,
                    Ok(bytes) => {
                        let hash = sha256_hex(&bytes);
                        if m.optional && m.sha256.is_empty() {
                            FileState::Exported(hash)
                        } else if hash == m.sha256 {
                            FileState::Ok
                        } else {
                            FileState::Mismatch(hash)
                        }
                    }
                };
                (m.clone(), state)
            })
            .collect()
    }

    /// Loads the model `name` from `dir`, with a clear error if it was not built.
    pub fn load(&self, name: &str, dir: &Path, opts: &RuntimeOptions) -> Result<Model, ModelError> {
        let entry = self.get(name).ok_or_else(|| ModelError::Manifest {
            path: "models/manifest.toml".into(),
            message: format!("no model `{name}`"),
        })?;
        let path = dir.join(&entry.file);
        if !path.is_file() {
            let (name, path, build) = (name.to_string(), path.display().to_string(), entry.build.clone());
            return Err(if entry.optional {
                ModelError::NotExported { name, path, build }
            } else {
                ModelError::Missing { name, path, build }
            });
        }
        Model::load(name, &path, opts)
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A busy model opens another session up to its limit, a further run waits for one to
    /// come back (and opens none), serial use never opens a second, and profiled or
    /// default options keep one.
    #[test]
    fn busy_sessions_open_another_up_to_the_limit() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-denoiser/denoiser.onnx");
        let opts = |sessions| RuntimeOptions {
            intra_threads: 1,
            sessions,
            ..Default::default()
        };
        let model = Model::load("denoiser", &path, &opts(2)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.open_sessions(), 1);
        let a = model.lease().unwrap();
        assert_eq!(model.open_sessions(), 1);
        let b = model.lease().unwrap();
        assert_eq!(model.open_sessions(), 2);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| drop(model.lease().unwrap()));
            drop(a);
            waiter.join().unwrap();
        });
        drop(b);
        assert_eq!(model.open_sessions(), 2);
        let serial = Model::load("denoiser", &path, &opts(4)).unwrap();
        for _ in 0..3 {
            drop(serial.lease().unwrap());
        }
        assert_eq!(serial.open_sessions(), 1);
        let profiled = RuntimeOptions { profile: true, ..opts(4) };
        assert_eq!(profiled.max_sessions(), 1);
        assert_eq!(RuntimeOptions::default().max_sessions(), 1);
        assert_eq!(
            RuntimeOptions {
                device: Device::Cuda(0),
                ..opts(4)
            }
            .max_sessions(),
            1
        );
    }

    #[test]
    fn devices_parse() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("CUDA:2".parse::<Device>().unwrap(), Device::Cuda(2));
        assert!("tpu".parse::<Device>().unwrap_err().to_string().contains("cpu, cuda or cuda:N"));
        assert_eq!(Device::Cuda(1).to_string(), "cuda:1");
    }

    #[test]
    fn manifest_parses_and_verifies() {
        let m = Manifest::shipped().unwrap();
        assert!(m.get("lpips-alex").is_some());
        let dir = std::env::temp_dir().join(format!("icmbench-models-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lpips_alexnet.onnx"), b"not a model").unwrap();
        let states = m.verify(&dir);
        assert!(matches!(&states[0].1, FileState::Mismatch(h) if h.len() == 64));
        let err = m
            .load("lpips-alex", &dir.join("nowhere"), &RuntimeOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("make models"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
