-- After each `beredskab db upgrade`, as the owner (docs/deployment.md, section 1): the
-- application role reads and writes rows; the incident record is append-only.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO beredskab_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO beredskab_app;
REVOKE UPDATE, DELETE, TRUNCATE ON record_entry FROM beredskab_app;
