-- Knowledge Hub: the hashed embeddings move out of the chunk rows into a compact table of
-- their own, 256 signed bytes each (scaled so the largest component is ±127), clustered
-- by tenant and collection, so the exact-cosine scan reads ~360 bytes per chunk instead of
-- the chunk's text and 1 KiB of floats (docs/knowledge.md "Ranking").
CREATE TABLE chunk_vecs (
    tenant_id  TEXT NOT NULL,
    collection TEXT NOT NULL,
    id         INTEGER NOT NULL,        -- chunks.id
    scope      TEXT NOT NULL,           -- as chunks.scope, for the source filters
    v          BLOB NOT NULL,
    PRIMARY KEY (tenant_id, collection, id)
) WITHOUT ROWID;
CREATE TRIGGER chunks_ad_vecs AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_vecs WHERE tenant_id = old.tenant_id AND collection = old.collection AND id = old.id;
END;
UPDATE chunks SET embedding = NULL WHERE embedding IS NOT NULL;
