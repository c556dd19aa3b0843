//! Rate-limit checks against a local Redis (started here: Debian's `redis-server`), beside the in-memory
//! store in the same run: one round trip per check, and a pipelined batch of 32.

#![allow(missing_docs)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vana_config::{Backend, FailureMode};
use vana_security::{MemoryStore, RateLimitStore, RedisBackend, RedisStore};

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> (Redis, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args([
            "--dir",
            std::env::temp_dir().to_str().unwrap(),
            "--dbfilename",
            &format!("vana-bench-{port}.rdb"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server: install Debian's `redis-server` package");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    (Redis(child), port)
}

fn bench_redis(c: &mut Criterion) {
    let (_redis, port) = start_redis();
    let mut config = Backend::default();
    config.on_failure = FailureMode::FailOpen;
    config.command_timeout_ms = 1000;
    let backend = Arc::new(RedisBackend::new(&config, &format!("redis://127.0.0.1:{port}/")).unwrap());
    let store = RedisStore::new(Arc::clone(&backend), MemoryStore::new(16));
    let memory = MemoryStore::new(1_000_000);
    let quota = quota(u32::MAX, Duration::from_secs(1), u32::MAX);
    let keys: Vec<String> = (0..10_000).map(|n| format!("client-{n}")).collect();
    let mut group = c.benchmark_group("rate_limit_check");
    let mut n = 0;
    group.bench_function("memory store", |b| {
        b.iter(|| {
            n = (n + 1) % keys.len();
            memory.check(&keys[n], &quota)
        })
    });
    group.bench_function("redis, one round trip", |b| {
        b.iter(|| {
            n = (n + 1) % keys.len();
            store.check(&keys[n], &quota)
        })
    });
    let batch: Vec<&str> = keys.iter().take(32).map(String::as_str).collect();
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("redis, pipelined batch of 32", |b| b.iter(|| store.check_batch(&batch, &quota)));
    group.finish();
    assert_eq!(backend.status().fallbacks, 0, "every check reached Redis");
}

criterion_group!(benches, bench_redis);
criterion_main!(benches);

/// A quota from plain counts (each at least 1).
fn quota(limit: u32, window: std::time::Duration, burst: u32) -> vana_security::Quota {
    let count = |n: u32| std::num::NonZeroU32::new(n).expect("a count of at least 1");
    vana_security::Quota::new(count(limit), window, count(burst))
}
