//! The open-file limit: a farm's translator or proxy holds one socket per device, far more
//! than the usual soft limit of 1024, so the roles raise the soft limit to the hard one.

/// Raises this process's soft limit on open files to its hard limit; returns the limit now in
/// force (None where there is no such limit or it cannot be read).
#[cfg(unix)]
pub fn raise_open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by reference.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is 32 bits on some targets
    Some(lim.rlim_cur as u64)
}

/// Raises this process's soft limit on open files to its hard limit (not on this platform).
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_one() {
        let now = super::raise_open_files_limit().expect("a limit on unix");
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes the struct passed by reference.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
        #[allow(clippy::unnecessary_cast)] // rlim_t is 32 bits on some targets
        let max = lim.rlim_max as u64;
        assert_eq!(now, max);
    }
}
