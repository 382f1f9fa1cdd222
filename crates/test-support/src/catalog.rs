//! A textual snapshot of a database's `public` schema from the catalogs:
//! enum types with labels in order, tables and their columns (type, length,
//! nullability, default), constraints with their definitions, indexes and
//! sequences. Two databases with the same snapshot have the same schema,
//! names included. `seaql_migrations` (our bookkeeping) is left out.

use anyhow::Result;
use sea_orm::{ConnectionTrait, Database, Statement};

const QUERIES: &[(&str, &str)] = &[
    (
        "enum",
        "SELECT t.typname || ' = ' || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) \
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
         JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = 'public' GROUP BY t.typname ORDER BY 1",
    ),
    (
        "column",
        "SELECT table_name || '.' || column_name || ' #' || ordinal_position || ' ' || \
         CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END || \
         COALESCE('(' || character_maximum_length || ')', '') || \
         CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END || \
         COALESCE(' DEFAULT ' || column_default, '') \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> 'seaql_migrations' \
         ORDER BY table_name, ordinal_position",
    ),
    (
        "constraint",
        "SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> 'seaql_migrations' \
         ORDER BY 1",
    ),
    (
        "index",
        "SELECT indexdef FROM pg_indexes \
         WHERE schemaname = 'public' AND tablename <> 'seaql_migrations' ORDER BY indexname",
    ),
    (
        "sequence",
        "SELECT s.sequence_name || ' ' || s.data_type || ' start ' || s.start_value || \
         ' increment ' || s.increment || ' owned by ' || \
         COALESCE((SELECT t.relname || '.' || a.attname FROM pg_class sc \
                   JOIN pg_depend d ON d.objid = sc.oid AND d.deptype = 'a' \
                   JOIN pg_class t ON t.oid = d.refobjid \
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
                   WHERE sc.relname = s.sequence_name), '-') \
         FROM information_schema.sequences s WHERE s.sequence_schema = 'public' \
         AND s.sequence_name NOT LIKE 'seaql%' ORDER BY 1",
    ),
];

/// The snapshot of the database at `url`, one line per catalog fact.
pub async fn schema_snapshot(url: &str) -> Result<String> {
    let db = Database::connect(url).await?;
    let mut lines = Vec::new();
    for (kind, sql) in QUERIES {
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), *sql))
            .await?;
        for row in rows {
            let fact: String = row.try_get_by_index(0)?;
            lines.push(format!("{kind} {fact}"));
        }
    }
    db.close().await?;
    Ok(lines.join("\n") + "\n")
}
