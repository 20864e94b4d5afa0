//! Work that outlives the request that started it (Batch Verify runs), on its own runtime so
//! long runs never occupy the HTTP workers' threads.

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct Background {
    jobs: mpsc::UnboundedSender<BoxFuture<'static, ()>>,
}

impl Background {
    /// Starts the runtime thread. It stops once every handle is dropped and its jobs finish
    /// (a process exit ends it sooner; Batch Verify marks such runs as interrupted).
    pub fn start() -> std::io::Result<Background> {
        let (jobs, mut rx) = mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("herald-background")
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("herald-background".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut running = tokio::task::JoinSet::new();
                    while let Some(job) = rx.recv().await {
                        running.spawn(job);
                        // Reap finished jobs so the set does not grow without bound.
                        while running.try_join_next().is_some() {}
                    }
                    while running.join_next().await.is_some() {}
                });
            })?;
        Ok(Background { jobs })
    }

    pub fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        if self.jobs.send(Box::pin(job)).is_err() {
            tracing::error!("background runtime has stopped; job dropped");
        }
    }
}
