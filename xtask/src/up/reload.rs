//! The service's side of the editing loop. The service reloads its asset
//! directory itself (inotify, and every `ASSET_RELOAD_INTERVAL`); `up`
//! learns how a reload went from the service's `/metrics`
//! (`asset_reloads_total` by outcome, docs/request-api.md) and says it.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::stack::shown;

/// How long `up` waits to see the service reload a changed copy: its
/// watcher reacts within a few hundred milliseconds.
pub const RELOAD_WAIT: Duration = Duration::from_secs(10);

/// How the service took a change of its asset directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reload {
    /// New agents are in force from the next turn.
    Replaced,
    /// The directory was read again and describes the same agents.
    Unchanged,
    /// The directory is invalid: the agents loaded before stay in force.
    Failed,
    /// No reload within [`RELOAD_WAIT`].
    NotSeen,
}

/// A change of the asset directory as `up` applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetUpdate {
    /// The paths of the copy written, created or removed.
    pub changed: Vec<String>,
    pub reload: Reload,
}

/// The service's `asset_reloads_total`, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadCounts {
    pub replaced: u64,
    pub unchanged: u64,
    pub failed: u64,
}

impl ReloadCounts {
    /// Reads them from Prometheus text (an outcome not counted yet is
    /// absent: zero).
    pub fn parse(metrics: &str) -> Self {
        let mut counts = Self::default();
        for line in metrics.lines() {
            let Some(labels) = line.strip_prefix("asset_reloads_total{") else {
                continue;
            };
            let value = line
                .rsplit(' ')
                .next()
                .and_then(|value| value.parse::<f64>().ok())
                .unwrap_or_default() as u64;
            for (outcome, slot) in [
                ("replaced", &mut counts.replaced),
                ("unchanged", &mut counts.unchanged),
                ("failed", &mut counts.failed),
            ] {
                if labels.contains(&format!("outcome=\"{outcome}\"")) {
                    *slot = value;
                }
            }
        }
        counts
    }

    /// The counts of the service at `api`, when it answers.
    pub async fn read(api: &str) -> Option<Self> {
        super::http_text(&format!("{api}/metrics"))
            .await
            .map(|text| Self::parse(&text))
    }

    /// The outcome of the reloads since `before`, the telling one first.
    fn since(self, before: Self) -> Option<Reload> {
        if self.failed > before.failed {
            Some(Reload::Failed)
        } else if self.replaced > before.replaced {
            Some(Reload::Replaced)
        } else if self.unchanged > before.unchanged {
            Some(Reload::Unchanged)
        } else {
            None
        }
    }
}

/// Waits for the service at `api` to reload after a change made when its
/// counts were `before`. A reload that found the agents unchanged may be
/// the periodic one that came first: the one of the change is given a
/// second more to tell otherwise.
pub async fn wait(api: &str, before: ReloadCounts) -> Reload {
    let deadline = Instant::now() + RELOAD_WAIT;
    let mut unchanged_since: Option<Instant> = None;
    loop {
        match ReloadCounts::read(api)
            .await
            .and_then(|now| now.since(before))
        {
            Some(Reload::Unchanged) => {
                let first = *unchanged_since.get_or_insert_with(Instant::now);
                if first.elapsed() >= Duration::from_secs(1) {
                    return Reload::Unchanged;
                }
            }
            Some(reload) => return reload,
            None => {}
        }
        if Instant::now() >= deadline {
            return match unchanged_since {
                Some(_) => Reload::Unchanged,
                None => Reload::NotSeen,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl AssetUpdate {
    /// What `up` prints: what was copied, then how the service took it.
    pub fn lines(&self, copy: &Path, service_log: &Path) -> [String; 2] {
        let files = match self.changed.len() {
            0..=4 => self.changed.join(", "),
            n => format!("{n} files"),
        };
        let reload = match self.reload {
            Reload::Replaced => "agents reloaded: the next turn uses them".to_owned(),
            Reload::Unchanged => "directory read again: the agents are the same".to_owned(),
            Reload::Failed => format!(
                "reload FAILED, the agents loaded before stay in force: see {}",
                shown(service_log)
            ),
            Reload::NotSeen => format!(
                "no reload seen within {} s: see {}",
                RELOAD_WAIT.as_secs(),
                shown(service_log)
            ),
        };
        [
            format!("assets: {files} copied to {}", shown(copy)),
            format!("self-service-agent: {reload}"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# TYPE asset_reloads_total counter
asset_reloads_total{outcome=\"unchanged\"} 4
asset_reloads_total{outcome=\"replaced\"} 2
# TYPE asset_reload_duration_seconds summary
asset_reload_duration_seconds{quantile=\"0.5\"} 0.004
http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"} 3
";

    #[test]
    fn the_reload_counts_are_read_by_outcome_and_an_absent_one_is_zero() {
        assert_eq!(
            ReloadCounts::parse(METRICS),
            ReloadCounts {
                replaced: 2,
                unchanged: 4,
                failed: 0
            }
        );
    }

    #[test]
    fn a_failed_reload_tells_more_than_a_replacement_and_that_than_no_change() {
        let before = ReloadCounts::parse(METRICS);
        let mut now = before;
        assert_eq!(now.since(before), None);
        now.unchanged += 1;
        assert_eq!(now.since(before), Some(Reload::Unchanged));
        now.replaced += 1;
        assert_eq!(now.since(before), Some(Reload::Replaced));
        now.failed += 1;
        assert_eq!(now.since(before), Some(Reload::Failed));
    }

    #[test]
    fn an_update_says_what_was_copied_and_how_the_service_took_it() {
        let update = AssetUpdate {
            changed: vec!["prompts/laptop-refresh.txt".to_owned()],
            reload: Reload::Replaced,
        };
        let [copied, reloaded] = update.lines(
            Path::new("/state/assets"),
            Path::new("/state/logs/self-service-agent.log"),
        );
        assert_eq!(
            copied,
            "assets: prompts/laptop-refresh.txt copied to /state/assets"
        );
        assert_eq!(
            reloaded,
            "self-service-agent: agents reloaded: the next turn uses them"
        );
        let failed = AssetUpdate {
            changed: (0..5).map(|n| format!("agents/{n}.yaml")).collect(),
            reload: Reload::Failed,
        };
        let [copied, reloaded] = failed.lines(Path::new("/s/assets"), Path::new("/s/log"));
        assert_eq!(copied, "assets: 5 files copied to /s/assets");
        assert_eq!(
            reloaded,
            "self-service-agent: reload FAILED, the agents loaded before stay in force: see /s/log"
        );
    }
}
