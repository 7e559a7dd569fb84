//! Ending a leader: its workers are told the job's exit status and to exit
//! (their sockets close) and reaped, and ones that never connected are
//! killed.

use super::{Event, Leader};
use crate::exec::process::protocol::{self, ToWorker};
use crate::signals;
use crate::transport::frame;
use std::time::{Duration, Instant};

impl Leader {
    /// Records the job's exit status, which every worker (every rank of a
    /// cluster launch) is sent when the leader ends and exits with.
    pub(crate) fn set_exit_status(&self, status: u8) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).exit_status = status;
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        // A panicking program has no status set: its workers fail too.
        let status = if std::thread::panicking() { 101 } else { state.exit_status };
        let end = protocol::encode(&ToWorker::End { status }).unwrap_or_default();
        // Workers whose handshake finished but was not yet seen: spawned ones
        // are reaped below; others (a rank that joined after the last split
        // was handed out, or a job with nothing to read) are told the end
        // here.
        while let Ok(event) = state.events.try_recv() {
            if let Event::Joined { id, mut writer, .. } = event {
                match state.slots.get_mut(id) {
                    Some(slot) if slot.writer.is_none() && state.scheduler.is_known(id) => slot.writer = Some(writer),
                    _ => {
                        let _ = frame::write_frame(&mut writer, &end);
                        let _ = writer.shutdown();
                    }
                }
            }
        }
        // Closing a socket tells its worker to exit; give those a moment. A
        // worker that never connected has nothing to finish: kill it now
        // rather than wait for it to connect to a leader that is leaving.
        let mut connected = Vec::new();
        for slot in &mut state.slots {
            match slot.writer.take() {
                Some(mut w) => {
                    let _ = frame::write_frame(&mut w, &end);
                    let _ = w.shutdown();
                    connected.push(true);
                }
                None => connected.push(false),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for (slot, connected) in state.slots.iter_mut().zip(connected) {
            if let Some(child) = &mut slot.child {
                if !connected {
                    let _ = child.kill();
                }
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                        Ok(None) => {
                            let _ = child.kill();
                            let _ = child.wait();
                            break;
                        }
                    }
                }
                signals::forget_child(child.id());
            }
        }
    }
}
