//! The CPU priority of the threads doing bulk work.
//!
//! With `http.api_bind` the API has worker threads of its own, but on a saturated core they
//! still take turns with the redirect workers and the click flusher, and a webhook waits out
//! their time slices at each of its Redis round trips. Those bulk threads therefore lower
//! their own priority by `http.redirect_nice` nice steps: the kernel then runs a woken API
//! thread first and gives it the larger share while both want the core. Nothing changes on a
//! core with room to spare, and the redirect workers and the flusher keep the same share
//! between them, so counting keeps pace with redirects as before.
//!
//! Lowering one's own priority needs no privilege (raising the API's would).

/// Sets the calling thread's CPU priority `steps` nice steps below the main thread's (to at
/// most 19, the lowest).
///
/// Linux keeps a nice value per thread, so this changes only the caller. It is measured from
/// the main thread, not from the caller's own value, so calling it again changes nothing (an
/// HTTP worker builds its services again after one fails). Elsewhere it does nothing: other
/// systems keep one nice value for the whole process.
///
/// # Errors
///
/// When a priority cannot be read or set.
#[cfg(target_os = "linux")]
pub fn set_this_thread_below_main(steps: u8) -> std::io::Result<()> {
    use rustix::{process, thread};
    let main = process::getpriority_process(Some(process::getpid()))?;
    let target = main.saturating_add(i32::from(steps)).min(NICEST);
    process::setpriority_process(Some(thread::gettid()), target)?;
    Ok(())
}

/// As on Linux, but a no-op: the nice value is the whole process's here.
///
/// # Errors
///
/// Never.
#[cfg(not(target_os = "linux"))]
pub fn set_this_thread_below_main(_steps: u8) -> std::io::Result<()> {
    Ok(())
}

/// The lowest priority a nice value gives.
#[cfg(target_os = "linux")]
const NICEST: i32 = 19;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn main_nice() -> i32 {
        rustix::process::getpriority_process(Some(rustix::process::getpid())).unwrap()
    }

    fn this_thread_nice() -> std::io::Result<i32> {
        Ok(rustix::process::getpriority_process(Some(
            rustix::thread::gettid(),
        ))?)
    }

    #[test]
    fn a_thread_is_set_below_the_main_thread_once_however_often_it_asks_and_others_keep_theirs() {
        let before = this_thread_nice().unwrap();

        let lowered = std::thread::spawn(|| {
            set_this_thread_below_main(3).unwrap();
            set_this_thread_below_main(3).unwrap();
            this_thread_nice().unwrap()
        })
        .join()
        .unwrap();

        assert_eq!(lowered, (main_nice() + 3).min(NICEST));
        assert_eq!(
            this_thread_nice().unwrap(),
            before,
            "the caller's thread is untouched"
        );
    }

    #[test]
    fn a_thread_is_never_set_past_the_lowest_priority_and_zero_steps_keep_the_main_threads() {
        let (level, lowest) = std::thread::spawn(|| {
            set_this_thread_below_main(0).unwrap();
            let level = this_thread_nice().unwrap();
            set_this_thread_below_main(19).unwrap();
            (level, this_thread_nice().unwrap())
        })
        .join()
        .unwrap();

        assert_eq!(level, main_nice());
        assert_eq!(lowest, NICEST);
    }
}
