//! The schema migrations, in order, and the alembic revision each one
//! corresponds to. A migration that maps to a revision also writes that
//! revision into `alembic_version` inside its own transaction.

use sea_orm_migration::prelude::*;

mod m20250801_000001_create_request_schema;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20250801_000001_create_request_schema::Migration)]
    }
}

/// `(migration name, alembic revision it brings the database to)`, in order.
pub const ALEMBIC_REVISIONS: &[(&str, &str)] = &[("m20250801_000001_create_request_schema", "001")];

/// The alembic revision the newest migration brings the database to.
pub fn latest_alembic_revision() -> &'static str {
    ALEMBIC_REVISIONS
        .last()
        .map(|(_, revision)| *revision)
        .unwrap_or_default()
}

/// Position of an alembic revision in [`ALEMBIC_REVISIONS`], if known.
pub fn alembic_rank(revision: &str) -> Option<usize> {
    ALEMBIC_REVISIONS
        .iter()
        .position(|(_, known)| *known == revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_has_an_alembic_revision_in_the_same_order() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let mapped: Vec<&str> = ALEMBIC_REVISIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, mapped);
    }
}
