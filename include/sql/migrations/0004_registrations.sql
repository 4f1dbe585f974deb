-- Feed 1: registrations. Staging holds one batch's valid rows until it is published.
CREATE TABLE staging.registrations (
    batch_id             bigint      NOT NULL,
    source_object        text        NOT NULL,
    source_row           integer     NOT NULL,
    entity_code          char(10)    NOT NULL,
    entity_type          text        NOT NULL,
    name                 text        NOT NULL,
    main_vsic            char(4),
    locality_raw         text,
    locality_code        text,
    address              text,
    registered_on        date        NOT NULL,
    status               text        NOT NULL,
    status_since         date        NOT NULL,
    charter_capital_vnd  bigint,
    members              integer,
    legal_rep_name       text,
    legal_rep_id_number  text,
    updated_at           timestamptz NOT NULL,
    record_hash          text        NOT NULL
);
CREATE INDEX ON staging.registrations (batch_id);

-- Every state ever received of every entity. History order: status_since, then updated_at;
-- valid_to is the next state's status_since (NULL for the current state).
CREATE TABLE core.registration_state (
    entity_code          char(10)    NOT NULL,
    updated_at           timestamptz NOT NULL,
    entity_type          text        NOT NULL,
    name                 text        NOT NULL,
    main_vsic            char(4),
    locality_raw         text,
    locality_code        text REFERENCES core.ref_locality DEFERRABLE INITIALLY DEFERRED,
    address              text,
    registered_on        date        NOT NULL,
    status               text        NOT NULL,
    status_since         date        NOT NULL,
    charter_capital_vnd  bigint,
    members              integer,
    legal_rep_name       text,       -- personal data
    legal_rep_id_number  text,       -- personal data
    valid_from           date GENERATED ALWAYS AS (status_since) STORED,
    valid_to             date,
    record_hash          text        NOT NULL,
    batch_id             bigint      NOT NULL,
    source_object        text        NOT NULL,
    source_row           integer     NOT NULL,
    PRIMARY KEY (entity_code, updated_at)
);
CREATE INDEX ON core.registration_state (entity_type, valid_from, valid_to);

-- The current state of each entity.
CREATE VIEW core.registry_current AS
SELECT * FROM core.registration_state WHERE valid_to IS NULL;

CREATE TABLE quarantine.registrations (
    batch_id       bigint      NOT NULL,
    source_object  text        NOT NULL,
    source_row     integer     NOT NULL,
    reason         text        NOT NULL,  -- every failed rule: "field: message (value)", "; "-joined
    failures       jsonb       NOT NULL,  -- [{"field", "rule", "value", "message"}]
    record         jsonb       NOT NULL,  -- the row as delivered
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);
