//! Peak resident memory, from Linux's `/proc` (`VmHWM`); `None` where that is not available.

/// Resets this process's peak to its current resident size (Linux 4.0+), so that a phase's
/// peak is its own and not an earlier phase's.
pub(crate) fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory since it started or since [`reset_peak`], in bytes.
pub(crate) fn peak_of_self() -> Option<u64> {
    high_water_mark(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// Another process's peak resident memory, in bytes.
pub(crate) fn peak_of(pid: u32) -> Option<u64> {
    high_water_mark(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

fn high_water_mark(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_high_water_mark() {
        let status = "Name:\tevx\nVmPeak:\t  100 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(super::high_water_mark(status), Some(2048 * 1024));
        assert_eq!(super::high_water_mark("Name:\tevx\n"), None);
    }
}
