//! The libsv2 roles behind the `sv2` command, as a library so that tests and the demo can run
//! several roles in one process.

#![warn(missing_docs)]

pub mod demo;
pub mod farm_metrics;
pub mod jdc;
pub mod keygen;
pub mod logging;
pub mod miner;
pub mod net;
pub mod paths;
pub mod pool;
pub mod proxy;
pub mod samples;
pub mod tp;
pub mod translator;
pub mod upstream;
pub mod wire_demo;
