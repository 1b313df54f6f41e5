//! NVIDIA's CUDA libraries from Python wheels, for a CUDA build installed
//! with pip (`pip install "dlp-pipelines-cuda[cu13]"`).
//!
//! The `nvidia-*` wheels that PyTorch also uses (`nvidia-cublas`,
//! `nvidia-curand`, `nvidia-cuda-nvrtc`, `nvidia-cudnn-cu13`) unpack their
//! shared libraries into `site-packages/nvidia/<name>/lib` (`nvidia/cu13/lib`,
//! `nvidia/cudnn/lib`), a folder the dynamic loader does not search. Before
//! the CUDA device is opened, [`preload`] looks for those folders in the
//! Python environment this `dlp` was installed into (the folder above the
//! executable's `bin/`), then in `$VIRTUAL_ENV` and `$CONDA_PREFIX`, and
//! opens each library it finds there by its full path (`dlopen`,
//! `RTLD_GLOBAL`), as PyTorch does. cudarc's later `dlopen` of the bare
//! soname (`libcublas.so.13`) then gets the library already loaded.
//! Libraries found in no wheel are left to the dynamic loader:
//! `LD_LIBRARY_PATH`, the `ldconfig` cache (a system CUDA). The driver,
//! `libcuda.so.1`, always comes from the system.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The CUDA 13 libraries a wheel may provide, in the order they are
/// opened (cuBLASLt before cuBLAS, which needs it).
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) const SONAMES: [&str; 5] = [
    "libcublasLt.so.13",
    "libcublas.so.13",
    "libcurand.so.10",
    "libnvrtc.so.13",
    "libcudnn.so.9",
];

/// The `site-packages/nvidia/*/lib` folders of the Python environments
/// where a pip-installed `dlp` at `exe` looks, first found first: the
/// environment holding `exe` (`<prefix>/bin/dlp`), then those `env` names
/// in `VIRTUAL_ENV` and `CONDA_PREFIX`. Each environment's
/// `lib/python3.*/site-packages` (and `lib64`, and Debian's `dist-packages`)
/// is searched; the folders of one environment come in name order.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) fn lib_dirs(exe: &Path, env: impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let mut prefixes: Vec<PathBuf> = Vec::new();
    if let Some(prefix) = exe.parent().and_then(Path::parent) {
        prefixes.push(prefix.to_path_buf());
    }
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(value) = env(var).filter(|v| !v.is_empty()) {
            prefixes.push(PathBuf::from(value));
        }
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    for prefix in prefixes {
        for lib in ["lib", "lib64"] {
            for python in sorted_entries(&prefix.join(lib)) {
                let is_python = python
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("python3"));
                if !is_python {
                    continue;
                }
                for packages in ["site-packages", "dist-packages"] {
                    for wheel in sorted_entries(&python.join(packages).join("nvidia")) {
                        let dir = wheel.join("lib");
                        if dir.is_dir() && !dirs.contains(&dir) {
                            dirs.push(dir);
                        }
                    }
                }
            }
        }
    }
    dirs
}

/// The entries of `dir`, sorted; none where it cannot be read.
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(read) => read.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    entries.sort();
    entries
}

/// For each of `sonames`, the first of `dirs` that holds it.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) fn find<'a>(sonames: &[&'a str], dirs: &[PathBuf]) -> Vec<(&'a str, PathBuf)> {
    sonames
        .iter()
        .filter_map(|soname| {
            dirs.iter()
                .map(|dir| dir.join(soname))
                .find(|path| path.is_file())
                .map(|path| (*soname, path))
        })
        .collect()
}

/// Opens, once a process, the CUDA libraries found in the wheels of this
/// `dlp`'s Python environment (module docs). Returns what it tried: each
/// soname with its path and, where `dlopen` refused it, the loader's
/// message (that library is then looked for as if no wheel had it).
#[cfg(feature = "cuda")]
pub(crate) fn preload() -> &'static [(String, PathBuf, Option<String>)] {
    use std::sync::OnceLock;
    static LOADED: OnceLock<Vec<(String, PathBuf, Option<String>)>> = OnceLock::new();
    LOADED.get_or_init(|| {
        let Ok(exe) = std::env::current_exe() else {
            return Vec::new();
        };
        let dirs = lib_dirs(&exe, |var: &str| std::env::var_os(var));
        find(&SONAMES, &dirs)
            .into_iter()
            .map(|(soname, path)| {
                let refused = open_global(&path).err();
                (soname.to_string(), path, refused)
            })
            .collect()
    })
}

/// `dlopen(path, RTLD_NOW | RTLD_GLOBAL)`, never closed: the library stays
/// for the process, under its soname, for cudarc to find.
#[cfg(feature = "cuda")]
fn open_global(path: &Path) -> Result<(), String> {
    use std::ffi::{CStr, CString};
    use std::os::unix::ffi::OsStrExt;
    let name = CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a NUL-terminated path; the handle is deliberately leaked.
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns null or a NUL-terminated message.
        let message = unsafe { libc::dlerror() };
        return Err(if message.is_null() {
            "dlopen failed".to_string()
        } else {
            // SAFETY: non-null, NUL-terminated (above).
            unsafe { CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(path, b"").expect("write");
    }

    /// A venv laid out as pip lays out `dlp-pipelines-cuda[cu13]`: the binary in
    /// bin/, cuBLAS and NVRTC in nvidia/cu13/lib, cuDNN in nvidia/cudnn/lib
    /// (PyTorch 2.11's layout); a second environment named by VIRTUAL_ENV
    /// with another cuBLAS, which loses to the one next to the binary.
    #[test]
    fn finds_the_wheels_of_the_binarys_environment_first() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let venv = tmp.path().join("venv");
        let site = venv.join("lib/python3.12/site-packages/nvidia");
        touch(&venv.join("bin/dlp"));
        touch(&site.join("cu13/lib/libcublas.so.13"));
        touch(&site.join("cu13/lib/libcublasLt.so.13"));
        touch(&site.join("cu13/lib/libnvrtc.so.13"));
        touch(&site.join("cudnn/lib/libcudnn.so.9"));
        touch(&site.join("cudnn/include/cudnn.h"));
        let other = tmp.path().join("other");
        let other_site = other.join("lib/python3.11/site-packages/nvidia");
        touch(&other_site.join("cu13/lib/libcublas.so.13"));
        touch(&other_site.join("curand/lib/libcurand.so.10"));
        touch(&other.join("lib/perl5/site-packages/nvidia/x/lib/libcurand.so.10"));

        let env = |var: &str| (var == "VIRTUAL_ENV").then(|| other.clone().into_os_string());
        let dirs = lib_dirs(&venv.join("bin/dlp"), env);
        assert_eq!(
            dirs,
            vec![
                site.join("cu13/lib"),
                site.join("cudnn/lib"),
                other_site.join("cu13/lib"),
                other_site.join("curand/lib"),
            ]
        );
        let found = find(&SONAMES, &dirs);
        assert_eq!(
            found,
            vec![
                ("libcublasLt.so.13", site.join("cu13/lib/libcublasLt.so.13")),
                ("libcublas.so.13", site.join("cu13/lib/libcublas.so.13")),
                (
                    "libcurand.so.10",
                    other_site.join("curand/lib/libcurand.so.10")
                ),
                ("libnvrtc.so.13", site.join("cu13/lib/libnvrtc.so.13")),
                ("libcudnn.so.9", site.join("cudnn/lib/libcudnn.so.9")),
            ]
        );
    }

    /// A binary outside any Python environment (the release archive, a
    /// cargo install) finds no wheel folder and leaves every library to the
    /// dynamic loader; an empty VIRTUAL_ENV is no environment.
    #[test]
    fn outside_a_python_environment_finds_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        touch(&tmp.path().join("dlp-0.1.0/dlp"));
        let env = |var: &str| (var == "VIRTUAL_ENV").then(OsString::new);
        let dirs = lib_dirs(&tmp.path().join("dlp-0.1.0/dlp"), env);
        assert_eq!(dirs, Vec::<PathBuf>::new());
        assert!(find(&SONAMES, &dirs).is_empty());
    }
}
