//! The PKCS#11 URI `--keys` takes for keys in an HSM (RFC 7512):
//! `pkcs11:token=LABEL;object=LABEL?module-path=/usr/lib/…/module.so&pin-source=file:/run/pin`.
//!
//! The path names the token (by `token`, `serial`, `manufacturer`, `model` or `slot-id`) and the
//! label rescard gives its keys in it (`object`, by default `rescard`: each rotation adds a key
//! under that label, told apart by its public key). The query names the module and where the
//! user PIN is read from: a file (`file:PATH` or a bare path) or an environment variable
//! (`env:NAME`). A PIN in the URI itself (`pin-value`) is refused: the URI shows in process lists
//! and shell histories.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use zeroize::Zeroizing;

/// The label of rescard's keys in a token when the URI names none.
pub const DEFAULT_OBJECT: &str = "rescard";

/// Where the user PIN is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// A file holding the PIN (a trailing newline is not part of it).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl PinSource {
    /// Reads the PIN.
    pub fn read(&self) -> Result<Zeroizing<String>> {
        let mut pin = match self {
            Self::File(path) => Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the PIN from {}", path.display()))?,
            ),
            Self::Env(name) => Zeroizing::new(std::env::var(name).map_err(|_| {
                anyhow::anyhow!("the PIN's environment variable {name} is not set")
            })?),
        };
        while pin.ends_with(['\n', '\r']) {
            pin.pop();
        }
        if pin.is_empty() {
            bail!("the PIN from {self} is empty");
        }
        Ok(pin)
    }
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// A parsed `pkcs11:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The PKCS#11 module (a shared library).
    pub module: PathBuf,
    /// The token's label.
    pub token: Option<String>,
    /// The token's serial number.
    pub serial: Option<String>,
    /// The token's manufacturer.
    pub manufacturer: Option<String>,
    /// The token's model.
    pub model: Option<String>,
    /// The slot's id.
    pub slot_id: Option<u64>,
    /// The label of rescard's keys.
    pub object: String,
    /// Where the user PIN is read from; `None` for a token that needs no login.
    pub pin: Option<PinSource>,
}

impl Pkcs11Uri {
    /// Parses `text`, which begins `pkcs11:`.
    pub fn parse(text: &str) -> Result<Self> {
        let rest = text
            .strip_prefix("pkcs11:")
            .context("a PKCS#11 URI begins with pkcs11:")?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Self {
            module: PathBuf::new(),
            token: None,
            serial: None,
            manufacturer: None,
            model: None,
            slot_id: None,
            object: DEFAULT_OBJECT.to_owned(),
            pin: None,
        };
        let mut module = None;
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .with_context(|| format!("`{attr}` in the URI's path is not name=value"))?;
            let value = decode(value).with_context(|| format!("in {name}"))?;
            match name {
                "token" => uri.token = Some(value),
                "serial" => uri.serial = Some(value),
                "manufacturer" => uri.manufacturer = Some(value),
                "model" => uri.model = Some(value),
                "slot-id" => {
                    uri.slot_id = Some(
                        value
                            .parse()
                            .with_context(|| format!("slot-id is a number, not `{value}`"))?,
                    )
                }
                "object" if value.is_empty() => {
                    bail!("object names the keys' label: it cannot be empty")
                }
                "object" => uri.object = value,
                "type" if value == "private" => {}
                "type" => bail!(
                    "type={value}: rescard's URI names its private keys (type=private, or leave it out)"
                ),
                "id" => bail!(
                    "id: rescard finds its keys by label (object) and public key; each rotation adds one with an id of its own"
                ),
                other => bail!(
                    "`{other}` is not an attribute rescard takes in a PKCS#11 URI's path (token, serial, manufacturer, model, slot-id, object)"
                ),
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .with_context(|| format!("`{attr}` in the URI's query is not name=value"))?;
            let value = decode(value).with_context(|| format!("in {name}"))?;
            match name {
                "module-path" if value.is_empty() => bail!("module-path is empty"),
                "module-path" => module = Some(PathBuf::from(value)),
                "pin-source" => uri.pin = Some(pin_source(&value)?),
                "pin-value" => bail!(
                    "pin-value: a PIN is never given on the command line; put it in a file (pin-source=file:PATH) or an environment variable (pin-source=env:NAME)"
                ),
                "module-name" => bail!(
                    "module-name: give the module's file with module-path (for SoftHSM2, module-path=/usr/lib/softhsm/libsofthsm2.so)"
                ),
                other => bail!(
                    "`{other}` is not an attribute rescard takes in a PKCS#11 URI's query (module-path, pin-source)"
                ),
            }
        }
        uri.module = module
            .context("the URI names no module: add ?module-path=/path/to/the/pkcs11/module.so")?;
        Ok(uri)
    }

    /// What the URI names, for messages: the token and the label, never the PIN.
    pub fn describe(&self) -> String {
        let token = self
            .token
            .as_deref()
            .or(self.serial.as_deref())
            .unwrap_or("(the only token)");
        format!("token {token}, label {}", self.object)
    }
}

fn pin_source(value: &str) -> Result<PinSource> {
    if let Some(name) = value.strip_prefix("env:") {
        if name.is_empty() {
            bail!("pin-source=env: names no variable");
        }
        return Ok(PinSource::Env(name.to_owned()));
    }
    let path = value
        .strip_prefix("file://")
        .or_else(|| value.strip_prefix("file:"))
        .unwrap_or(value);
    if path.is_empty() || path.starts_with('|') {
        bail!("pin-source is a file (file:PATH) or an environment variable (env:NAME)");
    }
    Ok(PinSource::File(PathBuf::from(path)))
}

fn decode(value: &str) -> Result<String> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(value).collect();
    String::from_utf8(bytes).context("a percent-encoded value that is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "module-path=/usr/lib/softhsm/libsofthsm2.so";

    #[test]
    fn a_uri_names_module_token_label_and_pin_source() {
        let uri = Pkcs11Uri::parse(&format!(
            "pkcs11:token=Issuing%20CA;object=cards?{MODULE}&pin-source=file:/run/secrets/pin"
        ))
        .expect("parses");
        assert_eq!(uri.module, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.token.as_deref(), Some("Issuing CA"));
        assert_eq!(uri.object, "cards");
        assert_eq!(uri.pin, Some(PinSource::File("/run/secrets/pin".into())));
        let uri = Pkcs11Uri::parse(&format!(
            "pkcs11:slot-id=3;type=private?{MODULE}&pin-source=env:HSM_PIN"
        ))
        .expect("parses");
        assert_eq!(
            (uri.slot_id, uri.object.as_str()),
            (Some(3), DEFAULT_OBJECT)
        );
        assert_eq!(uri.pin, Some(PinSource::Env("HSM_PIN".into())));
        assert_eq!(
            Pkcs11Uri::parse(&format!("pkcs11:token=t?{MODULE}&pin-source=/etc/pin"))
                .expect("a bare path")
                .pin,
            Some(PinSource::File("/etc/pin".into()))
        );
    }

    #[test]
    fn a_pin_on_the_command_line_and_unknown_attributes_are_refused() {
        for (uri, says) in [
            (
                format!("pkcs11:token=t?{MODULE}&pin-value=1234"),
                "never given on the command line",
            ),
            ("pkcs11:token=t".to_owned(), "module-path"),
            (format!("pkcs11:token=t;colour=red?{MODULE}"), "`colour`"),
            (format!("pkcs11:token=t?{MODULE}&pin=1"), "`pin`"),
            (format!("pkcs11:token=t;id=%01?{MODULE}"), "by label"),
            (
                format!("pkcs11:token=t;type=public?{MODULE}"),
                "type=private",
            ),
            (format!("pkcs11:slot-id=x?{MODULE}"), "slot-id is a number"),
            (format!("pkcs11:token=%FF?{MODULE}"), "not UTF-8"),
            (
                format!("pkcs11:token=t?{MODULE}&pin-source=env:"),
                "names no variable",
            ),
            (format!("pkcs11:token?{MODULE}"), "not name=value"),
        ] {
            let err = Pkcs11Uri::parse(&uri).expect_err(&uri);
            assert!(format!("{err:#}").contains(says), "{uri}: {err:#}");
        }
    }

    #[test]
    fn a_pin_is_read_without_its_newline_and_never_empty() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pin");
        std::fs::write(&file, "4321\n").expect("pin");
        assert_eq!(&*PinSource::File(file.clone()).read().expect("pin"), "4321");
        std::fs::write(&file, "\n").expect("pin");
        let err = PinSource::File(file).read().expect_err("empty");
        assert!(err.to_string().contains("is empty"), "{err}");
        let err = PinSource::File(dir.path().join("none"))
            .read()
            .expect_err("missing");
        assert!(format!("{err:#}").contains("reading the PIN"), "{err:#}");
        let err = PinSource::Env("RESCARD_TEST_NO_SUCH_PIN".into())
            .read()
            .expect_err("unset");
        assert!(err.to_string().contains("is not set"), "{err}");
    }
}
