//! Codecs run as external commands.
//!
//! An [`ExternalSpec`] holds an encode and a decode argument template. The first element
//! is the program; the others are arguments in which `{input}`, `{output}`, `{quality}`,
//! `{width}`, `{height}` and any user variable `{name}` from `vars` are replaced. No shell
//! is involved. Encoding writes the (padded) source image in `input_format` to a temporary
//! folder, runs the encoder, and takes the file it wrote at `{output}` as the bitstream;
//! decoding writes the bitstream there, runs the decoder and reads `{output}` in
//! `output_format`. Each command runs with a timeout, in a process group of its own: on
//! timeout the whole group is killed (a wrapper script's children too) and the tool is
//! reaped. On Linux the tool is also killed if icmbench dies first. Failures name the
//! command and carry the tail of its stderr.
//!
//! Building an [`External`] runs nothing: the `version_command` runs the first time the
//! version is asked for (when a run starts), and [`External::missing_programs`] checks the
//! programs without running them (`icmbench check`).
//!
//! [`ExternalSettings`] is `kind = "external"` in a run configuration: a preset or both
//! templates, with the other fields laid over them ([`ExternalSettings::spec`]).
//!
//! [`preset`] gives ready specs for the tools users typically have: `cjxl` (libjxl),
//! `avifenc` (libavif), `bpg` (bpgenc/bpgdec), `heif` (libheif), `vtm` (VVC reference
//! software, through raw YUV 4:4:4 files as CompressAI does).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use image::RgbImage;
use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

use crate::registry::{BuildContext, BuildError, Built, CodecSettings};
use crate::{Codec, CodecError, check_range, check_size, yuv};

/// File format of the image files exchanged with a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    /// 8-bit RGB PNG.
    Png,
    /// Binary 8-bit RGB PPM (P6).
    Ppm,
    /// Raw 8-bit planar YCbCr 4:4:4, BT.709 full range (CompressAI's VTM convention).
    Yuv444p,
}

impl FileFormat {
    /// File extension used for temporary files.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Png => "png",
            FileFormat::Ppm => "ppm",
            FileFormat::Yuv444p => "yuv",
        }
    }
}

/// Placeholders every template may use.
pub const PLACEHOLDERS: &[&str] = &["input", "output", "quality", "width", "height"];

/// Everything needed to run a codec as external commands.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSpec {
    /// Preset or user-given name (for messages).
    pub name: String,
    /// Encoder program and argument templates.
    pub encode: Vec<String>,
    /// Decoder program and argument templates.
    pub decode: Vec<String>,
    /// Format of the image handed to the encoder.
    pub input_format: FileFormat,
    /// Format of the image the decoder writes.
    pub output_format: FileFormat,
    /// Extension of the bitstream file (some tools pick the format from it).
    pub bitstream_ext: String,
    /// Width and height multiple the tool needs.
    pub size_multiple: u32,
    /// Accepted quality range, if known.
    pub quality_range: Option<(f64, f64)>,
    /// Time limit per command.
    pub timeout: Duration,
    /// User variables available as `{name}`.
    pub vars: BTreeMap<String, String>,
    /// Command whose first output line identifies the tool's version.
    pub version_command: Option<Vec<String>>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Names accepted by [`preset`].
pub const PRESETS: &[&str] = &["cjxl", "avifenc", "bpg", "heif", "vtm"];

/// A ready spec for a common tool, or `None` for an unknown name.
pub fn preset(name: &str) -> Option<ExternalSpec> {
    let base = |encode: &[&str], decode: &[&str], ext: &str, range: (f64, f64), version: &[&str]| ExternalSpec {
        name: name.to_string(),
        encode: strings(encode),
        decode: strings(decode),
        input_format: FileFormat::Png,
        output_format: FileFormat::Png,
        bitstream_ext: ext.to_string(),
        size_multiple: 1,
        quality_range: Some(range),
        timeout: DEFAULT_TIMEOUT,
        vars: BTreeMap::new(),
        version_command: Some(strings(version)),
    };
    let spec = match name {
        // JPEG XL (Debian libjxl-tools): -q is the visual quality 0-100 (100 = lossless).
        "cjxl" => base(
            &["cjxl", "{input}", "{output}", "-q", "{quality}"],
            &["djxl", "{input}", "{output}"],
            "jxl",
            (0.0, 100.0),
            &["cjxl", "--version"],
        ),
        // libavif >= 1.0 command-line tools: -q 0-100, speed 6, 4:4:4.
        "avifenc" => base(
            &["avifenc", "-q", "{quality}", "-s", "6", "-y", "444", "{input}", "{output}"],
            &["avifdec", "{input}", "{output}"],
            "avif",
            (0.0, 100.0),
            &["avifenc", "--version"],
        ),
        // BPG as CompressAI runs it: x265, YCbCr 4:4:4, 8 bit; quality is the QP (0-51, lower is better).
        "bpg" => base(
            &[
                "bpgenc",
                "-o",
                "{output}",
                "-q",
                "{quality}",
                "-f",
                "444",
                "-e",
                "x265",
                "-c",
                "ycbcr",
                "-b",
                "8",
                "{input}",
            ],
            &["bpgdec", "-o", "{output}", "{input}"],
            "bpg",
            (0.0, 51.0),
            &["bpgenc", "-h"],
        ),
        // libheif examples (Debian libheif-examples): -q 0-100.
        "heif" => base(
            &["heif-enc", "-q", "{quality}", "-o", "{output}", "{input}"],
            &["heif-convert", "{input}", "{output}"],
            "heic",
            (0.0, 100.0),
            &["heif-enc", "--version"],
        ),
        // VTM as CompressAI runs it: YCbCr 4:4:4 8-bit input, all-intra config `{cfg}`,
        // quality is the QP (0-63). Needs vars.cfg = path to encoder_intra_vtm.cfg.
        "vtm" => ExternalSpec {
            input_format: FileFormat::Yuv444p,
            output_format: FileFormat::Yuv444p,
            size_multiple: 8,
            ..base(
                &[
                    "EncoderApp",
                    "-i",
                    "{input}",
                    "-c",
                    "{cfg}",
                    "-q",
                    "{quality}",
                    "-o",
                    "/dev/null",
                    "-b",
                    "{output}",
                    "-wdt",
                    "{width}",
                    "-hgt",
                    "{height}",
                    "-fr",
                    "1",
                    "-f",
                    "1",
                    "--InputChromaFormat=444",
                    "--InputBitDepth=8",
                    "--ConformanceWindowMode=1",
                ],
                &["DecoderApp", "-b", "{input}", "-o", "{output}", "-d", "8"],
                "bin",
                (0.0, 63.0),
                &["EncoderApp", "--version"],
            )
        },
        _ => return None,
    };
    Some(spec)
}

/// Time limit per command when neither the preset nor `timeout_s` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The range of `timeout_s`: a millisecond to a day.
pub const TIMEOUT_RANGE_S: (f64, f64) = (0.001, 86_400.0);

/// The settings of `kind = "external"`: a preset or both templates, and overrides of the
/// preset's fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalSettings {
    /// Preset name (one of [`PRESETS`]).
    pub preset: Option<String>,
    /// Encoder program and argument templates.
    pub encode: Option<Vec<String>>,
    /// Decoder program and argument templates.
    pub decode: Option<Vec<String>>,
    /// Replaces the encoder program (of the preset or of `encode`).
    pub encoder: Option<String>,
    /// Replaces the decoder program.
    pub decoder: Option<String>,
    /// Format of the image given to the encoder (default PNG).
    pub input_format: Option<FileFormat>,
    /// Format of the image the decoder writes (default PNG).
    pub output_format: Option<FileFormat>,
    /// Bitstream file extension (default `bin`).
    pub bitstream_ext: Option<String>,
    /// Width/height multiple the tool needs (default 1).
    pub size_multiple: Option<u32>,
    /// Time limit per command, seconds, within [`TIMEOUT_RANGE_S`] (default
    /// [`DEFAULT_TIMEOUT`]).
    pub timeout_s: Option<f64>,
    /// Extra template variables (added to the preset's).
    pub vars: Option<BTreeMap<String, String>>,
    /// Command printing the tool's version.
    pub version_command: Option<Vec<String>>,
}

impl ExternalSettings {
    /// The spec: the preset (or the templates, named `id` or `external`) with the other
    /// settings laid over it. Errors name the setting and what is accepted.
    pub fn spec(&self, id: Option<&str>) -> Result<ExternalSpec, String> {
        let mut spec = match &self.preset {
            Some(name) => preset(name).ok_or_else(|| format!("unknown preset `{name}`; presets: {}", PRESETS.join(", ")))?,
            None => {
                let (Some(encode), Some(decode)) = (&self.encode, &self.decode) else {
                    return Err(format!(
                        "an external codec needs `preset` (one of {}) or both `encode` and `decode` templates",
                        PRESETS.join(", ")
                    ));
                };
                ExternalSpec {
                    name: id.unwrap_or("external").to_string(),
                    encode: encode.clone(),
                    decode: decode.clone(),
                    input_format: FileFormat::Png,
                    output_format: FileFormat::Png,
                    bitstream_ext: "bin".into(),
                    size_multiple: 1,
                    quality_range: None,
                    timeout: DEFAULT_TIMEOUT,
                    vars: BTreeMap::new(),
                    version_command: None,
                }
            }
        };
        if self.preset.is_some() {
            if let Some(e) = &self.encode {
                spec.encode = e.clone();
            }
            if let Some(d) = &self.decode {
                spec.decode = d.clone();
            }
        }
        // An empty template is left for `External::new` to refuse.
        if let Some(p) = &self.encoder {
            if let Some(program) = spec.encode.first_mut() {
                *program = p.clone();
            }
            if let Some(v) = spec.version_command.as_mut().and_then(|v| v.first_mut()) {
                *v = p.clone();
            }
        }
        if let (Some(p), Some(program)) = (&self.decoder, spec.decode.first_mut()) {
            *program = p.clone();
        }
        if let Some(f) = self.input_format {
            spec.input_format = f;
        }
        if let Some(f) = self.output_format {
            spec.output_format = f;
        }
        if let Some(e) = &self.bitstream_ext {
            spec.bitstream_ext = e.clone();
        }
        if let Some(m) = self.size_multiple {
            if m == 0 {
                return Err("`size_multiple` must be at least 1".into());
            }
            spec.size_multiple = m;
        }
        if let Some(t) = self.timeout_s {
            spec.timeout = timeout(t)?;
        }
        if let Some(v) = &self.vars {
            spec.vars.extend(v.clone());
        }
        if let Some(v) = &self.version_command {
            spec.version_command = Some(v.clone());
        }
        Ok(spec)
    }
}

impl CodecSettings for ExternalSettings {
    fn build(self, ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        let spec = self.spec(ctx.id).map_err(BuildError::Invalid)?;
        Ok(Built {
            codec: Box::new(External::new(spec)?),
            default_id: self.preset,
        })
    }
}

/// `timeout_s` as a duration, or an error naming the field and the accepted range.
fn timeout(t: f64) -> Result<Duration, String> {
    let (lo, hi) = TIMEOUT_RANGE_S;
    let shown = if t.is_finite() && t != 0.0 && !(1e-4..1e9).contains(&t.abs()) {
        format!("{t:e}")
    } else {
        format!("{t}")
    };
    let bad = || format!("`timeout_s` must be a number of seconds from {lo} to {hi} (one day), got {shown}");
    if !(t.is_finite() && (lo..=hi).contains(&t)) {
        return Err(bad());
    }
    Duration::try_from_secs_f64(t).map_err(|_| bad())
}

/// Placeholders used in one template, in order of appearance.
fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

fn substitute(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut s = template.to_string();
    for (k, v) in values {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// Formats a quality value the way tools expect: no decimals for whole numbers.
pub fn format_quality(q: f64) -> String {
    if q.fract() == 0.0 && q.abs() < 1e15 {
        format!("{}", q as i64)
    } else {
        format!("{q}")
    }
}

/// An external-command codec built from a validated [`ExternalSpec`].
#[derive(Debug, Clone)]
pub struct External {
    spec: ExternalSpec,
    /// Hash of the arguments, formats and variables (part of the version).
    args_hash: String,
    /// The version text, made on first use (it runs `version_command`).
    version: OnceLock<String>,
}

impl External {
    /// Validates the templates (known placeholders, variables present). Nothing is run:
    /// the tool's version is queried on first use of [`Codec::version`]. A missing tool is
    /// not an error here (rows fail with a clear message instead);
    /// [`External::missing_programs`] lists such problems without running anything.
    pub fn new(spec: ExternalSpec) -> Result<Self, CodecError> {
        let bad = |message: String| CodecError::Library {
            codec: format!("external codec `{}`", spec.name),
            message,
        };
        for (which, template) in [("encode", &spec.encode), ("decode", &spec.decode)] {
            if template.is_empty() || template[0].trim().is_empty() {
                return Err(bad(format!("the {which} template is empty: it needs a program and its arguments")));
            }
            for arg in template {
                for p in placeholders(arg) {
                    if !PLACEHOLDERS.contains(&p.as_str()) && !spec.vars.contains_key(&p) {
                        let mut known: Vec<String> = strings(PLACEHOLDERS);
                        known.extend(spec.vars.keys().cloned());
                        return Err(bad(format!(
                            "unknown placeholder {{{p}}} in the {which} template; known: {} (set vars.{p} to define it)",
                            known.iter().map(|k| format!("{{{k}}}")).collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
            }
        }
        if !spec.encode.iter().any(|a| a.contains("{output}")) || !spec.decode.iter().any(|a| a.contains("{output}")) {
            return Err(bad("both templates must write to {output}".to_string()));
        }
        let args_hash = fnv_hex(&format!(
            "{:?}{:?}{:?}{:?}{}{:?}",
            spec.encode, spec.decode, spec.input_format, spec.output_format, spec.bitstream_ext, spec.vars
        ));
        Ok(Self {
            spec,
            args_hash,
            version: OnceLock::new(),
        })
    }

    /// The spec this codec runs.
    pub fn spec(&self) -> &ExternalSpec {
        &self.spec
    }

    /// The programs of the encode and decode templates and of `version_command` that
    /// cannot be run as given, each with the reason, found without running anything: a
    /// name not on `PATH`, a path that is not an executable file, or a relative path
    /// (tools run in a temporary folder, so it would not resolve).
    pub fn missing_programs(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let version = self.spec.version_command.as_ref().and_then(|v| v.first());
        let programs = [
            ("encode", self.spec.encode.first()),
            ("decode", self.spec.decode.first()),
            ("version_command", version),
        ];
        for (which, program) in programs {
            let Some(program) = program else { continue };
            if let Err(reason) = find_program(program) {
                let problem = format!("the {which} program `{program}` {reason}");
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
        problems
    }

    fn values(&self, input: &Path, output: &Path, quality: f64, width: u32, height: u32) -> BTreeMap<&str, String> {
        let mut v: BTreeMap<&str, String> = self.spec.vars.iter().map(|(k, val)| (k.as_str(), val.clone())).collect();
        v.insert("input", input.display().to_string());
        v.insert("output", output.display().to_string());
        v.insert("quality", format_quality(quality));
        v.insert("width", width.to_string());
        v.insert("height", height.to_string());
        v
    }

    fn run(&self, template: &[String], values: &BTreeMap<&str, String>, dir: &Path, output: &Path) -> Result<(), CodecError> {
        let argv: Vec<String> = template.iter().map(|a| substitute(a, values)).collect();
        run_command(&argv, self.spec.timeout, dir)?;
        if !output.is_file() {
            return Err(CodecError::NoOutput {
                command: argv.join(" "),
                path: output.display().to_string(),
            });
        }
        Ok(())
    }
}

fn fnv_hex(s: &str) -> String {
    // A small FNV-1a hash is enough to tell argument sets apart in the version string.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where `program` would be run from: a path containing `/` as given (it must be absolute,
/// since tools run in a temporary folder), else the first executable file of that name in
/// `PATH`. The error says why it cannot be run.
pub fn find_program(program: &str) -> Result<PathBuf, String> {
    let executable = |p: &Path| -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            p.is_file()
        }
    };
    if program.trim().is_empty() {
        return Err("is empty".into());
    }
    if program.contains('/') {
        let path = Path::new(program);
        if !path.is_absolute() {
            return Err("is a relative path; tools run in a temporary folder, so give an absolute path or a name on PATH".into());
        }
        return if executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err("is not an executable file".into())
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
        .ok_or_else(|| "is not found on PATH".to_string())
}

/// First non-empty output line of a version command, or a note that it could not run.
fn tool_version(cmd: &[String]) -> String {
    let Some(program) = cmd.first() else { return "unversioned".into() };
    let dir = std::env::temp_dir();
    match run_capture(cmd, Duration::from_secs(10), &dir) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(120).collect())
            .unwrap_or_else(|| format!("{program} (no version output)")),
        Err(_) => format!("{program} (version unknown)"),
    }
}

/// How much of a tool's stdout or stderr log is read (its end): enough for the error message
/// (the last 2000 characters) and a version line.
const LOG_TAIL_BYTES: u64 = 64 * 1024;

/// Runs a command and returns stdout followed by stderr, whatever its exit status.
fn run_capture(argv: &[String], timeout: Duration, dir: &Path) -> Result<String, CodecError> {
    let out = tempfile::tempdir_in(dir).map_err(|e| CodecError::Io {
        context: "creating a temporary folder".into(),
        source: e,
    })?;
    let _ = run_logged(argv, timeout, out.path());
    let read = |name: &str| read_tail(&out.path().join(name));
    Ok(format!("{}\n{}", read("stdout.log"), read("stderr.log")))
}

/// The last [`LOG_TAIL_BYTES`] of a tool's log file (lossy UTF-8; empty if unreadable): a
/// tool that prints without end cannot make icmbench read it all.
fn read_tail(path: &Path) -> String {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)));
    let mut bytes = Vec::new();
    let _ = f.take(LOG_TAIL_BYTES).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs `argv` in `dir` without a shell, stdout/stderr to files in `dir`, with a timeout.
pub fn run_command(argv: &[String], timeout: Duration, dir: &Path) -> Result<(), CodecError> {
    let status = run_logged(argv, timeout, dir)?;
    if status.success() {
        return Ok(());
    }
    let text: String = ["stderr.log", "stdout.log"].iter().map(|name| read_tail(&dir.join(name))).collect();
    let tail: String = {
        let t = text.trim();
        let skip = t.chars().count().saturating_sub(2000);
        t.chars().skip(skip).collect()
    };
    Err(CodecError::ToolFailed {
        command: argv.join(" "),
        status: status.to_string(),
        stderr: if tail.is_empty() { "(no output)".into() } else { tail },
    })
}

fn run_logged(argv: &[String], timeout: Duration, dir: &Path) -> Result<std::process::ExitStatus, CodecError> {
    let command = argv.join(" ");
    let Some(program) = argv.first() else {
        return Err(CodecError::ToolFailed {
            command,
            status: "not run".into(),
            stderr: "empty command".into(),
        });
    };
    let io = |context: String| move |source| CodecError::Io { context, source };
    let stdout = std::fs::File::create(dir.join("stdout.log")).map_err(io(format!("creating a log file in {}", dir.display())))?;
    let stderr = std::fs::File::create(dir.join("stderr.log")).map_err(io(format!("creating a log file in {}", dir.display())))?;
    let mut command_line = Command::new(program);
    command_line
        .args(&argv[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    own_process_group(&mut command_line);
    let mut child = command_line.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CodecError::ToolMissing {
            program: program.clone(),
            hint: "install it, put it on PATH, or give its full path in the codec's encode/decode template".into(),
        },
        _ => CodecError::Io {
            context: format!("starting `{command}`"),
            source: e,
        },
    })?;
    match child.wait_timeout(timeout) {
        Ok(Some(status)) => Ok(status),
        Ok(None) => {
            kill_group(&mut child);
            let _ = child.wait();
            Err(CodecError::Timeout {
                command,
                seconds: timeout.as_secs_f64(),
            })
        }
        Err(e) => {
            kill_group(&mut child);
            let _ = child.wait();
            Err(io(format!("waiting for `{command}`"))(e))
        }
    }
}

/// Makes the tool the leader of a new process group (so that a timeout can kill it with
/// everything it started) and, on Linux, has the kernel kill it if icmbench dies first: in
/// its own group it no longer gets the terminal's Ctrl-C.
fn own_process_group(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id();
        // SAFETY: the closure runs in the child between fork and exec and only calls
        // async-signal-safe functions (prctl, getppid); it allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // icmbench died before the line above: do not run orphaned.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
}

/// Kills the tool's whole process group (it is the leader, see [`own_process_group`]). The
/// leader is not reaped yet, so the group id cannot have been reused.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: killpg has no memory-safety preconditions; `pgid` is the group of
            // our unreaped child.
            if unsafe { libc::killpg(pgid, libc::SIGKILL) } == 0 {
                return;
            }
        }
    }
    let _ = child.kill();
}

fn write_image(img: &RgbImage, format: FileFormat, path: &Path) -> Result<(), CodecError> {
    let io = |source| CodecError::Io {
        context: format!("writing {}", path.display()),
        source,
    };
    match format {
        FileFormat::Png => img
            .save_with_format(path, image::ImageFormat::Png)
            .map_err(|e| CodecError::library("external", format!("writing {}: {e}", path.display()))),
        FileFormat::Ppm => {
            use image::ImageEncoder;
            use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
            let mut data = Vec::new();
            PnmEncoder::new(&mut data)
                .with_subtype(PnmSubtype::Pixmap(SampleEncoding::Binary))
                .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
                .map_err(|e| CodecError::library("external", format!("encoding PPM: {e}")))?;
            std::fs::write(path, data).map_err(io)
        }
        FileFormat::Yuv444p => std::fs::write(path, yuv::write_yuv444p(img)).map_err(io),
    }
}

fn read_image(format: FileFormat, path: &Path, width: u32, height: u32) -> Result<RgbImage, CodecError> {
    match format {
        FileFormat::Png | FileFormat::Ppm => image::open(path).map(|i| i.to_rgb8()).map_err(|e| CodecError::BadOutput {
            codec: "external".into(),
            message: format!("cannot read the decoded image {}: {e}", path.display()),
        }),
        FileFormat::Yuv444p => {
            let data = std::fs::read(path).map_err(|source| CodecError::Io {
                context: format!("reading {}", path.display()),
                source,
            })?;
            yuv::read_yuv444p(&data, width, height)
        }
    }
}

fn workdir() -> Result<tempfile::TempDir, CodecError> {
    tempfile::Builder::new()
        .prefix("icmbench-ext-")
        .tempdir()
        .map_err(|source| CodecError::Io {
            context: "creating a temporary folder".into(),
            source,
        })
}

impl Codec for External {
    fn kind(&self) -> &str {
        "external"
    }

    fn version(&self) -> String {
        self.version
            .get_or_init(|| {
                let tool = self
                    .spec
                    .version_command
                    .as_ref()
                    .map(|cmd| tool_version(cmd))
                    .unwrap_or_else(|| "unversioned".to_string());
                format!("{} [{}; args {}]", tool, self.spec.name, &self.args_hash[..8])
            })
            .clone()
    }

    fn preflight(&self) -> Vec<String> {
        self.missing_programs()
    }

    fn size_multiple(&self) -> u32 {
        self.spec.size_multiple.max(1)
    }

    fn check_quality(&self, quality: f64) -> Result<(), CodecError> {
        match self.spec.quality_range {
            Some((lo, hi)) => check_range(&self.spec.name, quality, lo, hi, false),
            None => check_range(&self.spec.name, quality, f64::MIN, f64::MAX, false),
        }
    }

    fn encode(&self, image: &RgbImage, quality: f64) -> Result<Vec<u8>, CodecError> {
        self.check_quality(quality)?;
        let dir = workdir()?;
        let input: PathBuf = dir.path().join(format!("source.{}", self.spec.input_format.extension()));
        let output = dir.path().join(format!("bitstream.{}", self.spec.bitstream_ext));
        write_image(image, self.spec.input_format, &input)?;
        let values = self.values(&input, &output, quality, image.width(), image.height());
        self.run(&self.spec.encode, &values, dir.path(), &output)?;
        std::fs::read(&output).map_err(|source| CodecError::Io {
            context: format!("reading {}", output.display()),
            source,
        })
    }

    fn decode(&self, bitstream: &[u8], width: u32, height: u32) -> Result<RgbImage, CodecError> {
        let dir = workdir()?;
        let input = dir.path().join(format!("bitstream.{}", self.spec.bitstream_ext));
        let output = dir.path().join(format!("decoded.{}", self.spec.output_format.extension()));
        std::fs::write(&input, bitstream).map_err(|source| CodecError::Io {
            context: format!("writing {}", input.display()),
            source,
        })?;
        let values = self.values(&input, &output, f64::NAN, width, height);
        self.run(&self.spec.decode, &values, dir.path(), &output)?;
        let img = read_image(self.spec.output_format, &output, width, height)?;
        check_size(&self.spec.name, &img, width, height)?;
        Ok(img)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh_spec(encode: &[&str], decode: &[&str]) -> ExternalSpec {
        ExternalSpec {
            name: "test".into(),
            encode: strings(encode),
            decode: strings(decode),
            input_format: FileFormat::Ppm,
            output_format: FileFormat::Ppm,
            bitstream_ext: "bin".into(),
            size_multiple: 1,
            quality_range: None,
            timeout: Duration::from_secs(20),
            vars: BTreeMap::new(),
            version_command: None,
        }
    }

    #[test]
    fn placeholders_are_found() {
        assert_eq!(placeholders("--x={a}:{b}"), vec!["a", "b"]);
        assert_eq!(format_quality(75.0), "75");
        assert_eq!(format_quality(0.5), "0.5");
    }

    #[test]
    fn unknown_placeholder_is_rejected_with_the_known_ones() {
        let err = External::new(sh_spec(&["cp", "{input}", "{output}", "{qp}"], &["cp", "{input}", "{output}"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("{qp}") && err.contains("{quality}"), "{err}");
    }

    #[test]
    fn copy_codec_round_trips_and_gets_the_values() {
        // `cp` as a lossless "codec": the bitstream is the PPM file itself.
        let codec = External::new(sh_spec(&["cp", "{input}", "{output}"], &["cp", "{input}", "{output}"])).unwrap();
        let img = RgbImage::from_fn(5, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 50, 7]));
        let bits = codec.encode(&img, 3.0).unwrap();
        assert!(bits.starts_with(b"P6"));
        assert_eq!(codec.decode(&bits, 5, 4).unwrap(), img);
    }

    #[test]
    fn failures_are_named() {
        let missing = External::new(sh_spec(
            &["icmbench-no-such-tool", "{input}", "{output}"],
            &["cp", "{input}", "{output}"],
        ))
        .unwrap();
        let img = RgbImage::new(2, 2);
        let err = missing.encode(&img, 1.0).unwrap_err();
        assert!(matches!(err, CodecError::ToolMissing { .. }), "{err}");
        assert!(err.to_string().contains("icmbench-no-such-tool"));

        let failing = External::new(sh_spec(
            &["sh", "-c", "echo boom >&2; exit 3", "{output}"],
            &["cp", "{input}", "{output}"],
        ))
        .unwrap();
        let err = failing.encode(&img, 1.0).unwrap_err().to_string();
        assert!(err.contains("boom") && err.contains("3"), "{err}");

        let silent = External::new(sh_spec(&["true", "{output}"], &["cp", "{input}", "{output}"])).unwrap();
        let err = silent.encode(&img, 1.0).unwrap_err();
        assert!(matches!(err, CodecError::NoOutput { .. }), "{err}");

        let mut slow = sh_spec(&["tail", "-f", "/dev/null", "{output}"], &["cp", "{input}", "{output}"]);
        slow.timeout = Duration::from_millis(200);
        let err = External::new(slow).unwrap().encode(&img, 1.0).unwrap_err();
        assert!(matches!(err, CodecError::Timeout { .. }), "{err}");
    }

    /// Building the codec runs nothing; the version command runs when the version is
    /// first asked for (a run), once.
    #[test]
    fn version_command_runs_only_when_the_version_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("version-ran");
        let mut spec = sh_spec(&["cp", "{input}", "{output}"], &["cp", "{input}", "{output}"]);
        spec.version_command = Some(vec!["touch".into(), marker.display().to_string()]);
        let codec = External::new(spec).unwrap();
        assert!(codec.missing_programs().is_empty(), "{:?}", codec.missing_programs());
        assert!(!marker.exists(), "building or checking the codec ran its version_command");
        let version = codec.version();
        assert!(marker.exists(), "the version did not come from version_command: {version}");
        assert!(version.starts_with("touch (no version output) [test; args "), "{version}");
        std::fs::remove_file(&marker).unwrap();
        assert_eq!(codec.version(), version);
        assert!(!marker.exists(), "the version command ran twice");
    }

    /// Programs are looked up without running them: names on PATH, absolute paths that
    /// are executable files; relative paths would not resolve in the tool's folder.
    #[test]
    fn missing_programs_are_named_without_running_anything() {
        let mut spec = sh_spec(&["icmbench-no-such-encoder", "{input}", "{output}"], &["cp", "{input}", "{output}"]);
        spec.version_command = Some(vec!["./relative-tool".into(), "--version".into()]);
        let problems = External::new(spec).unwrap().preflight();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("encode program `icmbench-no-such-encoder` is not found on PATH"),
            "{problems:?}"
        );
        assert!(problems[1].contains("`./relative-tool` is a relative path"), "{problems:?}");
        assert!(find_program("sh").is_ok());
        assert_eq!(find_program("/bin/sh").unwrap(), Path::new("/bin/sh"));
        let plain = tempfile::NamedTempFile::new().unwrap();
        let plain = plain.path().display().to_string();
        assert!(find_program(&plain).unwrap_err().contains("not an executable file"));
    }

    /// Whether a process has ended: gone from /proc, or a zombie waiting for its reaper.
    fn ended(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    /// A timeout kills the tool's whole process group: a wrapper script's child does not
    /// keep running.
    #[test]
    fn timeout_kills_the_tools_children_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let mut spec = sh_spec(
            &["sh", "-c", "sleep 30 & echo $! > \"$1\"; wait", "{output}", "{pidfile}"],
            &["cp", "{input}", "{output}"],
        );
        spec.vars.insert("pidfile".into(), pidfile.display().to_string());
        spec.timeout = Duration::from_millis(3000);
        let err = External::new(spec).unwrap().encode(&RgbImage::new(2, 2), 1.0).unwrap_err();
        assert!(matches!(err, CodecError::Timeout { .. }), "{err}");
        let text = std::fs::read_to_string(&pidfile).expect("the wrapper wrote its child's PID before the timeout");
        let pid: u32 = text.trim().parse().unwrap();
        // A bounded wait for the kernel to finish the kill (not a fixed sleep).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !ended(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(ended(pid), "the wrapper's child {pid} still runs after the timeout");
    }

    fn settings(text: &str) -> ExternalSettings {
        toml::from_str(text).unwrap()
    }

    /// Settings lay over the preset; without one, both templates are needed.
    #[test]
    fn settings_compose_over_the_preset() {
        let s = settings("preset = 'vtm'\nencoder = '/opt/EncoderApp'\nvars = { cfg = 'a.cfg' }\ntimeout_s = 2.5");
        let spec = s.spec(Some("mine")).unwrap();
        assert_eq!(spec.name, "vtm");
        assert_eq!(spec.encode[0], "/opt/EncoderApp");
        assert_eq!(spec.version_command.as_ref().unwrap()[0], "/opt/EncoderApp");
        assert_eq!(spec.decode[0], "DecoderApp");
        assert_eq!((spec.size_multiple, spec.timeout), (8, Duration::from_millis(2500)));
        assert_eq!(spec.vars["cfg"], "a.cfg");
        let own = settings("encode = ['a', '{output}']\ndecode = ['b', '{output}']\nsize_multiple = 4");
        let spec = own.spec(Some("mine")).unwrap();
        assert_eq!((spec.name.as_str(), spec.size_multiple, spec.timeout), ("mine", 4, DEFAULT_TIMEOUT));
        assert_eq!(own.spec(None).unwrap().name, "external");
        let e = settings("encode = ['a']").spec(None).unwrap_err();
        assert!(e.contains("needs `preset` (one of cjxl,"), "{e}");
        let e = settings("preset = 'x264'").spec(None).unwrap_err();
        assert_eq!(e, "unknown preset `x264`; presets: cjxl, avifenc, bpg, heif, vtm");
        assert!(
            settings("preset = 'cjxl'\nsize_multiple = 0")
                .spec(None)
                .unwrap_err()
                .contains("at least 1")
        );
        let e = settings("preset = 'cjxl'\ntimeout_s = 1e300").spec(None).unwrap_err();
        assert!(e.ends_with("from 0.001 to 86400 (one day), got 1e300"), "{e}");
        // An empty template with a program override is refused, not a panic.
        let empty = settings("encode = []\ndecode = ['b', '{output}']\nencoder = 'x'");
        assert!(External::new(empty.spec(None).unwrap()).is_err());
    }

    #[test]
    fn presets_validate() {
        for name in PRESETS {
            let mut spec = preset(name).unwrap();
            spec.version_command = None;
            if *name == "vtm" {
                assert!(External::new(spec.clone()).is_err(), "vtm needs vars.cfg");
                spec.vars.insert("cfg".into(), "encoder_intra_vtm.cfg".into());
            }
            External::new(spec).unwrap();
        }
        assert!(preset("nope").is_none());
    }
}
