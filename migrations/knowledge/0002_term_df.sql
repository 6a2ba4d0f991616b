-- Knowledge Hub: how many chunks of a tenant's collection hold each term (terms as the
-- query makes them), kept at ingest and delete, so a query can leave out terms so common
-- that scoring them would cost most of its time (docs/knowledge.md "Ranking").
CREATE TABLE term_df (
    tenant_id  TEXT NOT NULL,
    term       TEXT NOT NULL,
    collection TEXT NOT NULL,
    df         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, term, collection)
) WITHOUT ROWID;
