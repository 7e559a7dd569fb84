//! Paths, directories and globs into one sorted, deduplicated file list.
//!
//! * A file named explicitly is always read, whatever the filters say.
//! * A directory is walked recursively. Hidden entries (names starting with
//!   `.`) are skipped unless [`WalkOptions::hidden`] is set; symbolic links are
//!   skipped unless [`WalkOptions::follow_links`] is set; include and exclude
//!   globs filter the files by their path relative to the directory.
//! * An argument that does not exist but contains `*`, `?`, `[` or `{` is a
//!   glob: `logs/**/*.log` walks `logs` and keeps the files that match.
//! * `-` is standard input, copied once per process (at the first plan
//!   that names it) to a private temporary file and then planned like a
//!   regular file, so every action and executor sees all of it. The copy
//!   takes temporary disk space equal to the input's size, in the directory
//!   `TMPDIR` names (`/tmp` by default), and is removed at exit.
//!
//! A missing path, a directory without input files or a glob that matches
//! nothing is an error: an empty result from a typo is worse than a failure.

use crate::error::{Error, ErrorKind, Result};
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FileKind {
    /// A regular file: memory-mapped, splittable.
    Regular,
    /// A pipe, device or other special file: read once, front to back.
    Special,
    /// The process's standard input, read as a stream. [`Inputs::expand`]
    /// no longer plans `-` this way: it spools standard input to a
    /// temporary file and plans that as [`FileKind::Regular`], with
    /// [`InputFile::spool`] naming the copy.
    Stdin,
    /// A gzip-compressed file (`.gz`): decompressed as one stream.
    Gzip,
    /// A zstd-compressed file (`.zst`): decompressed as one stream.
    Zstd,
}

impl FileKind {
    /// Whether the file can be cut into byte-range splits.
    pub fn splittable(self) -> bool {
        self == FileKind::Regular
    }
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// The path as found (relative paths stay relative): the name errors
    /// and rejected records give. `-` for standard input.
    pub path: PathBuf,
    /// Its size in bytes, when known before reading.
    pub len: Option<u64>,
    /// How it is read.
    pub kind: FileKind,
    /// Where the bytes are when not at `path`: the spool file of standard
    /// input. Open [`InputFile::read_path`], name [`InputFile::path`].
    pub spool: Option<PathBuf>,
    /// Its modification time as planned (nanoseconds since the Unix epoch),
    /// when known: a worker on another machine checks it sees the same file.
    #[serde(default)]
    pub modified: Option<i128>,
}

impl InputFile {
    /// The file to open for the bytes: the spool when there is one, else
    /// [`InputFile::path`].
    pub fn read_path(&self) -> &Path {
        self.spool.as_deref().unwrap_or(&self.path)
    }

    /// Opens [`InputFile::read_path`] for reading.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming [`InputFile::path`]; for standard input, the
    /// message also names the spool file (a worker process on another
    /// machine cannot open it).
    pub fn open(&self) -> Result<std::fs::File> {
        std::fs::File::open(self.read_path()).map_err(|e| {
            let err = Error::io(&self.path, e);
            match &self.spool {
                Some(spool) => err.context(format!(
                    "cannot open {}, the copy of standard input planned by the leader (it is on the leader's machine)",
                    spool.display()
                )),
                None => err.context("cannot open input"),
            }
        })
    }
}

/// Options for walking directories and expanding globs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkOptions {
    /// Keep only files matching one of these globs (all files when empty).
    pub include: Vec<String>,
    /// Drop files matching any of these globs.
    pub exclude: Vec<String>,
    /// Walk into hidden files and directories (names starting with `.`).
    pub hidden: bool,
    /// Follow symbolic links inside directories.
    pub follow_links: bool,
}

/// A list of input paths (files, directories, globs, `-`) and how to walk them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    paths: Vec<String>,
    walk: WalkOptions,
}

impl Inputs {
    /// Inputs from paths, directories or globs.
    pub fn new<I, P>(paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        Inputs {
            paths: paths.into_iter().map(|p| p.as_ref().to_string_lossy().into_owned()).collect(),
            walk: WalkOptions::default(),
        }
    }

    /// Keeps only files matching `glob` when walking directories (may repeat).
    pub fn include(mut self, glob: impl Into<String>) -> Self {
        self.walk.include.push(glob.into());
        self
    }

    /// Drops files matching `glob` when walking directories (may repeat).
    pub fn exclude(mut self, glob: impl Into<String>) -> Self {
        self.walk.exclude.push(glob.into());
        self
    }

    /// Whether to walk into hidden entries.
    pub fn hidden(mut self, yes: bool) -> Self {
        self.walk.hidden = yes;
        self
    }

    /// Whether to follow symbolic links inside directories.
    pub fn follow_links(mut self, yes: bool) -> Self {
        self.walk.follow_links = yes;
        self
    }

    /// Replaces all walk options.
    pub fn with_walk(mut self, walk: WalkOptions) -> Self {
        self.walk = walk;
        self
    }

    /// The paths as given.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Expands into the sorted, deduplicated file list.
    ///
    /// # Errors
    /// [`ErrorKind::NoInput`] when no path was given, a directory holds no
    /// input file or a glob matches nothing; [`ErrorKind::NotFound`] for a
    /// missing path; [`ErrorKind::Io`] for anything the OS refuses.
    pub fn expand(&self) -> Result<Vec<InputFile>> {
        if self.paths.is_empty() {
            return Err(Error::new(ErrorKind::NoInput, "no input paths were given"));
        }
        let filter = Filter::new(&self.walk)?;
        let mut files = Vec::new();
        // Named twice, standard input is one input, like a file named twice.
        let mut dash = false;
        for arg in &self.paths {
            if arg == "-" && std::mem::replace(&mut dash, true) {
                continue;
            }
            let before = files.len();
            self.expand_one(arg, &filter, &mut files)?;
            if files.len() == before {
                let what = if is_glob_arg(arg) && !Path::new(arg).exists() { "glob" } else { "directory" };
                let hint = if filter.is_active() { " (after include/exclude filters)" } else { "" };
                return Err(Error::new(ErrorKind::NoInput, format!("{what} `{arg}` holds no input files{hint}")));
            }
        }
        files.sort_by(|a, b| a.path.as_os_str().as_encoded_bytes().cmp(b.path.as_os_str().as_encoded_bytes()));
        files.dedup_by(|a, b| a.path == b.path);
        Ok(files)
    }

    fn expand_one(&self, arg: &str, filter: &Filter, out: &mut Vec<InputFile>) -> Result<()> {
        if arg == "-" {
            out.push(super::stdin::input()?);
            return Ok(());
        }
        let path = Path::new(arg);
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => self.walk_dir(path, filter, out),
            Ok(meta) => {
                out.push(input_file(path.to_path_buf(), &meta));
                Ok(())
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if is_glob_arg(arg) {
                    self.expand_glob(arg, filter, out)
                } else {
                    Err(Error::new(ErrorKind::NotFound, "input does not exist").with_path(path))
                }
            }
            Err(err) => Err(Error::io(path, err).context("cannot read input")),
        }
    }

    fn walk_dir(&self, dir: &Path, filter: &Filter, out: &mut Vec<InputFile>) -> Result<()> {
        for entry in self.walker(dir, usize::MAX) {
            let entry = entry.map_err(|e| walk_error(dir, e))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            if filter.keeps(rel) {
                let meta = entry.metadata().map_err(|e| walk_error(dir, e))?;
                out.push(input_file(entry.into_path(), &meta));
            }
        }
        Ok(())
    }

    fn expand_glob(&self, pattern: &str, filter: &Filter, out: &mut Vec<InputFile>) -> Result<()> {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::new(ErrorKind::Config, format!("bad glob `{pattern}`")).with_source(e))?
            .compile_matcher();
        // Walk from the longest leading part without glob characters.
        let mut base = PathBuf::new();
        let mut rest = 0usize;
        let mut deep = false;
        let components: Vec<_> = Path::new(pattern).components().collect();
        for (i, c) in components.iter().enumerate() {
            let s = c.as_os_str().to_string_lossy();
            if is_glob_arg(&s) {
                rest = components.len() - i;
                deep = components[i..].iter().any(|c| c.as_os_str() == "**");
                break;
            }
            base.push(c);
        }
        let root = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base.clone() };
        if !root.is_dir() {
            return Ok(());
        }
        let depth = if deep { usize::MAX } else { rest };
        for entry in self.walker(&root, depth) {
            let entry = entry.map_err(|e| walk_error(&root, e))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = if base.as_os_str().is_empty() {
                entry.path().strip_prefix(".").unwrap_or(entry.path()).to_path_buf()
            } else {
                entry.path().to_path_buf()
            };
            let rel = entry.path().strip_prefix(&root).unwrap_or(entry.path());
            if glob.is_match(&path) && filter.keeps(rel) {
                let meta = entry.metadata().map_err(|e| walk_error(&root, e))?;
                out.push(input_file(path, &meta));
            }
        }
        Ok(())
    }

    fn walker(&self, root: &Path, max_depth: usize) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
        let hidden = self.walk.hidden;
        walkdir::WalkDir::new(root)
            .follow_links(self.walk.follow_links)
            .max_depth(max_depth)
            .sort_by(|a, b| a.file_name().cmp(b.file_name()))
            .into_iter()
            .filter_entry(move |e| hidden || e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b"."))
    }
}

fn input_file(path: PathBuf, meta: &std::fs::Metadata) -> InputFile {
    if !meta.is_file() {
        return InputFile { path, len: None, kind: FileKind::Special, spool: None, modified: None };
    }
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => FileKind::Gzip,
        Some("zst") => FileKind::Zstd,
        _ => FileKind::Regular,
    };
    let modified = meta.modified().ok().map(|t| match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    });
    InputFile { path, len: Some(meta.len()), kind, spool: None, modified }
}

fn walk_error(root: &Path, err: walkdir::Error) -> Error {
    let path = err.path().unwrap_or(root).to_path_buf();
    match err.into_io_error() {
        Some(io) => Error::io(&path, io).context("cannot walk directory"),
        None => Error::new(ErrorKind::Io, "symbolic link loop").with_path(path),
    }
}

fn is_glob_arg(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Include/exclude filters over paths relative to a walked directory.
struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filter {
    fn new(walk: &WalkOptions) -> Result<Filter> {
        Ok(Filter { include: build_set(&walk.include)?, exclude: build_set(&walk.exclude)? })
    }

    fn is_active(&self) -> bool {
        self.include.is_some() || self.exclude.is_some()
    }

    /// A pattern without `/` matches the file name; one with `/` the relative path.
    fn keeps(&self, rel: &Path) -> bool {
        let name = rel.file_name().map(Path::new).unwrap_or(rel);
        let hit = |set: &GlobSet| set.is_match(rel) || set.is_match(name);
        self.include.as_ref().is_none_or(hit) && !self.exclude.as_ref().is_some_and(hit)
    }
}

fn build_set(globs: &[String]) -> Result<Option<GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| Error::new(ErrorKind::Config, format!("bad glob `{g}`")).with_source(e))?;
        builder.add(glob);
    }
    builder.build().map(Some).map_err(|e| Error::new(ErrorKind::Config, "bad globs").with_source(e))
}

/// Things that name input files: a path, a list of paths, or [`Inputs`].
pub trait IntoInputs {
    /// The inputs.
    fn into_inputs(self) -> Inputs;
}

impl IntoInputs for Inputs {
    fn into_inputs(self) -> Inputs {
        self
    }
}

impl IntoInputs for &Inputs {
    fn into_inputs(self) -> Inputs {
        self.clone()
    }
}

macro_rules! into_inputs_one {
    ($($t:ty),*) => {$(
        impl IntoInputs for $t {
            fn into_inputs(self) -> Inputs {
                Inputs::new([self])
            }
        }
    )*};
}
into_inputs_one!(&str, String, &String, &Path, PathBuf, &PathBuf);

impl<P: AsRef<Path>> IntoInputs for Vec<P> {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

impl<P: AsRef<Path>> IntoInputs for &Vec<P> {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

impl<P: AsRef<Path>> IntoInputs for &[P] {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

impl<P: AsRef<Path>, const N: usize> IntoInputs for [P; N] {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join(".hidden")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        for f in ["a.log", "b/x.log", "b/c/y.txt", "b/c/z.log", ".hidden/h.log", "b/.dot.log"] {
            fs::write(root.join(f), f).unwrap();
        }
        dir
    }

    fn names(files: &[InputFile], root: &Path) -> Vec<String> {
        files.iter().map(|f| f.path.strip_prefix(root).unwrap().display().to_string()).collect()
    }

    #[test]
    fn walks_directories_sorted_skipping_hidden() {
        let dir = tree();
        let files = Inputs::new([dir.path()]).expand().unwrap();
        assert_eq!(names(&files, dir.path()), ["a.log", "b/c/y.txt", "b/c/z.log", "b/x.log"]);
        let all = Inputs::new([dir.path()]).hidden(true).expand().unwrap();
        assert_eq!(all.len(), 6);
    }

    #[test]
    fn filters_apply_to_walks_not_to_named_files() {
        let dir = tree();
        let logs = Inputs::new([dir.path()]).include("*.log").exclude("b/c/**").expand().unwrap();
        assert_eq!(names(&logs, dir.path()), ["a.log", "b/x.log"]);
        let named = Inputs::new([dir.path().join("b/c/y.txt")]).include("*.log").expand().unwrap();
        assert_eq!(named.len(), 1);
    }

    #[test]
    fn globs_expand_and_dedupe() {
        let dir = tree();
        let pattern = format!("{}/b/**/*.log", dir.path().display());
        let files = Inputs::new([pattern.as_str(), pattern.as_str()]).expand().unwrap();
        assert_eq!(names(&files, dir.path()), ["b/c/z.log", "b/x.log"]);
        let shallow = format!("{}/b/*.log", dir.path().display());
        let files = Inputs::new([shallow]).expand().unwrap();
        assert_eq!(names(&files, dir.path()), ["b/x.log"]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dir = tree();
        let missing = Inputs::new([dir.path().join("nope.txt")]).expand().unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert!(missing.to_string().contains("nope.txt"), "{missing}");
        let empty = Inputs::new([dir.path().join("empty")]).expand().unwrap_err();
        assert_eq!(empty.kind(), ErrorKind::NoInput);
        assert!(empty.to_string().contains("empty"), "{empty}");
        let glob = Inputs::new([format!("{}/*.csv", dir.path().display())]).expand().unwrap_err();
        assert_eq!(glob.kind(), ErrorKind::NoInput);
        assert!(glob.to_string().contains("glob"), "{glob}");
        let none = Inputs::new(Vec::<String>::new()).expand().unwrap_err();
        assert_eq!(none.kind(), ErrorKind::NoInput);
    }

    #[test]
    fn issue_18_12_a_missing_spool_is_an_error_naming_it_and_standard_input() {
        let spool = PathBuf::from("/nonexistent/shoal-stdin-gone");
        let input = InputFile {
            path: PathBuf::from("-"),
            len: Some(3),
            kind: FileKind::Regular,
            spool: Some(spool),
            modified: None,
        };
        let err = input.open().unwrap_err();
        assert_eq!(err.path(), Some(Path::new("-")));
        let text = err.to_string();
        assert!(text.contains("/nonexistent/shoal-stdin-gone") && text.contains("standard input"), "{text}");
    }

    #[test]
    fn compressed_files_are_streams() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.log.gz"), b"").unwrap();
        fs::write(dir.path().join("b.zst"), b"").unwrap();
        let files = Inputs::new([dir.path()]).expand().unwrap();
        let kinds: Vec<_> = files.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FileKind::Gzip, FileKind::Zstd]);
    }
}
