-- Process Design: the form store. Camunda Forms (form-js JSON schemas) that user tasks
-- link with zeebe:formDefinition formId="…": a mutable draft per form and immutable
-- published versions. form_id is the schema's own "id". Every row carries tenant_id.
CREATE TABLE forms (
    tenant_id       TEXT NOT NULL,
    form_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft',   -- draft | published
    draft           TEXT NOT NULL,                   -- the form-js schema (JSON)
    revision        INTEGER NOT NULL DEFAULT 1,      -- the ETag: "r<revision>"
    latest_version  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, form_id)
);
CREATE INDEX forms_tenant_name ON forms(tenant_id, name, form_id);

CREATE TABLE form_versions (
    tenant_id    TEXT NOT NULL,
    form_id      TEXT NOT NULL,
    version      INTEGER NOT NULL,
    schema       TEXT NOT NULL,
    version_tag  TEXT,                  -- zeebe:formDefinition bindingType="versionTag"
    note         TEXT NOT NULL DEFAULT '',
    published_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, form_id, version)
);
CREATE INDEX form_versions_tag ON form_versions(tenant_id, form_id, version_tag);
