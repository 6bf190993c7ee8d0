//! Inputs: single files, stdin, directories, mbox files and Maildirs, read
//! lazily so a mailbox export of any size streams through bounded memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Why a message (or a whole mbox) could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file (an mbox for its messages).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Standard input could not be read.
    #[error("stdin: {source}")]
    Stdin {
        /// Why.
        source: std::io::Error,
    },
}

/// One message to scan (or the reason it could not be read).
pub struct Item {
    /// Position in input order, from 0 (output keeps this order).
    pub seq: usize,
    /// File path; `file#N` for the N-th message (1-based) of an mbox.
    pub path: String,
    /// The message bytes, or why they could not be read.
    pub data: Result<Vec<u8>, InputError>,
    /// Bytes of input this item accounts for (progress).
    pub input_bytes: u64,
}

/// What a path turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `-`: one message on standard input.
    Stdin,
    /// A file holding one message.
    Message,
    /// A file of `From `-separated messages.
    Mbox,
    /// A directory with `cur/` and `new/`.
    Maildir,
    /// Any other directory, walked for message files.
    Directory,
}

pub(crate) fn is_maildir(p: &Path) -> bool {
    p.join("cur").is_dir() && p.join("new").is_dir()
}

/// An mbox starts with a "From " postmark line and holds another one after
/// a blank line within its first MiB.
fn is_mbox_bytes(data: &[u8]) -> bool {
    if !data.starts_with(b"From ") {
        return false;
    }
    let head = &data[..data.len().min(1 << 20)];
    memchr::memmem::find(head, b"\n\nFrom ").is_some()
        || memchr::memmem::find(head, b"\n\r\nFrom ").is_some()
}

fn sniff_mbox(path: &Path) -> bool {
    let Ok(f) = File::open(path) else {
        return false;
    };
    let mut head = Vec::new();
    f.take(1 << 20).read_to_end(&mut head).is_ok() && is_mbox_bytes(&head)
}

/// Whether `p` is stdin, a message, an mbox, a Maildir or a directory
/// (an mbox is recognised by its first line).
pub fn kind_of(p: &Path) -> Kind {
    if p.as_os_str() == "-" {
        Kind::Stdin
    } else if p.is_dir() {
        if is_maildir(p) {
            Kind::Maildir
        } else {
            Kind::Directory
        }
    } else if sniff_mbox(p) {
        Kind::Mbox
    } else {
        Kind::Message
    }
}

/// Total bytes of input under the paths (for a progress bar), counting
/// stdin as unknown (0).
pub fn total_bytes(paths: &[PathBuf]) -> u64 {
    let mut total = 0;
    for p in paths {
        if p.as_os_str() == "-" {
            continue;
        }
        if p.is_dir() {
            for f in walk(p) {
                total += std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
            }
        } else {
            total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

/// Files under a directory, sorted for a stable order, skipping hidden
/// files and Maildir's tmp/.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for e in entries.into_iter().rev() {
            let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            // symlink_metadata: don't follow directory symlink loops.
            let Ok(md) = std::fs::symlink_metadata(&e) else {
                continue;
            };
            if md.is_dir() {
                if name != "tmp" || !is_maildir(&d) {
                    stack.push(e);
                }
            } else if md.is_file() || (md.file_type().is_symlink() && e.is_file()) {
                out.push(e);
            }
        }
    }
    out.sort();
    out
}

/// Stream every message under the paths.
pub struct Inputs {
    pending: std::vec::IntoIter<PathBuf>,
    files: std::vec::IntoIter<PathBuf>,
    mbox: Option<MboxReader>,
    seq: usize,
    max_bytes: usize,
}

impl Inputs {
    /// `max_bytes`: messages longer than this are read only up to it (the
    /// scanner reports MESSAGE_SIZE_LIMIT), so a huge file can't exhaust memory.
    pub fn new(paths: Vec<PathBuf>, max_bytes: usize) -> Inputs {
        Inputs {
            pending: paths.into_iter(),
            files: Vec::new().into_iter(),
            mbox: None,
            seq: 0,
            max_bytes,
        }
    }

    fn item(&mut self, path: String, data: Result<Vec<u8>, InputError>, input_bytes: u64) -> Item {
        let seq = self.seq;
        self.seq += 1;
        Item {
            seq,
            path,
            data,
            input_bytes,
        }
    }

    /// A file's bytes (bounded by `max_bytes` + 1) and its size on disk.
    fn read_file(&self, p: &Path) -> (Result<Vec<u8>, InputError>, u64) {
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let data = File::open(p).and_then(|f| {
            let mut buf = Vec::with_capacity((size as usize).min(self.max_bytes + 1));
            f.take(self.max_bytes as u64 + 1).read_to_end(&mut buf)?;
            Ok(buf)
        });
        let data = data.map_err(|source| InputError::Read {
            path: p.to_path_buf(),
            source,
        });
        (data, size)
    }
}

impl Iterator for Inputs {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(m) = &mut self.mbox {
                match m.next_message(self.max_bytes) {
                    Some((n, data, bytes)) => {
                        let path = format!("{}#{n}", m.path.display());
                        return Some(self.item(path, data, bytes));
                    }
                    None => self.mbox = None,
                }
            }
            if let Some(f) = self.files.next() {
                // Read once; only an mbox is opened again, to stream it.
                let (data, size) = self.read_file(&f);
                if data.as_deref().is_ok_and(is_mbox_bytes) {
                    match MboxReader::open(&f) {
                        Ok(r) => self.mbox = Some(r),
                        Err(e) => return Some(self.item(f.display().to_string(), Err(e), 0)),
                    }
                    continue;
                }
                return Some(self.item(f.display().to_string(), data, size));
            }
            let p = self.pending.next()?;
            match kind_of(&p) {
                Kind::Stdin => {
                    let mut buf = Vec::new();
                    let r = std::io::stdin()
                        .lock()
                        .take(self.max_bytes as u64 + 1)
                        .read_to_end(&mut buf);
                    let n = buf.len() as u64;
                    return Some(
                        self.item(
                            "-".into(),
                            r.map(|_| buf)
                                .map_err(|source| InputError::Stdin { source }),
                            n,
                        ),
                    );
                }
                Kind::Directory | Kind::Maildir => {
                    self.files = walk(&p).into_iter();
                }
                // A single path goes through the same read-once, sniff-mbox
                // step as a directory's files.
                Kind::Mbox | Kind::Message => self.files = vec![p].into_iter(),
            }
        }
    }
}

/// Splits an mbox (mboxo/mboxrd) at "From " postmark lines that follow a
/// blank line, undoing ">From " quoting.
pub struct MboxReader {
    path: PathBuf,
    reader: BufReader<File>,
    n: usize,
    pending_postmark: bool,
    done: bool,
}

impl MboxReader {
    /// Open the mbox at `p` for reading, message by message.
    pub fn open(p: &Path) -> Result<MboxReader, InputError> {
        let f = File::open(p).map_err(|source| InputError::Read {
            path: p.to_path_buf(),
            source,
        })?;
        Ok(MboxReader {
            path: p.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, f),
            n: 0,
            pending_postmark: false,
            done: false,
        })
    }

    /// Next message: (1-based index, bytes, input bytes consumed).
    fn next_message(
        &mut self,
        max_bytes: usize,
    ) -> Option<(usize, Result<Vec<u8>, InputError>, u64)> {
        if self.done {
            return None;
        }
        let mut msg = Vec::new();
        let mut line = Vec::new();
        let mut consumed = 0u64;
        let mut prev_blank = true;
        let mut started = self.pending_postmark;
        loop {
            line.clear();
            let n = match self.reader.read_until(b'\n', &mut line) {
                Ok(n) => n,
                Err(source) => {
                    self.done = true;
                    self.n += 1;
                    let e = InputError::Read {
                        path: self.path.clone(),
                        source,
                    };
                    return Some((self.n, Err(e), consumed));
                }
            };
            consumed += n as u64;
            if n == 0 {
                self.done = true;
                if !started && msg.is_empty() {
                    return None;
                }
                break;
            }
            if line.starts_with(b"From ") && prev_blank {
                if started {
                    self.pending_postmark = true;
                    // The blank line before a postmark belongs to the separator.
                    if msg.ends_with(b"\r\n") {
                        msg.truncate(msg.len() - 2);
                    } else if msg.ends_with(b"\n") {
                        msg.truncate(msg.len() - 1);
                    }
                    if !msg.ends_with(b"\n") {
                        msg.push(b'\n');
                    }
                    break;
                }
                started = true;
                prev_blank = false;
                continue;
            }
            started = true;
            prev_blank = line == b"\n" || line == b"\r\n";
            if msg.len() <= max_bytes {
                // mboxrd: ">From " → "From ", ">>From " → ">From ".
                let unq = line
                    .iter()
                    .position(|&b| b != b'>')
                    .filter(|&i| i > 0 && line[i..].starts_with(b"From "));
                if unq.is_some() {
                    msg.extend_from_slice(&line[1..]);
                } else {
                    msg.extend_from_slice(&line);
                }
            }
        }
        self.n += 1;
        Some((self.n, Ok(msg), consumed))
    }
}
