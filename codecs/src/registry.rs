//! The codec kinds a run configuration can name, as one list ([`KINDS`]): each with its
//! name, a one-line description, its settings (a serde struct beside the codec's code, with
//! its defaults) and its builder. The settings' field names are read from the serde derive
//! (see [`field_names`]), never typed twice.
//!
//! Adding a codec: write its module with a settings struct (`Deserialize`,
//! `deny_unknown_fields`, defaults) implementing [`CodecSettings`], and add one line to
//! [`KINDS`]. The configuration hands each `[[codecs]]` table, less `kind`, `id` and
//! `qualities`, to the kind's builder; nothing outside this crate names a kind's settings.
//! (As CompressAI's `utils/bench/codecs.py`, where each codec declares its own arguments
//! and the driver holds a list.)

use std::fmt;
use std::path::{Path, PathBuf};

use icmbench_models::RuntimeOptions;
use serde::de::{self, DeserializeOwned, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::{Codec, CodecError, avif, external, jpeg, learned, png, webp};

/// What a builder needs besides the settings.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// Folder of the configuration file: relative paths in settings are resolved against it.
    pub folder: &'a Path,
    /// Where model-based codecs run (device, intra-op threads).
    pub runtime: RuntimeOptions,
    /// The `id` the configuration gives the codec, if any (an external codec without a
    /// preset is named by it in messages).
    pub id: Option<&'a str>,
}

impl BuildContext<'_> {
    /// `path` relative to [`BuildContext::folder`] (an absolute path stays as it is), with
    /// `.` and `name/..` removed without touching the file system, so that messages show
    /// `models/codec` rather than `examples/../models/codec`.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        icmbench_models::paths::normalize(&self.folder.join(path))
    }
}

/// A built codec.
pub struct Built {
    /// The codec.
    pub codec: Box<dyn Codec>,
    /// The id its settings suggest when the configuration gives none (an external preset's
    /// name); `None`: the kind's name.
    pub default_id: Option<String>,
}

impl Built {
    /// A codec whose default id is its kind's name.
    pub fn new(codec: impl Codec + 'static) -> Self {
        Self {
            codec: Box::new(codec),
            default_id: None,
        }
    }
}

/// Why a codec could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The settings do not deserialise (an unknown field, a wrong type).
    #[error("{}", one_line(.0))]
    Settings(#[from] toml::de::Error),
    /// A setting is out of range, missing or inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// The codec refused its settings (a template, a learned codec's files).
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A `toml::de::Error` without a document is its message, then `in `key`` on a new line.
fn one_line(e: &toml::de::Error) -> String {
    e.to_string().trim().replace('\n', " ")
}

/// A codec kind's settings: deserialised from the `[[codecs]]` table (less `kind`, `id` and
/// `qualities`), then built into the codec.
pub trait CodecSettings: DeserializeOwned {
    /// Checks the values and builds the codec.
    fn build(self, ctx: &BuildContext<'_>) -> Result<Built, BuildError>;
}

/// A builder: the kind's settings table and the context in, the codec out.
pub type Builder = for<'a> fn(&toml::Table, &BuildContext<'a>) -> Result<Built, BuildError>;

/// Deserialises the settings from a span-preserving TOML deserializer and drops them (see
/// [`Kind::check`]).
type Checker = for<'i> fn(toml::de::ValueDeserializer<'i>) -> Result<(), toml::de::Error>;

/// One codec kind.
#[derive(Clone, Copy)]
pub struct Kind {
    /// The name in `kind = "..."`.
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    fields: fn() -> &'static [&'static str],
    check: Checker,
    build: Builder,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kind")
            .field("name", &self.name)
            .field("fields", &self.fields())
            .finish_non_exhaustive()
    }
}

impl Kind {
    /// The kind `name` with settings `S`.
    pub const fn new<S: CodecSettings>(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            fields: field_names::<S>,
            check: check_settings::<S>,
            build: build_from_table::<S>,
        }
    }

    /// The names of its settings, in declaration order.
    pub fn fields(&self) -> &'static [&'static str] {
        (self.fields)()
    }

    /// Whether `field` is one of its settings.
    pub fn takes(&self, field: &str) -> bool {
        self.fields().contains(&field)
    }

    /// Checks the settings of a `[[codecs]]` table parsed with spans: the keys for which
    /// `is_setting` holds, less those of other kinds (left to [`misplaced`]), are
    /// deserialised, so that an unknown field or a wrong type is an error carrying the
    /// span of the key or value at fault.
    pub fn check(&self, table: &Spanned<DeValue<'_>>, is_setting: impl Fn(&str) -> bool) -> Result<(), toml::de::Error> {
        let settings: DeTable = table
            .get_ref()
            .as_table()
            .into_iter()
            .flatten()
            .filter(|(k, _)| is_setting(k.get_ref()) && misplaced(self, k.get_ref()).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (self.check)(Spanned::new(table.span(), DeValue::Table(settings)).into())
    }

    /// Builds the codec from its settings table.
    pub fn build(&self, settings: &toml::Table, ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
        (self.build)(settings, ctx)
    }

    /// Builds the codec with every setting at its default (relative paths from the current
    /// folder, models on the CPU). Kinds that need settings (`external`, `learned`) refuse.
    pub fn build_default(&self) -> Result<Box<dyn Codec>, BuildError> {
        let ctx = BuildContext {
            folder: Path::new("."),
            runtime: RuntimeOptions::default(),
            id: None,
        };
        self.build(&toml::Table::new(), &ctx).map(|b| b.codec)
    }
}

/// Every codec kind, in the order `icmbench list` shows them.
pub const KINDS: &[Kind] = &[
    Kind::new::<jpeg::JpegSettings>("jpeg", "JPEG through libjpeg-turbo, Pillow-compatible quality (chroma 420 | 444)"),
    Kind::new::<webp::WebpSettings>("webp", "lossy WebP through libwebp's simple API"),
    Kind::new::<avif::AvifSettings>("avif", "AVIF: rav1e (speed 1-10) to encode, libdav1d to decode"),
    Kind::new::<png::PngSettings>("png", "lossless PNG, a pipeline check (PSNR is infinite)"),
    Kind::new::<external::ExternalSettings>(
        "external",
        "a command-line tool run from argument templates, or a preset (cjxl, avifenc, bpg, heif, vtm)",
    ),
    Kind::new::<learned::LearnedSettings>("learned", "a learned codec exported as ONNX graphs and entropy tables (`path`)"),
];

/// A kind name that is not in [`KINDS`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown variant `{kind}`, expected one of {}", names())]
pub struct UnknownKind {
    /// The name given.
    pub kind: String,
}

fn names() -> String {
    KINDS.iter().map(|k| format!("`{}`", k.name)).collect::<Vec<_>>().join(", ")
}

/// The kind called `name`.
pub fn find(name: &str) -> Result<&'static Kind, UnknownKind> {
    KINDS
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| UnknownKind { kind: name.to_string() })
}

/// When `field` is a setting of other kinds but not of `kind`, the message saying so, e.g.
/// "codec kind `webp` does not take `speed` (only kind = \"avif\" does)". `None` when
/// `kind` takes it or no kind does (an unknown field, left to the settings' derive).
pub fn misplaced(kind: &Kind, field: &str) -> Option<String> {
    if kind.takes(field) {
        return None;
    }
    let owners: Vec<String> = KINDS.iter().filter(|k| k.takes(field)).map(|k| format!("\"{}\"", k.name)).collect();
    let only = match owners.as_slice() {
        [] => return None,
        [one] => format!("only kind = {one} does"),
        many => format!("only kind = {} do", many.join(" or ")),
    };
    Some(format!("codec kind `{}` does not take `{field}` ({only})", kind.name))
}

fn check_settings<S: DeserializeOwned>(settings: toml::de::ValueDeserializer<'_>) -> Result<(), toml::de::Error> {
    S::deserialize(settings).map(drop)
}

fn build_from_table<S: CodecSettings>(settings: &toml::Table, ctx: &BuildContext<'_>) -> Result<Built, BuildError> {
    S::deserialize(settings.clone())?.build(ctx)
}

/// The field names of a struct deriving `Deserialize`, as the derive passes them to
/// `deserialize_struct` (empty for anything else).
pub fn field_names<S: DeserializeOwned>() -> &'static [&'static str] {
    match S::deserialize(FieldProbe) {
        Err(ProbeStop::Fields(fields)) => fields,
        _ => &[],
    }
}

/// A deserializer that only records the fields of the struct asked for.
struct FieldProbe;

/// How a [`FieldProbe`] stops: with the fields, or at anything that is not a struct.
#[derive(Debug)]
enum ProbeStop {
    Fields(&'static [&'static str]),
    NotAStruct(String),
}

impl fmt::Display for ProbeStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeStop::Fields(fields) => write!(f, "fields {fields:?}"),
            ProbeStop::NotAStruct(m) => write!(f, "not a struct: {m}"),
        }
    }
}

impl std::error::Error for ProbeStop {}

impl de::Error for ProbeStop {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ProbeStop::NotAStruct(msg.to_string())
    }
}

impl<'de> de::Deserializer<'de> for FieldProbe {
    type Error = ProbeStop;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ProbeStop> {
        Err(ProbeStop::NotAStruct("a value".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeStop> {
        Err(ProbeStop::Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    fn ctx() -> BuildContext<'static> {
        BuildContext {
            folder: Path::new("cfg"),
            runtime: RuntimeOptions::default(),
            id: None,
        }
    }

    #[test]
    fn kinds_are_unique_and_found() {
        let names: BTreeSet<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names.len(), KINDS.len());
        for k in KINDS {
            assert_eq!(find(k.name).unwrap().name, k.name);
            assert!(!k.description.is_empty());
        }
        let e = find("jpg").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown variant `jpg`, expected one of `jpeg`, `webp`, `avif`, `png`, `external`, `learned`"
        );
    }

    /// The field lists come from the serde derives, in declaration order.
    #[test]
    fn field_names_are_derived() {
        let fields = |name: &str| find(name).unwrap().fields();
        assert_eq!(fields("jpeg"), ["chroma"]);
        assert_eq!(fields("avif"), ["speed"]);
        assert!(fields("webp").is_empty() && fields("png").is_empty());
        assert_eq!(
            fields("external"),
            [
                "preset",
                "encode",
                "decode",
                "encoder",
                "decoder",
                "input_format",
                "output_format",
                "bitstream_ext",
                "size_multiple",
                "timeout_s",
                "vars",
                "version_command"
            ]
        );
        assert_eq!(fields("learned"), ["path"]);
        assert!(field_names::<u8>().is_empty());
    }

    /// Defaults as the configuration had them: JPEG 4:2:0, AVIF speed 6, external commands
    /// 300 s.
    #[test]
    fn defaults_are_unchanged() {
        assert_eq!(jpeg::JpegSettings::default().chroma, jpeg::Chroma::S420);
        let version = find("jpeg").unwrap().build_default().unwrap().version();
        assert!(version.contains("4:2:0"), "{version}");
        assert_eq!(avif::AvifSettings::default().speed, 6);
        let version = find("avif").unwrap().build_default().unwrap().version();
        assert!(version.contains("speed 6"), "{version}");
        assert_eq!(external::DEFAULT_TIMEOUT, Duration::from_secs(300));
        let settings: external::ExternalSettings = table("encode = ['cp', '{input}', '{output}']\ndecode = ['cp', '{input}', '{output}']")
            .try_into()
            .unwrap();
        assert_eq!(settings.spec(None).unwrap().timeout, Duration::from_secs(300));
        assert_eq!(external::preset("cjxl").unwrap().timeout, Duration::from_secs(300));
        for k in KINDS {
            assert_eq!(k.build_default().is_ok(), !["external", "learned"].contains(&k.name), "{}", k.name);
        }
    }

    #[test]
    fn builders_take_their_settings() {
        let jpeg = find("jpeg").unwrap().build(&table("chroma = '444'"), &ctx()).unwrap();
        assert!(jpeg.codec.version().contains("4:4:4") && jpeg.default_id.is_none());
        let e = find("avif").unwrap().build(&table("speed = 11"), &ctx()).err().unwrap();
        assert_eq!(e.to_string(), "avif `speed` must be 1 to 10, got 11");
        let e = find("webp").unwrap().build(&table("speed = 1"), &ctx()).err().unwrap();
        assert!(e.to_string().contains("unknown field `speed`"), "{e}");
        let ext = find("external").unwrap().build(&table("preset = 'cjxl'"), &ctx()).unwrap();
        assert_eq!(ext.default_id.as_deref(), Some("cjxl"));
        let e = find("learned").unwrap().build(&toml::Table::new(), &ctx()).err().unwrap();
        assert_eq!(
            e.to_string(),
            "a learned codec needs `path` (its folder of codec.json quality points)"
        );
        let e = find("learned")
            .unwrap()
            .build(&table("path = '../no/./such'"), &ctx())
            .err()
            .unwrap();
        assert!(e.to_string().contains("reading learned codec folder no/such"), "{e}");
    }

    /// Checking a table parsed with spans locates the key or value at fault; keys that are
    /// not settings, or are another kind's, are left out.
    #[test]
    fn check_errors_carry_spans() {
        let check = |kind: &str, text: &str| {
            let table = DeValue::parse(text).unwrap();
            find(kind).unwrap().check(&table, |k| k != "kind")
        };
        let e = check("avif", "{ kind = 'avif', speed = 8, sped = 8 }").unwrap_err();
        assert_eq!(e.message(), "unknown field `sped`, expected `speed`");
        assert_eq!(e.span(), Some(28..32));
        let e = check("avif", "{ speed = 'fast' }").unwrap_err();
        assert!(e.message().contains("invalid type"), "{}", e.message());
        assert_eq!(e.span(), Some(10..16));
        check("webp", "{ kind = 'webp', speed = 8 }").unwrap();
        let e = check("webp", "{ sped = 8 }").unwrap_err();
        assert_eq!(e.message(), "unknown field `sped`, there are no fields");
    }

    #[test]
    fn misplaced_fields_name_their_kinds() {
        let webp = find("webp").unwrap();
        assert_eq!(
            misplaced(webp, "speed").unwrap(),
            "codec kind `webp` does not take `speed` (only kind = \"avif\" does)"
        );
        assert_eq!(
            misplaced(webp, "preset").unwrap(),
            "codec kind `webp` does not take `preset` (only kind = \"external\" does)"
        );
        assert!(misplaced(find("avif").unwrap(), "speed").is_none());
        assert!(misplaced(webp, "sped").is_none());
    }

    #[test]
    fn paths_resolve_against_the_folder() {
        let ctx = BuildContext {
            folder: Path::new("examples"),
            ..ctx()
        };
        assert_eq!(ctx.resolve(Path::new("../models/./codec")), Path::new("models/codec"));
        assert_eq!(ctx.resolve(Path::new("/abs/x")), Path::new("/abs/x"));
        let here = BuildContext {
            folder: Path::new(""),
            ..ctx
        };
        assert_eq!(here.resolve(Path::new("../x")), Path::new("../x"));
    }
}
