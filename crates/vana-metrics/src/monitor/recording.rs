//! Recording: samples into series (with retention by age and count), response times, memory and CPU.

use super::*;

/// The metadata of one recorded sample, against the series' current metadata.
enum SampleMetadata {
    /// A plain sample: it carries none.
    None,
    /// The same as the series' current metadata.
    Unchanged,
    /// New metadata, from this sample on.
    Changed(Tags),
}

impl PerformanceMonitor {
    /// Records `value` of `name` with `tags`. Samples of a new series past `max_series` are dropped and
    /// counted ([`dropped_samples`](Self::dropped_samples)).
    pub fn record_metric(&self, name: &str, value: f64, unit: &str, tags: &[(&str, &str)]) {
        match self.inner.series(name, unit, tags) {
            Some(series) => self.inner.record_into(&series, value),
            None => {
                self.inner.series.dropped_samples.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records `value` with `metadata` (key/value pairs of this sample, as the specification's
    /// `PerformanceMetric.metadata`): stored once per change, not per sample, and returned by
    /// [`get_metrics`](Self::get_metrics).
    pub fn record_metric_with_metadata(
        &self,
        name: &str,
        value: f64,
        unit: &str,
        tags: &[(&str, &str)],
        metadata: &[(&str, &str)],
    ) {
        match self.inner.series(name, unit, tags) {
            Some(series) => self.inner.record_with_metadata(&series, value, metadata),
            None => {
                self.inner.series.dropped_samples.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records the duration of `operation` as `response_time.<operation>` in seconds, tagged with
    /// `success`, and feeds its error rate (`error_rate.<operation>`).
    pub fn record_response_time(
        &self,
        operation: &str,
        duration: Duration,
        success: bool,
        tags: &[(&str, &str)],
    ) {
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(tags.len() + 1);
        all.push(("success", if success { "true" } else { "false" }));
        all.extend(tags.iter().filter(|(key, _)| *key != "success"));
        self.record_metric(&metric_names::response_time(operation), duration.as_secs_f64(), "seconds", &all);
        self.record_outcome(operation, success);
    }

    /// Feeds one outcome of `operation` to its error rate (`error_rate.<operation>`) without a duration:
    /// for what ends well or badly without being a call of its own (a stream cut short).
    pub fn record_outcome(&self, operation: &str, success: bool) {
        let window = self.inner.errors.window(operation);
        if let Some(rate) = window.and_then(|window| window.observe(success, self.inner.clock.now_nanos())) {
            self.record_metric(&metric_names::error_rate(operation), rate, "percent", &[]);
        }
    }

    /// Records this process's resident and virtual memory (MB) and its share of system memory (percent)
    /// as `memory.<component>.rss`, `.vms` and `.percent`. Returns false where the process cannot be read.
    pub fn record_memory_usage(&self, component: &str) -> bool {
        let sample = self.inner.sampler.lock().as_mut().and_then(crate::collector::ProcessSampler::sample);
        let Some(sample) = sample else { return false };
        let memory_only = crate::collector::ProcessSample { cpu_percent: None, ..sample };
        crate::collector::record_process_sample(self, component, &memory_only);
        true
    }

    /// Records this process's CPU use since the previous call (percent of one core) as
    /// `cpu.<component>.usage`. Never sleeps; the first call records the use since the process started.
    pub fn record_cpu_usage(&self, component: &str) -> bool {
        let sample = self.inner.sampler.lock().as_mut().and_then(crate::collector::ProcessSampler::sample);
        match sample.and_then(|sample| sample.cpu_percent) {
            Some(cpu) => {
                self.record_metric(&metric_names::cpu_usage(component), cpu, "percent", &[]);
                true
            }
            None => false,
        }
    }

    /// This process as the standard process collector reports it; `None` where it cannot be read.
    pub fn process_stats(&self) -> Option<crate::collector::ProcessStats> {
        self.inner.stats_sampler.lock().as_mut().and_then(crate::collector::ProcessSampler::stats)
    }

    /// A handle on one operation's response times and error rate, for recording calls without lookups or
    /// allocation; `None` past `max_series`.
    pub fn operation(&self, operation: &str) -> Option<OperationHandle> {
        self.operation_with_tags(operation, &[])
    }

    /// [`operation`](Self::operation) whose response-time series also carry `tags` (the same series that
    /// [`record_response_time`](Self::record_response_time) with these tags records into).
    pub fn operation_with_tags(&self, operation: &str, tags: &[(&str, &str)]) -> Option<OperationHandle> {
        let name = metric_names::response_time(operation);
        let with_success = |success| {
            let mut all: Vec<(&str, &str)> = Vec::with_capacity(tags.len() + 1);
            all.push(("success", success));
            all.extend(tags.iter().filter(|(key, _)| *key != "success"));
            all
        };
        Some(OperationHandle {
            succeeded: self.series(&name, "seconds", &with_success("true"))?,
            failed: self.series(&name, "seconds", &with_success("false"))?,
            error_rate: self.series(&metric_names::error_rate(operation), "percent", &[])?,
            window: self.inner.errors.window(operation)?,
            operation: Arc::from(operation),
        })
    }

    /// The HTTP layer's handle on one route, method and status code: the series `response_time.<route>`
    /// tagged `http.request.method` and `http.response.status_code` (exported as the OpenTelemetry
    /// `http_server_request_duration_seconds`), and the route's error rate, which counts a call failed when
    /// it is recorded so (a 5xx). `None` past `max_series`.
    pub fn http_request(&self, route: &str, method: &str, status_code: &str) -> Option<OperationHandle> {
        let name = metric_names::response_time(route);
        let series = self.series(
            &name,
            "seconds",
            &[(crate::families::HTTP_METHOD_TAG, method), (crate::families::HTTP_STATUS_TAG, status_code)],
        )?;
        Some(OperationHandle {
            succeeded: series.clone(),
            failed: series,
            error_rate: self.series(&metric_names::error_rate(route), "percent", &[])?,
            window: self.inner.errors.window(route)?,
            operation: Arc::from(route),
        })
    }

    /// A handle on the series `name` with `tags`, for recording without lookups; `None` past `max_series`.
    pub fn series(&self, name: &str, unit: &str, tags: &[(&str, &str)]) -> Option<SeriesHandle> {
        self.inner
            .series(name, unit, tags)
            .map(|series| SeriesHandle { series, inner: Arc::clone(&self.inner) })
    }
}

impl Inner {
    /// Monotonic nanoseconds before which samples are past retention.
    pub(super) fn oldest_kept(&self, now: u64) -> u64 {
        now.saturating_sub(self.retention_nanos)
    }

    pub(super) fn nanos_of(&self, time: SystemTime) -> u64 {
        time.duration_since(self.clock.start_wall())
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }

    /// The clock now: directly for the system clock, through the trait otherwise.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        match &self.system_clock {
            Some(clock) => clock.now_nanos(),
            None => self.clock.now_nanos(),
        }
    }

    pub(super) fn record_into(&self, series: &Series, value: f64) {
        self.record_at(series, value, self.now());
    }

    /// Records with `metadata` for this sample: stored once per change, interned.
    pub(super) fn record_with_metadata(&self, series: &Series, value: f64, metadata: &[(&str, &str)]) {
        let metadata = &metadata[..metadata.len().min(MAX_TAGS)];
        let changed = !series.state.lock().metadata_is(metadata);
        let interned: Option<Tags> = changed.then(|| {
            let mut registry = self.series.table.write();
            metadata
                .iter()
                .map(|(k, v)| {
                    (Self::intern(&mut registry.strings, k), Self::intern(&mut registry.strings, v))
                })
                .collect()
        });
        let metadata = match interned {
            Some(new) => SampleMetadata::Changed(new),
            None => SampleMetadata::Unchanged,
        };
        self.record_full(series, value, self.now(), metadata);
    }

    pub(super) fn record_at(&self, series: &Series, value: f64, now: u64) {
        self.record_full(series, value, now, SampleMetadata::None);
    }

    fn record_full(&self, series: &Series, value: f64, now: u64, metadata: SampleMetadata) {
        // Metadata needs the lock, so that a change point and its sample get consistent indexes.
        let with_metadata =
            !matches!(metadata, SampleMetadata::None) || series.has_metadata.load(Ordering::Relaxed);
        if with_metadata {
            let mut state = series.state.lock();
            let index = series.ring.push(now, value);
            match metadata {
                SampleMetadata::Changed(new) => state.metadata.push_back((index, new)),
                SampleMetadata::Unchanged => {}
                // A plain sample after samples with metadata carries none.
                SampleMetadata::None => state.metadata.push_back((index, Arc::from(Vec::new()))),
            }
            state.prune_metadata(series.ring.kept().start);
            let current = state.metadata.back().is_some_and(|(_, current)| !current.is_empty());
            series.has_metadata.store(current, Ordering::Relaxed);
        } else {
            series.ring.push(now, value);
        }
        series.accumulate(value);
        let version = self.alerting.rules_version.load(Ordering::Acquire);
        if series.watch_version.load(Ordering::Acquire) != version || series.watched.load(Ordering::Relaxed) {
            self.run_alerts(series, value, now, version);
        }
    }
}
