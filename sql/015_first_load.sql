-- A load into an empty table builds the table's secondary indexes after its rows, each in one
-- sorted pass, instead of keeping them up to date row by row (docs/operations.md, "Concurrency
-- and atomicity"): staging.begin_first_load drops them and keeps their definitions,
-- staging.end_first_load builds them again, both in the caller's transaction, so a failed load
-- rolls back to the old indexes. They run as the schema's owner (SECURITY DEFINER): the writer
-- login, which may not run DDL, loads as fast as the owner. They act only on tables of the raw,
-- staging and reporting schemas that the owner owns and the calling login may already fill
-- (INSERT and DELETE), only while the table is empty and no other transaction uses it (LOCK ...
-- NOWAIT), and build only the definitions they saved in the same transaction, which sit in a
-- schema no platform role may use; a transaction that drops indexes and does not build them
-- again cannot commit. Idempotent like 002-014.

CREATE SCHEMA IF NOT EXISTS first_load;
REVOKE ALL ON SCHEMA first_load FROM PUBLIC;

CREATE TABLE IF NOT EXISTS first_load.dropped_indexes (
    table_oid OID NOT NULL,
    definition TEXT NOT NULL,
    dropped_in XID8 NOT NULL DEFAULT pg_current_xact_id()
);
REVOKE ALL ON first_load.dropped_indexes FROM PUBLIC;

-- No transaction commits with indexes dropped and not built again: at commit, a saved definition
-- of this transaction still there fails it, and the rollback brings the indexes back.
CREATE OR REPLACE FUNCTION first_load.refuse_indexes_not_built() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM first_load.dropped_indexes WHERE table_oid = NEW.table_oid AND dropped_in = pg_current_xact_id()) THEN
        RAISE EXCEPTION 'a first load of % dropped its indexes and did not build them again (staging.end_first_load)', NEW.table_oid::regclass
            USING ERRCODE = 'invalid_transaction_termination';
    END IF;
    RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS indexes_built_again ON first_load.dropped_indexes;
CREATE CONSTRAINT TRIGGER indexes_built_again AFTER INSERT ON first_load.dropped_indexes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION first_load.refuse_indexes_not_built();
REVOKE ALL ON FUNCTION first_load.refuse_indexes_not_built() FROM PUBLIC;

-- Lock the empty table for this transaction and drop its secondary indexes (not the primary key,
-- not unique, backing no constraint); true when it did. false, with the lock still held until the
-- caller rolls back to a savepoint, when the table has rows; lock_not_available when another
-- transaction uses the table.
CREATE OR REPLACE FUNCTION staging.begin_first_load(target REGCLASS) RETURNS BOOLEAN
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    is_empty BOOLEAN;
    index_oid OID;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = target AND c.relkind = 'r' AND n.nspname IN ('raw', 'staging', 'reporting')
          AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    ) OR NOT has_table_privilege(session_user, target, 'INSERT') OR NOT has_table_privilege(session_user, target, 'DELETE') THEN
        RAISE EXCEPTION 'begin_first_load: % is not a table of the raw, staging or reporting schema that this login fills', target
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', target);
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %s)', target) INTO is_empty;
    IF NOT is_empty THEN
        RETURN false;
    END IF;
    FOR index_oid IN
        SELECT i.indexrelid FROM pg_index i
        WHERE i.indrelid = target AND NOT i.indisprimary AND NOT i.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY i.indexrelid
    LOOP
        INSERT INTO first_load.dropped_indexes (table_oid, definition) VALUES (target, pg_get_indexdef(index_oid));
        EXECUTE format('DROP INDEX %s', index_oid::regclass);
    END LOOP;
    RETURN true;
END;
$$;

-- Build again the indexes begin_first_load dropped from the table; how many.
CREATE OR REPLACE FUNCTION staging.end_first_load(target REGCLASS) RETURNS INTEGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    index_definition TEXT;
    built INTEGER := 0;
BEGIN
    FOR index_definition IN
        DELETE FROM first_load.dropped_indexes WHERE table_oid = target AND dropped_in = pg_current_xact_id() RETURNING definition
    LOOP
        EXECUTE index_definition;
        built := built + 1;
    END LOOP;
    RETURN built;
END;
$$;

REVOKE ALL ON FUNCTION staging.begin_first_load(REGCLASS), staging.end_first_load(REGCLASS) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staging.begin_first_load(REGCLASS), staging.end_first_load(REGCLASS) TO reporting_writer;
