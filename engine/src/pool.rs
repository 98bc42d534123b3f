//! Slow calls off the worker thread: a job pool and the timely operator over it.
//!
//! A worker thread must never block on decoding, a model or an HTTP request:
//! it also moves other operators' data and progress. [`JobPool`] runs jobs on
//! its own threads and wakes the submitting operator through a callback;
//! [`pooled_map`] is the operator: it exchanges items to their worker, holds
//! each item's capability while its job runs, and emits the result under it.

use std::collections::HashMap;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use timely::ExchangeData;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;

/// A fixed set of threads running submitted jobs; results come back tagged.
pub struct JobPool<J, R> {
    jobs: Option<Sender<(u64, J)>>,
    results: Receiver<(u64, R)>,
    threads: Vec<JoinHandle<()>>,
}

impl<J: Send + 'static, R: Send + 'static> JobPool<J, R> {
    /// Starts `threads` threads named `name`; `wake` is called after each result.
    pub fn new<W, F>(threads: usize, name: &str, wake: W, work: F) -> Self
    where
        W: Fn() + Send + Sync + 'static,
        F: Fn(J) -> R + Send + Sync + 'static,
    {
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<(u64, J)>();
        let (res_tx, res_rx) = crossbeam_channel::unbounded();
        let work = std::sync::Arc::new(work);
        let wake = std::sync::Arc::new(wake);
        let threads = (0..threads.max(1))
            .map(|i| {
                let (job_rx, res_tx, work, wake) =
                    (job_rx.clone(), res_tx.clone(), work.clone(), wake.clone());
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        for (id, job) in job_rx {
                            if res_tx.send((id, work(job))).is_err() {
                                break;
                            }
                            wake();
                        }
                    })
                    .expect("the OS can start a pool thread")
            })
            .collect();
        Self {
            jobs: Some(job_tx),
            results: res_rx,
            threads,
        }
    }

    /// Queues a job.
    pub fn submit(&self, id: u64, job: J) {
        self.jobs
            .as_ref()
            .expect("pool open until dropped")
            .send((id, job))
            .expect("pool threads outlive the pool");
    }

    /// A finished job's result, if any is ready.
    pub fn try_recv(&self) -> Option<(u64, R)> {
        self.results.try_recv().ok()
    }
}

impl<J, R> Drop for JobPool<J, R> {
    fn drop(&mut self) {
        self.jobs.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Routes each item to a worker by `route`, runs `work` on it in a pool of
/// `threads` threads per worker, and emits the results at the item's time.
///
/// The operator holds a capability for every job in flight, so downstream
/// frontiers wait for the results; the pool wakes the operator when one is
/// ready, so the worker keeps stepping meanwhile.
pub fn pooled_map<'s, D, R, F, H>(
    stream: StreamVec<'s, u64, D>,
    name: &str,
    threads: usize,
    route: H,
    work: F,
) -> StreamVec<'s, u64, R>
where
    D: ExchangeData,
    R: 'static + Send,
    F: Fn(D) -> R + Send + Sync + 'static,
    H: Fn(&D) -> u64 + 'static,
{
    let worker = stream.scope().worker();
    let pool_name = name.to_string();
    stream.unary_frontier::<CapacityContainerBuilder<Vec<R>>, _, _, _>(
        Exchange::new(move |d: &D| route(d)),
        name,
        move |_cap, info| {
            let activator = worker.sync_activator_for(info.address.to_vec());
            let pool = JobPool::new(
                threads,
                &pool_name,
                move || {
                    // The operator may be gone at shutdown; nothing to wake then.
                    let _ = activator.activate();
                },
                work,
            );
            let mut held: HashMap<u64, Capability<u64>> = HashMap::new();
            let mut next_id = 0u64;
            move |(input, _frontier), output| {
                let port = output.output_index();
                input.for_each(|cap, data| {
                    for item in data.drain(..) {
                        let c = cap
                            .retain_least(port)
                            .expect("u64 stamps have a least time");
                        held.insert(next_id, c);
                        pool.submit(next_id, item);
                        next_id += 1;
                    }
                });
                while let Some((id, result)) = pool.try_recv() {
                    let cap = held.remove(&id).expect("every result answers a held job");
                    output.session(&cap).give(result);
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use timely::dataflow::InputHandle;
    use timely::dataflow::channels::pact::Pipeline;
    use timely::dataflow::operators::{Input, Probe};

    #[test]
    fn every_item_comes_back_once_on_any_number_of_workers() {
        for workers in [1, 3] {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let sink = seen.clone();
            timely::execute(timely::Config::process(workers), move |worker| {
                let mut input = InputHandle::new();
                let sink = sink.clone();
                let probe = worker.dataflow(|scope| {
                    let stream = scope.input_from(&mut input).container::<Vec<u64>>();
                    let doubled = pooled_map(
                        stream,
                        "double",
                        2,
                        |x: &u64| *x,
                        |x: u64| {
                            std::thread::sleep(std::time::Duration::from_millis(x % 3));
                            x * 2
                        },
                    );
                    let (probe, doubled) = doubled.probe();
                    doubled.sink(Pipeline, "collect", move |(input, _)| {
                        input.for_each(|_, data| sink.lock().unwrap().extend(data.drain(..)));
                    });
                    probe
                });
                if worker.index() == 0 {
                    for round in 0..4u64 {
                        for i in 0..25 {
                            input.send(round * 25 + i);
                        }
                        input.advance_to(round + 1);
                    }
                }
                input.close();
                while !probe.done() {
                    worker.step_or_park(Some(std::time::Duration::from_millis(5)));
                }
            })
            .unwrap();
            let mut got = seen.lock().unwrap().clone();
            got.sort_unstable();
            assert_eq!(
                got,
                (0..100).map(|x| x * 2).collect::<Vec<_>>(),
                "workers={workers}"
            );
        }
    }
}
