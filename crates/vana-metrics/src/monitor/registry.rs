//! The series registry: series by the hash of their name and tags, interned strings, the series cap.

use super::*;

/// Every series, and what the cap on them dropped.
pub(super) struct SeriesRegistry {
    pub(super) table: RwLock<Registry>,
    pub(super) count: AtomicUsize,
    pub(super) dropped_samples: AtomicU64,
    pub(super) hasher: RandomState,
}

pub(super) struct Registry {
    /// Series by the hash of their name and tags; a chain covers collisions.
    // The keys are already SipHash values under a random key: hashing them again would be wasted work.
    pub(super) by_hash: HashMap<u64, Vec<Arc<Series>>, nohash_hasher::BuildNoHashHasher<u64>>,
    /// Interned strings.
    pub(super) strings: HashSet<Arc<str>>,
}

impl Inner {
    pub(super) fn intern(strings: &mut HashSet<Arc<str>>, text: &str) -> Arc<str> {
        if let Some(existing) = strings.get(text) {
            return Arc::clone(existing);
        }
        let interned: Arc<str> = Arc::from(text);
        if strings.len() < MAX_INTERNED {
            strings.insert(Arc::clone(&interned));
        }
        interned
    }

    pub(super) fn series(&self, name: &str, unit: &str, tags: &[(&str, &str)]) -> Option<Arc<Series>> {
        // Sort the tags on the stack: no allocation on the lookup path.
        let mut sorted: [(&str, &str); MAX_TAGS] = [("", ""); MAX_TAGS];
        let count = tags.len().min(MAX_TAGS);
        sorted[..count].copy_from_slice(&tags[..count]);
        let sorted = &mut sorted[..count];
        sorted.sort_unstable();
        let mut hasher = self.series.hasher.build_hasher();
        name.hash(&mut hasher);
        sorted.hash(&mut hasher);
        let hash = hasher.finish();
        let matches = |series: &&Arc<Series>| {
            &*series.name == name
                && series.tags.len() == sorted.len()
                && series.tags.iter().zip(sorted.iter()).all(|((k, v), (sk, sv))| &**k == *sk && &**v == *sv)
        };
        if let Some(found) =
            self.series.table.read().by_hash.get(&hash).and_then(|chain| chain.iter().find(matches))
        {
            return Some(Arc::clone(found));
        }
        let mut registry = self.series.table.write();
        if let Some(found) = registry.by_hash.get(&hash).and_then(|chain| chain.iter().find(matches)) {
            return Some(Arc::clone(found));
        }
        if self.series.count.load(Ordering::Relaxed) >= self.options.max_series {
            return None;
        }
        let strings = &mut registry.strings;
        let name = Self::intern(strings, name);
        let unit = Self::intern(strings, unit);
        let tags: Tags = sorted
            .iter()
            .map(|(key, value)| (Self::intern(strings, key), Self::intern(strings, value)))
            .collect();
        let bounds = if name.starts_with(RESPONSE_TIME_PREFIX) {
            Some(Arc::clone(&self.options.histogram_buckets))
        } else {
            crate::families::standard_histogram(&name).map(|standard| Arc::from(standard.bounds))
        };
        // Counters are exported as the sum of their values.
        let keeps_sum = name.starts_with(vana_config::metric_names::ERRORS_PREFIX) || &*unit == "count";
        let capacity = self.options.max_samples_per_series;
        let series = Arc::new(Series::new(name, tags, unit, capacity, bounds, keeps_sum));
        registry.by_hash.entry(hash).or_default().push(Arc::clone(&series));
        self.series.count.fetch_add(1, Ordering::Relaxed);
        Some(series)
    }

    pub(super) fn series_named(&self, name: &str) -> Vec<Arc<Series>> {
        self.series
            .table
            .read()
            .by_hash
            .values()
            .flatten()
            .filter(|series| &*series.name == name)
            .cloned()
            .collect()
    }
}
