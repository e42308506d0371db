use std::time::Duration;

use diesel::{QueryableByName, sql_query, sql_types::Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use medley_server::db::{revert_all_migrations, run_migrations};
use medley_tests::TestDb;

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Describes every table, column, index and constraint of the public schema, sorted.
async fn schema_snapshot(conn: &mut AsyncPgConnection) -> Vec<String> {
    let query = r#"
        SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable, column_default) AS line
          FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
        UNION ALL
        SELECT format('index %s', indexdef) FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
        UNION ALL
        SELECT format('constraint %s %s', conrelid::regclass, pg_get_constraintdef(oid)) FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '__diesel_schema_migrations'
        UNION ALL
        SELECT format('function %s', proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
        UNION ALL
        SELECT format('type %s', typname) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
    "#;
    let mut lines: Vec<Line> = sql_query(query).load(conn).await.expect("snapshot");
    lines.sort();
    lines.into_iter().map(|l| l.line).collect()
}

#[tokio::test]
async fn every_migration_reverts_cleanly_and_reapplies_identically() {
    let db = TestDb::new().await;
    let timeout = Duration::from_secs(10);
    let mut conn = db.connect().await;
    let migrated = schema_snapshot(&mut conn).await;
    assert!(migrated.iter().any(|l| l.starts_with("column api_keys.")), "{migrated:?}");

    let reverted = revert_all_migrations(db.url(), timeout).await.expect("revert");
    assert!(!reverted.is_empty());
    assert!(schema_snapshot(&mut conn).await.is_empty(), "down migrations leave nothing behind");

    let applied = run_migrations(db.url(), timeout).await.expect("reapply");
    assert_eq!(applied.len(), reverted.len());
    assert_eq!(schema_snapshot(&mut conn).await, migrated);
    assert!(run_migrations(db.url(), timeout).await.expect("no-op").is_empty());
}

#[tokio::test]
async fn every_foreign_key_has_an_index() {
    let db = TestDb::new().await;
    let mut conn = db.connect().await;
    // A foreign key whose columns do not lead some index makes deletes of the parent scan the
    // whole child table.
    let missing: Vec<Line> = sql_query(
        r#"
        SELECT format('%s (%s)', c.conrelid::regclass, c.conname) AS line
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
           AND NOT EXISTS (
               SELECT 1 FROM pg_index i
                WHERE i.indrelid = c.conrelid
                  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey
           )
        "#,
    )
    .load(&mut conn)
    .await
    .expect("query");
    assert!(missing.is_empty(), "foreign keys without an index: {missing:?}");
}
