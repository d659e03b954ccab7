//! What every command receives: the data directory and global flags ([`Ctx`]), with notes,
//! the topics of the directory, and the checks before writing or reading.

use anyhow::Result;

use super::{Ctx, Hint};

impl Ctx {
    /// Prints a note on stderr unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("klog: {msg}");
        }
    }

    /// Updates Kafka's checkpoint files for these partitions. They are hints for a broker that
    /// may read the directory later: failing to write them (a full disk) is a warning, never
    /// a failure of a command whose data is already written.
    pub fn sync_checkpoints(&self, topic: &klog::topic::Topic, partitions: &[u32]) {
        if let Err(e) = topic.sync_checkpoints(partitions) {
            let e = anyhow::Error::new(e);
            self.note(format_args!(
                "warning: Kafka's checkpoint files were not updated: {e:#}"
            ));
        }
    }

    pub fn topics(&self) -> klog::topic::Topics {
        if self.writing {
            klog::topic::Topics::new(&self.dir)
        } else {
            klog::topic::Topics::for_reading(&self.dir)
        }
    }

    /// Before a writing command: see `Topics::begin_write`. The guard is held until the
    /// command ends.
    pub(super) fn begin_write(&self) -> Result<klog::topic::WriteGuard> {
        self.topics().begin_write().map_err(|e| {
            let hint = match &e {
                klog::Error::BrokerLocked { .. } => Some(
                    "stop the broker first; reading (`topics list`, `consume`, `segments dump`) \
                     works while it runs",
                ),
                klog::Error::BadMetadata { .. } => Some(METADATA_HINT),
                _ => None,
            };
            match hint {
                // The hint is the root of the chain, as `report` expects.
                Some(h) => anyhow::Error::new(Hint(h.to_string())).context(e.to_string()),
                None => anyhow::Error::new(e),
            }
        })
    }

    /// Before a reading command: warns when the metadata file cannot be used (the command
    /// then finds topics from their partition directories).
    pub(super) fn warn_about_metadata(&self) {
        let topics = self.topics();
        let Some(e) = topics.metadata_problem() else {
            return;
        };
        if topics.read_meta().is_err() {
            self.note(format_args!(
                "warning: {e}; reading topics from their partition directories, with \
                 default configs"
            ));
            if !self.quiet {
                eprintln!("hint: {METADATA_HINT}");
            }
        } else {
            self.note(format_args!(
                "warning: {e}; reading that topic with default configs"
            ));
            if !self.quiet {
                eprintln!(
                    "hint: writing to that topic is refused until its configs in the file \
                     (JSON) are fixed or removed"
                );
            }
        }
    }
}

/// How to repair a metadata file that does not parse.
const METADATA_HINT: &str = "klog writes nothing until it parses: fix the JSON, or move the \
     file aside (topics are then found from their directories, and their config overrides \
     are lost)";
