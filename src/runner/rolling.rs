//! The rolling part: batch by batch, the leader deferred by the policy,
//! each host's turn in order, and a node that a failure leaves out of
//! service brought back before the roll stops.

use std::time::Instant;

use super::step::Outcome;
use super::{Policy, Runner};
use crate::event::{Event, HostStatus};
use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::plan::{Step, TaskInfo};
use crate::tasks::Effect;

impl<T: Transport, P: Policy> Runner<'_, T, P> {
    pub(super) async fn rolling(&mut self, r: &crate::plan::Rolling) -> bool {
        (self.emit)(Event::StageStarted {
            name: "rolling".into(),
        });
        let mut failures = 0u32;
        let total = r.batches.len();
        let serial = r.serial.max(1) as usize;
        // A resumed run keeps the order decided before: the host left
        // part-way comes first, hosts already done are passed over.
        let mut pending: Vec<String> = match &self.o.resume {
            Some(res) if !res.order.is_empty() => res
                .order
                .iter()
                .filter(|h| r.hosts.contains(h))
                .cloned()
                .collect(),
            _ => r.hosts.clone(),
        };
        if let Some(res) = &self.o.resume {
            let all_done = |h: &String| {
                r.tasks.iter().all(|t| {
                    res.finished
                        .contains(&crate::plan::step_key(h, t.id.as_str()))
                })
            };
            let (finished, left): (Vec<String>, Vec<String>) =
                pending.into_iter().partition(|h| all_done(h));
            self.done.extend(finished);
            pending = left;
        }
        // Batches keep their numbers across a resume.
        let mut index = (r.hosts.len() - pending.len()).div_ceil(serial);
        while !pending.is_empty() {
            index += 1;
            let take = serial.min(pending.len());
            if r.leader_last {
                // Re-decided before every batch: leadership moves when
                // nodes restart, and whoever leads now goes last.
                let last = self.policy.goes_last(&self.probe_exec()).await;
                let deferred = last
                    .as_deref()
                    .is_some_and(|h| crate::plan::defer(&mut pending, take, h));
                (self.emit)(Event::Leader {
                    host: last,
                    deferred,
                });
                // The order a resume must keep.
                let _ = self.durable.durable().await;
            }
            let batch: Vec<String> = pending.drain(..take).collect();
            (self.emit)(Event::BatchStarted {
                index,
                total: total.max(index),
                hosts: batch.clone(),
            });
            let this = &*self;
            let batch_ref = &batch;
            let results: Vec<(String, bool)> =
                futures_util::future::join_all(batch.iter().map(|h| async move {
                    let ok = this.host_turn(r, h, batch_ref).await;
                    (this.emit)(Event::HostFinished {
                        host: h.clone(),
                        status: if ok {
                            HostStatus::Ok
                        } else {
                            HostStatus::Failed
                        },
                    });
                    (h.clone(), ok)
                }))
                .await;
            if self.interrupted.get() {
                // Stopped between steps: hosts part-way are neither done nor failed.
                self.done
                    .extend(results.into_iter().filter(|(_, ok)| *ok).map(|(h, _)| h));
                return false;
            }
            for (h, ok) in results {
                if ok {
                    self.done.push(h);
                } else {
                    failures += 1;
                    self.failed.push(h);
                }
            }
            if failures > r.max_failures {
                return false;
            }
        }
        failures == 0
    }

    /// One host's rolling steps, in order. From the moment a step takes
    /// the node out of service until a step puts it back, a failure does
    /// not leave it down: the host's own bring-back steps run (unless
    /// `--no-recover`), and a halt request waits until the node is back.
    async fn host_turn(&self, r: &crate::plan::Rolling, h: &str, batch: &[String]) -> bool {
        let steps = &r.steps[h];
        let back_at = crate::plan::back_at(steps);
        let mut out = false;
        for (i, (task, step)) in r.tasks.iter().zip(steps).enumerate() {
            // A halt between steps must not strand a stopped node: while it
            // is out, the turn goes on until the node is back.
            let was_out = out;
            if step.effect() == Effect::TakesOut {
                out = true;
            }
            match self.step(task, step, batch, was_out).await {
                Outcome::Ok => {
                    if Some(i) == back_at {
                        out = false;
                    }
                }
                Outcome::Halted => return false,
                Outcome::Failed => {
                    if out {
                        self.recover(r, h, task, batch).await;
                    }
                    return false;
                }
            }
        }
        true
    }

    /// Brings a node back after a failure left it out of service: its
    /// planned bring-back and confirming steps, run again regardless of a
    /// halt or an earlier run. On success the checkpoint forgets the
    /// host's turn (a resume starts it over from its gate); on failure the
    /// node is named as down, loudly.
    async fn recover(
        &self,
        r: &crate::plan::Rolling,
        h: &str,
        failed: &TaskInfo,
        batch: &[String],
    ) {
        let back: Vec<(&TaskInfo, &Step)> = r
            .tasks
            .iter()
            .zip(&r.steps[h])
            .filter(|(_, s)| matches!(s.effect(), Effect::BringsBack | Effect::Confirms))
            .collect();
        // Whatever happens next, the host's turn starts over on a resume:
        // its stop is no longer "done" once the node may have been started
        // (here or by hand), so no step of the turn runs on a node in an
        // unknown state. Every step of a turn checks before it acts.
        let reset: Vec<String> = r.tasks.iter().map(|t| t.id.to_string()).collect();
        if !self.o.recover || back.is_empty() {
            self.left_down.borrow_mut().push(h.to_string());
            (self.emit)(Event::RecoveryFinished {
                host: h.to_string(),
                ok: false,
                ms: 0,
                message: if self.o.recover {
                    "the playbook has no step that brings this node back".into()
                } else {
                    "--no-recover: left as it is".into()
                },
                tail: Vec::new(),
                reset,
            });
            return;
        }
        // A node that serves needs no bringing back (a verify that failed
        // on its log, not on the node): the failure stands, the node is
        // not down.
        if self.o.recover && self.policy.in_service(&self.host_exec(h)).await {
            self.recovered.borrow_mut().push(h.to_string());
            (self.emit)(Event::RecoveryFinished {
                host: h.to_string(),
                ok: true,
                ms: 0,
                message: format!(
                    "still in service after `{}` failed: nothing to bring back",
                    failed.id
                ),
                tail: Vec::new(),
                reset,
            });
            return;
        }
        (self.emit)(Event::RecoveryStarted {
            host: h.to_string(),
            after: failed.id.to_string(),
            steps: back.iter().map(|(t, _)| t.id.to_string()).collect(),
        });
        let t0 = Instant::now();
        let mut result = Ok(());
        for (task, step) in &back {
            if let Err(e) = self.attempts(task, step, batch, true).await {
                result = Err(e);
                break;
            }
        }
        // The bring-back steps may fail on stricter checks (a verify's log
        // scan) while the node serves again: in service is what counts.
        let serves = match &result {
            Ok(()) => true,
            Err(_) => self.policy.in_service(&self.host_exec(h)).await,
        };
        let ms = t0.elapsed().as_millis() as u64;
        let event = if serves {
            self.recovered.borrow_mut().push(h.to_string());
            Event::RecoveryFinished {
                host: h.to_string(),
                ok: true,
                ms,
                message: match &result {
                    Ok(()) => format!("back in service after `{}` failed", failed.id),
                    Err(e) => format!(
                        "back in service after `{}` failed, though its check still fails: {}",
                        failed.id, e.message
                    ),
                },
                tail: Vec::new(),
                reset,
            }
        } else {
            self.left_down.borrow_mut().push(h.to_string());
            let e = result
                .err()
                .unwrap_or_else(|| StepError::new("not in service"));
            Event::RecoveryFinished {
                host: h.to_string(),
                ok: false,
                ms,
                message: e.message,
                tail: e.tail,
                reset,
            }
        };
        (self.emit)(event);
        // The turn that starts over is a decision a resume must know.
        let _ = self.durable.durable().await;
    }

    /// A read-only context on host `h`, for the policy's look at it.
    fn host_exec(&self, h: &str) -> Exec<'_, T> {
        Exec::read_only(
            self.t,
            self.host(h),
            &self.plan.hosts,
            "recovery",
            std::time::Duration::from_secs(10),
            &self.facts,
        )
    }
}
