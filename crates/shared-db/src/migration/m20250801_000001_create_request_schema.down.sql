-- Undo revision 001, as alembic's downgrade to base does: tables in
-- dependency order, then the enum types, then the revision marker.
DROP TABLE delivery_logs;
DROP TABLE user_integration_configs;
DROP TABLE request_logs;
DROP TABLE request_sessions;
DROP TABLE integration_templates;
DROP TABLE integration_credentials;
DROP TABLE processed_events;
DROP TYPE deliverystatus;
DROP TYPE sessionstatus;
DROP TYPE integrationtype;
DROP TABLE alembic_version;
