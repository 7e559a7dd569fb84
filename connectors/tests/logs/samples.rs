//! The committed access-log samples of `datasets/` (gzip and plain, CRLF,
//! truncated, garbage and invalid UTF-8 lines), counted alike everywhere.

use crate::util::{SIZES, configs};
use shoal::OnMalformed;
use shoal::prelude::*;
use shoal_connectors::logs::LogsExt;

#[test]
fn dataset_samples_count_alike_in_every_config() {
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/samples/logs");
    for (label, job) in configs(SIZES) {
        let mut statuses: Vec<(u16, u64)> = job
            .access_log(samples)
            .on_malformed(OnMalformed::Skip)
            .map(|r| r.status)
            .count_by_value()
            .unwrap()
            .into_iter()
            .collect();
        statuses.sort();
        assert_eq!(statuses, [(200, 125), (301, 2), (302, 1), (304, 6), (404, 9), (500, 3)], "{label}");
        assert_eq!(job.report().rejects.count, 4, "{label}");
    }
}
