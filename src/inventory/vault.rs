//! Ansible Vault: reading the envelope, decrypting AES256 vaults, and
//! loading vault passwords the way `ansible-core` 2.19 does.
//!
//! Every fact below was checked against ansible-core 2.19.14's source:
//! `ansible/parsing/vault/__init__.py` ("the vault module" below),
//! `ansible/cli/__init__.py` (`CLI.setup_vault_secrets`,
//! `CLI.build_vault_ids`) and `config/base.yml`; the user-facing behaviour
//! (password files, scripts printing the password on stdout and prompting
//! on stderr, `--vault-id`) is also what the Ansible documentation page
//! "Encrypting content with Ansible Vault" describes. The test vectors at
//! the end were written by the real `ansible-vault` 2.19.14, and the
//! behaviours marked "checked with ansible-vault" were observed there.
//!
//! # The format
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256                 <- header, no vault id label
//! $ANSIBLE_VAULT;1.2;AES256;prod            <- header with vault id label "prod"
//! 6237396535333161626530636639323135626238...  <- hex payload, 80 columns a line
//! ```
//!
//! The payload is hex of the ASCII text `hex(salt) "\n" hex(hmac) "\n"
//! hex(ciphertext)` (hex twice: the vault module calls the outer layer
//! "unnecessary but getting rid of it is a backwards incompatible vault
//! format change"). Decryption: PBKDF2-HMAC-SHA256 of the password with the
//! salt, 10,000 rounds, 80 bytes out = AES key (bytes 0..32), HMAC key
//! (32..64), CTR initial counter block (64..80); HMAC-SHA256 over the
//! ciphertext with the HMAC key, compared in constant time *before*
//! anything is decrypted; AES-256-CTR with a 128-bit big-endian counter; PKCS#7
//! unpadding to the 16-byte AES block.
//!
//! # Choosing the password
//!
//! [`decrypt`] mirrors `VaultLib.decrypt_and_get_vault_id` with the default
//! `DEFAULT_VAULT_ID_MATCH = False`: every secret is tried, **in the order
//! the secrets were given**, whatever label the envelope carries (the label
//! is not authenticated; the vault module says it is "just a nick name").
//! [`decrypt_with_id_match`] mirrors `vault_id_match = True`: only the
//! secrets whose id equals the envelope's label (`default` for a 1.1
//! envelope) are tried.

use std::borrow::Cow;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The magic every vault starts with (`b_HEADER` in the vault module).
const HEADER: &str = "$ANSIBLE_VAULT";

/// The vault id a secret gets when none is named, and the label a 1.1
/// envelope is treated as having (`DEFAULT_VAULT_IDENTITY`, default
/// `"default"`, in ansible-core's `config/base.yml`).
pub const DEFAULT_VAULT_ID: &str = "default";

/// PBKDF2 rounds, fixed by the format (`VaultAES256._create_key_cryptography`).
const PBKDF2_ROUNDS: u32 = 10_000;
/// AES-256 key and HMAC-SHA256 key are each 32 bytes (`key_length = 32`).
const KEY_LEN: usize = 32;
/// AES block size, which is also the CTR counter block and the PKCS#7 unit.
const BLOCK_LEN: usize = 16;
/// HMAC-SHA256 tag length.
const TAG_LEN: usize = 32;

/// What decrypting a vault can fail with. Each `Display` says what to do;
/// none ever contains a password. Callers add the file or variable name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultError {
    /// No secret was given at all (ansible-core: "Attempting to decrypt but
    /// no vault secrets found").
    NoPassword,
    /// Every candidate secret failed the HMAC check. The check cannot tell a
    /// wrong password from an altered or corrupted ciphertext; ansible-core
    /// reports both as "Decryption failed (no vault secrets were found that
    /// could decrypt)".
    WrongPassword {
        /// The envelope's vault id label, if its header has one.
        label: Option<String>,
        /// The vault ids of the secrets tried, in the order tried.
        tried: Vec<String>,
    },
    /// With `vault_id_match` on, no secret has the envelope's vault id.
    NoMatchingVaultId {
        /// The id a secret needs: the header's label, or `default` for 1.1.
        label: String,
        /// The vault ids that were given.
        given: Vec<String>,
    },
    /// The text is not a well-formed AES256 vault; the string says what is
    /// wrong (version, cipher, hex, truncation...).
    Malformed(String),
    /// The HMAC matched (right password, intact ciphertext) but the plaintext
    /// does not end in valid PKCS#7 padding: the vault was written by a
    /// faulty encoder. ansible-core stops here too (it raises instead of
    /// trying the next secret).
    BadPadding {
        /// The vault id of the secret that passed the HMAC check.
        vault_id: String,
    },
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultError::NoPassword => f.write_str(
                "zkrun was given no vault password to decrypt it: \
                 use --vault-password-file, --vault-id or --ask-vault-pass",
            ),
            VaultError::WrongPassword { label, tried } => {
                if let [only] = tried.as_slice() {
                    write!(
                        f,
                        "the vault password for vault id '{only}' does not open this vault"
                    )?;
                } else {
                    write!(
                        f,
                        "none of the {} vault passwords (vault ids tried, in order: {}) opens this vault",
                        tried.len(),
                        tried.join(", ")
                    )?;
                }
                f.write_str(
                    ": the HMAC-SHA256 check failed, so the password is wrong \
                     or the vault text was altered or corrupted",
                )?;
                match label {
                    Some(label) if !label.is_empty() && !tried.iter().any(|id| id == label) => {
                        write!(
                            f,
                            "; the vault is labelled '{label}' and no password was given for that \
                         vault id (--vault-id {label}@FILE or {label}@prompt)"
                        )
                    }
                    _ => Ok(()),
                }
            }
            VaultError::NoMatchingVaultId { label, given } => {
                if label.is_empty() {
                    write!(
                        f,
                        "this vault's header has an empty vault id label and vault_id_match is on, \
                         so no password may open it (vault ids given: {})",
                        given.join(", ")
                    )
                } else {
                    write!(
                        f,
                        "vault_id_match is on and this vault needs a password with vault id \
                         '{label}', but none was given (vault ids given: {}): add --vault-id \
                         {label}@FILE",
                        given.join(", ")
                    )
                }
            }
            VaultError::Malformed(reason) => write!(f, "malformed vault: {reason}"),
            VaultError::BadPadding { vault_id } => write!(
                f,
                "the password for vault id '{vault_id}' passed this vault's HMAC check, but the \
                 decrypted data has invalid PKCS#7 padding: the vault was written by a faulty \
                 tool; re-encrypt it with ansible-vault"
            ),
        }
    }
}

impl std::error::Error for VaultError {}

fn malformed(reason: impl Into<String>) -> VaultError {
    VaultError::Malformed(reason.into())
}

/// One vault password with the vault id it was given under.
///
/// `id` is the label from `--vault-id label@source`, or [`DEFAULT_VAULT_ID`]
/// when none was named (`--vault-password-file`, `--ask-vault-pass`, or
/// `--vault-id source`). The password is raw bytes: ansible-core hands the
/// bytes of the file, script output or prompt to PBKDF2 without decoding.
///
/// `Debug` shows only the id. There is no zeroize-on-drop: none of the
/// crypto crates pulls in `zeroize` with their default features.
#[derive(Clone)]
pub struct VaultSecret {
    /// Vault id label; [`DEFAULT_VAULT_ID`] when none was given.
    pub id: String,
    password: Vec<u8>,
}

impl VaultSecret {
    /// A secret from its vault id and password bytes, taken as they are
    /// (no stripping: the loaders below do the stripping ansible-core does).
    pub fn new(id: impl Into<String>, password: impl Into<Vec<u8>>) -> Self {
        VaultSecret {
            id: id.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hand-written so that no `{:?}` anywhere can leak the password.
        f.debug_struct("VaultSecret")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Whether `text` is vault data, as ansible-core's `is_encrypted` decides for
/// a vars file or inventory file read whole (`DataLoader._get_file_contents`):
/// it starts with `$ANSIBLE_VAULT` (no leading whitespace or BOM) and is
/// pure ASCII. A file that starts with the magic but holds a non-ASCII byte
/// is plain YAML to ansible-core.
#[must_use]
pub fn is_vault(text: &str) -> bool {
    text.starts_with(HEADER) && text.is_ascii()
}

/// Decrypts a vault envelope (a whole encrypted file, or the text of a
/// `!vault |` scalar) with the first of `secrets` that opens it, trying them
/// in the order given, as ansible-core does with its default
/// `vault_id_match = False`.
///
/// Returns the plaintext bytes (ansible-core also returns bytes; vars files
/// and `!vault` strings are UTF-8 but a vaulted file may be anything).
///
/// # Errors
/// [`VaultError::Malformed`] if the envelope is not a 1.1/1.2 AES256 vault
/// with a complete hex payload (checked before anything else);
/// [`VaultError::NoPassword`] if `secrets` is empty;
/// [`VaultError::WrongPassword`] if every secret fails the HMAC check;
/// [`VaultError::BadPadding`] if one passes it but the padding is invalid.
pub fn decrypt(envelope: &str, secrets: &[VaultSecret]) -> Result<Vec<u8>, VaultError> {
    decrypt_with_id_match(envelope, secrets, false)
}

/// [`decrypt`], with ansible-core's `vault_id_match` setting
/// (`ANSIBLE_VAULT_ID_MATCH`, `[defaults] vault_id_match`): when `id_match`
/// is true only the secrets whose id equals the envelope's label are tried
/// (`default` for a 1.1 envelope, which has no label).
///
/// # Errors
/// As [`decrypt`], plus [`VaultError::NoMatchingVaultId`] when `id_match` is
/// on and no secret has the needed id.
pub fn decrypt_with_id_match(
    envelope: &str,
    secrets: &[VaultSecret],
    id_match: bool,
) -> Result<Vec<u8>, VaultError> {
    Envelope::parse(envelope)?.decrypt(secrets, id_match)
}

/// A parsed vault: header facts plus the decoded salt, HMAC and ciphertext.
/// None of it is secret (the salt and HMAC are public by design).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Format version from the header: `"1.1"` or `"1.2"`.
    pub version: String,
    /// The header's 4th field, trimmed, when it has one. ansible-core reads
    /// it whatever the version says (1.2 is what it writes when a label is
    /// given); it may be empty.
    pub vault_id: Option<String>,
    salt: Vec<u8>,
    tag: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// Parses `$ANSIBLE_VAULT;<version>;AES256[;<label>]` and the hex payload
    /// lines after it.
    ///
    /// Lenient where it cannot change a result: line breaks may be LF, CRLF
    /// or CR (ansible-core uses `splitlines()`), and all ASCII whitespace in
    /// the payload is skipped (ansible-core only drops line breaks, so a
    /// stray space is an error there).
    ///
    /// Stricter than ansible-core where it can only turn a misleading error
    /// into a clear one: ansible-core checks neither the magic's exact
    /// spelling nor the version (a `1.3` header decrypts there), and reports
    /// a truncated ciphertext or a short HMAC as a wrong password; here they
    /// are [`VaultError::Malformed`].
    ///
    /// # Errors
    /// [`VaultError::Malformed`] naming the problem.
    pub fn parse(text: &str) -> Result<Envelope, VaultError> {
        if !text.starts_with(HEADER) {
            return Err(malformed(format!(
                "the text does not start with `{HEADER}` (leading spaces or a byte-order mark \
                 are not allowed)"
            )));
        }
        if let Some(pos) = text.find(|c: char| !c.is_ascii()) {
            let line = 1 + text[..pos].matches('\n').count();
            return Err(malformed(format!(
                "non-ASCII character on line {line}: a vault is ASCII hex only, so the text was \
                 damaged or edited"
            )));
        }
        // `find` gives the first of CR or LF, which covers LF, CRLF and CR.
        let (header, body) = match text.find(['\n', '\r']) {
            Some(i) => text.split_at(i),
            None => (text, ""),
        };
        let fields: Vec<&str> = py_strip(header).split(';').map(py_strip).collect();
        if fields[0] != HEADER || fields.len() < 3 {
            return Err(malformed(format!(
                "bad header `{}`: expected `$ANSIBLE_VAULT;1.1;AES256` or \
                 `$ANSIBLE_VAULT;1.2;AES256;<vault id>`",
                py_strip(header)
            )));
        }
        let version = fields[1];
        if version != "1.1" && version != "1.2" {
            return Err(malformed(format!(
                "unknown vault format version `{version}` (ansible-core writes 1.1, or 1.2 when \
                 the vault has a vault id label)"
            )));
        }
        // CIPHER_ALLOWLIST in the vault module is exactly {"AES256"}; the
        // pre-1.1 "AES" cipher was removed from ansible-core.
        let cipher = fields[2];
        if cipher != "AES256" {
            return Err(malformed(format!(
                "cipher `{cipher}` is not supported: ansible-core only decrypts AES256"
            )));
        }
        let vault_id = fields.get(3).map(|s| (*s).to_owned());

        let outer = decode_payload(body)?;
        // Inner layout (`VaultAES256.encrypt`): hex(salt) \n hex(hmac) \n
        // hex(ciphertext), split at most twice as `_parse_vaulttext` does.
        let mut parts = outer.splitn(3, |b| *b == b'\n');
        let (Some(salt), Some(tag), Some(ciphertext)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "the payload does not hold salt, HMAC and ciphertext: the vault text is \
                 truncated, or is not a vault",
            ));
        };
        let salt = decode_inner(salt, "salt")?;
        let tag = decode_inner(tag, "HMAC")?;
        let ciphertext = decode_inner(ciphertext, "ciphertext")?;
        if tag.len() != TAG_LEN {
            return Err(malformed(format!(
                "the HMAC is {} bytes, not the {TAG_LEN} of HMAC-SHA256: the vault text is \
                 damaged",
                tag.len()
            )));
        }
        // PKCS#7 always adds 1..=16 bytes and CTR keeps the length, so an
        // intact ciphertext is a positive multiple of 16 bytes.
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK_LEN) {
            return Err(malformed(format!(
                "the ciphertext is {} bytes, not a positive multiple of the {BLOCK_LEN}-byte AES \
                 block: the vault text is truncated",
                ciphertext.len()
            )));
        }
        Ok(Envelope {
            version: version.to_owned(),
            vault_id,
            salt,
            tag,
            ciphertext,
        })
    }

    /// Decrypts with the secrets ansible-core would try, in its order (see
    /// [`decrypt`] and [`decrypt_with_id_match`]).
    ///
    /// # Errors
    /// As [`decrypt_with_id_match`], without the `Malformed` case.
    pub fn decrypt(&self, secrets: &[VaultSecret], id_match: bool) -> Result<Vec<u8>, VaultError> {
        if secrets.is_empty() {
            return Err(VaultError::NoPassword);
        }
        // `parse_vaulttext_envelope` gives a label-less envelope the default
        // vault id; an empty 4th field stays empty and then matches nothing.
        let wanted = self.vault_id.as_deref().unwrap_or(DEFAULT_VAULT_ID);
        // With vault_id_match off, `decrypt_and_get_vault_id` puts the label
        // first in its list of *ids*, but `match_secrets` then filters the
        // secrets list in its own order, so the label does not reorder the
        // tries. (Checked with `ansible-vault view -vvvvv`: for a `prod`
        // vault and `--vault-id dev@.. --vault-id prod@..`, dev is tried first.)
        let candidates: Vec<&VaultSecret> = secrets
            .iter()
            .filter(|s| !id_match || (!wanted.is_empty() && s.id == wanted))
            .collect();
        if candidates.is_empty() {
            return Err(VaultError::NoMatchingVaultId {
                label: wanted.to_owned(),
                given: secrets.iter().map(|s| s.id.clone()).collect(),
            });
        }
        for secret in &candidates {
            match self.open(&secret.password) {
                Attempt::HmacMismatch => {}
                Attempt::Opened(plaintext) => return Ok(plaintext),
                Attempt::BadPadding => {
                    return Err(VaultError::BadPadding {
                        vault_id: secret.id.clone(),
                    });
                }
            }
        }
        Err(VaultError::WrongPassword {
            label: self.vault_id.clone(),
            tried: candidates.iter().map(|s| s.id.clone()).collect(),
        })
    }

    /// One try with one password.
    fn open(&self, password: &[u8]) -> Attempt {
        let mut derived = [0u8; 2 * KEY_LEN + BLOCK_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, PBKDF2_ROUNDS, &mut derived);
        let (aes_key, rest) = derived.split_at(KEY_LEN);
        let (hmac_key, iv) = rest.split_at(KEY_LEN);

        // Authenticate before decrypting (`_decrypt_cryptography` "EXIT EARLY
        // IF DIGEST DOESN'T MATCH"); `verify_slice` compares in constant time.
        // (HMAC takes keys of any length, so `new_from_slice` cannot fail.)
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(hmac_key) else {
            return Attempt::HmacMismatch;
        };
        mac.update(&self.ciphertext);
        if mac.verify_slice(&self.tag).is_err() {
            return Attempt::HmacMismatch;
        }

        // The 16 derived bytes are the whole initial counter block, counted
        // up as one 128-bit big-endian integer (cryptography's `modes.CTR`).
        // (The slices are exactly 32 and 16 bytes, so this cannot fail.)
        let Ok(mut cipher) = Ctr128BE::<Aes256>::new_from_slices(aes_key, iv) else {
            return Attempt::HmacMismatch;
        };
        let mut plaintext = self.ciphertext.clone();
        cipher.apply_keystream(&mut plaintext);
        match pkcs7_unpad(plaintext) {
            Some(plaintext) => Attempt::Opened(plaintext),
            None => Attempt::BadPadding,
        }
    }
}

/// The outcome of trying one password on one vault.
enum Attempt {
    /// Wrong password, or altered ciphertext: try the next secret.
    HmacMismatch,
    /// Authenticated and unpadded.
    Opened(Vec<u8>),
    /// Authenticated, but the padding is invalid: stop.
    BadPadding,
}

/// Removes PKCS#7 padding for a 16-byte block: the last byte `n` must be in
/// 1..=16 and the last `n` bytes must all equal `n` (`padding.PKCS7(128)`).
fn pkcs7_unpad(mut data: Vec<u8>) -> Option<Vec<u8>> {
    let n = usize::from(*data.last()?);
    if n == 0 || n > BLOCK_LEN || n > data.len() || !data.len().is_multiple_of(BLOCK_LEN) {
        return None;
    }
    let cut = data.len() - n;
    if data[cut..].iter().any(|&b| usize::from(b) != n) {
        return None;
    }
    data.truncate(cut);
    Some(data)
}

/// Decodes the outer hex payload: every line after the header, whitespace
/// skipped. Errors name the line (1 = header) so a user can find a bad edit.
fn decode_payload(body: &str) -> Result<Vec<u8>, VaultError> {
    let mut digits = Vec::with_capacity(body.len());
    // `body` starts at the header's line break, so it begins on line 1.
    let mut line_no = 1;
    let mut bytes = body.bytes().peekable();
    while let Some(c) = bytes.next() {
        // A line break is LF, CRLF or lone CR; count each once.
        if c == b'\n' || (c == b'\r' && bytes.peek() != Some(&b'\n')) {
            line_no += 1;
        } else if hex_value(c).is_some() {
            digits.push(c);
        } else if !is_py_space(c) {
            return Err(malformed(format!(
                "`{}` on line {line_no} is not a hex digit: the payload must be hex only",
                char::from(c).escape_default()
            )));
        }
    }
    if digits.is_empty() {
        return Err(malformed(
            "there is no hex payload after the header: the vault text is truncated",
        ));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(malformed(format!(
            "the payload has an odd number of hex digits ({}): the vault text is truncated or \
             has a stray character",
            digits.len()
        )));
    }
    Ok(decode_hex_digits(&digits))
}

/// Decodes one of the three inner fields, which `hexlify` wrote with no
/// whitespace (ansible-core's `unhexlify` accepts nothing else either).
fn decode_inner(field: &[u8], what: &str) -> Result<Vec<u8>, VaultError> {
    if !field.len().is_multiple_of(2) || field.iter().any(|&c| hex_value(c).is_none()) {
        return Err(malformed(format!(
            "the {what} field inside the payload is not valid hex: the vault text is damaged"
        )));
    }
    Ok(decode_hex_digits(field))
}

/// Pairs of already-validated hex digits to bytes.
fn decode_hex_digits(digits: &[u8]) -> Vec<u8> {
    digits
        .chunks_exact(2)
        .map(|p| (hex_value(p[0]).unwrap_or(0) << 4) | hex_value(p[1]).unwrap_or(0))
        .collect()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Python's `bytes.strip()` whitespace: space, \t, \n, \r, \x0b, \x0c.
/// Rust's `is_ascii_whitespace` lacks \x0b, hence this.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_py_space(c as u8))
}

fn py_strip_bytes(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !is_py_space(*first) {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !is_py_space(*last) {
            break;
        }
        b = rest;
    }
    b
}

/// Python's `bytes.strip(b'\r\n')`: only CR and LF, at both ends.
fn strip_crlf(mut b: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = b {
        b = rest;
    }
    b
}

/// Which command-line option an argument came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--vault-id [label@]source`: `source` is a password file or script,
    /// `prompt` (asks "Vault password (label): "), or `prompt_ask_vault_pass`
    /// (asks "Vault password: "). Without `label@` the id is `default`.
    VaultId,
    /// `--vault-password-file FILE` (alias `--vault-pass-file`): ansible-core
    /// turns it into `--vault-id default@FILE`, so this does too.
    PasswordFile,
    /// `--ask-vault-pass` (`-J`): the argument is ignored; asks
    /// "Vault password: " for vault id `default`.
    AskVaultPass,
}

/// Where a password comes from, after splitting `label@source`.
enum Source<'a> {
    Prompt { ask_vault_pass_format: bool },
    File(&'a str),
}

/// Splits an argument as `CLI.split_vault_id` does (at the first `@`), after
/// turning `--vault-password-file F` into `default@F` and `--ask-vault-pass`
/// into `default@prompt_ask_vault_pass` as `CLI.build_vault_ids` does.
fn split_arg(arg: &str, kind: Kind) -> (Option<String>, String) {
    let slug: Cow<'_, str> = match kind {
        Kind::VaultId => Cow::Borrowed(arg),
        Kind::PasswordFile => Cow::Owned(format!("{DEFAULT_VAULT_ID}@{arg}")),
        Kind::AskVaultPass => Cow::Owned(format!("{DEFAULT_VAULT_ID}@prompt_ask_vault_pass")),
    };
    match slug.split_once('@') {
        Some((label, source)) => (Some(label.to_owned()), source.to_owned()),
        None => (None, slug.into_owned()),
    }
}

fn source_of(source: &str) -> Source<'_> {
    match source {
        "prompt" => Source::Prompt {
            ask_vault_pass_format: false,
        },
        "prompt_ask_vault_pass" => Source::Prompt {
            ask_vault_pass_format: true,
        },
        path => Source::File(path),
    }
}

/// Loads one vault password from a command-line argument, as
/// `CLI.setup_vault_secrets` does for one vault id.
///
/// - A file that is not executable: its bytes with Python-`strip()`
///   whitespace removed at both ends; if that is itself a vault, it is
///   decrypted with `earlier` (the secrets loaded before it, as ansible-core
///   does) and CR/LF stripped again. An empty result is an error.
/// - A file with any execute bit set is run with no arguments (or with
///   `--vault-id <label>` when its name without extension ends in
///   `-client`, ansible-core's "client script"; exit status 2 then means
///   "no secret for that id"); stdin and, for plain scripts, stderr are
///   inherited so the script can prompt. Its stdout with CR/LF (only those,
///   not spaces) stripped at both ends is the password.
/// - `prompt` asks on the terminal without echo ("Vault password (label): ",
///   or "Vault password: " for `--ask-vault-pass`); the answer is stripped
///   of whitespace.
///
/// A leading `~/` in a path is expanded from `$HOME`; a relative path is
/// taken from the current directory. The secret's id is the label, or
/// `default` when there is none or it is empty.
///
/// # Errors
/// A message for the user: file missing or a directory, script failing or
/// not runnable, empty password, no terminal to prompt on, or a vaulted
/// password file that `earlier` cannot open.
pub fn secret_from_arg(
    arg: &str,
    kind: Kind,
    earlier: &[VaultSecret],
) -> Result<VaultSecret, String> {
    let (label, source) = split_arg(arg, kind);
    let id = match label.as_deref() {
        Some(l) if !l.is_empty() => l.to_owned(),
        _ => DEFAULT_VAULT_ID.to_owned(),
    };
    let password = match source_of(&source) {
        Source::Prompt {
            ask_vault_pass_format,
        } => {
            let prompt = if ask_vault_pass_format {
                "Vault password: ".to_owned()
            } else {
                format!("Vault password ({id}): ")
            };
            prompt_password(&id, &prompt)?
        }
        Source::File(path) => read_password_source(path, label.as_deref(), earlier)?,
    };
    Ok(VaultSecret { id, password })
}

/// Loads every vault password given on the command line, in ansible-core's
/// order: all `--vault-id`s as given, then all `--vault-password-file`s,
/// then `--ask-vault-pass` (`CLI.build_vault_ids`). A vaulted password file
/// can be opened by any password before it in that order.
///
/// Returns the secrets and warnings to show. As in ansible-core, a password
/// file or script that fails is a warning while at least one secret loads,
/// and an error (the last failure) when none does; a failed prompt is always
/// an error. No arguments at all give an empty list, not an error.
///
/// # Errors
/// The failure message, as for [`secret_from_arg`].
pub fn secrets_from_args(
    vault_ids: &[String],
    password_files: &[String],
    ask_vault_pass: bool,
) -> Result<(Vec<VaultSecret>, Vec<String>), String> {
    let mut args: Vec<(&str, Kind)> = vault_ids
        .iter()
        .map(|a| (a.as_str(), Kind::VaultId))
        .collect();
    args.extend(
        password_files
            .iter()
            .map(|a| (a.as_str(), Kind::PasswordFile)),
    );
    if ask_vault_pass {
        args.push(("", Kind::AskVaultPass));
    }
    let mut secrets: Vec<VaultSecret> = Vec::new();
    let mut warnings = Vec::new();
    let mut last_failure = None;
    for (arg, kind) in args {
        match secret_from_arg(arg, kind, &secrets) {
            Ok(secret) => secrets.push(secret),
            Err(err) => {
                let (_, source) = split_arg(arg, kind);
                if matches!(source_of(&source), Source::Prompt { .. }) {
                    return Err(err);
                }
                warnings.push(err.clone());
                last_failure = Some(err);
            }
        }
    }
    match last_failure {
        Some(err) if secrets.is_empty() => Err(err),
        _ => Ok((secrets, warnings)),
    }
}

/// Asks for a password on the terminal without echo.
fn prompt_password(id: &str, prompt: &str) -> Result<Vec<u8>, String> {
    let term = console::Term::stderr();
    // `read_secure_line` quietly returns "" when stderr is not a terminal;
    // say so instead of failing later with a baffling wrong-password error.
    // (ansible-core's getpass would fall back to reading stdin.)
    if !term.is_term() {
        return Err(format!(
            "cannot ask for the vault password for vault id '{id}': stderr is not a terminal; \
             use --vault-password-file FILE or --vault-id {id}@FILE instead"
        ));
    }
    term.write_str(prompt)
        .and_then(|()| term.flush())
        .map_err(|e| format!("cannot write the vault password prompt: {e}"))?;
    let line = term
        .read_secure_line()
        .map_err(|e| format!("cannot read the vault password for vault id '{id}': {e}"))?;
    // ansible-core rejects an empty answer (or Ctrl-D) before stripping, so
    // an all-blank answer becomes an empty password there too.
    if line.is_empty() {
        return Err(format!(
            "no vault password was entered for vault id '{id}' (empty line or end of input)"
        ));
    }
    Ok(py_strip_bytes(line.as_bytes()).to_vec())
}

/// Expands a leading `~` or `~/` and makes the path absolute, the part of
/// ansible-core's `unfrackpath(follow=False)` a shell does not already do
/// for `label@~/file` (environment variables are not expanded here).
fn resolve_path(raw: &str) -> PathBuf {
    let expanded = match (raw.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(""), Some(home)) => PathBuf::from(home),
        (Some(rest), Some(home)) if rest.starts_with('/') => {
            PathBuf::from(home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(raw),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&expanded))
            .unwrap_or(expanded)
    }
}

/// `get_file_vault_secret` plus the matching `load()`.
fn read_password_source(
    raw: &str,
    label: Option<&str>,
    earlier: &[VaultSecret],
) -> Result<Vec<u8>, String> {
    let path = resolve_path(raw);
    let shown = path.display();
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!("the vault password file {shown} was not found"));
        }
        Err(e) => return Err(format!("cannot read the vault password file {shown}: {e}")),
    };
    if meta.is_dir() {
        return Err(format!(
            "the vault password file {shown} is a directory; give a file"
        ));
    }
    if is_executable(&meta) {
        run_password_script(&path, raw, label)
    } else {
        read_password_file(&path, earlier)
    }
}

/// ansible-core's `is_executable`: any of the three execute bits.
#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

/// `FileVaultSecret._read_file`.
fn read_password_file(path: &Path, earlier: &[VaultSecret]) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let bytes =
        fs::read(path).map_err(|e| format!("cannot read the vault password file {shown}: {e}"))?;
    let stripped = py_strip_bytes(&bytes);
    // A password file may itself be vaulted (`DataLoader._decrypt_if_vault_data`);
    // the test is ansible-core's `is_encrypted` (magic prefix, all ASCII).
    let password = match std::str::from_utf8(stripped) {
        Ok(text) if is_vault(text) => decrypt(text, earlier).map_err(|e| {
            format!(
                "the vault password file {shown} is itself vault-encrypted and the passwords \
                 given before it cannot open it ({e}); give the password that opens it \
                 earlier (--vault-id arguments come before --vault-password-file)"
            )
        })?,
        _ => stripped.to_vec(),
    };
    let password = strip_crlf(&password);
    if password.is_empty() {
        return Err(format!("the vault password file {shown} is empty"));
    }
    Ok(password.to_vec())
}

/// `ScriptVaultSecret` / `ClientScriptVaultSecret`: run the file, stdout is
/// the password.
fn run_password_script(path: &Path, raw: &str, label: Option<&str>) -> Result<Vec<u8>, String> {
    let shown = path.display();
    // `script_is_client` looks at the name as given, minus its extension.
    let client = Path::new(raw)
        .file_stem()
        .is_some_and(|stem| stem.to_string_lossy().ends_with("-client"));
    let label = label.filter(|l| !l.is_empty());
    let mut command = Command::new(path);
    command.stdin(Stdio::inherit()).stdout(Stdio::piped());
    if client {
        // Client scripts get the vault id and have their stderr captured for
        // the error message; plain scripts keep the terminal's stderr so they
        // can prompt.
        if let Some(label) = label {
            command.args(["--vault-id", label]);
        }
        command.stderr(Stdio::piped());
    } else {
        command.stderr(Stdio::inherit());
    }
    let output = command
        .spawn()
        .and_then(std::process::Child::wait_with_output)
        .map_err(|e| {
            format!(
                "cannot run the vault password script {shown} ({e}); if it is not a script, \
                 remove its execute bit (chmod -x) so it is read as a password file"
            )
        })?;
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => format!("was killed ({})", output.status),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stderr = stderr.trim();
        let label = label.unwrap_or(DEFAULT_VAULT_ID);
        return Err(if client && output.status.code() == Some(2) {
            format!(
                "the vault password client script {shown} found no secret for vault id \
                 '{label}': {stderr}"
            )
        } else if client {
            format!(
                "the vault password client script {shown} {status} when asked for vault id \
                 '{label}': {stderr}"
            )
        } else {
            format!("the vault password script {shown} {status}")
        });
    }
    let password = strip_crlf(&output.stdout);
    if password.is_empty() {
        return Err(format!(
            "the vault password script {shown} printed an empty password"
        ));
    }
    Ok(password.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Passwords of the vectors below (the files given to ansible-vault held
    // these plus a trailing newline).
    const PW_DEFAULT: &str = "correct horse battery staple";
    const PW_PROD: &str = "prod-Pa55word!";
    const PW_DEV: &str = "dev-password";
    const PW_UNICODE: &str = "Grüße-🔑";

    // All vectors were written by ansible-vault 2.19.14 (ansible-core).
    // `encrypt_string` ones are the `!vault |` scalar's text, i.e. the
    // YAML block with its indentation removed, as a YAML loader hands it over.

    /// `ansible-vault encrypt_string --vault-password-file pw_default 'hunter2'`
    const V11_HUNTER2: &str = "$ANSIBLE_VAULT;1.1;AES256
62373965353331616265306366393231356262383563633031633233626435333436636337633437
6632386566383733373138653139646631643831363162310a663330316634306437396462646263
63366634383037636135643234636662646366636366306330353938643161386164333436666634
6665636235363832610a326666333238666161383835316234643037333132366338313535613031
3534";

    /// `ansible-vault encrypt_string --vault-id prod@pw_prod 's3cr3t-prod-token'`
    const V12_PROD: &str = "$ANSIBLE_VAULT;1.2;AES256;prod
64646562666663393565313530336533626562343634613539373366386632313430653865636530
3861346338346536363364656164303262343130376430390a373566336263333131613932356531
37376262303165363161303231356333306639353039336163313463646162623034646431633837
3438343633366365370a343666626265366433653861393534326162396235336461303363656638
66346266333537633261393037623433656430646339313138363437623632353263";

    /// `printf 'line one\nline two\n  indented three\n' | ansible-vault
    /// encrypt_string --vault-password-file pw_default --stdin-name multi`
    const V11_MULTILINE: &str = "$ANSIBLE_VAULT;1.1;AES256
33663035613734386535633835316138663864633339623362633236386332656264383938396231
3038653435393036633335656364396465373633376262320a656665633261336665646561373335
33393061616535306230616361356263643737633133313635303031363631316565643333646134
3633353564363562360a663736613638333839333966616138303337316631396239356632326331
33656466613836623666373038346661623064353566343138313865316639343731343461366563
6661663565373838653663333038376262376564333637306538";

    /// `ansible-vault encrypt_string --vault-password-file pw_default 'pässwörd ✓ 秘密'`
    const V11_NON_ASCII: &str = "$ANSIBLE_VAULT;1.1;AES256
37353438383331333337316461366533646333653838303837366361663264303731353839616530
6438613630373536333835643638376436326336386264370a633061343637613864323134626566
65353935363032636436343864376363386165643664303131626334313662643164373438646561
3233326561613664310a343565623935663064333933366436316330396530646232653631343964
30363461336633646461383463363834376465656335353463316430323863366539";

    /// `ansible-vault encrypt --vault-password-file pw_default vars.yml`, the
    /// whole file as written (trailing newline included).
    const FILE_VARS: &str = "$ANSIBLE_VAULT;1.1;AES256
63333664323035653261633535306232343264323538643934326234616536646533333164313137
3936363465343361356164366162663737333231343064300a383634386432646432623965326363
63343365623838373532643264336561353938356561656266623564666166616239653062663833
6332613338353736630a356439363534323431663830323766343933646463346533346233653530
33396561383765326134336264363935353938353965353339386161636539663464383262613632
63366636333639633063393063626630323439663164323239663261663265316166346235393634
31366332323561366465383239396135386139663865623331653763663136373365326261386261
63633165643034356336336131393035616633663433346266316534333531393538373863633739
3433
";
    const FILE_VARS_PLAIN: &str =
        "---\n# whole vars file\ndb_user: admin\ndb_password: \"Tr0ub4dor&3\"\nzk_ids: [1, 2, 3]\n";

    /// `ansible-vault encrypt --vault-password-file pw_default` of an empty
    /// file (`encrypt_string` refuses empty input).
    const FILE_EMPTY: &str = "$ANSIBLE_VAULT;1.1;AES256
37363631313863313235636263616363316363306234623061663734326162363532356361643932
3265353930366632336438323364623136353432653664390a323336333134643538303437656437
65643861383830353933373835616663666632343937643339653833336131653362663832343166
3965373232383238320a323665613835626431323537666336303230326532323437363966613066
6166
";

    /// `ansible-vault encrypt --vault-id prod@pw_prod` of a file holding "prod only\n".
    const FILE_PROD: &str = "$ANSIBLE_VAULT;1.2;AES256;prod
34313562646432663066383535303832366430653738353735343139666431343230333337333665
3733613265363532386630643539663935373165666337660a396662643162363137383232626563
31666637356135653965376136303233313963323430353463303630626137343262613438366238
6238373130393835620a386635383865643964666163636561626564306332366334303862616334
6265
";

    /// `ANSIBLE_VAULT_ENCRYPT_SALT=pepper ansible-vault encrypt_string ... 'salted'`:
    /// a 6-byte salt instead of the usual random 32.
    const V11_SHORT_SALT: &str = "$ANSIBLE_VAULT;1.1;AES256
3730363537303730363537320a313363303339383239353863393436636337636164396530356439
313064643465316132633837663337633861343338643463343239303733623765623064340a6634
353334653135356238306339353038383139666266653265336439386463";

    /// `ansible-vault encrypt_string --vault-password-file pw_uni 'unicode
    /// password works'` with the password `Grüße-🔑`.
    const V11_UNICODE_PASSWORD: &str = "$ANSIBLE_VAULT;1.1;AES256
33333738303765393335363863663836383733386238303230653665653335633265666435393030
3438316538656166653938636561393032623138663235660a363535383764656662383636333263
66333832373339373666633832396231366239653133663664343135663630323535643262313062
3362663834613332630a346366373231393839613430623335353062393066313162313862656338
33653734353834663834343161636463323431633338663064353163316563386264";

    /// `ansible-vault encrypt --vault-password-file pw_default pw_prod`: a
    /// vaulted password file holding "prod-Pa55word!\n".
    const VAULTED_PW_PROD: &str = "$ANSIBLE_VAULT;1.1;AES256
36303032396437383038653630363130386136633939333636356262303939303536616531376330
6530643766646633306463623132313833653630356462330a656639663565383535373963636639
39643136396365363638316230356138373734633235646162333766313566333336626138313236
6565656130363662620a663964626162383834643734393365363464323431333736633731613865
6237
";

    fn default_secret() -> VaultSecret {
        VaultSecret::new(DEFAULT_VAULT_ID, PW_DEFAULT)
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("plaintext is UTF-8")
    }

    #[test]
    fn ansible_vectors_decrypt_to_known_plaintext() {
        let cases: [(&str, &str, &str, &str); 9] = [
            ("1.1 encrypt_string", V11_HUNTER2, PW_DEFAULT, "hunter2"),
            ("1.2 prod", V12_PROD, PW_PROD, "s3cr3t-prod-token"),
            (
                "multi-line",
                V11_MULTILINE,
                PW_DEFAULT,
                "line one\nline two\n  indented three\n",
            ),
            ("non-ASCII", V11_NON_ASCII, PW_DEFAULT, "pässwörd ✓ 秘密"),
            ("whole file", FILE_VARS, PW_DEFAULT, FILE_VARS_PLAIN),
            ("empty", FILE_EMPTY, PW_DEFAULT, ""),
            ("1.2 whole file", FILE_PROD, PW_PROD, "prod only\n"),
            ("short salt", V11_SHORT_SALT, PW_DEFAULT, "salted"),
            (
                "unicode password",
                V11_UNICODE_PASSWORD,
                PW_UNICODE,
                "unicode password works",
            ),
        ];
        for (name, envelope, password, plain) in cases {
            let secrets = [VaultSecret::new("any", password)];
            let got = decrypt(envelope, &secrets).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(text(got), plain, "{name}");
        }
    }

    #[test]
    fn envelope_header_fields() {
        let e = Envelope::parse(V12_PROD).expect("parses");
        assert_eq!(
            (e.version.as_str(), e.vault_id.as_deref()),
            ("1.2", Some("prod"))
        );
        assert_eq!(e.salt.len(), 32);
        let e = Envelope::parse(V11_HUNTER2).expect("parses");
        assert_eq!((e.version.as_str(), e.vault_id.as_deref()), ("1.1", None));
    }

    #[test]
    fn crlf_cr_and_stray_whitespace_are_tolerated() {
        let crlf = FILE_VARS.replace('\n', "\r\n");
        let cr = FILE_VARS.replace('\n', "\r");
        let spaced = FILE_VARS.replace('\n', " \t\n  ");
        for envelope in [crlf, cr, spaced] {
            let got = decrypt(&envelope, &[default_secret()]).expect("decrypts");
            assert_eq!(text(got), FILE_VARS_PLAIN);
        }
    }

    #[test]
    fn wrong_password_names_the_ids_never_the_password() {
        let secrets = [VaultSecret::new("default", "not-the-password")];
        let err = decrypt(V11_HUNTER2, &secrets).unwrap_err();
        assert_eq!(
            err,
            VaultError::WrongPassword {
                label: None,
                tried: vec!["default".into()]
            }
        );
        let shown = err.to_string();
        assert!(
            shown.contains("'default'") && shown.contains("does not open"),
            "{shown}"
        );
        assert!(!shown.contains("not-the-password"), "{shown}");

        let secrets = [VaultSecret::new("dev", PW_DEV), VaultSecret::new("qa", "x")];
        let shown = decrypt(V12_PROD, &secrets).unwrap_err().to_string();
        assert!(shown.contains("none of the 2 vault passwords"), "{shown}");
        assert!(shown.contains("dev, qa"), "{shown}");
        assert!(shown.contains("labelled 'prod'"), "{shown}");
        assert!(!shown.contains(PW_DEV), "{shown}");
    }

    #[test]
    fn no_password_says_how_to_give_one() {
        let err = decrypt(V11_HUNTER2, &[]).unwrap_err();
        assert_eq!(err, VaultError::NoPassword);
        let shown = err.to_string();
        assert!(shown.contains("was given no vault password"), "{shown}");
        assert!(shown.contains("--vault-password-file, --vault-id or --ask-vault-pass"));
    }

    /// Lowercase hex, as Python's `hexlify` writes it.
    fn to_hex(bytes: &[u8]) -> String {
        bytes
            .iter()
            .flat_map(|b| [b >> 4, b & 0xf])
            .filter_map(|n| char::from_digit(u32::from(n), 16))
            .collect()
    }

    /// Rewrites one inner field (0 salt, 1 HMAC, 2 ciphertext) of an
    /// envelope, keeping it well-formed hex, and re-wraps it.
    fn tamper(envelope: &str, field: usize, edit: impl Fn(&mut String)) -> String {
        let (header, body) = envelope.split_once('\n').expect("header line");
        let digits: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let inner = String::from_utf8(decode_hex_digits(&digits)).expect("inner is ASCII");
        let mut parts: Vec<String> = inner.split('\n').map(str::to_owned).collect();
        edit(&mut parts[field]);
        let outer = to_hex(parts.join("\n").as_bytes());
        format!("{header}\n{outer}\n")
    }

    fn flip_last_digit(s: &mut String) {
        let last = s.pop().expect("non-empty");
        s.push(if last == '0' { '1' } else { '0' });
    }

    #[test]
    fn tampered_ciphertext_or_hmac_is_reported_like_a_wrong_password() {
        // ansible-core: "HMAC verification failed" per secret, then
        // "Decryption failed (no vault secrets were found that could decrypt)".
        for field in [1, 2] {
            let bad = tamper(FILE_VARS, field, flip_last_digit);
            let err = decrypt(&bad, &[default_secret()]).unwrap_err();
            assert!(matches!(err, VaultError::WrongPassword { .. }), "{err}");
            assert!(err.to_string().contains("altered or corrupted"));
        }
        // The untouched round trip still works, so `tamper` itself is sound.
        let same = tamper(FILE_VARS, 2, |_| {});
        assert_eq!(
            text(decrypt(&same, &[default_secret()]).unwrap()),
            FILE_VARS_PLAIN
        );
    }

    fn assert_malformed(envelope: &str, needle: &str) {
        match decrypt(envelope, &[default_secret()]) {
            Err(VaultError::Malformed(reason)) => {
                assert!(reason.contains(needle), "{needle:?} not in {reason:?}");
            }
            other => panic!("expected Malformed({needle}), got {other:?}"),
        }
    }

    #[test]
    fn malformed_envelopes_say_what_is_wrong() {
        let without_last_line = FILE_VARS.trim_end().rsplit_once('\n').unwrap().0;
        assert_malformed(without_last_line, "truncated");
        assert_malformed(
            &FILE_VARS.trim_end()[..FILE_VARS.trim_end().len() - 1],
            "odd number",
        );
        assert_malformed("$ANSIBLE_VAULT;1.1;AES256\n", "no hex payload");
        assert_malformed("$ANSIBLE_VAULT;1.1;AES256\n6162zz63\n", "`z` on line 2");
        assert_malformed(
            "$ANSIBLE_VAULT;1.1;AES256\n616263\n",
            "salt, HMAC and ciphertext",
        );
        assert_malformed(&V11_HUNTER2.replacen("1.1", "1.3", 1), "version `1.3`");
        assert_malformed(&V11_HUNTER2.replacen("AES256", "AES", 1), "cipher `AES`");
        assert_malformed("$ANSIBLE_VAULT;1.1\n00", "bad header");
        assert_malformed(" $ANSIBLE_VAULT;1.1;AES256\n00", "does not start");
        assert_malformed(
            &V11_HUNTER2.replacen("6632", "66é2", 1),
            "non-ASCII character on line 3",
        );
        assert_malformed(
            &V11_HUNTER2.replacen("\n6632", "\né632", 1),
            "non-ASCII character on line 3",
        );
        let short_tag = tamper(V11_HUNTER2, 1, |s| s.truncate(62));
        assert_malformed(&short_tag, "HMAC is 31 bytes");
        let ragged = tamper(V11_HUNTER2, 2, |s| s.truncate(s.len() - 2));
        assert_malformed(&ragged, "ciphertext is 15 bytes");
        let bad_inner = tamper(V11_HUNTER2, 0, |s| s.replace_range(0..1, "g"));
        assert_malformed(&bad_inner, "salt field");
        // Malformed is reported even when no password was given.
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT;1.3;AES256\n00", &[]),
            Err(VaultError::Malformed(_))
        ));
    }

    #[test]
    fn labelled_vault_opens_with_the_matching_secret_in_any_position() {
        let secrets = [
            VaultSecret::new("dev", PW_DEV),
            VaultSecret::new("prod", PW_PROD),
        ];
        assert_eq!(
            text(decrypt(V12_PROD, &secrets).unwrap()),
            "s3cr3t-prod-token"
        );
        assert_eq!(
            text(decrypt_with_id_match(V12_PROD, &secrets, true).unwrap()),
            "s3cr3t-prod-token"
        );
    }

    #[test]
    fn label_is_a_hint_unless_vault_id_match_is_on() {
        // ansible-core (default vault_id_match = False) tries every secret,
        // so prod's password under another id still opens a `prod` vault
        // (checked with ansible-vault view --vault-id dev@pw_prod).
        let misfiled = [VaultSecret::new("dev", PW_PROD)];
        assert!(decrypt(V12_PROD, &misfiled).is_ok());
        let err = decrypt_with_id_match(V12_PROD, &misfiled, true).unwrap_err();
        assert_eq!(
            err,
            VaultError::NoMatchingVaultId {
                label: "prod".into(),
                given: vec!["dev".into()]
            }
        );
        assert!(err.to_string().contains("--vault-id prod@FILE"));
        // A 1.1 vault counts as labelled `default` for vault_id_match.
        let labelled = [VaultSecret::new("prod", PW_DEFAULT)];
        assert!(decrypt(V11_HUNTER2, &labelled).is_ok());
        assert!(matches!(
            decrypt_with_id_match(V11_HUNTER2, &labelled, true),
            Err(VaultError::NoMatchingVaultId { label, .. }) if label == DEFAULT_VAULT_ID
        ));
        assert!(decrypt_with_id_match(V11_HUNTER2, &[default_secret()], true).is_ok());
    }

    /// Builds an AES256 envelope with this module's own primitives, so a
    /// test can make what ansible-vault never writes (bad padding).
    fn seal(password: &[u8], salt: &[u8], padded: &[u8]) -> String {
        let mut derived = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, PBKDF2_ROUNDS, &mut derived);
        let mut data = padded.to_vec();
        Ctr128BE::<Aes256>::new_from_slices(&derived[..32], &derived[64..])
            .unwrap()
            .apply_keystream(&mut data);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&derived[32..64]).unwrap();
        mac.update(&data);
        let tag = mac.finalize().into_bytes();
        let inner = format!("{}\n{}\n{}", to_hex(salt), to_hex(&tag), to_hex(&data));
        format!("$ANSIBLE_VAULT;1.1;AES256\n{}\n", to_hex(inner.as_bytes()))
    }

    #[test]
    fn bad_padding_after_a_good_hmac_is_its_own_error() {
        let good = seal(
            b"pw",
            b"salt",
            b"hello\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
        );
        assert_eq!(
            decrypt(&good, &[VaultSecret::new("x", "pw")]).unwrap(),
            b"hello"
        );
        for padded in [
            &b"abcdefghijklm\x01\x02\x03"[..],
            &[0u8; 16][..],
            &[17u8; 32][..],
        ] {
            let bad = seal(b"pw", b"salt", padded);
            let err = decrypt(&bad, &[VaultSecret::new("x", "pw")]).unwrap_err();
            assert_eq!(
                err,
                VaultError::BadPadding {
                    vault_id: "x".into()
                }
            );
        }
        // A full block of padding is valid and leaves nothing.
        let empty = seal(b"pw", b"salt", &[16u8; 16]);
        assert_eq!(
            decrypt(&empty, &[VaultSecret::new("x", "pw")]).unwrap(),
            b""
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", VaultSecret::new("prod", "sw0rdfish"));
        assert_eq!(shown, "VaultSecret { id: \"prod\", .. }");
        let shown = format!("{:?}", [VaultSecret::new("a", "sw0rdfish")]);
        assert!(!shown.contains("sw0rdfish"));
    }

    #[test]
    fn is_vault_matches_ansible_is_encrypted() {
        assert!(is_vault(FILE_VARS));
        assert!(is_vault(V12_PROD));
        assert!(is_vault("$ANSIBLE_VAULT"));
        assert!(!is_vault(FILE_VARS_PLAIN));
        assert!(!is_vault(&format!(" {FILE_VARS}")));
        assert!(!is_vault(&format!("\u{feff}{FILE_VARS}")));
        assert!(!is_vault(&format!("{FILE_VARS}# é\n")));
    }

    #[test]
    fn python_strip_sets() {
        assert_eq!(py_strip_bytes(b" \t\x0b\x0cpw \r\n"), b"pw");
        assert_eq!(py_strip_bytes(b" \n "), b"");
        assert_eq!(strip_crlf(b"\r\n pw \n\n"), b" pw ");
    }

    #[test]
    fn split_arg_follows_build_vault_ids() {
        let s = |a, k| split_arg(a, k);
        assert_eq!(
            s("prod@f", Kind::VaultId),
            (Some("prod".into()), "f".into())
        );
        assert_eq!(s("f", Kind::VaultId), (None, "f".into()));
        assert_eq!(s("a@b@c", Kind::VaultId), (Some("a".into()), "b@c".into()));
        assert_eq!(
            s("u@x/pw", Kind::PasswordFile),
            (Some("default".into()), "u@x/pw".into())
        );
        assert_eq!(
            s("ignored", Kind::AskVaultPass),
            (Some("default".into()), "prompt_ask_vault_pass".into())
        );
    }

    #[cfg(unix)]
    mod files {
        use super::*;
        use std::os::unix::fs::PermissionsExt;
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// Serialises the tests that write and run scripts: a fork in another
        /// test thread while a script's write handle is open makes exec fail
        /// with ETXTBSY ("text file busy").
        static EXEC_LOCK: Mutex<()> = Mutex::new(());

        /// A fresh directory under the system temp dir, removed on drop.
        struct TempDir(PathBuf);

        impl TempDir {
            fn new() -> TempDir {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let dir = std::env::temp_dir().join(format!(
                    "zkrun-vault-test-{}-{}-{nanos}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                fs::create_dir(&dir).expect("create temp dir");
                TempDir(dir)
            }

            fn file(&self, name: &str, contents: &[u8], mode: u32) -> String {
                let path = self.0.join(name);
                fs::write(&path, contents).expect("write");
                fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
                path.to_str().expect("utf-8 path").to_owned()
            }
        }

        impl Drop for TempDir {
            fn drop(&mut self) {
                let _ = fs::remove_dir_all(&self.0);
            }
        }

        #[test]
        fn password_file_is_stripped_like_python_strip() {
            let dir = TempDir::new();
            let path = dir.file("pw", b"  correct horse battery staple \r\n\n\x0b", 0o600);
            let secret = secret_from_arg(&path, Kind::PasswordFile, &[]).unwrap();
            assert_eq!(secret.id, DEFAULT_VAULT_ID);
            assert_eq!(secret.password, PW_DEFAULT.as_bytes());
            assert_eq!(text(decrypt(V11_HUNTER2, &[secret]).unwrap()), "hunter2");

            let labelled = secret_from_arg(&format!("prod@{path}"), Kind::VaultId, &[]).unwrap();
            assert_eq!(labelled.id, "prod");
            let unlabelled = secret_from_arg(&format!("@{path}"), Kind::VaultId, &[]).unwrap();
            assert_eq!(unlabelled.id, DEFAULT_VAULT_ID);
        }

        #[test]
        fn non_executable_script_text_is_a_password_not_a_program() {
            let dir = TempDir::new();
            let path = dir.file("pw.sh", b"#!/bin/sh\necho nope\n", 0o644);
            let secret = secret_from_arg(&path, Kind::PasswordFile, &[]).unwrap();
            assert_eq!(secret.password, b"#!/bin/sh\necho nope");
        }

        #[test]
        fn password_file_errors() {
            let dir = TempDir::new();
            let empty = dir.file("empty", b" \n\n", 0o600);
            let err = secret_from_arg(&empty, Kind::PasswordFile, &[]).unwrap_err();
            assert!(err.contains("is empty"), "{err}");
            let missing = dir.0.join("missing");
            let err =
                secret_from_arg(missing.to_str().unwrap(), Kind::PasswordFile, &[]).unwrap_err();
            assert!(err.contains("was not found"), "{err}");
            let err =
                secret_from_arg(dir.0.to_str().unwrap(), Kind::PasswordFile, &[]).unwrap_err();
            assert!(err.contains("is a directory"), "{err}");
        }

        #[test]
        fn vaulted_password_file_opens_with_earlier_secrets() {
            let dir = TempDir::new();
            let path = dir.file("pw_prod_vaulted", VAULTED_PW_PROD.as_bytes(), 0o600);
            let arg = format!("prod@{path}");
            let secret = secret_from_arg(&arg, Kind::VaultId, &[default_secret()]).unwrap();
            assert_eq!(secret.password, PW_PROD.as_bytes());
            assert_eq!(text(decrypt(FILE_PROD, &[secret]).unwrap()), "prod only\n");

            let err = secret_from_arg(&arg, Kind::VaultId, &[]).unwrap_err();
            assert!(err.contains("itself vault-encrypted"), "{err}");
        }

        #[test]
        fn executable_password_file_is_run_and_its_stdout_used() {
            let _guard = EXEC_LOCK
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let dir = TempDir::new();
            let script = dir.file(
                "pw.sh",
                b"#!/bin/sh\nprintf 'prod-Pa55word!\\r\\n'\n",
                0o700,
            );
            let secret = secret_from_arg(&format!("prod@{script}"), Kind::VaultId, &[]).unwrap();
            assert_eq!(secret.password, PW_PROD.as_bytes());
            assert_eq!(
                text(decrypt(V12_PROD, &[secret]).unwrap()),
                "s3cr3t-prod-token"
            );

            // Only CR/LF are stripped from script output, unlike files.
            let spaced = dir.file("spaced.sh", b"#!/bin/sh\necho ' pw '\n", 0o755);
            let secret = secret_from_arg(&spaced, Kind::PasswordFile, &[]).unwrap();
            assert_eq!(secret.password, b" pw ");

            let failing = dir.file("fail.sh", b"#!/bin/sh\nexit 3\n", 0o755);
            let err = secret_from_arg(&failing, Kind::PasswordFile, &[]).unwrap_err();
            assert!(err.contains("exited with status 3"), "{err}");

            let silent = dir.file("silent.sh", b"#!/bin/sh\necho\n", 0o755);
            let err = secret_from_arg(&silent, Kind::PasswordFile, &[]).unwrap_err();
            assert!(err.contains("printed an empty password"), "{err}");

            let binary = dir.file("not-a-script", b"\x00\x01garbage", 0o755);
            let err = secret_from_arg(&binary, Kind::PasswordFile, &[]).unwrap_err();
            assert!(err.contains("remove its execute bit"), "{err}");
        }

        #[test]
        fn client_script_gets_the_vault_id() {
            let _guard = EXEC_LOCK
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let dir = TempDir::new();
            let script = dir.file(
                "vault-client.sh",
                b"#!/bin/sh\n[ \"$1\" = --vault-id ] && [ \"$2\" = prod ] && { echo prod-Pa55word!; exit 0; }\necho \"no secret for $2\" >&2\nexit 2\n",
                0o755,
            );
            let secret = secret_from_arg(&format!("prod@{script}"), Kind::VaultId, &[]).unwrap();
            assert_eq!(
                (secret.id.as_str(), secret.password.as_slice()),
                ("prod", PW_PROD.as_bytes())
            );
            let err = secret_from_arg(&format!("dev@{script}"), Kind::VaultId, &[]).unwrap_err();
            assert!(err.contains("found no secret for vault id 'dev'"), "{err}");
            assert!(err.contains("no secret for dev"), "{err}");
        }

        #[test]
        fn secrets_from_args_order_and_warnings() {
            let dir = TempDir::new();
            let default_pw = dir.file("default", b"correct horse battery staple\n", 0o600);
            let vaulted = dir.file("prod", VAULTED_PW_PROD.as_bytes(), 0o600);
            let missing = dir.0.join("missing").to_str().unwrap().to_owned();

            // --vault-id values first, then --vault-password-file values.
            let (secrets, warnings) = secrets_from_args(
                &[format!("dev@{missing}"), format!("default@{default_pw}")],
                std::slice::from_ref(&default_pw),
                false,
            )
            .unwrap();
            let ids: Vec<&str> = secrets.iter().map(|s| s.id.as_str()).collect();
            assert_eq!(ids, ["default", "default"]);
            assert_eq!(warnings.len(), 1);
            assert!(warnings[0].contains("was not found"), "{warnings:?}");

            // A vaulted password file opens with a secret loaded before it.
            let (secrets, _) =
                secrets_from_args(&[default_pw.clone(), format!("prod@{vaulted}")], &[], false)
                    .unwrap();
            assert_eq!(text(decrypt(FILE_PROD, &secrets).unwrap()), "prod only\n");

            // All failing is an error; nothing given is an empty list.
            let err = secrets_from_args(std::slice::from_ref(&missing), &[], false).unwrap_err();
            assert!(err.contains("was not found"), "{err}");
            assert!(secrets_from_args(&[], &[], false).unwrap().0.is_empty());
        }
    }
}
