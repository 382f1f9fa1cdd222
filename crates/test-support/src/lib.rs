//! Test harness shared by the workspace's integration tests: throwaway
//! PostgreSQL clusters started from the installed server binaries, one
//! database per test, a real LlamaStack server behind an OpenAI-compatible
//! stub, and helpers to run the workspace's binaries.
//! Not part of the product.

pub mod bins;
pub mod catalog;
pub mod fake_llamastack;
pub mod fixtures;
pub mod llamastack;
pub mod openai_stub;
pub mod postgres;

pub use llamastack::RealLlamaStack;
pub use postgres::{PgCluster, TestDatabase, test_database};
